"""Reading roster files: .xlsx workbooks and .csv/.txt text (its encoding and delimiter) into numbered rows."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from wanqing.roster.builder import read_numbered
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
    try:
        # read_only streams the sheet XML; data_only gives a formula's cached value instead of its text
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as error:
        raise UnreadableRosterError(
            f"{path.name}: cannot open as .xlsx ({error})", reason_zh="无法打开该Excel文件，文件可能已损坏"
        ) from error
    try:
        roster = None
        for sheet in workbook.worksheets:
            # some writers leave a wrong <dimension>; without it the sheet is read to its real end
            sheet.reset_dimensions()
            roster = read_numbered(enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1), today)
            if roster.header_row is not None:
                if len(workbook.worksheets) > 1:
                    chosen = f"工作簿共有{len(workbook.worksheets)}个工作表，已读取“{sheet.title}”"
                    roster = replace(roster, infos=[chosen, *roster.infos])
                return roster
        return roster or no_header()
    finally:
        workbook.close()


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
