"""Validation of the PRC resident identity number (公民身份号码, GB 11643-1999): pure, no I/O.

Part of the published language: the format of `RegisterRetiree.id_number` and of a roster's ID column, so
profiles (which decides), the command line (which previews a roster) and the demo read the same rules.

The number is 18 characters: a 6-digit region code, the birth date YYYYMMDD, a 3-digit sequence code
(odd for men, even for women) and an ISO 7064 MOD 11-2 check digit (0-9 or X).

What is accepted beyond the strict form, because office staff type and paste these numbers:

* surrounding spaces (including the ideographic space) and full-width characters ("１１０１…", "Ｘ");
* a lowercase "x" as check digit; the normalised value always carries "X";
* legacy 15-digit numbers (issued before 1999, no check digit): they are CONVERTED, not refused. The standard
  conversion inserts "19" before the 6-digit date and appends the computed check digit. Numbers with the
  centenarian sequence codes 996-999 (born in the 1800s) are then refused by the 1900-01-01 limit, which is
  the right answer for a living retiree.

The region code is checked only for its first digit (1-8); no region table is shipped, because codes are
renamed and retired over the years and an old number stays valid for life.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Literal

Sex = Literal["male", "female"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"  # index: weighted sum mod 11
_EARLIEST_BIRTH = date(1900, 1, 1)

_FIRST17 = re.compile(r"[0-9]{17}")
_FULL18 = re.compile(r"[0-9]{17}[0-9X]")
_LEGACY15 = re.compile(r"[0-9]{15}")
_REGION = re.compile(r"[1-8][0-9]{5}")


class InvalidIdNumber(ValueError):  # noqa: N818 - the name callers were promised
    """A refused identity number: `str(error)` is for developers, `reason_zh` is shown to staff."""

    def __init__(self, message: str, *, reason_zh: str, code: str) -> None:
        super().__init__(message)
        self.reason_zh = reason_zh
        self.code = code


@dataclass(frozen=True, slots=True)
class IdNumber:
    value: str
    birth_date: date
    sex: Sex
    converted_from_15: bool = False  # the input was a legacy 15-digit number; `value` is its 18-digit form

    def __str__(self) -> str:
        return self.value


def check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if not _FIRST17.fullmatch(first17):
        raise ValueError(f"expected 17 ASCII digits, got {first17!r}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def make_id_number(region: str, birth: date, seq: int) -> str:
    """A valid 18-character number; for tests and demo data, never for real people."""
    if not _REGION.fullmatch(region):
        raise ValueError(f"region must be 6 digits starting with 1-8, got {region!r}")
    if not 0 <= seq <= 999:  # noqa: PLR2004 - the sequence code has three digits
        raise ValueError(f"sequence must be within 0..999, got {seq}")
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def parse_id_number(raw: str, today: date) -> IdNumber:
    """Validate and normalise one identity number; raise `InvalidIdNumber` with the first reason found."""
    text = normalise(raw)
    legacy = _LEGACY15.fullmatch(text) is not None
    if legacy:
        text = _upgrade_15(text)
    _check_shape(raw, text)
    if not _REGION.fullmatch(text[:6]):
        raise InvalidIdNumber(
            f"region code {text[:6]!r} must start with a digit 1-8",
            reason_zh="地址码无效（首位应为1-8）",
            code="id_region",
        )
    birth = _birth_date(text[6:14], today)
    expected = check_digit(text[:17])
    if text[17] != expected:
        raise InvalidIdNumber(
            f"check digit is {text[17]!r}, expected {expected!r}",
            reason_zh=f"校验码错误，应为 {expected}",
            code="id_check_digit",
        )
    sex: Sex = "male" if int(text[16]) % 2 == 1 else "female"
    return IdNumber(value=text, birth_date=birth, sex=sex, converted_from_15=legacy)


def normalise(raw: str) -> str:
    """Full-width to ASCII (NFKC), surrounding whitespace removed, check letter upper-cased."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def _upgrade_15(legacy: str) -> str:
    first17 = f"{legacy[:6]}19{legacy[6:]}"
    return first17 + check_digit(first17)


def _check_shape(raw: str, text: str) -> None:
    if not text:
        raise InvalidIdNumber("identity number is empty", reason_zh="身份证号为空", code="id_missing")
    if len(text) not in {15, 18}:
        raise InvalidIdNumber(
            f"length is {len(text)}, expected 18 (or a legacy 15-digit number)",
            reason_zh=f"长度应为18位（现为{len(text)}位）",
            code="id_length",
        )
    if not _FULL18.fullmatch(text):
        # a 15-character text that is not all digits lands here too, with an 18-digit wording on purpose
        raise InvalidIdNumber(
            f"{raw!r} must be 17 digits followed by a digit or X",
            reason_zh="只能包含数字，最后一位可以是X",
            code="id_characters",
        )


def _birth_date(digits: str, today: date) -> date:
    try:
        birth = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise InvalidIdNumber(
            f"birth date {digits} is not a calendar date", reason_zh="出生日期无效", code="id_birth_date"
        ) from None
    if birth < _EARLIEST_BIRTH:
        raise InvalidIdNumber(
            f"birth date {birth} is before 1900-01-01", reason_zh="出生日期无效（早于1900年）", code="id_birth_date"
        )
    if birth > today:
        raise InvalidIdNumber(
            f"birth date {birth} is after today ({today})", reason_zh="出生日期无效（晚于今天）", code="id_birth_date"
        )
    return birth
