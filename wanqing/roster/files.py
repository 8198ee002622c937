"""Reading roster files: .xlsx workbooks and .csv/.txt text (its encoding and delimiter) into numbered rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from wanqing.roster.builder import read_numbered
from wanqing.roster.cells import UncalculatedFormula
from wanqing.roster.header import no_header
from wanqing.roster.records import Roster, UnreadableRosterError


def read_roster(path: Path, today: date) -> Roster:
    """Read a .xlsx (.xlsm) workbook or a .csv (.txt: also tab-separated) file; `UnreadableRosterError` if neither."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, today)
    if suffix in {".csv", ".txt"}:
        return read_numbered(_csv_rows(path), today)
    if suffix == ".xls":
        raise UnreadableRosterError(
            f"{path.name}: the legacy .xls format is not supported",
            reason_zh="不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 后再导入",
        )
    raise UnreadableRosterError(f"{path.name}: unsupported file type", reason_zh="只支持 .xlsx 和 .csv 文件")


def read_roster_rows(rows: Iterable[Sequence[object]], today: date) -> Roster:
    """The core for any row source; the first row given is row 1."""
    return read_numbered(enumerate(rows, start=1), today)


def _read_xlsx(path: Path, today: date) -> Roster:
    # read_only streams the sheet XML. Without data_only a formula cell reads as its text and every other cell as
    # with it; the stored results (data_only) are read, in step, only once a formula needs one: a formula without
    # a stored result must not read as a blank cell
    workbook = _open_xlsx(path, data_only=False)
    with_results: list[Workbook] = []
    try:
        roster = None
        for index, sheet in enumerate(workbook.worksheets):
            # some writers leave a wrong <dimension>; without it the sheet is read to its real end
            sheet.reset_dimensions()
            stored = partial(_stored_results, path, index, with_results)
            roster = read_numbered(_sheet_rows(sheet.iter_rows(values_only=True), stored), today)
            if roster.header_row is not None:
                if len(workbook.worksheets) > 1:
                    chosen = f"工作簿共有{len(workbook.worksheets)}个工作表，已读取“{sheet.title}”"
                    roster = replace(roster, infos=[chosen, *roster.infos])
                return roster
        return roster or no_header()
    finally:
        workbook.close()
        for opened in with_results:
            opened.close()


def _open_xlsx(path: Path, *, data_only: bool) -> Workbook:
    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise UnreadableRosterError(
            f"{path.name}: cannot open as .xlsx ({error})", reason_zh="无法打开该Excel文件，文件可能已损坏"
        ) from error


def _stored_results(path: Path, index: int, opened: list[Workbook]) -> Iterator[tuple[Cell | MergedCell, ...]]:
    workbook = _open_xlsx(path, data_only=True)
    opened.append(workbook)
    sheet = workbook.worksheets[index]
    sheet.reset_dimensions()
    return iter(sheet.iter_rows())


def _sheet_rows(
    written: Iterable[tuple[object, ...]], stored: Callable[[], Iterator[tuple[Cell | MergedCell, ...]]]
) -> Iterator[tuple[int, Sequence[object]]]:
    """The rows with each formula's stored result, or `UncalculatedFormula` where there is none."""
    results: Iterator[tuple[int, tuple[Cell | MergedCell, ...]]] | None = None
    for number, texts in enumerate(written, start=1):
        if not any(map(_is_formula, texts)):
            yield number, texts
            continue
        if results is None:
            results = enumerate(stored(), start=1)
        cells = next(cells for row, cells in results if row == number)
        yield number, tuple(_result(cell, text) for cell, text in zip(cells, texts, strict=True))


def _is_formula(value: object) -> bool:
    return isinstance(value, ArrayFormula | DataTableFormula) or (isinstance(value, str) and value.startswith("="))


def _result(cell: Cell | MergedCell, text: object) -> object:
    if not _is_formula(text) or cell.value is not None:
        return cell.value
    if cell.data_type == "str":  # Excel stores an empty result (="") as an empty string: a blank cell
        return None
    return UncalculatedFormula(text if isinstance(text, str) else str(getattr(text, "text", text)))


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = _decode(path.read_bytes(), path.name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    first_line = 1
    for cells in reader:
        yield first_line, cells
        first_line = reader.line_num + 1  # a quoted cell may span lines; report where its record starts


def _decode(data: bytes, name: str) -> str:
    encodings: tuple[str, ...]
    if data.startswith(b"\xef\xbb\xbf"):
        encodings = ("utf-8-sig",)
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings = ("utf-16",)  # Excel's "Unicode text" export
    else:
        # UTF-8 first: GBK bytes almost never form valid UTF-8, while UTF-8 text may decode as GB18030 garbage;
        # GB18030 is a superset of GBK and GB2312
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableRosterError(
        f"{name}: not decodable as {' or '.join(encodings)}",
        reason_zh="无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV",
    )


def _delimiter(text: str) -> str:
    sample = text[:8192]
    return "\t" if sample.count("\t") > sample.count(",") else ","
