"""deploy/agencies.json is checked against the contracts: what no agency may have is refused at load, by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.feed.policy import DEFAULT_BOOK, PolicyError, load_book

BASIS = "《中华人民共和国社会保险法》第十六条：核定养老金须核对公民身份号码"


def book_with(tmp_path: Path, rule: dict[str, Any], type_: str = "MemberDeceased", **agency: Any) -> Path:
    doc = {"agencies": [{"id": "x", "name": "某某局", "short": "某局", "purpose": "测试用途说明",
                         "events": {type_: rule}, **agency}]}
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_book_loads() -> None:
    book = load_book(DEFAULT_BOOK)
    assert {a.short for a in book.agencies} == {"人社局", "民政局", "卫健委", "幸福里社区", "统计局"}
    hrss = book.find("人社局")
    assert set(hrss.events["MemberDeceased"].reveal) == {"id_number", "name"}


@pytest.mark.parametrize(("rule", "type_", "agency", "says"), [
    ({"fields": ["died_on"]}, "NoSuchEvent", {}, "is not an event of the platform"),
    ({"fields": ["cause_of_death"]}, "MemberDeceased", {}, "has no field 'cause_of_death'"),
    ({"fields": ["retiree_id"]}, "MemberDeceased", {}, "is an internal id"),
    ({"fields": ["case_id"]}, "AssistancePaid", {}, "is an internal id"),
    ({"fields": ["diagnosis"]}, "MemberHospitalized", {}, "is personal data sealed in the event"),
    ({"fields": ["birth_date"]}, "RetireeRegistered", {}, "is personal data sealed in the event"),
    ({"fields": ["approved_by"]}, "AssistanceApproved", {}, "names the platform's staff"),
    ({"fields": [], "reveal": {"id_number": BASIS}}, "MemberDeceased", {"subject": "none"}, "counts only"),
    ({"fields": [], "known_only": True}, "MemberDeceased", {"subject": "none"}, "counts only"),
    ({"fields": [], "reveal": {"id_number": "因为"}}, "MemberDeceased", {}, "at least 8 characters"),
    ({"fields": [], "reveal": {"bank_account": BASIS}}, "MemberDeceased", {}, "reveal.bank_account"),
    ({"feilds": ["died_on"]}, "MemberDeceased", {}, "feilds"),
    ({"fields": [], "where": {"community": "幸福里社区"}}, "MemberDeceased", {}, "has no field 'community'"),
])
def test_what_no_agency_may_have_is_refused_by_name(tmp_path: Path, rule: dict[str, Any], type_: str,
                                                    agency: dict[str, Any], says: str) -> None:
    with pytest.raises(PolicyError) as err:
        load_book(book_with(tmp_path, rule, type_, **agency))
    assert says in str(err.value)
