"""Quiet-hour and morning arithmetic in the district's civil time; pure functions of an injected `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    """[start, end) in local time; a window that crosses midnight (21:00-08:00) is the usual case."""

    start: time
    end: time
    tz: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz).time()
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_end(self, moment: datetime) -> datetime:
        """The first end of quiet hours after `moment` (local wall time, DST-safe through the zone)."""
        local = moment.astimezone(self.tz)
        candidate = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if candidate <= local:
            candidate = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.tz)
        return candidate


def not_before(now: datetime, *, urgent: bool, silent_channel: bool, quiet: QuietHours) -> datetime:
    """When a message may go out: now, or the end of quiet hours for a non-urgent message that would disturb.

    The in-app inbox is silent (nothing rings), so it is never deferred.
    """
    if urgent or silent_channel or not quiet.contains(now):
        return now
    return quiet.next_end(now)


def next_morning(now: datetime, hour: int, tz: ZoneInfo) -> datetime:
    """The next `hour`:00 local strictly after now: when the next daily digest is due."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), time(hour), tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour), tzinfo=tz)
    return candidate


def backoff(attempt: int, base_s: float, cap_s: float) -> timedelta:
    """Exponential backoff after the attempt-th failure: base, 2 base, 4 base, ... capped."""
    return timedelta(seconds=min(cap_s, base_s * 2 ** max(0, attempt - 1)))
