"""One data row checked: every cell parsed, cross-checked against the identity number, all problems kept."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from contracts.id_number import IdNumber, InvalidIdNumber, Sex, parse_id_number
from wanqing.roster.cells import (
    SPACES,
    CellError,
    UncalculatedFormula,
    cell_text,
    clean_text,
    parse_category,
    parse_name,
    parse_party,
    parse_phone,
    parse_sex,
)
from wanqing.roster.dates import Day, add_years, parse_day
from wanqing.roster.header import Header
from wanqing.roster.records import Notice, Problem, RetireeRecord

_T = TypeVar("_T")
_FREE_TEXT = {"note"}  # free text that nothing checks or depends on


@dataclass
class Row:
    """One data row being checked: its cells by field, and the problems found so far."""

    number: int
    cells: Sequence[object]  # already cleaned by clean_cell
    header: Header
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    uncalculated: set[str] = field(default_factory=set)  # fields whose cell is a formula without a result

    def get(self, name: str) -> tuple[object, str | None]:
        for index in self.header.fields.get(name, ()):
            if index < len(self.cells) and (value := self.cells[index]) is not None:
                if isinstance(value, UncalculatedFormula):
                    self._uncalculated(name, self.header.titles[index])
                    continue
                return value, self.header.titles[index]
        return None, self.title(name)

    def _uncalculated(self, name: str, column: str) -> None:
        if name in self.uncalculated:
            return
        self.uncalculated.add(name)
        if name in _FREE_TEXT:  # kept for review only: read as blank, but said so
            self.notices.append(Notice(self.number, column, f"“{column}”是公式，没有计算结果，已按空白读取",
                                       f"{name}_uncalculated"))
            return
        self.fail(column, f"{name}_uncalculated", f"“{column}”是公式，没有计算结果：请在 Excel 中打开并保存后再导入")

    def missing(self, name: str, column: str | None, code: str, message_zh: str) -> None:
        """A required cell left empty; not repeated for a formula without a result, which is reported already."""
        if name not in self.uncalculated:
            self.fail(column, code, message_zh)

    def title(self, name: str) -> str | None:
        indexes = self.header.fields.get(name)
        return self.header.titles[indexes[0]] if indexes else None

    def fail(self, column: str | None, code: str, message_zh: str) -> None:
        self.problems.append(Problem(self.number, column, message_zh, code))

    def parse(self, name: str, parser: Callable[[object], _T]) -> _T | None:
        value, column = self.get(name)
        if value is None:
            return None
        try:
            return parser(value)
        except CellError as error:
            self.fail(column, f"{name}_{error.kind}", error.message_zh)
            return None

    def text(self, name: str) -> str | None:
        value, _ = self.get(name)
        return clean_text(value)


def check_row(row: Row, today: date) -> tuple[RetireeRecord, IdNumber | None]:
    name = _check_name(row)
    id_text, id_number = _check_id(row, today)
    birth = _check_birth(row, id_number)
    sex = _check_sex(row, id_number)
    retirement = _check_retirement(row, birth, today)
    party_member, joined = _check_party(row, birth, today)
    phone = row.parse("phone", parse_phone)
    record = RetireeRecord(
        row=row.number,
        name=name,
        id_number=id_text,
        sex=sex,
        birth_date=birth.first if birth else None,
        retirement_date=retirement.first if retirement else None,
        unit_name=row.text("unit_name"),
        phone=phone,
        address=row.text("address"),
        party_member=party_member,
        party_joined_on=joined.first if joined else None,
        category=row.parse("category", parse_category),
        note=row.text("note"),
        birth_date_month_only=bool(birth and birth.month_only),
        retirement_date_month_only=bool(retirement and retirement.month_only),
        party_joined_on_month_only=bool(joined and joined.month_only),
    )
    return record, id_number


def _check_name(row: Row) -> str | None:
    value, column = row.get("name")
    if value is None:
        row.missing("name", column, "name_missing", "姓名不能为空")
        return None
    name = row.parse("name", parse_name)
    return name or clean_text(value)


_SCIENTIFIC = re.compile(r"\d(\.\d+)?e\+?\d+", re.IGNORECASE)


def _check_id(row: Row, today: date) -> tuple[str | None, IdNumber | None]:
    value, column = row.get("id_number")
    if value is None:
        row.missing("id_number", column, "id_missing", "身份证号不能为空")
        return None, None
    text = SPACES.sub("", cell_text(value)).lstrip("'")  # "'" is Excel's keep-as-text prefix
    if _lost_digits(value) or _SCIENTIFIC.fullmatch(text):
        row.fail(column, "id_scientific", "身份证号被Excel转为科学计数法，后几位已丢失：请把该列设为文本后重新录入")
        return text, None
    try:
        parsed = parse_id_number(text, today)
    except InvalidIdNumber as error:
        row.fail(column, error.code, error.reason_zh)
        return text.upper(), None
    return parsed.value, parsed


def _lost_digits(value: object) -> bool:
    """A float keeps 15 significant digits: enough for a legacy number, never for an 18-digit one."""
    return isinstance(value, float) and not (value.is_integer() and value < 1e15)  # noqa: PLR2004


def _check_birth(row: Row, id_number: IdNumber | None) -> Day | None:
    written = row.parse("birth_date", parse_day)
    if id_number is None:
        return written
    if written is not None and not _same_day(written, id_number.birth_date):
        row.fail(
            row.get("birth_date")[1],
            "birth_date_mismatch",
            f"出生日期{written.show()}与身份证号中的{id_number.birth_date.isoformat()}不一致",
        )
    return Day(id_number.birth_date, month_only=False)


def _same_day(written: Day, exact: date) -> bool:
    if written.month_only:
        return (written.first.year, written.first.month) == (exact.year, exact.month)
    return written.first == exact


_SEX_ZH = {"male": "男", "female": "女"}


def _check_sex(row: Row, id_number: IdNumber | None) -> Sex | None:
    written = row.parse("sex", parse_sex)
    if id_number is None:
        return written
    if written is not None and written != id_number.sex:
        row.fail(
            row.get("sex")[1],
            "sex_mismatch",
            f"性别“{_SEX_ZH[written]}”与身份证号不符（身份证号为{_SEX_ZH[id_number.sex]}性）",
        )
    return id_number.sex


_MIN_RETIREMENT_AGE = 40
_PARTY_MIN_AGE = 16


def _check_retirement(row: Row, birth: Day | None, today: date) -> Day | None:
    value, column = row.get("retirement_date")
    if value is None:
        if "retirement_date" in row.header.fields:  # a missing column is reported once for the file
            row.missing("retirement_date", column, "retirement_date_missing", "退休时间不能为空")
        return None
    retirement = row.parse("retirement_date", parse_day)
    if retirement is None:
        return None
    # a month-only date is given the benefit of the doubt: any day of that month would do
    if birth is not None and retirement.last < add_years(birth.first, _MIN_RETIREMENT_AGE):
        row.fail(column, "retirement_too_early", f"退休时间{retirement.show()}早于{_MIN_RETIREMENT_AGE}周岁，请核对")
    if retirement.first > add_years(today, 1):
        row.fail(column, "retirement_too_late", f"退休时间{retirement.show()}晚于一年以后，请核对")
    return retirement


def _check_party(row: Row, birth: Day | None, today: date) -> tuple[bool | None, Day | None]:
    member = row.parse("party_member", parse_party)
    joined = row.parse("party_joined_on", parse_day)
    if joined is None:
        return member, None
    column = row.get("party_joined_on")[1]
    if birth is not None and joined.last < add_years(birth.first, _PARTY_MIN_AGE):
        row.fail(column, "party_joined_too_early", f"入党时间{joined.show()}早于{_PARTY_MIN_AGE}周岁，请核对")
    if joined.first > today:
        row.fail(column, "party_joined_in_future", f"入党时间{joined.show()}晚于今天")
    if member is False:
        row.fail(row.get("party_member")[1], "party_member_conflict", "填写了入党时间，但政治面貌不是中共党员")
        return member, joined
    return True, joined  # a date of joining says the person is a member, even with 是否党员 left blank
