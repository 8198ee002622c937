"""Dates in cells: Excel dates and serial numbers, and text typed a dozen ways, to the day or the month."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from openpyxl.utils.datetime import from_excel

from wanqing.roster.cells import SPACES, CellError, clean_text


@dataclass(frozen=True, slots=True)
class Day:
    first: date
    month_only: bool

    @property
    def last(self) -> date:
        if not self.month_only:
            return self.first
        days = calendar.monthrange(self.first.year, self.first.month)[1]
        return self.first.replace(day=days)

    def show(self) -> str:
        return f"{self.first:%Y-%m}" if self.month_only else self.first.isoformat()


_TIME_SUFFIX = re.compile(r"[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_FULL_DATES = (
    re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})[日号]?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)
_MONTH_DATES = (
    re.compile(r"(\d{4})[-/](\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{2}|[2-9])"),  # "1958.1" is left out on purpose: see _AMBIGUOUS_MONTH
    re.compile(r"(\d{4})年(\d{1,2})月?"),
    re.compile(r"(\d{4})(\d{2})"),
)
_AMBIGUOUS_MONTH = re.compile(r"(\d{4})\.1")
_YEAR_ONLY = re.compile(r"(\d{4})年?")
_EXCEL_SERIAL_MAX = 100_000  # year 2173; larger numbers are not dates anybody means
_YEARS = range(1900, 2101)


def parse_day(value: object) -> Day:
    if isinstance(value, datetime):
        return Day(value.date(), month_only=False)
    if isinstance(value, date):
        return Day(value, month_only=False)
    if isinstance(value, bool):
        raise CellError("invalid", f"无法识别的日期“{value}”")
    if isinstance(value, int):
        return _day_from_int(value)
    if isinstance(value, float):
        return _day_from_float(value)
    return _day_from_text(str(value))


def _day_from_int(number: int) -> Day:
    if number in _YEARS:
        raise CellError("year_only", f"只有年份“{number}”，请填写到月")
    if 100_000 <= number <= 99_999_999:  # noqa: PLR2004 - 195803 or 19580312 typed into a number cell
        return _day_from_text(str(number))
    if 1 <= number < _EXCEL_SERIAL_MAX:
        return Day(from_excel(number).date(), month_only=False)
    raise CellError("invalid", f"无法识别的日期“{number}”")


def _day_from_float(number: float) -> Day:
    if number.is_integer():
        return _day_from_int(int(number))
    if int(number) in _YEARS:  # 1958.03 typed into a number cell
        return _day_from_text(str(number))
    if 1 <= number < _EXCEL_SERIAL_MAX:  # a serial date with a time of day
        return Day(from_excel(number).date(), month_only=False)
    raise CellError("invalid", f"无法识别的日期“{number}”")


def _day_from_text(raw: str) -> Day:
    text = SPACES.sub("", _TIME_SUFFIX.sub("", clean_text(raw) or ""))
    for pattern in _FULL_DATES:
        if match := pattern.fullmatch(text):
            year, month, day = match.groups()
            return Day(_make_date(text, year, month, day), month_only=False)
    for pattern in _MONTH_DATES:
        if match := pattern.fullmatch(text):
            year, month = match.groups()
            return Day(_make_date(text, year, month, "1"), month_only=True)
    if _AMBIGUOUS_MONTH.fullmatch(text):
        raise CellError("ambiguous", f"日期“{text}”有歧义（1月还是10月？），请写成{text}0或{text[:-1]}01")
    if (match := _YEAR_ONLY.fullmatch(text)) and int(match.group(1)) in _YEARS:
        raise CellError("year_only", f"只有年份“{text}”，请填写到月")
    if text.isdigit() and len(text) <= len(str(_EXCEL_SERIAL_MAX)) - 1:
        return _day_from_int(int(text))  # a serial number pasted as text
    raise CellError("invalid", f"无法识别的日期“{text}”")


def _make_date(text: str, year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise CellError("invalid", f"日期“{text}”不存在") from None


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)
