"""The results of reading a roster: its records, their problems and notices, and the error for an unreadable file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from contracts.id_number import Sex

Category = Literal["cadre", "worker"]


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # None: the whole file (no header, a required column missing)
    column: str | None  # the header text as written in the file
    message_zh: str
    code: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A row worth a line in the preview that is no problem: a footer skipped, a blank formula in the notes."""

    row: int
    column: str | None
    message_zh: str
    code: str
    skipped: bool = False  # the row is layout (a footer, a note, a repeated header), not data


@dataclass(frozen=True, slots=True)
class RetireeRecord:
    row: int
    name: str | None
    id_number: str | None  # normalised 18 characters when valid; otherwise the cleaned text, for review
    sex: Sex | None
    birth_date: date | None
    retirement_date: date | None
    unit_name: str | None = None
    phone: str | None = None
    address: str | None = None
    party_member: bool | None = None
    party_joined_on: date | None = None
    category: Category | None = None
    note: str | None = None
    birth_date_month_only: bool = False  # only possible when the identity number was invalid
    retirement_date_month_only: bool = False
    party_joined_on_month_only: bool = False


@dataclass(frozen=True)
class Roster:
    records: list[RetireeRecord]
    problems: list[Problem]
    infos: list[str]
    header_row: int | None = None  # the first row of the header, which may span several rows
    notices: list[Notice] = field(default_factory=list)

    @property
    def skipped_rows(self) -> list[int]:
        return [notice.row for notice in self.notices if notice.skipped]

    @property
    def valid_records(self) -> list[RetireeRecord]:
        rows_with_problems = {problem.row for problem in self.problems}
        if None in rows_with_problems:
            return []
        return [record for record in self.records if record.row not in rows_with_problems]


class UnreadableRosterError(ValueError):
    """The file itself cannot be read (format, encoding, corruption); `reason_zh` is shown to staff."""

    def __init__(self, message: str, *, reason_zh: str) -> None:
        super().__init__(message)
        self.reason_zh = reason_zh
