"""Single cells: cleaning them into text, and parsing a name, sex, party membership, category or phone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from contracts.id_number import Sex
from wanqing.roster.records import Category

# --- cells ------------------------------------------------------------------------------------------------------

# U+FF01..U+FF5E are the full-width forms of ASCII 0x21..0x7E; U+3000 is the ideographic space
_HALF_WIDTH: dict[int, int | str | None] = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: " "}
_HALF_WIDTH |= dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # invisible: removed
# the searches below are fast C code; translate() and sub() are not, and most cells need neither
_TRANSLATABLE = re.compile("[\uff01-\uff5e\u3000\u200b\u200c\u200d\u2060\ufeff]")
_UNTIDY_SPACE = re.compile(r"\s{2,}|[^\S ]")
SPACES = re.compile(r"\s+")


def clean_text(value: object) -> str | None:
    """A cell as text: half-width, trimmed, inner whitespace collapsed; None when blank."""
    if value is None:
        return None
    text = value if isinstance(value, str) else _as_str(value)
    if _TRANSLATABLE.search(text):
        text = text.translate(_HALF_WIDTH)
    if _UNTIDY_SPACE.search(text):
        text = SPACES.sub(" ", text)
    return text.strip() or None


def _as_str(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def clean_cell(value: object) -> object:
    return clean_text(value) if isinstance(value, str) else value


def cell_text(value: object) -> str:
    """The text of a cleaned cell, without cleaning a string again."""
    return value if isinstance(value, str) else clean_text(value) or ""


@dataclass(frozen=True, slots=True)
class UncalculatedFormula:
    """A formula cell without a stored result (the file was written by a program, not saved by Excel)."""

    formula: str


class CellError(Exception):
    def __init__(self, kind: str, message_zh: str) -> None:
        super().__init__(message_zh)
        self.kind = kind
        self.message_zh = message_zh


# --- other cell types -------------------------------------------------------------------------------------------

# a legacy identity number has 15 digits, a current one 17 and a check character
_ID_DIGITS = re.compile(r"(?:\D*\d){15}")
_SMALLEST_ID = 10**14  # the smallest number of 15 digits


def looks_like_id(value: object) -> bool:
    """Whether a cell could hold somebody's identity number (valid or not): enough digits for one."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value >= _SMALLEST_ID
    return isinstance(value, str) and _ID_DIGITS.match(value) is not None


_CJK = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_NAME = re.compile(f"[{_CJK}]+(·[{_CJK}]+)*")
_NAME_DOTS = str.maketrans(dict.fromkeys(".•・‧･∙⋅", "·"))
_NAME_LENGTH = range(2, 31)


def parse_name(value: object) -> str:
    name = SPACES.sub("", cell_text(value)).translate(_NAME_DOTS)
    if len(name) not in _NAME_LENGTH:
        raise CellError("invalid", f"姓名“{name}”长度应为2-30个字")
    if not _NAME.fullmatch(name):
        raise CellError("invalid", f"姓名“{name}”只能包含汉字和间隔号“·”")
    return name


_SEXES: dict[str, Sex] = {"男": "male", "男性": "male", "m": "male", "male": "male",
                          "女": "female", "女性": "female", "f": "female", "female": "female"}  # fmt: skip


def parse_sex(value: object) -> Sex:
    text = cell_text(value)
    if (sex := _SEXES.get(text.lower())) is None:
        raise CellError("invalid", f"性别“{text}”应为“男”或“女”")
    return sex


_PARTY_YES = {"是", "党员", "中共党员", "中国共产党党员", "共产党员", "预备党员", "中共预备党员",
              "y", "yes", "true", "1", "√", "✓"}  # fmt: skip
_PARTY_NO = {"否", "不是", "非党员", "非中共党员", "群众", "无", "无党派", "无党派人士", "共青团员", "团员",
             "n", "no", "false", "0", "×"}  # fmt: skip
# members of the eight democratic parties are not 党员 in the sense of this column (是否中共党员)
_DEMOCRATIC_PARTIES = ("民革", "民盟", "民建", "民进", "农工", "致公", "九三", "台盟")


def parse_party(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = cell_text(value).lower()
    if text in _PARTY_YES:
        return True
    if text in _PARTY_NO or text.startswith(_DEMOCRATIC_PARTIES):
        return False
    raise CellError("invalid", f"无法识别的政治面貌“{text}”")


def parse_category(value: object) -> Category:
    text = cell_text(value)
    if "干部" in text or text.lower() == "cadre":
        return "cadre"
    if any(word in text for word in ("工人", "工勤", "职工")) or text.lower() == "worker":
        return "worker"
    raise CellError("invalid", f"人员类别“{text}”应为“干部”或“工人”")


_MOBILE = re.compile(r"(?:\+?86)?(1\d{10})")
_LANDLINE = re.compile(r"(?:(0\d{2,3})-|\((0\d{2,3})\))(\d{7,8})(-\d{1,6})?")
_LANDLINE_UNSEPARATED = re.compile(r"(0(?:10|2\d)|0[3-9]\d{2})(\d{7,8})")  # 010 and 02x have 3 digits, others 4


def parse_phone(value: object) -> str:
    text = SPACES.sub("", cell_text(value))
    if match := _MOBILE.fullmatch(text.replace("-", "")):
        return match.group(1)
    if match := _LANDLINE.fullmatch(text):
        dash_area, bracket_area, local, extension = match.groups()
        return f"{dash_area or bracket_area}-{local}{extension or ''}"
    if match := _LANDLINE_UNSEPARATED.fullmatch(text):
        return "-".join(match.groups())
    raise CellError("invalid", f"电话号码“{text}”格式不正确（手机为11位，固定电话如010-12345678）")
