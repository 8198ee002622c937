"""Office rosters of retirees (退休人员花名册, .xlsx or .csv) read into checked records; pure but for reading the file.

Offices keep these lists by hand, so the reader expects a mess: a title row above the header, headers with
hints ("身份证号码（必填）"), full-width digits, dates typed a dozen ways, identity numbers that Excel turned
into floats, blank and duplicated rows. Nothing is fixed silently that could be wrong: every row gets ALL of
its problems, with the row number the user sees in Excel (or the line number of a CSV file), and only rows
without any problem are `valid_records`.

Decisions worth knowing:

* The birth date and sex of a record come from the identity number when it is valid; the 出生日期 and 性别
  columns are only cross-checked against it (a month-only 出生年月 is compared by year and month).
* A date like "1958.1" is refused as ambiguous: Excel stores a typed 1958.10 as the number 1958.1, so the
  text cannot tell January from October.
* A missing 退休时间 column is one file-level problem (row None) instead of one per row; any file-level
  problem leaves no valid record.
* The header is searched in the first 50 rows; of a multi-sheet workbook the first sheet with a header is read.
* Text cells are stored with full-width ASCII turned half-width, including punctuation in addresses and notes.
"""

from __future__ import annotations

import calendar
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal, TypeVar

from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from contracts.id_number import IdNumber, InvalidIdNumber, Sex, parse_id_number

Category = Literal["cadre", "worker"]
_T = TypeVar("_T")

HEADER_SEARCH_ROWS = 50

# --- the results ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    row: int | None  # None: the whole file (no header, a required column missing)
    column: str | None  # the header text as written in the file
    message_zh: str
    code: str


@dataclass(frozen=True, slots=True)
class RetireeRecord:
    row: int
    name: str | None
    id_number: str | None  # normalised 18 characters when valid; otherwise the cleaned text, for review
    sex: Sex | None
    birth_date: date | None
    retirement_date: date | None
    unit_name: str | None = None
    phone: str | None = None
    address: str | None = None
    party_member: bool | None = None
    party_joined_on: date | None = None
    category: Category | None = None
    note: str | None = None
    birth_date_month_only: bool = False  # only possible when the identity number was invalid
    retirement_date_month_only: bool = False
    party_joined_on_month_only: bool = False


@dataclass(frozen=True)
class Roster:
    records: list[RetireeRecord]
    problems: list[Problem]
    infos: list[str]
    header_row: int | None = None

    @property
    def valid_records(self) -> list[RetireeRecord]:
        rows_with_problems = {problem.row for problem in self.problems}
        if None in rows_with_problems:
            return []
        return [record for record in self.records if record.row not in rows_with_problems]


class UnreadableRosterError(ValueError):
    """The file itself cannot be read (format, encoding, corruption); `reason_zh` is shown to staff."""

    def __init__(self, message: str, *, reason_zh: str) -> None:
        super().__init__(message)
        self.reason_zh = reason_zh


# --- reading files ----------------------------------------------------------------------------------------------


def read_roster(path: Path, today: date) -> Roster:
    """Read a .xlsx (.xlsm) workbook or a .csv (.txt: also tab-separated) file; `UnreadableRosterError` if neither."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm"}:
        return _read_xlsx(path, today)
    if suffix in {".csv", ".txt"}:
        return _read_numbered(_csv_rows(path), today)
    if suffix == ".xls":
        raise UnreadableRosterError(
            f"{path.name}: the legacy .xls format is not supported",
            reason_zh="不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 后再导入",
        )
    raise UnreadableRosterError(f"{path.name}: unsupported file type", reason_zh="只支持 .xlsx 和 .csv 文件")


def read_roster_rows(rows: Iterable[Sequence[object]], today: date) -> Roster:
    """The core for any row source; the first row given is row 1."""
    return _read_numbered(enumerate(rows, start=1), today)


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
            roster = _read_numbered(enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1), today)
            if roster.header_row is not None:
                if len(workbook.worksheets) > 1:
                    chosen = f"工作簿共有{len(workbook.worksheets)}个工作表，已读取“{sheet.title}”"
                    roster = replace(roster, infos=[chosen, *roster.infos])
                return roster
        return roster or _no_header()
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


# --- cells ------------------------------------------------------------------------------------------------------

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space
_HALF_WIDTH: dict[int, int | str | None] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}
_HALF_WIDTH |= dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # invisible: removed
# the searches below are fast C code; translate() and sub() are not, and most cells need neither
_TRANSLATABLE = re.compile("[\uff01-\uff5e\u3000\u200b\u200c\u200d\u2060\ufeff]")
_UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")
_SPACES = re.compile(r"\s+")


def clean_text(value: object) -> str | None:
    """A cell as text: half-width, trimmed, inner whitespace collapsed; None when blank."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _as_str(value)
    if _TRANSLATABLE.search(text):
        text = text.translate(_HALF_WIDTH)
    if _UNTIDY_SPACE.search(text):
        text = _SPACES.sub(" ", text)
    return text.strip() or None


def _as_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _clean_cell(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


def _text(value: object) -> str:
    """The text of a cleaned cell, without cleaning a string again."""
    return value if isinstance(value, str) else clean_text(value) or ""


class _CellError(Exception):
    def __init__(self, kind: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.kind = kind
        self.message_zh = message_zh


# --- dates ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Day:
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


def _parse_day(value: object) -> _Day:
    if isinstance(value, datetime):
        return _Day(value.date(), month_only=False)
    if isinstance(value, date):
        return _Day(value, month_only=False)
    if isinstance(value, bool):
        raise _CellError("invalid", f"无法识别的日期“{value}”")
    if isinstance(value, int):
        return _day_from_int(value)
    if isinstance(value, float):
        return _day_from_float(value)
    return _day_from_text(str(value))


def _day_from_int(number: int) -> _Day:
    if number in _YEARS:
        raise _CellError("year_only", f"只有年份“{number}”，请填写到月")
    if 100_000 <= number <= 99_999_999:  # noqa: PLR2004 - 195803 or 19580312 typed into a number cell
        return _day_from_text(str(number))
    if 1 <= number < _EXCEL_SERIAL_MAX:
        return _Day(from_excel(number).date(), month_only=False)
    raise _CellError("invalid", f"无法识别的日期“{number}”")


def _day_from_float(number: float) -> _Day:
    if number.is_integer():
        return _day_from_int(int(number))
    if int(number) in _YEARS:  # 1958.03 typed into a number cell
        return _day_from_text(str(number))
    if 1 <= number < _EXCEL_SERIAL_MAX:  # a serial date with a time of day
        return _Day(from_excel(number).date(), month_only=False)
    raise _CellError("invalid", f"无法识别的日期“{number}”")


def _day_from_text(raw: str) -> _Day:
    text = _SPACES.sub("", _TIME_SUFFIX.sub("", clean_text(raw) or ""))
    for pattern in _FULL_DATES:
        if match := pattern.fullmatch(text):
            year, month, day = match.groups()
            return _Day(_make_date(text, year, month, day), month_only=False)
    for pattern in _MONTH_DATES:
        if match := pattern.fullmatch(text):
            year, month = match.groups()
            return _Day(_make_date(text, year, month, "1"), month_only=True)
    if _AMBIGUOUS_MONTH.fullmatch(text):
        raise _CellError("ambiguous", f"日期“{text}”有歧义（1月还是10月？），请写成{text}0或{text[:-1]}01")
    if (match := _YEAR_ONLY.fullmatch(text)) and int(match.group(1)) in _YEARS:
        raise _CellError("year_only", f"只有年份“{text}”，请填写到月")
    if text.isdigit() and len(text) <= len(str(_EXCEL_SERIAL_MAX)) - 1:
        return _day_from_int(int(text))  # a serial number pasted as text
    raise _CellError("invalid", f"无法识别的日期“{text}”")


def _make_date(text: str, year: str, month: str, day: str) -> date:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _CellError("invalid", f"日期“{text}”不存在") from None


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


# --- other cell types -------------------------------------------------------------------------------------------

_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME = re.compile(f"[{_CJK}]+(·[{_CJK}]+)*")
_NAME_DOTS = str.maketrans(dict.fromkeys(".•・‧･∙⋅", "·"))
_NAME_LENGTH = range(2, 31)


def _parse_name(value: object) -> str:
    name = _SPACES.sub("", _text(value)).translate(_NAME_DOTS)
    if len(name) not in _NAME_LENGTH:
        raise _CellError("invalid", f"姓名“{name}”长度应为2-30个字")
    if not _NAME.fullmatch(name):
        raise _CellError("invalid", f"姓名“{name}”只能包含汉字和间隔号“·”")
    return name


_SEXES: dict[str, Sex] = {"男": "male", "男性": "male", "m": "male", "male": "male",
                          "女": "female", "女性": "female", "f": "female", "female": "female"}  # fmt: skip


def _parse_sex(value: object) -> Sex:
    text = _text(value)
    if (sex := _SEXES.get(text.lower())) is None:
        raise _CellError("invalid", f"性别“{text}”应为“男”或“女”")
    return sex


_PARTY_YES = {"是", "党员", "中共党员", "中国共产党党员", "共产党员", "预备党员", "中共预备党员",
              "y", "yes", "true", "1", "√", "✓"}  # fmt: skip
_PARTY_NO = {"否", "不是", "非党员", "非中共党员", "群众", "无", "无党派", "无党派人士", "共青团员", "团员",
             "n", "no", "false", "0", "×"}  # fmt: skip
# members of the eight democratic parties are not 党员 in the sense of this column (是否中共党员)
_DEMOCRATIC_PARTIES = ("民革", "民盟", "民建", "民进", "农工", "致公", "九三", "台盟")


def _parse_party(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in _PARTY_YES:
        return True
    if text in _PARTY_NO or text.startswith(_DEMOCRATIC_PARTIES):
        return False
    raise _CellError("invalid", f"无法识别的政治面貌“{text}”")


def _parse_category(value: object) -> Category:
    text = _text(value)
    if "干部" in text or text.lower() == "cadre":
        return "cadre"
    if any(word in text for word in ("工人", "工勤", "职工")) or text.lower() == "worker":
        return "worker"
    raise _CellError("invalid", f"人员类别“{text}”应为“干部”或“工人”")


_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
_LANDLINE = re.compile(r"(?:(0\d{2,3})-|\((0\d{2,3})\))(\d{7,8})(-\d{1,6})?")
_LANDLINE_UNSEPARATED = re.compile(r"(0(?:10|2\d)|0[3-9]\d{2})(\d{7,8})")  # 010 and 02x have 3 digits, others 4


def _parse_phone(value: object) -> str:
    text = _SPACES.sub("", _text(value))
    if match := _MOBILE.fullmatch(text.replace("-", "")):
        return match.group(1)
    if match := _LANDLINE.fullmatch(text):
        dash_area, bracket_area, local, extension = match.groups()
        return f"{dash_area or bracket_area}-{local}{extension or ''}"
    if match := _LANDLINE_UNSEPARATED.fullmatch(text):
        return "-".join(match.groups())
    raise _CellError("invalid", f"电话号码“{text}”格式不正确（手机为11位，固定电话如010-12345678）")


# --- the header -------------------------------------------------------------------------------------------------

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
    return _HINTS.sub("", _SPACES.sub("", clean_text(text) or ""))


@dataclass(frozen=True)
class _Header:
    row: int
    fields: dict[str, list[int]]  # several columns may mean one field; the first filled one wins per row
    titles: dict[int, str]
    unknown: list[str]


def _match_header(row_no: int, cells: Sequence[object]) -> _Header | None:
    fields: dict[str, list[int]] = {}
    titles: dict[int, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        # kept as written (only whitespace tidied) because problems name the column the way the user sees it
        title = _SPACES.sub(" ", cell).strip() if isinstance(cell, str) else ""
        if not title:
            continue
        if (name := _FIELD_BY_HEADER.get(header_key(title))) is None:
            unknown.append(title)
            continue
        fields.setdefault(name, []).append(index)
        titles[index] = title
    if "name" in fields and "id_number" in fields:
        return _Header(row=row_no, fields=fields, titles=titles, unknown=unknown)
    return None


def _no_header() -> Roster:
    problem = Problem(None, None, "未找到表头：需要一行同时包含“姓名”和“身份证号”列", "header_not_found")
    return Roster(records=[], problems=[problem], infos=[])


# --- rows -------------------------------------------------------------------------------------------------------


@dataclass
class _Row:
    """One data row being checked: its cells by field, and the problems found so far."""

    number: int
    cells: Sequence[object]  # already cleaned by _clean_cell
    header: _Header
    problems: list[Problem] = field(default_factory=list)

    def get(self, name: str) -> tuple[object, str | None]:
        for index in self.header.fields.get(name, ()):
            if index < len(self.cells) and (value := self.cells[index]) is not None:
                return value, self.header.titles[index]
        return None, self.title(name)

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
        except _CellError as error:
            self.fail(column, f"{name}_{error.kind}", error.message_zh)
            return None

    def text(self, name: str) -> str | None:
        value, _ = self.get(name)
        return clean_text(value)


def _check_row(row: _Row, today: date) -> tuple[RetireeRecord, IdNumber | None]:
    name = _check_name(row)
    id_text, id_number = _check_id(row, today)
    birth = _check_birth(row, id_number)
    sex = _check_sex(row, id_number)
    retirement = _check_retirement(row, birth, today)
    party_member, joined = _check_party(row, birth, today)
    phone = row.parse("phone", _parse_phone)
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
        category=row.parse("category", _parse_category),
        note=row.text("note"),
        birth_date_month_only=bool(birth and birth.month_only),
        retirement_date_month_only=bool(retirement and retirement.month_only),
        party_joined_on_month_only=bool(joined and joined.month_only),
    )
    return record, id_number


def _check_name(row: _Row) -> str | None:
    value, column = row.get("name")
    if value is None:
        row.fail(column, "name_missing", "姓名不能为空")
        return None
    name = row.parse("name", _parse_name)
    return name or clean_text(value)


_SCIENTIFIC = re.compile(r"\d(\.\d+)?e\+?\d+", re.IGNORECASE)


def _check_id(row: _Row, today: date) -> tuple[str | None, IdNumber | None]:
    value, column = row.get("id_number")
    if value is None:
        row.fail(column, "id_missing", "身份证号不能为空")
        return None, None
    text = _SPACES.sub("", _text(value)).lstrip("'")  # "'" is Excel's keep-as-text prefix
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


def _check_birth(row: _Row, id_number: IdNumber | None) -> _Day | None:
    written = row.parse("birth_date", _parse_day)
    if id_number is None:
        return written
    if written is not None and not _same_day(written, id_number.birth_date):
        row.fail(
            row.get("birth_date")[1],
            "birth_date_mismatch",
            f"出生日期{written.show()}与身份证号中的{id_number.birth_date.isoformat()}不一致",
        )
    return _Day(id_number.birth_date, month_only=False)


def _same_day(written: _Day, exact: date) -> bool:
    if written.month_only:
        return (written.first.year, written.first.month) == (exact.year, exact.month)
    return written.first == exact


_SEX_ZH = {"male": "男", "female": "女"}


def _check_sex(row: _Row, id_number: IdNumber | None) -> Sex | None:
    written = row.parse("sex", _parse_sex)
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


def _check_retirement(row: _Row, birth: _Day | None, today: date) -> _Day | None:
    value, column = row.get("retirement_date")
    if value is None:
        if "retirement_date" in row.header.fields:  # a missing column is reported once for the file
            row.fail(column, "retirement_date_missing", "退休时间不能为空")
        return None
    retirement = row.parse("retirement_date", _parse_day)
    if retirement is None:
        return None
    # a month-only date is given the benefit of the doubt: any day of that month would do
    if birth is not None and retirement.last < _add_years(birth.first, _MIN_RETIREMENT_AGE):
        row.fail(column, "retirement_too_early", f"退休时间{retirement.show()}早于{_MIN_RETIREMENT_AGE}周岁，请核对")
    if retirement.first > _add_years(today, 1):
        row.fail(column, "retirement_too_late", f"退休时间{retirement.show()}晚于一年以后，请核对")
    return retirement


def _check_party(row: _Row, birth: _Day | None, today: date) -> tuple[bool | None, _Day | None]:
    member = row.parse("party_member", _parse_party)
    joined = row.parse("party_joined_on", _parse_day)
    if joined is None:
        return member, None
    column = row.get("party_joined_on")[1]
    if birth is not None and joined.last < _add_years(birth.first, _PARTY_MIN_AGE):
        row.fail(column, "party_joined_too_early", f"入党时间{joined.show()}早于{_PARTY_MIN_AGE}周岁，请核对")
    if joined.first > today:
        row.fail(column, "party_joined_in_future", f"入党时间{joined.show()}晚于今天")
    if member is False:
        row.fail(row.get("party_member")[1], "party_member_conflict", "填写了入党时间，但政治面貌不是中共党员")
        return member, joined
    return True, joined  # a date of joining says the person is a member, even with 是否党员 left blank


# --- the whole roster -------------------------------------------------------------------------------------------


def _read_numbered(numbered_rows: Iterable[tuple[int, Sequence[object]]], today: date) -> Roster:
    rows = iter(numbered_rows)
    header = _find_header(rows)
    if header is None:
        return _no_header()
    builder = _RosterBuilder(header, today)
    for number, cells in rows:
        builder.add(number, cells)
    return builder.roster()


def _find_header(rows: Iterator[tuple[int, Sequence[object]]]) -> _Header | None:
    for number, cells in rows:
        if (header := _match_header(number, cells)) is not None:
            return header
        if number >= HEADER_SEARCH_ROWS:
            return None
    return None


@dataclass
class _RosterBuilder:
    header: _Header
    today: date
    records: list[RetireeRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows_by_content: dict[tuple[object, ...], int] = field(default_factory=dict)
    rows_by_id: dict[str, int] = field(default_factory=dict)
    converted_from_15: list[int] = field(default_factory=list)

    def add(self, number: int, cells: Sequence[object]) -> None:
        cells = [_clean_cell(cell) for cell in cells]  # once per row: cleaning is most of the work
        if not self._has_data(cells):
            return  # blank rows are layout, not data; so are rows with only a pre-filled 序号
        content = _row_content(cells)
        if (first := self.rows_by_content.setdefault(content, number)) != number:
            self.problems.append(Problem(number, None, f"与第{first}行完全重复", "duplicate_row"))
            return
        row = _Row(number, cells, self.header)
        record, id_number = _check_row(row, self.today)
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
