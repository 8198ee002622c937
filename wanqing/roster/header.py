"""The header: column titles matched to record fields through their aliases, hints ignored."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from wanqing.roster.cells import SPACES, clean_text
from wanqing.roster.records import Problem, Roster

_ALIASES = {
    "name": ("姓名",),
    "id_number": ("身份证号", "身份证号码", "公民身份号码", "证件号码"),
    "sex": ("性别",),
    "birth_date": ("出生日期", "出生年月"),
    "retirement_date": ("退休时间", "退休日期", "退休年月"),
    "unit_name": ("单位", "所在单位", "原单位"),
    "phone": ("联系电话", "手机", "手机号", "电话"),
    "address": ("住址", "家庭住址", "现住址", "居住地址"),
    "party_member": ("是否党员", "政治面貌"),
    "party_joined_on": ("入党时间", "入党日期"),
    "category": ("职务", "职级", "类别", "人员类别"),
    "note": ("备注",),
}
_FIELD_BY_HEADER = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_HINTS = re.compile(r"\(.*?\)|\[.*?\]|【.*?】|〔.*?〕|[*:]")


def header_key(text: str) -> str:
    """The comparable form of a header: "* 身份证号码（必填）：" -> "身份证号码"."""
    return _HINTS.sub("", SPACES.sub("", clean_text(text) or ""))


def field_of(title: str) -> str | None:
    """The record field a header title means, if any."""
    return _FIELD_BY_HEADER.get(header_key(title))


def header_title(cell: object) -> str | None:
    """A header cell as written, only whitespace tidied (problems name the column the way the user sees it)."""
    return (SPACES.sub(" ", cell).strip() or None) if isinstance(cell, str) else None


@dataclass(frozen=True)
class Header:
    rows: tuple[int, ...]  # the rows the header spans, top to bottom
    fields: dict[str, list[int]]  # several columns may mean one field; the first filled one wins per row
    titles: dict[int, str]
    unknown: list[str]

    @property
    def row(self) -> int:
        return self.rows[0]


def match_header(row_no: int, cells: Sequence[object]) -> Header | None:
    """The header one row forms, or None without both 姓名 and 身份证号."""
    return match_stacks((row_no,), [[title] if (title := header_title(cell)) else [] for cell in cells])


def match_stacks(rows: tuple[int, ...], stacks: Sequence[Sequence[str]]) -> Header | None:
    """The header of columns given as their titles from the top header row down (several for a group above)."""
    fields: dict[str, list[int]] = {}
    titles: dict[int, str] = {}
    unknown: list[str] = []
    for index, stack in enumerate(stacks):
        if not stack:
            continue
        if (found := _field_of_stack(stack)) is None:
            unknown.append(stack[-1])
            continue
        name, titles[index] = found
        fields.setdefault(name, []).append(index)
    if "name" in fields and "id_number" in fields:
        return Header(rows=rows, fields=fields, titles=titles, unknown=unknown)
    return None


def _field_of_stack(stack: Sequence[str]) -> tuple[str, str] | None:
    # the lowest title is the most specific; a group above may complete it ("入党" above "时间")
    for start in range(len(stack) - 1, -1, -1):
        title = "".join(stack[start:])
        if (name := field_of(title)) is not None:
            return name, title
    return None


def no_header() -> Roster:
    problem = Problem(None, None, "未找到表头：需要一行同时包含“姓名”和“身份证号”列", "header_not_found")
    return Roster(records=[], problems=[problem], infos=[])
