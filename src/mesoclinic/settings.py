"""Mesoclinic settings, read from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF

from mesoclinic.lib.env import envbool, envint, envkeyring, envlist, envsecret, envstr

django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("MESOCLINIC_DATA_DIR", str(Path.cwd() / "var")))

# "production" switches on every transport and cookie protection; "development" is the default.
PROFILE = envstr("MESOCLINIC_PROFILE", "development")
if PROFILE not in {"development", "production"}:
    raise RuntimeError("MESOCLINIC_PROFILE must be development or production")
PRODUCTION = PROFILE == "production"

DEBUG = envbool("DEBUG", default=not PRODUCTION)
SECRET_KEY = envsecret(
    "SECRET_KEY", None if PRODUCTION else "dev-only-insecure-key-change-me-0123456789abcdefghijkl"
)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "ninja",  # its Swagger UI template and assets, served as our own static files (no CDN)
    "django_tasks",
    "django_tasks_db",  # the task queue's table, and the worker loop `mesoclinic worker` runs
    "mesoclinic.accounts",
    "mesoclinic.audit",
    "mesoclinic.kernel",
    "mesoclinic.patients",
    "mesoclinic.knowledge",
    "mesoclinic.messaging",
    "mesoclinic.screening",
    "mesoclinic.plans",
    "mesoclinic.inventory",
    "mesoclinic.scheduling",
    "mesoclinic.charting",
    "mesoclinic.safety",
    "mesoclinic.photos",
    "mesoclinic.staff",
    "mesoclinic.oversight",
    "mesoclinic.api",
    "mesoclinic.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "mesoclinic.lib.http.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "mesoclinic.kernel.middleware.StaffSessionMiddleware",
    "mesoclinic.kernel.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
]

if not PRODUCTION:
    # runserver serves static files itself in development; WhiteNoise serves them in production.
    MIDDLEWARE.remove("whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "mesoclinic.urls"
WSGI_APPLICATION = "mesoclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mesoclinic.accounts.context.staff_context",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'mesoclinic.sqlite3'}"),
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the pages read while the worker writes; IMMEDIATE avoids mid-transaction upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA busy_timeout=5000;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATA_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "patients:list"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Sign-in throttling (accounts/rules.py): failures within the window are counted per username and
# client address, per address across usernames (spraying), and second-factor failures per
# username. Past each free allowance every further failure doubles the wait, up to the maximum.
LOGIN_MAX_FAILURES = envint("LOGIN_MAX_FAILURES", 5)
LOGIN_MAX_FAILURES_PER_ADDRESS = envint("LOGIN_MAX_FAILURES_PER_ADDRESS", 50)
LOGIN_MAX_CODE_FAILURES = envint("LOGIN_MAX_CODE_FAILURES", 10)
LOGIN_BACKOFF_SECONDS = envint("LOGIN_BACKOFF_SECONDS", 60)
LOGIN_BACKOFF_MAX_SECONDS = envint("LOGIN_BACKOFF_MAX_SECONDS", 60 * 60)
LOGIN_FAILURE_WINDOW_SECONDS = envint("LOGIN_FAILURE_WINDOW_SECONDS", 24 * 60 * 60)
# Recovery codes and API tokens need a password and a code entered within this many seconds.
REAUTH_SECONDS = envint("REAUTH_SECONDS", 10 * 60)
# Idle sessions end: activity restarts the cookie's age. The session row is rewritten at most
# once per SESSION_TOUCH_SECONDS (kernel.middleware), not on every request, so a page costs no
# session write and commit; an idle session ends up to that much before SESSION_COOKIE_AGE.
SESSION_COOKIE_AGE = envint("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_TOUCH_SECONDS = envint("SESSION_TOUCH_SECONDS", 60)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

LANGUAGE_CODE = "en-gb"
# English first; Turkish for the Istanbul clinics' staff; German with the patient portal.
LANGUAGES = [("en-gb", "English"), ("tr", "Türkçe"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": envstr("STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "mesoclinic@localhost")
# Without a timeout a hung mail server would hold a message past its lease (sent twice).
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
# Where staff open the app: links in emails the worker sends (a safety alert) start with it.
PUBLIC_URL = envstr("MESOCLINIC_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# Background work: django-tasks with its database backend (no broker; SQLite or PostgreSQL).
# `mesoclinic worker` runs the queued tasks and sweeps the outbox (messaging/) for due messages.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
WORKER_SWEEP_SECONDS = envint("WORKER_SWEEP_SECONDS", 30)
# A message a worker claimed is its own this long; after a crash it is due again (longer than a
# send can take: EMAIL_TIMEOUT, the SMS provider's timeout).
MESSAGE_LEASE_SECONDS = envint("MESSAGE_LEASE_SECONDS", 300)
# A failing message is tried this often, waiting MESSAGE_RETRY_SECONDS, then doubling (at most
# an hour), before it is marked failed with the reason.
MESSAGE_MAX_ATTEMPTS = envint("MESSAGE_MAX_ATTEMPTS", 5)
MESSAGE_RETRY_SECONDS = envint("MESSAGE_RETRY_SECONDS", 60)
# The SMS provider's adapter (messaging/sms.py); the default only logs each text.
# Empty: no SMS reminders at all (email only). Production starts there, so that a logging adapter
# never marks as sent a reminder no patient received; development logs them.
SMS_BACKEND = envstr("SMS_BACKEND", "" if PRODUCTION else "mesoclinic.messaging.sms.LoggingSmsBackend")

# Strict CSP: nothing inline, nothing from elsewhere (clinics may be offline).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

if PRODUCTION:
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

NINJA_PAGINATION_MAX_LIMIT = 200

# Per-process memory cache. API tokens are cached for API_TOKEN_CACHE_SECONDS: a revocation takes
# effect at once in the process that made it, and within that many seconds in every other.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
API_TOKEN_CACHE_SECONDS = envint("API_TOKEN_CACHE_SECONDS", 30)
# The audit trail is signed with HMAC-SHA256 keys kept outside the database (AUDIT_KEY, or
# AUDIT_KEYS for rotation: the last key signs, every listed key still verifies).
AUDIT_KEYS = envkeyring(
    "AUDIT_KEYS", "AUDIT_KEY",
    None if PRODUCTION else {"dev": "dev-only-insecure-audit-key-change-me-0123456789"},
)
# Signed copies of the chain head, outside the database: they reveal removal of the newest events.
AUDIT_CHECKPOINT_DIR = Path(envstr("AUDIT_CHECKPOINT_DIR", str(DATA_DIR / "audit-checkpoints")))
# A checkpoint is written after a commit when the newest is older than this (0: only on demand).
AUDIT_CHECKPOINT_SECONDS = envint("AUDIT_CHECKPOINT_SECONDS", 300)
# A busy process seals what was committed at most this often (0: after every commit); every
# reader of the chain seals first, so the trail, exports and verification always see it sealed.
AUDIT_SEAL_SECONDS = float(envstr("AUDIT_SEAL_SECONDS", "1"))
# Request bodies: larger ones answer 413 (JSON from the API, the kernel's 413 page otherwise).
# 2.5 MB holds the largest form (a knowledge-pack file of 200,000 characters, URL-encoded).
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = envint("DATA_UPLOAD_MAX_NUMBER_FIELDS", 1000)
