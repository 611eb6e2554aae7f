"""The `mesoclinic` console script: Django's manage.py, plus commands that must stay light.

`mesoclinic screen`, `mesoclinic quote`, `mesoclinic plan-series`, `mesoclinic session-check`,
`mesoclinic safety-signals` and `mesoclinic photo-metrics` run without loading Django.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesoclinic.settings")
    if len(args) > 1 and args[1] == "screen":
        from mesoclinic.screening.cli import run

        return run(args[2:], sys.stdin, sys.stdout, sys.stderr)
    if len(args) > 1 and args[1] == "quote":
        from mesoclinic.plans.quote_cli import run as run_quote

        return run_quote(args[2:], sys.stdin, sys.stdout, sys.stderr)
    if len(args) > 1 and args[1] == "plan-series":
        from mesoclinic.scheduling.series_cli import run as run_plan_series

        return run_plan_series(args[2:], sys.stdin, sys.stdout, sys.stderr)
    if len(args) > 1 and args[1] == "photo-metrics":
        from mesoclinic.photos.metrics_cli import run as run_photo_metrics

        return run_photo_metrics(args[2:], sys.stdin, sys.stdout, sys.stderr)
    if len(args) > 1 and args[1] == "safety-signals":
        from mesoclinic.safety.signals_cli import run as run_safety_signals

        return run_safety_signals(args[2:], sys.stdin, sys.stdout, sys.stderr)
    if len(args) > 1 and args[1] == "session-check":
        from mesoclinic.charting.session_check_cli import run as run_session_check

        return run_session_check(args[2:], sys.stdin, sys.stdout, sys.stderr)
    # Django's command names use underscores; accept the dashed spelling too (audit-verify).
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    from mesoclinic.lib.env import ConfigError

    try:
        execute_from_command_line(args)
    except ConfigError as exc:
        # A bad environment value is the operator's to fix: one line, not a traceback.
        print(f"mesoclinic: configuration error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
