"""What a person is indexed by and what a search text is taken for (pure), and what a history entry leaves out."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.errors import DomainError, ErrorCode
from contracts.id_number import make_id_number
from services.profiles.retiree_history import plain_fields
from services.profiles.search_terms import (
    Term,
    TermKind,
    bigrams,
    name_terms,
    normalise_name,
    person_terms,
    phone_digits,
    probe,
)

ID_15 = "110105550312371"


class TestNormalisation:
    def test_a_name_loses_spaces_full_width_forms_middle_dots_and_case(self) -> None:
        assert normalise_name(" 张　建国 ") == "张建国"
        assert normalise_name("买买提·艾力") == "买买提艾力"
        assert normalise_name("Ｌｉ Ｍｉｎｇ") == "liming"

    def test_a_phone_is_its_digits_without_the_country_code(self) -> None:
        assert phone_digits("139 0123-4567") == "13901234567"
        assert phone_digits("+86 139 0123 4567") == "13901234567"
        assert phone_digits("0086-13901234567") == "13901234567"
        assert phone_digits("010-65001234") == "01065001234"

    def test_bigrams_are_every_two_character_part_once(self) -> None:
        assert bigrams("张建国") == ["张建", "建国"]
        assert bigrams("哈哈哈") == ["哈哈"]
        assert bigrams("张") == []


class TestPersonTerms:
    def test_name_id_number_and_phone_with_their_parts(self) -> None:
        id_number = make_id_number("110105", date(1955, 3, 12), 37)
        terms = person_terms("张建国", id_number.lower(), "139 0123 4567")
        assert terms == [
            Term(TermKind.NAME, "张建国"), Term(TermKind.NAME_BIGRAM, "张建"), Term(TermKind.NAME_BIGRAM, "建国"),
            Term(TermKind.ID_NUMBER, id_number.upper()), Term(TermKind.ID_TAIL, id_number.upper()[-6:]),
            Term(TermKind.PHONE, "13901234567"), Term(TermKind.PHONE_TAIL, "4567"),
        ]

    def test_missing_fields_give_no_terms(self) -> None:
        assert person_terms("王芳", None, None) == name_terms("王芳")

    def test_the_kind_is_part_of_what_is_hashed(self) -> None:
        assert Term(TermKind.PHONE_TAIL, "1234").message != Term(TermKind.NAME, "1234").message


class TestProbe:
    @pytest.mark.parametrize(("text", "matched", "kind", "value"), [
        ("11010519491231002x", "id_number", TermKind.ID_NUMBER, "11010519491231002X"),
        ("110105 1949 1231 002X", "id_number", TermKind.ID_NUMBER, "11010519491231002X"),
        ("31002x", "id_number_tail", TermKind.ID_TAIL, "31002X"),
        ("123456", "id_number_tail", TermKind.ID_TAIL, "123456"),
        ("139-0123-4567", "phone", TermKind.PHONE, "13901234567"),
        ("+8613901234567", "phone", TermKind.PHONE, "13901234567"),
        ("010-65001234", "phone", TermKind.PHONE, "01065001234"),
        ("4567", "phone_tail", TermKind.PHONE_TAIL, "4567"),
    ])
    def test_numbers_by_their_shape(self, text: str, matched: str, kind: TermKind, value: str) -> None:
        p = probe(text)
        assert (p.matched, p.exact, p.parts) == (matched, Term(kind, value), ())

    def test_a_legacy_15_digit_number_is_searched_as_it_was_converted(self) -> None:
        p = probe(ID_15)
        assert p.exact.kind is TermKind.ID_NUMBER
        assert p.exact.value[:8] == "11010519" and len(p.exact.value) == 18  # noqa: PLR2004

    def test_a_name_matches_whole_or_by_all_its_bigrams(self) -> None:
        p = probe("张建国")
        assert p.exact == Term(TermKind.NAME, "张建国")
        assert p.parts == (Term(TermKind.NAME_BIGRAM, "张建"), Term(TermKind.NAME_BIGRAM, "建国"))
        two = probe("建国")
        assert (two.exact, two.parts) == (Term(TermKind.NAME, "建国"), (Term(TermKind.NAME_BIGRAM, "建国"),))

    @pytest.mark.parametrize("text", ["张", " ", "123", "·"])
    def test_a_text_that_can_match_nothing_is_refused_in_chinese(self, text: str) -> None:
        with pytest.raises(DomainError) as err:
            probe(text)
        assert err.value.code is ErrorCode.VALIDATION
        assert err.value.details == {"field": "text"}
        assert "请" in err.value.zh


class TestHistoryFields:
    def test_sealed_fields_are_left_out_and_flagged(self) -> None:
        data = {"retiree_id": "r", "name": "wqenc:v1:abc", "id_number": "wqenc:v1:def", "phone": None,
                "address": None, "birth_date": "1955-03-12", "unit": "U0001", "status": "planned"}
        plain, sealed = plain_fields("RetireeRegistered", data)
        # The birth date is one of the facts sealed for care (SEALED_FACTS): left out like the rest.
        assert plain == {"retiree_id": "r", "unit": "U0001", "status": "planned"}
        assert sealed is True

    def test_the_facts_key_is_never_shown(self) -> None:
        plain, sealed = plain_fields("MemberHospitalized", {"unit": "U1", "admitted_on": "wqenc:v1:a",
                                                            "facts_key": "wqkey:v1:2:abc"})
        assert (plain, sealed) == ({"unit": "U1"}, True)

    def test_an_event_without_sealed_values_is_not_flagged(self) -> None:
        plain, sealed = plain_fields("MemberDeceased", {"unit": "U1", "died_on": "2026-11-20"})
        assert (plain, sealed) == ({"unit": "U1", "died_on": "2026-11-20"}, False)

    def test_a_sealed_value_of_an_unknown_type_is_left_out_too(self) -> None:
        plain, sealed = plain_fields("SomethingNew", {"note": "wqenc:v1:xyz", "on": "2026-01-01"})
        assert (plain, sealed) == ({"on": "2026-01-01"}, True)
