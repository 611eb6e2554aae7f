"""When the post-session check-ins fall (pure: no Django).

A check-in is a calendar day in the clinic's zone: the session's local date plus whole weeks.
Counting days on the local calendar, not 7 x 24 hours from the moment, keeps a check-in on the
same weekday across a daylight-saving change, and a session late in the evening counts from its
own day, not from the UTC date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

# A check-in still unanswered this many days after its day counts as missed.
GRACE_DAYS = 3


def local_date(moment: datetime, zone: str | ZoneInfo) -> date:
    """The clinic's calendar day of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("moment must be aware")
    return moment.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)).date()


def checkin_days(session_started: datetime, zone: str | ZoneInfo,
                 weeks: Sequence[int]) -> list[tuple[int, date]]:
    """(week, day) for each check-in after a session that started at `session_started`."""
    day = local_date(session_started, zone)
    return [(week, day + timedelta(weeks=week)) for week in sorted(set(weeks))]


def missed(due_on: date, today: date, *, grace_days: int = GRACE_DAYS) -> bool:
    """Still unanswered past its day and the grace days after it."""
    return today > due_on + timedelta(days=grace_days)
