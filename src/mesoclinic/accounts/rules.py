"""Sign-in throttling: how long a run of failures keeps a door shut. Pure; "now" is a parameter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Backoff:
    """After `free` failures each further one doubles the wait, from `base` up to `cap`."""

    free: int
    base: timedelta
    cap: timedelta

    def delay_after(self, failures: int) -> timedelta:
        """The wait imposed by the latest of `failures` failures (zero while still free)."""
        if failures < self.free:
            return timedelta(0)
        # 2**n grows past any cap quickly; bound the exponent so it never overflows.
        return min(self.base * 2 ** min(failures - self.free, 32), self.cap)


def wait_remaining(failures: int, last: datetime | None, *, now: datetime, rule: Backoff) -> timedelta:
    """How much longer a door stays shut after `failures` failures, the latest at `last`."""
    if not failures or last is None:
        return timedelta(0)
    return max(last + rule.delay_after(failures) - now, timedelta(0))
