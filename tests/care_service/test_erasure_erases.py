"""Erasure that erases: after ErasePersonalData, the rotation and (window 0) the destruction of the old master
version, none of the person's plaintexts is anywhere: Postgres data files and WAL, the JetStream store, read
models, documents, logs, a dump taken before the erasure (and no key version left on disk opens that dump's key).

The negative control runs the same search before the erasure on plaintexts planted where a search must find
them (a table, the WAL, a stream, a document, a log line), so a broken search cannot pass.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.js import JetStreamContext

from backbone.crypto import Keyring
from backbone.envelope import canonical
from backbone.master_keys import MasterKeys
from contracts.id_number import make_id_number
from services.care import app as care_app
from services.ceremony import app as ceremony_app
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.embedded import EmbeddedNats, EmbeddedPostgres

BIRTH = date(1951, 7, 23)
PERSON = {
    "name": "欧阳明珠",
    "id_number": make_id_number("110105", BIRTH, 37),
    "phone": "13766554433",
    "address": "翠柳巷十七号院东厢",
    "bank_account": "6222020200112233445",
    "diagnosis": "间质性肺纤维化晚期",
    "hospital": "仁和济世医院",
    "emergency": "女儿远赴重洋无人照料",
    "survivor": "欧阳青松",
}
# The facts care decides with, sealed with the person's facts key in the events (backbone/facts.py): the birth date
# and the day of admission, as the events would carry them in the clear.
BIRTH_TEXT = BIRTH.isoformat()
ADMITTED = "2026-11-02"
FACTS = {"birth_date": f'"birth_date":"{BIRTH_TEXT}"', "admitted_on": f'"admitted_on":"{ADMITTED}"',
         "sex": '"sex":"male"', "severity": '"severity":"serious"'}
PLANTED = "探针甲乙丙丁戊己庚"  # planted by the test where a working search must find it
DISTRICT = {"user": "office-1", "role": "district_office", "unit": "DISTRICT"}


def forms(text: str) -> list[bytes]:
    """UTF-8, and as JSON escapes it (an envelope may carry u-escapes)."""
    return list(dict.fromkeys([text.encode(), json.dumps(text).strip('"').encode()]))


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def found_in(paths: list[Path], texts: dict[str, str]) -> dict[str, list[str]]:
    hits: dict[str, list[str]] = {}
    for path in paths:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        for label, text in texts.items():
            if any(f in raw for f in forms(text)):
                hits.setdefault(label, []).append(str(path))
    return hits


def dump_bytes(dump: Path) -> bytes:
    """The dump's text, plus every bytea value in it decoded (envelopes are bytea: hex in a plain dump)."""
    text = dump.read_text(encoding="utf-8")
    blobs = [bytes.fromhex(h) for h in re.findall(r"\\\\x([0-9a-f]+)", text)]
    return text.encode() + b"\n".join(blobs)


def dumped_keys(dump: Path, schema: str, person: str) -> list[tuple[bytes, int]]:
    """The person's wrapped keys in the dump's COPY of `<schema>.person_keys`."""
    text = dump.read_text(encoding="utf-8")
    block = text.split(f"COPY {schema}.person_keys ", 1)[1].split("\\.\n", 1)[0]
    header, *rows = block.splitlines()
    columns = header[header.index("(") + 1:header.index(")")].split(", ")
    out = []
    for row in rows:
        values = dict(zip(columns, row.split("\t"), strict=True))
        if values["person_id"] == person and values["wrapped_key"] != "\\N":
            out.append((bytes.fromhex(values["wrapped_key"].removeprefix("\\\\x")), int(values["key_version"])))
    return out


def unwraps(master: bytes, wrapped: bytes, person: str) -> bytes | None:
    try:
        return AESGCM(master).decrypt(wrapped[:12], wrapped[12:], person.encode())
    except Exception:  # noqa: BLE001 - InvalidTag: this version does not open it
        return None


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path / "pg", durable=True)
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture
async def platform(nats_server: EmbeddedNats, js: JetStreamContext, postgres: EmbeddedPostgres,
                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RunningPlatform]:
    del js  # the streams, made by the fixture
    # The services' log, as a file the test searches (each service configures its logging to stderr at start).
    log_file = (tmp_path / "services.log").open("w", encoding="utf-8")
    monkeypatch.setattr(sys, "stderr", log_file)
    keys = MasterKeys(tmp_path / "data.keys").ensure()
    running = RunningPlatform(nats_server.url, postgres.url)
    running.settings = running.settings.model_copy(update={
        "master_key": None, "key_dir": keys.folder, "backup_window_days": 0, "key_upkeep_interval_s": 0.2,
        "data_dir": tmp_path / "data", "log_format": "json", "log_level": "debug"})
    await running.start(
        (profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True),
        (care_app.NAME, care_app.MIGRATIONS, care_app.build, True),
        (ceremony_app.NAME, ceremony_app.MIGRATIONS, ceremony_app.build, False),
    )
    yield running
    await running.close()
    # Not closed: loggers first used during the test keep it (structlog caches them), and later tests log on.
    log_file.flush()


async def spread(platform: RunningPlatform, rid: str) -> None:
    """Every flow that carries one of the plaintexts."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("RegisterUnit", {"code": "U0001", "name": "区教育局", "kind": "bureau"}),
        ("RegisterRetiree", {"retiree_id": rid, "name": PERSON["name"], "id_number": PERSON["id_number"],
                             "unit": "U0001", "phone": PERSON["phone"], "address": PERSON["address"],
                             "retirement_date": "2011-08-01", "already_retired": True}),
        ("UpdateProfile", {"retiree_id": rid, "bank_account": PERSON["bank_account"], "living_alone": True,
                           "risk_tier": "high"}),
        ("RecordHospitalization", {"retiree_id": rid, "hospital": PERSON["hospital"], "admitted_on": ADMITTED,
                                   "diagnosis": PERSON["diagnosis"]}),
        ("ReportFamilyEmergency", {"retiree_id": rid, "kind": "other", "description": PERSON["emergency"],
                                   "happened_on": "2026-11-03"}),
        ("RecordDeath", {"retiree_id": rid, "died_on": "2026-11-20"}),
        ("RecordSurvivor", {"retiree_id": rid, "survivor_name": PERSON["survivor"], "relation": "子女"}),
    ]
    for command, body in steps:
        reply = await platform.send("profiles", command, body)
        assert reply["ok"], (command, reply)


async def sql_text(url: str, schemas: tuple[str, ...]) -> str:
    """Every row of every table of the services' schemas, as text: what any read model holds."""
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY($1)",
                                  list(schemas))
        parts = []
        for t in tables:
            rows = await conn.fetch(f'SELECT t::text AS r FROM "{t["schemaname"]}"."{t["tablename"]}" t')
            parts += [r["r"] for r in rows]
        # bytea columns print as hex: the event envelopes too, decoded
        blobs = [bytes.fromhex(h).decode("utf-8", "replace") for p in parts for h in re.findall(r"\\x([0-9a-f]+)", p)]
        return "\n".join(parts + blobs)
    finally:
        await conn.close()


async def flush_wal(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CHECKPOINT")
        await conn.execute("SELECT pg_switch_wal()")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()


@pytest.mark.slow
async def test_after_erasure_no_plaintext_is_anywhere_and_the_old_dump_does_not_open(  # noqa: PLR0915
    platform: RunningPlatform, postgres: EmbeddedPostgres, nats_server: EmbeddedNats, js: JetStreamContext,
    tmp_path: Path,
) -> None:
    rid = str(uuid.uuid4())
    keys = MasterKeys(tmp_path / "data.keys")
    await spread(platform, rid)
    facts = await platform.eventually(lambda: _facts(platform, rid, "deceased"))
    assert facts, "care never learnt the facts"
    assert facts["data"]["birth_date"] == BIRTH_TEXT
    # A certificate as ceremony keeps it: <data>/documents/ceremony/<unit>/<retiree>/ (the name printed in it).
    doc = tmp_path / "data" / "documents" / "ceremony" / "U0001" / rid / "退休证-2011001.pdf"
    doc.parent.mkdir(parents=True)
    doc.write_bytes(b"%PDF-1.4 " + PERSON["name"].encode() + b" " + PLANTED.encode())

    # ---- the negative control: planted plaintexts are found by each search
    conn = await asyncpg.connect(postgres.url)
    try:
        await conn.execute("CREATE TABLE public.probe (t text)")
        await conn.execute("INSERT INTO public.probe VALUES ($1)", PLANTED)
    finally:
        await conn.close()
    await js.add_stream(name="PROBE", subjects=["probe.>"])
    await js.publish("probe.x", PLANTED.encode())
    structlog.get_logger().warning("probe_line", text=PLANTED)
    await flush_wal(postgres.url)
    dump = tmp_path / "before.sql"
    await asyncio.to_thread(subprocess.run, [str(Path(postgres._bin) / "pg_dump"),  # noqa: SLF001
                            "--dbname", postgres.url, "--file", str(dump)], check=True, capture_output=True)
    planted = {"planted": PLANTED}
    pgdata, jetstream = postgres.pgdata, nats_server.data_dir / "jetstream"
    assert found_in(files_under(pgdata / "base"), planted), "the data-file search finds nothing"
    assert found_in(files_under(pgdata / "pg_wal"), planted), "the WAL search finds nothing"
    assert found_in(files_under(jetstream), planted), "the JetStream search finds nothing"
    assert found_in(files_under(tmp_path / "data"), {"name": PERSON["name"]}), "the documents search finds nothing"
    services_log = tmp_path / "services.log"
    assert found_in([services_log], planted), "the log search finds nothing"
    assert PLANTED.encode() in dump_bytes(dump), "the dump search finds nothing"
    # Before erasure the dump's key opens with the version on disk, and opens the person's sealed phone.
    [(wrapped, version)] = dumped_keys(dump, "profiles", rid)
    data_key = unwraps(keys.versions()[version], wrapped, rid)
    assert data_key is not None, "the dump's key does not open even before erasure: the check below proves nothing"
    sealed_phone = _sealed_phone(dump_bytes(dump))
    assert _holding(files_under(pgdata / "base"), wrapped), "the wrapped key is not found in the table files"
    assert json.loads(Keyring.open_with(data_key, rid, "phone", sealed_phone)) == PERSON["phone"]
    # Sealed everywhere already: none of the person's plaintexts is in the raw files, the stream or the dump.
    everywhere = files_under(pgdata) + files_under(jetstream)
    assert found_in(everywhere, PERSON) == {}
    # The facts too, in every event stored or published (care opened them: it knew the birth date above). The
    # patterns are what an envelope would hold were they plaintext:
    clear = canonical({"birth_date": BIRTH_TEXT, "admitted_on": ADMITTED, "sex": "male", "severity": "serious"})
    assert all(v.encode() in clear for v in FACTS.values())
    assert found_in(files_under(jetstream), FACTS) == {}
    assert not [k for k, v in FACTS.items() if v.encode() in dump_bytes(dump)]
    assert not [k for k, v in PERSON.items() if any(f in dump_bytes(dump) for f in forms(v))]

    # ---- erase; the rotation and (window 0) the destruction of version 1 follow
    erased = await platform.send("profiles", "ErasePersonalData", {"retiree_id": rid, "reason": "本人申请删除"})
    assert erased["ok"], erased

    async def settled() -> bool:
        return 1 not in keys.versions() and not doc.exists()

    assert await platform.eventually(settled, seconds=20), (sorted(keys.versions()), doc.exists())
    await flush_wal(postgres.url)
    await asyncio.sleep(0.3)

    # ---- the search after erasure
    texts = {**PERSON, "planted_name_doc": PERSON["name"]}
    assert found_in(files_under(pgdata), PERSON) == {}
    assert found_in(files_under(jetstream), {**PERSON, **FACTS}) == {}
    assert found_in(files_under(tmp_path / "data"), texts) == {}
    assert found_in(files_under(keys.folder), PERSON) == {}
    assert found_in([services_log], PERSON) == {}
    rows = await sql_text(postgres.url, ("profiles", "care", "ceremony"))
    assert not [k for k, v in PERSON.items() if v in rows]
    assert not [k for k, v in FACTS.items() if v in rows.replace(" ", "")]
    assert BIRTH_TEXT not in rows and ADMITTED not in rows
    assert not [k for k, v in PERSON.items() if any(f in dump_bytes(dump) for f in forms(v))]
    # The key table was vacuumed: no dead tuple of the erased key is left in any live table file (WAL segments
    # may still hold it: they are why version 1 had to go).
    assert _holding(files_under(pgdata / "base"), wrapped) == []
    # No key version still on disk opens the dump's copy of the erased person's key (profiles' nor care's).
    remaining = keys.versions()
    assert remaining and 1 not in remaining
    for schema in ("profiles", "care"):
        for wrapped, _ in dumped_keys(dump, schema, rid):
            assert all(unwraps(m, wrapped, rid) is None for m in remaining.values()), schema
    # Care answers only that the data was erased, and keeps neither the birth date nor the health facts.
    facts = await platform.query("care", "GetRetireeFacts", {"retiree_id": rid})
    assert facts["data"] == {"retiree_id": rid, "erased": True}
    assert BIRTH_TEXT not in await sql_text(postgres.url, ("care",))
    # The erasure record says when the last readable copy expires.
    conn = await asyncpg.connect(postgres.url)
    try:
        envelope = await conn.fetchval("SELECT convert_from(envelope, 'UTF8') FROM profiles.events "
                                       "WHERE type = 'PersonalDataErased'")
        archived = await conn.fetchrow("SELECT sex, birth_date, hospitalized_since, risk_tier FROM profiles.retirees "
                                       "WHERE retiree_id = $1", uuid.UUID(rid))
    finally:
        await conn.close()
    assert json.loads(envelope)["data"]["readable_copies_expire_at"] is not None
    assert archived is not None
    assert dict(archived) == {"sex": None, "birth_date": None, "hospitalized_since": None, "risk_tier": "normal"}


async def _facts(platform: RunningPlatform, rid: str, status: str) -> dict[str, Any] | None:
    reply = await platform.query("care", "GetRetireeFacts", {"retiree_id": rid})
    return reply if reply["ok"] and reply["data"]["status"] == status else None


def _sealed_phone(raw: bytes) -> str:
    for m in re.finditer(rb'"phone":\s*"(wqenc:v1:[A-Za-z0-9+/=]+)"', raw):
        return m.group(1).decode()
    raise AssertionError("no sealed phone in the dump")


def _holding(paths: list[Path], needle: bytes) -> list[Path]:
    found = []
    for path in paths:
        try:
            if needle in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found
