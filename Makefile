# Two commands on a fresh machine (Python 3.11+ and pip only):
#   make demo   install into .venv from the lock file, load the demo clinic, serve it (with the
#               background worker that sends reminders; it stops when the server stops)
#   make test   install the test tools from the lock file and run every check and test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/mesoclinic
# Dropped and created again by bench-http: never point it at a database you keep.
BENCH_PG_URL ?= postgresql://postgres@127.0.0.1:5432/mesoclinic_bench_http

.PHONY: demo test lint unit postgres-tests bench bench-http clean chromium pdf-libs vendor-js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.runtime: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime pdf-libs
	$(BIN)/mesoclinic demo

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench conftest.py
	$(BIN)/mypy src tests bench conftest.py
	$(BIN)/lint-imports
	$(BIN)/mesoclinic makemigrations --check --dry-run

# The browser tests drive Debian's Chromium; a fresh machine gets it here, so nothing is skipped.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Chromium for the browser tests (apt-get install chromium)"; \
	    apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at /usr/bin/chromium. Run: sudo apt-get install -y chromium"; \
	    exit 1; \
	  fi; \
	fi

# PDFs (consent, quotes) are rendered by WeasyPrint, which needs Pango from the system.
pdf-libs:
	@if ! ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0'; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "Installing Pango for PDF documents (apt-get install libpango-1.0-0 libpangoft2-1.0-0)"; \
	    apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	  else \
	    echo "PDF documents need Pango. Run: sudo apt-get install -y libpango-1.0-0 libpangoft2-1.0-0"; \
	    exit 1; \
	  fi; \
	fi

unit: $(VENV)/.dev chromium pdf-libs
	$(BIN)/pytest -n 2 --dist loadfile

# PostgreSQL runs in CI (CI=true) or when asked: make test TEST_POSTGRES=1
postgres-tests: $(VENV)/.dev chromium pdf-libs
	DATABASE_URL=$(PG_URL) DB_CONN_MAX_AGE=0 $(BIN)/pytest -n 2 --dist loadfile

test: lint unit
	@if [ "$$CI" = "true" ] || [ -n "$$TEST_POSTGRES" ]; then $(MAKE) --no-print-directory postgres-tests; fi

bench: $(VENV)/.dev
	$(BIN)/python bench/bench_screening.py
	$(BIN)/python bench/bench_search.py

# The REST API under gunicorn against the raw-SQL floor (needs PostgreSQL)
bench-http: $(VENV)/.dev
	$(BIN)/python bench/bench_http_api.py --database-url $(BENCH_PG_URL)

# Refresh the vendored front-end libraries from the npm registry (the copies are committed, so a
# fresh machine needs no npm).
vendor-js:
	cd vendor && npm ci --no-audit --no-fund
	cp vendor/node_modules/signature_pad/dist/signature_pad.umd.min.js \
	   vendor/node_modules/signature_pad/LICENSE src/mesoclinic/kernel/static/vendor/signature_pad/

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
