"""The whole roster: the header found, each row checked in order, duplicates and file-level problems added."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from wanqing.roster.cells import clean_cell
from wanqing.roster.header import Header, match_header, no_header
from wanqing.roster.records import Problem, RetireeRecord, Roster
from wanqing.roster.rows import Row, check_row

HEADER_SEARCH_ROWS = 50


def read_numbered(numbered_rows: Iterable[tuple[int, Sequence[object]]], today: date) -> Roster:
    rows = iter(numbered_rows)
    header = _find_header(rows)
    if header is None:
        return no_header()
    builder = _RosterBuilder(header, today)
    for number, cells in rows:
        builder.add(number, cells)
    return builder.roster()


def _find_header(rows: Iterator[tuple[int, Sequence[object]]]) -> Header | None:
    for number, cells in rows:
        if (header := match_header(number, cells)) is not None:
            return header
        if number >= HEADER_SEARCH_ROWS:
            return None
    return None


@dataclass
class _RosterBuilder:
    header: Header
    today: date
    records: list[RetireeRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_by_content: dict[tuple[object, ...], int] = field(default_factory=dict)
    rows_by_id: dict[str, int] = field(default_factory=dict)
    converted_from_15: list[int] = field(default_factory=list)

    def add(self, number: int, cells: Sequence[object]) -> None:
        cells = [clean_cell(cell) for cell in cells]  # once per row: cleaning is most of the work
        if not self._has_data(cells):
            return  # blank rows are layout, not data; so are rows with only a pre-filled 序号
        content = _row_content(cells)
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
        if self.header.unknown:
            infos.append(f"已忽略未识别的列：{'、'.join(self.header.unknown)}")
        if self.converted_from_15:
            rows = "、".join(map(str, self.converted_from_15))
            infos.append(f"第{rows}行的15位身份证号已转换为18位")
        return Roster(records=self.records, problems=problems, infos=infos, header_row=self.header.row)


def _row_content(cells: Sequence[object]) -> tuple[object, ...]:
    """The row's values without trailing blanks, equal for duplicates."""
    values = list(cells)
    while values and values[-1] is None:
        values.pop()
    return tuple(values)
