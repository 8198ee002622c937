"""What the search index holds and what a search looks for: normalised terms, pure (no key, no I/O).

A person is indexed by terms `(kind, value)` of their name, ID number and phone; `search_index.py` stores only a
keyed hash of each term, never the value. A search text is normalised the same way and turned into a `Probe`:
the terms that must match, chosen by what the text looks like.

* name: NFKC, whitespace and the middle dots of transcribed names (买买提·艾力) removed, lower-case; indexed whole
  and as every 2-character substring (bigram), so "建国" finds "张建国";
* ID number: NFKC, whitespace removed, upper-case (a check letter is always "X"); indexed whole and by its last 6
  characters;
* phone: its digits (a leading 86 / 0086 country code dropped); indexed whole and by its last 4 digits.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from contracts.errors import refused
from contracts.id_number import check_digit
from contracts.profiles import SearchMatch

_SPACE = re.compile(r"\s+")
_NAME_DOTS = str.maketrans("", "", "·・•‧")
_ID18 = re.compile(r"[0-9]{17}[0-9X]")
_ID_TAIL = re.compile(r"[0-9]{5}[0-9X]")
_NUMBER = re.compile(r"\+?[0-9][0-9-]*")  # a phone as typed: digits, dashes, a leading +
_NOT_DIGIT = re.compile(r"[^0-9]")
_LEGACY_ID = 15
_ID_TAIL_LEN = 6
_PHONE_TAIL_LEN = 4
_PHONE_MIN, _PHONE_MAX = 5, 17
_MIN_NAME = 2


class TermKind(StrEnum):
    """Stored next to each hash: a changed phone replaces the person's phone terms only."""

    NAME = "name"
    NAME_BIGRAM = "name_bigram"
    ID_NUMBER = "id_number"
    ID_TAIL = "id_tail"
    PHONE = "phone"
    PHONE_TAIL = "phone_tail"


PHONE_KINDS = (TermKind.PHONE, TermKind.PHONE_TAIL)
_PREFIX = {k: f"{k.value}\x00".encode() for k in TermKind}


@dataclass(frozen=True, slots=True)
class Term:
    kind: TermKind
    value: str

    @property
    def message(self) -> bytes:
        """What is hashed: the kind is bound in, so a name's "1234" never matches a phone's tail."""
        return _PREFIX[self.kind] + self.value.encode()


def normalise_name(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).translate(_NAME_DOTS).lower()


def normalise_id_number(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).upper()


def phone_digits(text: str) -> str:
    """The digits of a phone number, without a country code 86 in front of an 11-digit number."""
    digits = _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", text))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:  # noqa: PLR2004 - a mobile number
            return digits[len(prefix):]
    return digits


def bigrams(name: str) -> list[str]:
    """Every 2-character substring of a normalised name, each once, in order."""
    return list(dict.fromkeys(name[i:i + 2] for i in range(len(name) - 1)))


def name_terms(name: str | None) -> list[Term]:
    n = normalise_name(name or "")
    if not n:
        return []
    return [Term(TermKind.NAME, n), *(Term(TermKind.NAME_BIGRAM, b) for b in bigrams(n))]


def id_number_terms(id_number: str | None) -> list[Term]:
    v = normalise_id_number(id_number or "")
    if not v:
        return []
    return [Term(TermKind.ID_NUMBER, v), Term(TermKind.ID_TAIL, v[-_ID_TAIL_LEN:])]


def phone_terms(phone: str | None) -> list[Term]:
    d = phone_digits(phone or "")
    if not d:
        return []
    return [Term(TermKind.PHONE, d), Term(TermKind.PHONE_TAIL, d[-_PHONE_TAIL_LEN:])]


def person_terms(name: str | None, id_number: str | None, phone: str | None) -> list[Term]:
    """Everything a person is found by; each term once."""
    return list(dict.fromkeys([*name_terms(name), *id_number_terms(id_number), *phone_terms(phone)]))


@dataclass(frozen=True, slots=True)
class Probe:
    """What a search text is taken for: a person matches `exact`, or (a name's bigrams) every one of `parts`."""

    matched: SearchMatch  # how an exact match matched
    exact: Term
    parts: tuple[Term, ...] = ()


def _number_probe(compact: str) -> Probe:
    digits = _NOT_DIGIT.sub("", compact)
    if len(digits) == _LEGACY_ID and not digits.startswith("0"):  # a pre-1999 ID number: as it was converted
        first17 = f"{digits[:6]}19{digits[6:]}"
        return Probe("id_number", Term(TermKind.ID_NUMBER, first17 + check_digit(first17)))
    if len(digits) == _ID_TAIL_LEN:
        return Probe("id_number_tail", Term(TermKind.ID_TAIL, digits))
    if len(digits) == _PHONE_TAIL_LEN:
        return Probe("phone_tail", Term(TermKind.PHONE_TAIL, digits))
    national = phone_digits(digits)
    if _PHONE_MIN <= len(national) <= _PHONE_MAX:
        return Probe("phone", Term(TermKind.PHONE, national))
    raise refused(f"a number of {len(digits)} digits is neither an ID number, its last 6, a phone nor its last 4",
                  zh="号码位数不对：请输入完整的身份证号、身份证号后6位、电话号码或电话后4位", field="text")


def probe(text: str) -> Probe:
    """The terms a search text must match; a text that can match nothing is refused (validation)."""
    compact = _SPACE.sub("", unicodedata.normalize("NFKC", text))
    upper = compact.upper()
    if _ID18.fullmatch(upper):
        return Probe("id_number", Term(TermKind.ID_NUMBER, upper))
    if _ID_TAIL.fullmatch(upper) and upper.endswith("X"):
        return Probe("id_number_tail", Term(TermKind.ID_TAIL, upper))
    if _NUMBER.fullmatch(compact):
        return _number_probe(compact)
    name = normalise_name(text)
    if len(name) < _MIN_NAME:
        raise refused("a name search needs at least 2 characters",
                      zh="请至少输入姓名中的两个字，或身份证号、电话号码（可只输后几位）", field="text")
    exact = Term(TermKind.NAME, name)
    return Probe("name", exact, tuple(Term(TermKind.NAME_BIGRAM, b) for b in bigrams(name)))
