"""The whole roster: the header found, each row checked in order, duplicates, layout and file-level problems added."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import chain

from wanqing.roster.cells import clean_cell
from wanqing.roster.header import Header, no_header
from wanqing.roster.header_rows import Line, find_header
from wanqing.roster.layout import LAYOUT_MESSAGES, Layout, layout_of, row_content
from wanqing.roster.records import Notice, Problem, RetireeRecord, Roster
from wanqing.roster.rows import Row, check_row

HEADER_SEARCH_ROWS = 50


def read_numbered(numbered_rows: Iterable[Line], today: date) -> Roster:
    rows = iter(numbered_rows)
    found = find_header(rows, HEADER_SEARCH_ROWS)
    if found is None:
        return no_header()
    header, lines, read_past = found
    builder = _RosterBuilder(header, today, {row_content([clean_cell(cell) for cell in cells]) for _, cells in lines})
    for number, cells in chain(read_past, rows):
        builder.add(number, cells)
    return builder.roster()


@dataclass
class _RosterBuilder:
    header: Header
    today: date
    header_lines: set[tuple[object, ...]]
    records: list[RetireeRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    rows_by_content: dict[tuple[object, ...], int] = field(default_factory=dict)
    rows_by_id: dict[str, int] = field(default_factory=dict)
    converted_from_15: list[int] = field(default_factory=list)
    layout: Layout | None = None  # what the last row with content was, if it was layout

    def add(self, number: int, cells: Sequence[object]) -> None:
        cells = [clean_cell(cell) for cell in cells]  # once per row: cleaning is most of the work
        if all(cell is None for cell in cells):
            return  # blank rows are layout too, but say nothing
        if (layout := layout_of(cells, self.header, self.header_lines, self.layout)) is not None:
            self.notices.append(Notice(number, None, LAYOUT_MESSAGES[layout], f"{layout}_skipped", skipped=True))
            self.layout = layout
            return
        self.layout = None
        if not self._has_data(cells):
            return  # a row with only a pre-filled 序号, or text only in ignored columns
        content = row_content(cells)
        if (first := self.rows_by_content.setdefault(content, number)) != number:
            self.problems.append(Problem(number, None, f"与第{first}行完全重复", "duplicate_row"))
            return
        row = Row(number, cells, self.header)
        record, id_number = check_row(row, self.today)
        # only valid numbers are compared: two floats with lost digits may belong to different people
        if id_number and (first := self.rows_by_id.setdefault(id_number.value, number)) != number:
            # the repeated row is not imported, so its other problems would only distract
            column = row.title("id_number")
            self.problems.append(Problem(number, column, f"与第{first}行身份证号重复", "duplicate_id"))
            return
        if id_number is not None and id_number.converted_from_15:
            self.converted_from_15.append(number)
        self.records.append(record)
        self.problems.extend(row.problems)
        self.notices.extend(row.notices)

    def _has_data(self, cells: Sequence[object]) -> bool:
        return any(
            index < len(cells) and cells[index] is not None
            for indexes in self.header.fields.values()
            for index in indexes
        )

    def roster(self) -> Roster:
        problems = list(self.problems)
        infos = []
        if "retirement_date" not in self.header.fields:
            problems.insert(0, Problem(None, None, "缺少“退休时间”列", "column_missing"))
        if len(rows := self.header.rows) > 1:
            infos.append(f"表头占第{rows[0]}-{rows[-1]}行，已按列合并读取")
        if self.header.unknown:
            infos.append(f"已忽略未识别的列：{'、'.join(self.header.unknown)}")
        if self.converted_from_15:
            rows_15 = "、".join(map(str, self.converted_from_15))
            infos.append(f"第{rows_15}行的15位身份证号已转换为18位")
        return Roster(records=self.records, problems=problems, infos=infos, header_row=self.header.row,
                      notices=self.notices)
