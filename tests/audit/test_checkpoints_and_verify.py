"""Signed checkpoints and `wanqing audit verify` (docs/audit.md) on a real history of a running profiles service.

Each tamper is done with SQL, as an insider with database access would, and must be detected and NAMED, with the
first position that does not match; an untouched or merely erased history must pass.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone.checkpoints import SignedCheckpoint, sign
from backbone.credentials import new_signing_key
from backbone.envelope import canonical
from contracts.id_number import make_id_number
from services.profiles import app as profiles_app
from tests.services_harness import RunningPlatform
from wanqing.audit.bundle import (
    export_bundle,
    export_checkpoints,
    read_bus,
    read_json,
    read_published_checkpoints,
    verify_bundle,
    verify_live,
    write_json,
)
from wanqing.audit.verify import EXPLANATIONS, Report
from wanqing.embedded import EmbeddedNats
from wanqing.streams import ensure_witness_stream

SERVICE = "profiles"


@dataclass
class History:
    platform: RunningPlatform
    database_url: str
    retirees: list[uuid.UUID]
    trust: dict[str, Any]

    async def conn(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)


async def _person(platform: RunningPlatform, n: int) -> uuid.UUID:
    rid = uuid.uuid4()
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": f"张建{'国民华'[n % 3]}", "id_number": make_id_number("110105",
                                                                                          date(1960, 5, 4), 10 + n),
        "unit": "U0007", "phone": f"1390000{n:04d}",
    })
    assert reply["ok"], reply
    reply = await platform.send("profiles", "ApproveRetirement", {
        "retiree_id": str(rid), "unit": "U0007", "document_number": f"区人社〔2026〕{n}号",
        "approved_on": "2026-11-01", "retirement_date": "2026-11-30", "category": "cadre"})
    assert reply["ok"], reply
    return rid


async def _wait_covered(h: History, seconds: float = 15) -> None:
    """Until a checkpoint covers every event and every read-access entry there is now."""
    conn = await h.conn()
    try:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM profiles.events")
            logs = await conn.fetchval("SELECT CASE WHEN bool_or(chain_seq IS NULL) THEN -1 "
                                       "ELSE coalesce(max(chain_seq), 0) END FROM profiles.read_access")
            row = await conn.fetchrow("SELECT seq, position, body, published_at FROM profiles.audit_checkpoints "
                                      "ORDER BY seq DESC LIMIT 1")
            witnessed = await conn.fetchval("SELECT last_seq FROM profiles.audit_witnessed WHERE witness = 'auditor'")
            if row and logs >= 0 and row["position"] >= head and row["published_at"] is not None and \
                    witnessed == row["seq"] and \
                    json.loads(bytes(row["body"]))["logs"]["read_access"]["seq"] >= logs:
                return
            assert asyncio.get_running_loop().time() < deadline, "no checkpoint covered the history in time"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


@pytest.fixture
async def h(nats_server: EmbeddedNats, js: JetStreamContext, database_url: str) -> AsyncIterator[History]:
    """Profiles with checkpoints every 3 events or 0.2 s; five people, one of them dead; reads on record."""
    platform = RunningPlatform(nats_server.url, database_url)
    platform.settings = platform.settings.model_copy(update={
        "checkpoint_every_events": 3, "checkpoint_every_s": 0.2, "checkpoint_poll_s": 0.05, "witnesses": "auditor"})
    await ensure_witness_stream(js, "auditor")  # one account here: the auditor's own is tested in tests/wanqing
    try:
        await platform.start((profiles_app.NAME, profiles_app.MIGRATIONS, profiles_app.build, True))
        assert (await platform.send("profiles", "RegisterUnit", {"code": "U0007", "name": "区财政局",
                                                                 "kind": "bureau"}))["ok"]
        retirees = []
        for n in range(5):  # each person's events under a checkpoint of their own: several checkpoints, always
            retirees.append(await _person(platform, n))
            await _wait_covered(History(platform, database_url, retirees, {}))
        reply = await platform.send("profiles", "RecordDeath", {"retiree_id": str(retirees[2]),
                                                                "died_on": "2026-11-20"})
        assert reply["ok"], reply
        for rid in retirees[:4]:  # reads of personal data: the read-access log
            r = await platform.query("profiles", "GetRetiree", {"retiree_id": str(rid), "reveal": ["phone"],
                                                                "purpose": "走访前核对电话"})
            assert r["ok"], r
        trust = json.loads(platform.secrets.trust_file.read_text())
        h = History(platform, database_url, retirees, trust)
        await _wait_covered(h)
        yield h
    finally:
        await platform.close()


async def _held(h: History) -> dict[str, Any]:
    """What the auditor took home before anything was touched."""
    conn = await h.conn()
    try:
        return await export_checkpoints(conn, SERVICE, h.trust)
    finally:
        await conn.close()


async def _verify(h: History, held: dict[str, Any], *, bus: bool = False) -> Report:
    conn = await h.conn()
    try:
        return await verify_live(conn, SERVICE, held, nc=h.platform.nc if bus else None)
    finally:
        await conn.close()


async def _sql(h: History, *statements: str, args: tuple[Any, ...] = ()) -> Any:
    conn = await h.conn()
    try:
        result = None
        for s in statements:
            result = await conn.fetch(s, *args) if args else await conn.fetch(s)
        return result
    finally:
        await conn.close()


def _first(report: Report) -> tuple[str, int | None]:
    first = report.first
    assert first is not None, report.to_json()
    return first.code, first.position


async def _position(h: History, where: str) -> int:
    rows = await _sql(h, f"SELECT position FROM profiles.events WHERE {where} ORDER BY position")
    return int(rows[0]["position"])


# --- no false alarms ---------------------------------------------------------------------------------------------


async def test_an_untouched_history_verifies_live_offline_and_against_the_bus(h: History, tmp_path: Path) -> None:
    report = await _verify(h, await _held(h), bus=True)
    assert report.ok, report.to_json()
    assert report.checkpoints_used >= 2  # noqa: PLR2004 - every 3 events
    assert report.covered_to == report.last_position
    assert report.log_entries["read_access"] >= 4  # noqa: PLR2004
    assert report.bus_messages == report.events
    first = (await _held(h))["checkpoints"][0]["body"]["position"] + 2  # a range starting after a checkpoint
    conn = await h.conn()
    try:
        doc = await export_bundle(conn, SERVICE, h.trust, first=first)
    finally:
        await conn.close()
    assert doc["anchor"] is not None and doc["range"]["events_from"] < first
    path = tmp_path / "bundle.json.gz"
    write_json(path, doc)
    offline = verify_bundle(read_json(path))
    assert offline.ok, offline.to_json()
    assert offline.checkpoints_used >= 1
    conn = await h.conn()
    try:  # a range that ends before the newest event: no false missing tail from later checkpoints
        middle = await export_bundle(conn, SERVICE, h.trust, first=first, last=first + 3)
    finally:
        await conn.close()
    assert middle["events"][-1]["position"] <= first + 3
    assert verify_bundle(middle).ok, verify_bundle(middle).to_json()


async def test_an_erased_person_is_no_false_alarm(h: History) -> None:
    reply = await h.platform.send("profiles", "ErasePersonalData", {"retiree_id": str(h.retirees[0]),
                                                                    "reason": "本人申请删除"})
    assert reply["ok"], reply
    await _wait_covered(h)
    report = await _verify(h, await _held(h), bus=True)
    assert report.ok, report.to_json()


# --- each tamper, named --------------------------------------------------------------------------------------------


async def test_altered_bytes(h: History) -> None:
    held = await _held(h)
    at = await _position(h, "type = 'RetirementApproved'")
    await _sql(h, "UPDATE profiles.events SET envelope = convert_to(replace(convert_from(envelope, 'UTF8'), "
                  "'2026-11-30', '2026-12-31'), 'UTF8') WHERE position = $1", args=(at,))
    report = await _verify(h, held)
    assert _first(report) == ("altered_bytes", at)


async def test_a_missing_event_inside_a_stream(h: History) -> None:
    held = await _held(h)
    stream = f"retiree-{h.retirees[2]}"  # registered, approved, died
    rows = await _sql(h, "SELECT position FROM profiles.events WHERE stream_id = $1 ORDER BY version",
                      args=(stream,))
    await _sql(h, "DELETE FROM profiles.events WHERE position = $1", args=(rows[1]["position"],))
    report = await _verify(h, held)
    assert _first(report) == ("missing_event", rows[2]["position"])
    assert report.codes() == {"missing_event"}


async def test_a_missing_first_event_is_a_missing_event_not_a_missing_stream(h: History) -> None:
    held = await _held(h)
    rows = await _sql(h, "SELECT position FROM profiles.events WHERE stream_id = $1 ORDER BY version",
                      args=(f"retiree-{h.retirees[1]}",))
    await _sql(h, "DELETE FROM profiles.events WHERE position = $1", args=(rows[0]["position"],))
    report = await _verify(h, held)
    assert _first(report) == ("missing_event", rows[1]["position"])
    assert report.codes() == {"missing_event"}


async def test_deleting_the_last_event_is_a_missing_tail(h: History) -> None:
    held = await _held(h)
    last = (await _sql(h, "SELECT max(position) AS p FROM profiles.events"))[0]["p"]
    await _sql(h, "DELETE FROM profiles.events WHERE position = $1", args=(last,))
    report = await _verify(h, held)
    assert _first(report) == ("missing_tail", last)


async def test_deleting_a_whole_stream_is_a_missing_stream(h: History) -> None:
    held = await _held(h)
    stream = f"retiree-{h.retirees[3]}"
    first = await _position(h, f"stream_id = '{stream}'")
    await _sql(h, "DELETE FROM profiles.events WHERE stream_id = $1", args=(stream,))
    report = await _verify(h, held)
    assert _first(report) == ("missing_stream", first)
    assert report.codes() == {"missing_stream"}


async def test_a_reordering(h: History) -> None:
    """Two events of different streams swap places (all their contents, so each stream's chain still holds)."""
    held = await _held(h)
    a = await _position(h, f"stream_id = 'retiree-{h.retirees[0]}' AND version = 2")
    b = await _position(h, f"stream_id = 'retiree-{h.retirees[1]}' AND version = 1")
    cols = ("event_id, stream_id, version, type, schema_version, unit, occurred_at, recorded_at, correlation_id, "
            "causation_id, actor_user, envelope, prev_hash, hash")
    conn = await h.conn()
    try:
        async with conn.transaction():
            rows = await conn.fetch(f"SELECT position, {cols} FROM profiles.events WHERE position IN ($1, $2)", a, b)
            await conn.execute("DELETE FROM profiles.events WHERE position IN ($1, $2)", a, b)
            for row, new_position in zip(rows, (rows[1]["position"], rows[0]["position"]), strict=True):
                values = [row[c.strip()] for c in cols.split(",")]
                await conn.execute(
                    f"INSERT INTO profiles.events (position, {cols}) OVERRIDING SYSTEM VALUE VALUES "
                    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)", new_position, *values)
    finally:
        await conn.close()
    report = await _verify(h, held)
    code, at = _first(report)
    assert code == "reordering"
    assert at is not None and at <= min(a, b)


async def test_a_consistent_rewrite_is_caught_by_a_checkpoint_held_outside(h: History) -> None:
    """died_on and the actor of a MemberDeceased changed, every hash recomputed to the end of the stream: the
    per-stream chain passes (as `wanqing verify` does), the checkpoint the auditor took home before does not.
    """
    held = await _held(h)
    stream = f"retiree-{h.retirees[2]}"
    conn = await h.conn()
    try:
        rows = await conn.fetch("SELECT position, type, envelope, prev_hash FROM profiles.events "
                                "WHERE stream_id = $1 ORDER BY version", stream)
        prev = b""
        died_at = None
        async with conn.transaction():
            for row in rows:
                env = json.loads(bytes(row["envelope"]))
                if row["type"] == "MemberDeceased":
                    died_at = row["position"]
                    env["data"]["died_on"] = "2026-10-01"
                    env["actor"]["user"] = "someone-else"
                raw = canonical(env)
                digest = hashlib.sha256(prev + raw).digest()
                await conn.execute("UPDATE profiles.events SET envelope = $2, prev_hash = $3, hash = $4, "
                                   "actor_user = $5 WHERE position = $1", row["position"], raw, prev, digest,
                                   env["actor"]["user"])
                prev = digest
        from backbone.chain import verify as chain_verify  # noqa: PLC0415 - the per-stream check of today
        assert (await chain_verify(conn, "profiles")).ok
    finally:
        await conn.close()
    assert died_at is not None
    report = await _verify(h, held)
    code, at = _first(report)
    assert code == "uncovered_rewrite", report.to_json()
    assert at is not None and at <= died_at
    # The bus still carries the envelope as it was published: the exact position.
    with_bus = await _verify(h, held, bus=True)
    assert any(f.code == "bus_divergence" and f.position == died_at for f in with_bus.findings)


async def test_a_rewrite_after_the_last_held_checkpoint_is_caught_by_the_bus(h: History) -> None:
    held = await _held(h)  # taken before the next event: no checkpoint the auditor holds covers it
    await _person(h.platform, 9)
    last = (await _sql(h, "SELECT max(position) AS p FROM profiles.events"))[0]["p"]
    await h.platform.eventually(lambda: _published(h, last))
    await _sql(h, "UPDATE profiles.events SET envelope = convert_to(replace(convert_from(envelope, 'UTF8'), "
                  "'2026-11-30', '2026-12-31'), 'UTF8') WHERE position = $1", args=(last,))
    await _sql(h, "UPDATE profiles.events SET hash = sha256(prev_hash || envelope) WHERE position = $1",
               args=(last,))
    without_bus = await _verify(h, held)
    assert without_bus.ok  # the limit docs/audit.md states: no held checkpoint covers it
    report = await _verify(h, held, bus=True)
    assert _first(report) == ("bus_divergence", last), report.to_json()


async def _published(h: History, position: int) -> bool:
    conn = await h.conn()
    try:
        from wanqing.audit.bundle import published_through  # noqa: PLC0415
        return await published_through(conn, SERVICE) >= position
    finally:
        await conn.close()


async def test_a_forged_checkpoint_is_refused(h: History) -> None:
    held = await _held(h)
    good = SignedCheckpoint.from_json(held["checkpoints"][-1])
    changed = SignedCheckpoint({**good.body, "count": good.body["count"] + 1}, good.signature)
    stranger = sign(dict(good.body), new_signing_key())
    unknown = sign({**good.body, "signer": "mallory"}, new_signing_key())
    for forged, code in ((changed, "bad_signature"), (stranger, "bad_signature"), (unknown, "unknown_key")):
        report = await _verify(h, {**held, "checkpoints": [forged.to_json()]})
        assert code in report.codes(), report.to_json()
        assert report.checkpoints_used == 0


async def test_read_access_rows_deleted_or_edited(h: History) -> None:
    held = await _held(h)
    await _sql(h, "DELETE FROM profiles.read_access WHERE chain_seq IN "
                  "(SELECT chain_seq FROM profiles.read_access ORDER BY chain_seq DESC LIMIT 3)")
    report = await _verify(h, held)
    assert "log_missing_tail" in report.codes(), report.to_json()
    assert report.first is not None and report.first.log == "read_access"

    await _sql(h, "UPDATE profiles.read_access SET user_id = 'nobody' WHERE chain_seq = 1")
    report = await _verify(h, held)
    assert any(f.code == "log_altered" and f.log_seq == 1 for f in report.findings), report.to_json()


async def test_read_access_middle_rows_deleted(h: History) -> None:
    held = await _held(h)
    await _sql(h, "DELETE FROM profiles.read_access WHERE chain_seq IN (2, 3)")
    report = await _verify(h, held)
    first = report.first
    assert first is not None and (first.code, first.log_seq) == ("log_missing_entry", 2), report.to_json()


# --- the bus: published, and what the auditor may do -------------------------------------------------------------


async def test_checkpoints_are_published_on_their_own_stream(h: History, js: JetStreamContext) -> None:
    assert h.platform.nc is not None
    published = await read_published_checkpoints(h.platform.nc, SERVICE)
    held = await _held(h)
    assert [cp.to_json() for cp in published] == held["checkpoints"]
    bus = await read_bus(h.platform.nc, SERVICE)
    assert bus and all(m.event_id for m in bus)


def test_every_code_is_explained_in_both_languages() -> None:
    for code, (zh, en) in EXPLANATIONS.items():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), code
        assert en.isascii() and en, code


# --- the bundle offline, and the command line ----------------------------------------------------------------------


async def test_a_bundle_verifies_offline_and_its_tampering_is_named(h: History, tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from wanqing.audit import app  # noqa: PLC0415

    conn = await h.conn()
    try:
        doc = await export_bundle(conn, SERVICE, h.trust)
    finally:
        await conn.close()
    good = tmp_path / "bundle.json"
    write_json(good, doc)
    runner = CliRunner()
    ok = runner.invoke(app, ["verify", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "校验通过" in ok.output

    event = doc["events"][3]
    event["envelope"] = event["envelope"].replace('"version":', '"version": ', 1)
    bad = tmp_path / "tampered.json.gz"
    write_json(bad, doc)
    result = runner.invoke(app, ["verify", str(bad), "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["first_bad_position"] == event["position"]
    assert report["findings"][0]["code"] == "altered_bytes"
    assert report["findings"][0]["zh"]

    dropped = json.loads(good.read_text())
    dropped["events"] = dropped["events"][:-1]  # the tail, cut from the file
    assert verify_bundle(dropped).first is not None
    assert verify_bundle(dropped).first.code == "missing_tail"  # type: ignore[union-attr]


async def test_the_command_line_takes_checkpoints_home_and_verifies_live(
    h: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from wanqing.audit import app  # noqa: PLC0415

    monkeypatch.setenv("WANQING_DATABASE_URL", h.database_url)
    monkeypatch.setenv("WANQING_NATS_URL", h.platform.settings.nats_url)
    monkeypatch.setenv("WANQING_DATA_DIR", str(tmp_path / "no-platform"))
    trust = tmp_path / "trust.json"
    trust.write_text(json.dumps(h.trust))
    runner = CliRunner()

    async def cli(*args: str) -> Any:  # in a thread: the commands run their own event loop
        return await asyncio.to_thread(runner.invoke, app, list(args))

    home = tmp_path / "profiles-cp.json"
    took = await cli("checkpoints", "--service", "profiles", "--out", str(home), "--trust", str(trust))
    assert took.exit_code == 0, took.output
    from_bus = tmp_path / "from-bus.json"
    heard = await cli("checkpoints", "--service", "profiles", "--out", str(from_bus), "--trust", str(trust),
                      "--nats-url", h.platform.settings.nats_url)
    assert heard.exit_code == 0, heard.output
    assert read_json(from_bus)["checkpoints"] == read_json(home)["checkpoints"]
    ok = await cli("verify", "--live", "--checkpoints", str(home), "--trust", str(trust))
    assert ok.exit_code == 0, ok.output

    last = (await _sql(h, "SELECT max(position) AS p FROM profiles.events"))[0]["p"]
    await _sql(h, "DELETE FROM profiles.events WHERE position = $1", args=(last,))
    bad = await cli("verify", "--live", "--checkpoints", str(home), "--trust", str(trust), "--no-bus")
    assert bad.exit_code == 1, bad.output
    assert f"FIRST MISMATCH / 首个不符之处: position {last}: missing_tail" in bad.output
    assert "末尾事件缺失" in bad.output


async def test_a_second_history_signed_with_the_services_key_is_found(h: History) -> None:
    """An operator with the service's key re-signs after a rewrite: it disagrees with the checkpoints held."""
    from backbone.credentials import load_signing_key  # noqa: PLC0415

    held = await _held(h)
    key = load_signing_key(h.platform.secrets.signing_key(SERVICE))
    last = SignedCheckpoint.from_json(held["checkpoints"][-1])
    resigned = sign({**last.body, "events_hash": "00" * 32}, key)
    report = await _verify(h, {**held, "checkpoints": [*held["checkpoints"], resigned.to_json()]})
    assert "uncovered_rewrite" in report.codes(), report.to_json()
