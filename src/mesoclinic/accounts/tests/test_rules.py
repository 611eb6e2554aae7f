"""Sign-in backoff as a pure rule: free attempts, then a doubling wait up to a cap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from mesoclinic.accounts.rules import Backoff, wait_remaining

RULE = Backoff(free=5, base=timedelta(minutes=1), cap=timedelta(hours=1))
NOW = datetime(2025, 4, 7, 9, 0, tzinfo=UTC)


def test_the_wait_doubles_after_the_free_attempts_up_to_the_cap() -> None:
    waits = [RULE.delay_after(n) for n in range(13)]
    assert waits == [timedelta(0)] * 5 + [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32)] + [
        timedelta(hours=1)] * 2


def test_the_wait_runs_from_the_latest_failure() -> None:
    assert wait_remaining(6, NOW - timedelta(seconds=30), now=NOW, rule=RULE) == timedelta(
        seconds=90)
    assert wait_remaining(6, NOW - timedelta(minutes=2), now=NOW, rule=RULE) == timedelta(0)


def test_no_failures_no_wait() -> None:
    assert wait_remaining(0, None, now=NOW, rule=RULE) == timedelta(0)
    assert wait_remaining(4, NOW, now=NOW, rule=RULE) == timedelta(0)


@given(st.integers(min_value=0, max_value=10_000))
def test_the_wait_never_shrinks_with_more_failures_and_never_passes_the_cap(n: int) -> None:
    assert RULE.delay_after(n) <= RULE.delay_after(n + 1) <= RULE.cap
