"""The documents each agency is given (wanqing/agency_docs.py): one AsyncAPI 3.0 document per agency of the real
book, a channel for exactly the types its policy gives it, message schemas whose `data` is exactly the rule's
fields, and the copy kept in docs/agencies/generated/ is what a fresh export writes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.feed import SUBJECT_ERASED, AgencyPolicy
from services.feed.app import load_book
from wanqing.agency_docs import DOCS_GENERATED, export_agency_docs

BOOK = load_book()
AGENCIES = {a.id: a for a in BOOK.agencies}
REGENERATE = ".venv/bin/python -m wanqing.agency_docs"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("export")
    export_agency_docs(target, BOOK)
    return target / "agencies"


def expected_types(agency: AgencyPolicy) -> set[str]:
    return set(agency.events) | ({SUBJECT_ERASED} if agency.subject == "pseudonym" else set())


def load(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def test_one_asyncapi_document_per_agency(exported: Path) -> None:
    assert {p.name for p in exported.iterdir()} == set(AGENCIES)
    for agency in BOOK.agencies:
        doc = load(exported / agency.id / "asyncapi.json")
        assert doc["asyncapi"] == "3.0.0"
        assert doc["info"]["title"] == f"{agency.name} 数据订阅"
        assert (exported / agency.id / "README.md").read_text("utf-8").startswith(f"# {agency.name}")


@pytest.mark.parametrize("agency_id", sorted(AGENCIES))
def test_channels_are_exactly_the_agency_types(exported: Path, agency_id: str) -> None:
    agency = AGENCIES[agency_id]
    doc = load(exported / agency_id / "asyncapi.json")
    addresses = {c["address"] for c in doc["channels"].values()}
    feed = {a for a in addresses if a.startswith("agency.")}
    assert feed == {f"agency.{agency_id}.{t}" for t in expected_types(agency)}
    assert addresses - feed == {f"witness.{agency_id}.{{service}}.checkpoint"}
    checkpoint = doc["channels"]["Checkpoint"]
    assert set(checkpoint["parameters"]) == {"service"}
    assert set(doc["components"]["schemas"]["Checkpoint"]["properties"]) == {"body", "signature"}
    # every channel is one the platform sends on: nothing in the document lets an agency publish
    assert {op["action"] for op in doc["operations"].values()} == {"send"}


def _data_schema(schema: dict, defs_key: str = "$defs") -> dict:
    ref = schema["properties"]["data"]["$ref"]
    return schema[defs_key][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("agency_id", sorted(AGENCIES))
def test_message_data_is_exactly_the_rule(exported: Path, agency_id: str) -> None:
    agency = AGENCIES[agency_id]
    schemas = exported / agency_id / "schemas"
    assert {p.name for p in schemas.iterdir()} == {f"{t}.schema.json" for t in expected_types(agency) | {
        "Checkpoint"}}
    doc = load(exported / agency_id / "asyncapi.json")
    components = doc["components"]["schemas"]
    for type_, rule in agency.events.items():
        schema = load(schemas / f"{type_}.schema.json")
        assert schema["$id"] == f"urn:wanqing:agency:{agency_id}:{type_}"
        data = _data_schema(schema)
        expected = set(rule.fields) | set(rule.reveal)
        assert set(data["properties"]) == expected
        assert set(data.get("required", [])) == expected
        assert data["additionalProperties"] is False
        for name, basis in rule.reveal.items():
            assert basis in data["properties"][name]["description"]
            assert {"type": "null"} in data["properties"][name]["anyOf"]
        # the AsyncAPI document's payload is the same model
        payload = components[f"{type_}Message"]
        in_doc = components[payload["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        assert set(in_doc["properties"]) == expected
        assert in_doc["additionalProperties"] is False
        # the envelope is FeedMessage's
        assert set(schema["properties"]) == {"message_id", "agency", "type", "schema_version", "occurred_at", "unit",
                                             "subject", "data", "legal_basis"}
    if agency.subject == "pseudonym":
        erased = _data_schema(load(schemas / f"{SUBJECT_ERASED}.schema.json"))
        assert set(erased["properties"]) == {"erased_at"}
        assert erased["additionalProperties"] is False


def test_personal_data_is_never_a_plain_field(exported: Path) -> None:
    """What profiles reveals is typed text with its legal basis; an internal id is nowhere a field."""
    for agency in BOOK.agencies:
        for type_ in agency.events:
            data = _data_schema(load(exported / agency.id / "schemas" / f"{type_}.schema.json"))
            assert "retiree_id" not in data["properties"]
            assert "case_id" not in data["properties"]


def test_export_is_deterministic(exported: Path, tmp_path: Path) -> None:
    export_agency_docs(tmp_path, BOOK)
    again = tmp_path / "agencies"
    files = sorted(p.relative_to(exported) for p in exported.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    for rel in files:
        assert (exported / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_the_repository_copy_is_up_to_date(exported: Path) -> None:
    """docs/agencies/generated/ is what the export writes today: after a change of deploy/agencies.json or of an
    event, regenerate it.
    """
    fresh = {p.relative_to(exported): p.read_bytes() for p in exported.rglob("*") if p.is_file()}
    kept = {p.relative_to(DOCS_GENERATED): p.read_bytes() for p in DOCS_GENERATED.rglob("*") if p.is_file()}
    assert sorted(kept) == sorted(fresh), f"docs/agencies/generated/ is stale: run {REGENERATE}"
    stale = sorted(str(rel) for rel in fresh if kept[rel] != fresh[rel])
    assert not stale, f"docs/agencies/generated/ is stale ({', '.join(stale)}): run {REGENERATE}"
