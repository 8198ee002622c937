"""Due-date rules of seed 004 §2–3 as data: one month after approval, or the end of the half-year batch."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class CeremonyPolicy:
    """District policy defaults (DOMAIN.md); a changed policy is a new value, never an edited constant."""

    ceremony_months: int = 1
    handover_months: int = 1
    # Due dates are calendar days in the district's time zone; "overdue" starts at the next local midnight.
    zone: str = "Asia/Shanghai"

    def today(self, now: datetime) -> date:
        return now.astimezone(ZoneInfo(self.zone)).date()

    def overdue_at(self, due_on: date) -> datetime:
        return datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.zone))

    def individual_due(self, approved_on: date) -> date:
        return add_months(approved_on, self.ceremony_months)

    def handover_due(self, approved_on: date) -> date:
        return add_months(approved_on, self.handover_months)


DEFAULT_POLICY = CeremonyPolicy()


def add_months(day: date, months: int) -> date:
    """Same day of the month, clamped to the month's end (31 January + 1 month = 28/29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def half_of(day: date) -> int:
    """January–June is the first half, July–December the second."""
    return 1 if day.month <= 6 else 2  # noqa: PLR2004 - June closes the first half year


def batch_due(year: int, half: int) -> date:
    return date(year, 6, 30) if half == 1 else date(year, 12, 31)
