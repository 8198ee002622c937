"""Rows below the header that are layout, not data: signature lines, notes, totals, a header repeated on each page.

A row is layout by its shape, never by a word somewhere in it, so a person's 备注 saying "说明：独居" stays data:

* a repeated header: a row equal to one of the header's rows, or one whose 姓名 and 身份证号 columns hold
  those titles again;
* a footer, note or total: the row's first filled cell starts with a label (制表人, 审核人, 单位（盖章）, 负责人签字,
  填表日期, 备注, 说明, 注：, 合计 …), its identity-number column holds nothing like a number, and its name column
  holds no name (the label's own cell aside), or the row holds two labels or more (a signature line spread over
  cells: "制表人：" | "张三" | "审核人：" | "李四");
* the lines continuing one: right after such a row, a row starting with text that holds neither a name nor an
  identity number (the numbered lines of a 说明).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Literal

from wanqing.roster.cells import SPACES, CellError, looks_like_id, parse_name
from wanqing.roster.header import Header, field_of

Layout = Literal["footer", "notes", "total", "header"]

LAYOUT_MESSAGES: dict[Layout, str] = {
    "footer": "表尾签名行，已跳过",
    "notes": "备注说明行，已跳过",
    "total": "合计行，已跳过",
    "header": "重复的表头，已跳过",
}

# matched in order on the cell without spaces, already half-width ("单位（盖章）：" is "单位(盖章):")
_LABELS: tuple[tuple[Layout, tuple[str, ...]], ...] = (
    ("notes", ("备注", "说明", "填表说明", "注:", "附注", "注意事项")),
    ("total", ("合计", "总计", "小计", "共计")),
    ("footer", ("制表", "填表", "填报", "审核", "复核", "审批", "负责人", "经办人", "联系人", "统计人",
                "主管领导", "领导签字", "单位(盖章)", "单位(公章)", "单位盖章", "(盖章)", "盖章", "签字", "签名",
                "报送日期", "日期:")),
)  # fmt: skip


def row_content(cells: Sequence[object]) -> tuple[object, ...]:
    """The row's values without trailing blanks, equal for duplicates."""
    values = list(cells)
    while values and values[-1] is None:
        values.pop()
    return tuple(values)


def layout_of(
    cells: Sequence[object], header: Header, header_lines: Collection[tuple[object, ...]], previous: Layout | None
) -> Layout | None:
    """What layout row the cleaned `cells` are, if any; `previous` is what the row before was, if layout."""
    if _holds(cells, header, "id_number", looks_like_id):
        return None  # somebody's row, whatever else it holds: the common case, decided first
    if row_content(cells) in header_lines or _repeats_titles(cells, header):
        return "header"
    filled = [cell for cell in cells if cell is not None]
    if not filled or not isinstance(filled[0], str):
        return None
    has_name = _holds(cells, header, "name", _is_name)
    if (label := _label(filled[0])) is not None:
        labels = sum(1 for cell in filled if isinstance(cell, str) and _label(cell) is not None)
        return label if labels > 1 or not has_name else None
    return previous if previous not in {None, "header"} and not has_name else None


def _repeats_titles(cells: Sequence[object], header: Header) -> bool:
    return all(
        any(index < len(cells) and isinstance(cell := cells[index], str) and field_of(cell) == name
            for index in header.fields[name])
        for name in ("name", "id_number")
    )  # fmt: skip


def _holds(cells: Sequence[object], header: Header, name: str, check: Callable[[object], bool]) -> bool:
    return any(index < len(cells) and check(cells[index]) for index in header.fields.get(name, ()))


def _label(text: str) -> Layout | None:
    compact = SPACES.sub("", text)
    for layout, labels in _LABELS:
        if compact.startswith(labels):
            return layout
    return None


def _is_name(cell: object) -> bool:
    if not isinstance(cell, str) or _label(cell) is not None:
        return False
    try:
        parse_name(cell)
    except CellError:
        return False
    return True
