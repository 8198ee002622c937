"""The resident identity number (GB 11643-1999): normalisation, legacy conversion and every refusal reason."""

from __future__ import annotations

import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.id_number import IdNumber, InvalidIdNumber, check_digit, make_id_number, parse_id_number

TODAY = date(2026, 5, 1)
KNOWN_VALID = "11010519491231002X"  # the textbook example: Beijing Chaoyang, 1949-12-31, female


def test_the_known_valid_number() -> None:
    assert check_digit(KNOWN_VALID[:17]) == "X"
    assert parse_id_number(KNOWN_VALID, TODAY) == IdNumber(KNOWN_VALID, date(1949, 12, 31), "female")


@pytest.mark.parametrize(
    ("first17", "expected"),
    [("11010519491231002", "X"), ("44030419570808031", "4"), ("32010219600501022", "5"), ("11010519580312011", "7")],
)
def test_check_digit(first17: str, expected: str) -> None:
    assert check_digit(first17) == expected


@pytest.mark.parametrize(
    "bad", ["1101051949123100", "110105194912310021", "1101051949123100a", "１１０１０５１９４９１２３１００２"]
)
def test_check_digit_wants_17_ascii_digits(bad: str) -> None:
    with pytest.raises(ValueError, match="17 ASCII digits"):
        check_digit(bad)


@pytest.mark.parametrize(
    "raw",
    [
        "11010519491231002x",  # lowercase check letter
        "  11010519491231002X\t",
        "\u300011010519491231002X\u3000",  # ideographic spaces around
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and letter
        "１１０１０５１９４９１２３１００２ｘ",
    ],
)
def test_spelling_variants_normalise_to_the_same_value(raw: str) -> None:
    assert parse_id_number(raw, TODAY).value == KNOWN_VALID


def test_sex_follows_the_parity_of_the_sequence_code() -> None:
    assert parse_id_number(make_id_number("110105", date(1958, 3, 12), 11), TODAY).sex == "male"
    assert parse_id_number(make_id_number("110105", date(1958, 3, 12), 12), TODAY).sex == "female"
    assert parse_id_number(make_id_number("110105", date(1958, 3, 12), 0), TODAY).sex == "female"


def test_a_legacy_15_digit_number_is_converted() -> None:
    parsed = parse_id_number("110105491231002", TODAY)
    assert parsed.value == KNOWN_VALID
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.converted_from_15
    assert not parse_id_number(KNOWN_VALID, TODAY).converted_from_15


def test_a_full_width_legacy_number_is_converted_too() -> None:
    assert parse_id_number("１１０１０５４９１２３１００２", TODAY).value == KNOWN_VALID


def test_a_legacy_number_with_an_impossible_date_is_refused() -> None:
    with pytest.raises(InvalidIdNumber) as caught:
        parse_id_number("110105490231002", TODAY)
    assert caught.value.code == "id_birth_date"


def _with_check(first17: str) -> str:
    return first17 + check_digit(first17)


@pytest.mark.parametrize(
    ("raw", "code", "reason_zh", "message"),
    [
        ("", "id_missing", "身份证号为空", "empty"),
        ("   ", "id_missing", "身份证号为空", "empty"),
        ("1101051949123100", "id_length", "长度应为18位（现为16位）", "length is 16"),
        ("11010519491231002X1", "id_length", "长度应为18位（现为19位）", "length is 19"),
        ("1101051949123100X2", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        ("11010519491231002Y", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        ("11010519491231 02X", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        ("11010519491231002A", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        ("11010549123100X", "id_characters", "只能包含数字，最后一位可以是X", "17 digits followed by"),
        (_with_check("01010519491231002"), "id_region", "地址码无效（首位应为1-8）", "region code '010105'"),
        (_with_check("91010519491231002"), "id_region", "地址码无效（首位应为1-8）", "region code '910105'"),
        (_with_check("11010519490230002"), "id_birth_date", "出生日期无效", "19490230 is not a calendar date"),
        (_with_check("11010519491301002"), "id_birth_date", "出生日期无效", "19491301 is not a calendar date"),
        (_with_check("11010519490000002"), "id_birth_date", "出生日期无效", "is not a calendar date"),
        (_with_check("11010518991231002"), "id_birth_date", "出生日期无效（早于1900年）", "before 1900-01-01"),
        (_with_check("11010520260502002"), "id_birth_date", "出生日期无效（晚于今天）", "after today (2026-05-01)"),
        ("110105194912310021", "id_check_digit", "校验码错误，应为 X", "check digit is '1', expected 'X'"),
        ("110105195803120110", "id_check_digit", "校验码错误，应为 7", "check digit is '0', expected '7'"),
    ],
)
def test_refusals_say_why(raw: str, code: str, reason_zh: str, message: str) -> None:
    with pytest.raises(InvalidIdNumber, match=re.escape(message)) as caught:
        parse_id_number(raw, TODAY)
    assert caught.value.code == code
    assert caught.value.reason_zh == reason_zh
    assert isinstance(caught.value, ValueError)


def test_born_today_and_on_1900_01_01_are_accepted() -> None:
    assert parse_id_number(make_id_number("110105", TODAY, 1), TODAY).birth_date == TODAY
    assert parse_id_number(make_id_number("810000", date(1900, 1, 1), 1), TODAY).birth_date == date(1900, 1, 1)


def test_make_id_number_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="region"):
        make_id_number("010105", date(1958, 3, 12), 1)
    with pytest.raises(ValueError, match="region"):
        make_id_number("11010", date(1958, 3, 12), 1)
    with pytest.raises(ValueError, match="sequence"):
        make_id_number("110105", date(1958, 3, 12), 1000)
    with pytest.raises(ValueError, match="sequence"):
        make_id_number("110105", date(1958, 3, 12), -1)


regions = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(regions, births, sequences)
def test_made_numbers_parse_back(region: str, birth: date, seq: int) -> None:
    parsed = parse_id_number(make_id_number(region, birth, seq), TODAY)
    assert parsed.birth_date == birth
    assert parsed.sex == ("male" if seq % 2 else "female")
    assert parsed.value.startswith(region)


@given(regions, births, sequences, st.integers(min_value=0, max_value=16), st.integers(min_value=1, max_value=9))
def test_any_single_digit_error_is_caught(region: str, birth: date, seq: int, position: int, shift: int) -> None:
    # MOD 11-2 detects every single substitution: the weights are all non-zero modulo 11
    value = make_id_number(region, birth, seq)
    wrong = value[:position] + str((int(value[position]) + shift) % 10) + value[position + 1 :]
    with pytest.raises(InvalidIdNumber):
        parse_id_number(wrong, TODAY)


@given(regions, births, sequences)
def test_swapping_two_different_adjacent_digits_is_caught(region: str, birth: date, seq: int) -> None:
    value = make_id_number(region, birth, seq)
    for i in range(16):
        if value[i] != value[i + 1]:
            swapped = value[:i] + value[i + 1] + value[i] + value[i + 2 :]
            with pytest.raises(InvalidIdNumber):
                parse_id_number(swapped, TODAY)
