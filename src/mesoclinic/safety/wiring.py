"""What the safety app plugs into the layers below it when it loads (they cannot import it):
the pre-session hold, check-ins when a session is signed, the worker's periodic jobs and the
patient chart's section."""

from __future__ import annotations

from typing import Any


def _on_signed(sender: Any, session: Any, **kwargs: Any) -> None:
    from mesoclinic.safety.actions import schedule_checkins

    schedule_checkins(session)


def connect() -> None:
    from mesoclinic.charting import hooks
    from mesoclinic.messaging import periodic
    from mesoclinic.safety import actions, tasks
    from mesoclinic.safety.chart import register_chart_section

    hooks.register_hold_source(actions.holds_for)
    hooks.session_signed.connect(_on_signed, dispatch_uid="safety.checkins")
    # Escalation is due to the minute; the daily cluster check looks every 10 minutes whether a
    # clinic's day has turned.
    periodic.register("safety.escalate", tasks.escalate, every_seconds=60)
    periodic.register("safety.daily_signals", tasks.daily_signals, every_seconds=600)
    register_chart_section()
