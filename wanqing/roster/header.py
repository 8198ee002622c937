"""The header row: column titles matched to record fields through their aliases, hints ignored."""

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


@dataclass(frozen=True)
class Header:
    row: int
    fields: dict[str, list[int]]  # several columns may mean one field; the first filled one wins per row
    titles: dict[int, str]
    unknown: list[str]


def match_header(row_no: int, cells: Sequence[object]) -> Header | None:
    fields: dict[str, list[int]] = {}
    titles: dict[int, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        # kept as written (only whitespace tidied) because problems name the column the way the user sees it
        title = SPACES.sub(" ", cell).strip() if isinstance(cell, str) else ""
        if not title:
            continue
        if (name := _FIELD_BY_HEADER.get(header_key(title))) is None:
            unknown.append(title)
            continue
        fields.setdefault(name, []).append(index)
        titles[index] = title
    if "name" in fields and "id_number" in fields:
        return Header(row=row_no, fields=fields, titles=titles, unknown=unknown)
    return None


def no_header() -> Roster:
    problem = Problem(None, None, "未找到表头：需要一行同时包含“姓名”和“身份证号”列", "header_not_found")
    return Roster(records=[], problems=[problem], infos=[])
