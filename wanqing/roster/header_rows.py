"""Finding the header, which may span rows: a group such as “基本信息” above 姓名/性别/身份证号, 退休时间 merged down.

Header rows are combined column by column, each column keeping its titles from the top row down: the lowest
title is the most specific and is matched first, a group above may complete it ("入党" above "时间"), and a
column empty in the lower row takes the title above it (a cell merged down keeps its text in the top row only).
Excel also keeps the text of a cell merged across columns in its first column only, and a CSV export of it
leaves the others empty, so a group title spreads right over the columns it heads: while the upper cell is
empty and the lower cells, its own included, are filled. The same rule reads .xlsx and .csv alike, and needs
no merge information, which openpyxl's streaming reader does not give.

Of the rows ending at a row, the combination that recognises the most columns wins, the fewest rows on a tie:
a title row directly above a one-row header recognises nothing more and is left out. The rows below a found
header join it while they recognise more columns and hold no identity number (a group row on top that itself
names 姓名 and 身份证号, with 手机/住址 under its “联系方式” in the row below).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import pairwise

from wanqing.roster.cells import looks_like_id
from wanqing.roster.header import Header, header_title, match_stacks

MAX_HEADER_ROWS = 3

Line = tuple[int, Sequence[object]]  # a row's number and its cells


def find_header(rows: Iterator[Line], search_rows: int) -> tuple[Header, list[Line], list[Line]] | None:
    """The header within the first `search_rows` rows, its lines, and the rows read past it; None if not found."""
    recent: list[Line] = []  # the rows with text just read, since the last row without any
    for line in rows:
        number, cells = line
        if any(header_title(cell) for cell in cells):
            recent = [*recent[1 - MAX_HEADER_ROWS :], line]
            if (found := _best_ending_with(recent)) is not None:
                return _extended(*found, rows)
        else:
            recent = []
        if number >= search_rows:
            return None
    return None


def stacked_header(lines: Sequence[Line]) -> Header | None:
    """The header consecutive `lines` form together; None without both 姓名 and 身份证号."""
    width = max(len(cells) for _, cells in lines)
    grid = [[header_title(cell) for cell in cells] + [None] * (width - len(cells)) for _, cells in lines]
    for upper, lower in reversed(list(pairwise(grid))):  # bottom up: a group spread in one row spreads the next
        _spread_groups(upper, lower)
    stacks = [_without_repeats([row[column] for row in grid]) for column in range(width)]
    return match_stacks(tuple(number for number, _ in lines), stacks)


def _spread_groups(upper: list[str | None], lower: list[str | None]) -> None:
    for column in range(1, len(upper)):
        if upper[column] is None and lower[column] and upper[column - 1] and lower[column - 1]:
            upper[column] = upper[column - 1]


def _without_repeats(titles: list[str | None]) -> list[str]:
    stack: list[str] = []
    for title in titles:
        if title and (not stack or stack[-1] != title):
            stack.append(title)
    return stack


def _best_ending_with(recent: list[Line]) -> tuple[Header, list[Line]] | None:
    best: tuple[Header, list[Line]] | None = None
    for size in range(1, len(recent) + 1):
        lines = recent[-size:]
        header = stacked_header(lines)
        if header is not None and (best is None or len(header.titles) > len(best[0].titles)):
            best = header, lines
    return best


def _extended(header: Header, lines: list[Line], rows: Iterator[Line]) -> tuple[Header, list[Line], list[Line]]:
    while len(lines) < MAX_HEADER_ROWS and (line := next(rows, None)) is not None:
        wider = stacked_header([*lines, line])
        if wider is None or len(wider.titles) <= len(header.titles) or _holds_an_id(line, header):
            return header, lines, [line]
        header, lines = wider, [*lines, line]
    return header, lines, []


def _holds_an_id(line: Line, header: Header) -> bool:
    _, cells = line
    return any(index < len(cells) and looks_like_id(cells[index]) for index in header.fields["id_number"])
