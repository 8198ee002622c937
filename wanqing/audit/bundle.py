"""Audit bundles and checkpoint files (docs/audit.md): what leaves the operator's hands, and how it is read back.

A **bundle** (`wanqing audit export`) is one self-contained JSON file (gzip when its name ends in `.gz`):
the events of a position range as stored (envelope bytes, prev_hash, hash), extended back to the last signed
checkpoint before the range (the *anchor*, so the global chain can be checked from a signed state), every
checkpoint of the service, the chained logs' entries since the anchor, and the public keys (trust.json).

A **checkpoints file** (`wanqing audit checkpoints`) is the service's signed checkpoints and the public keys:
what an auditor takes home and later gives to `wanqing audit verify --live --checkpoints FILE`.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats.errors
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from nats.aio.client import Client

from backbone.checkpoints import AUDIT_STREAM, WITNESS_STREAM, SignedCheckpoint, chained_logs, stored_checkpoints
from backbone.db import Connection, quote_ident
from backbone.relay import CHECKPOINT as RELAY_CHECKPOINT
from backbone.relay import STREAM
from contracts import subjects
from wanqing.audit.verify import BusMessage, EventRow, LogRow, Report, verify_rows

BUNDLE_FORMAT = "wanqing-audit-bundle-v1"
CHECKPOINTS_FORMAT = "wanqing-audit-checkpoints-v1"


class BundleError(ValueError):
    """A file that is not a bundle or a checkpoints file of this format."""


# --- files ----------------------------------------------------------------------------------------------------


def write_json(path: Path, doc: Mapping[str, Any]) -> None:
    data = (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def read_json(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    doc = json.loads(raw)
    if not isinstance(doc, dict) or doc.get("format") not in (BUNDLE_FORMAT, CHECKPOINTS_FORMAT):
        raise BundleError(f"{path} is not a Wanqing audit bundle or checkpoints file")
    return doc


def public_keys(trust: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The keys of a trust.json document (`{"issuers": {name: base64 raw Ed25519 public key}}`)."""
    return {name: Ed25519PublicKey.from_public_bytes(base64.b64decode(key))
            for name, key in trust.get("issuers", {}).items()}


def _bytes_out(value: bytes) -> dict[str, str]:
    """Envelope bytes as readable text when they are UTF-8 (they always are when untouched), else base64."""
    try:
        return {"envelope": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"envelope_b64": base64.b64encode(value).decode()}


def _bytes_in(doc: Mapping[str, Any], key: str) -> bytes:
    if key in doc:
        return str(doc[key]).encode("utf-8")
    return base64.b64decode(doc[f"{key}_b64"])


def event_to_json(r: EventRow) -> dict[str, Any]:
    return {"position": r.position, "event_id": r.event_id, "stream_id": r.stream_id, "version": r.version,
            **_bytes_out(r.envelope), "prev_hash": r.prev_hash.hex(), "hash": r.hash.hex()}


def event_from_json(d: Mapping[str, Any]) -> EventRow:
    return EventRow(int(d["position"]), str(d["event_id"]), str(d["stream_id"]), int(d["version"]),
                    _bytes_in(d, "envelope"), bytes.fromhex(d["prev_hash"]), bytes.fromhex(d["hash"]))


def log_to_json(r: LogRow) -> dict[str, Any]:
    entry = _bytes_out(r.entry)
    return {"seq": r.seq, **({"entry": entry["envelope"]} if "envelope" in entry else
                             {"entry_b64": entry["envelope_b64"]}),
            "prev_hash": r.prev_hash.hex(), "hash": r.hash.hex()}


def log_from_json(d: Mapping[str, Any]) -> LogRow:
    return LogRow(d["seq"], _bytes_in(d, "entry"), bytes.fromhex(d["prev_hash"]), bytes.fromhex(d["hash"]))


# --- the database -----------------------------------------------------------------------------------------------


async def read_events(conn: Connection, schema: str, first: int = 1, last: int | None = None) -> list[EventRow]:
    rows = await conn.fetch(
        f"SELECT position, event_id::text AS event_id, stream_id, version, envelope, prev_hash, hash "
        f"FROM {quote_ident(schema)}.events WHERE position >= $1 AND ($2::bigint IS NULL OR position <= $2) "
        "ORDER BY position", first, last)
    return [EventRow(r["position"], r["event_id"], r["stream_id"], r["version"], bytes(r["envelope"]),
                     bytes(r["prev_hash"]), bytes(r["hash"])) for r in rows]


async def read_log(conn: Connection, schema: str, table: str, after_seq: int = 0) -> list[LogRow]:
    """A chained log's rows; `matches_row`: its entry still says what the row's own columns say (in UTC)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        await conn.execute("SET LOCAL timezone = 'UTC'")
        rows = await conn.fetch(
            f"SELECT chain_seq, entry, prev_hash, hash, "
            f"coalesce(convert_from(entry, 'UTF8')::jsonb = (to_jsonb(t) - 'chain_seq' - 'entry' - 'prev_hash' "
            f"- 'hash'), false) AS matches FROM {quote_ident(schema)}.{quote_ident(table)} t "
            "WHERE chain_seq IS NULL OR chain_seq > $1 ORDER BY chain_seq", after_seq)
    return [LogRow(r["chain_seq"], bytes(r["entry"] or b""), bytes(r["prev_hash"] or b""), bytes(r["hash"] or b""),
                   bool(r["matches"])) for r in rows]


async def published_through(conn: Connection, schema: str) -> int:
    """The largest position the relay has published and checkpointed, every earlier one included.

    The relay goes in (tx, position) order, so a position up to the smallest one not yet passed is published.
    """
    s = quote_ident(schema)
    cp = await conn.fetchrow(f"SELECT tx::text AS tx, position FROM {s}.checkpoints WHERE name = $1", RELAY_CHECKPOINT)
    if cp is None:
        return 0
    unpublished = await conn.fetchval(
        f"SELECT min(position) FROM {s}.events WHERE (tx, position) > ($1::text::xid8, $2) "
        f"OR event_id IN (SELECT event_id FROM {s}.relay_set_aside WHERE published_at IS NULL)",
        cp["tx"], cp["position"])
    if unpublished is None:
        return int(await conn.fetchval(f"SELECT coalesce(max(position), 0) FROM {s}.events"))
    return int(unpublished) - 1


def checkpoints_doc(service: str, checkpoints: Sequence[SignedCheckpoint], trust: Mapping[str, Any]) -> dict[str, Any]:
    return {"format": CHECKPOINTS_FORMAT, "service": service, "taken_at": datetime.now(UTC).isoformat(),
            "checkpoints": [cp.to_json() for cp in checkpoints], "trust": dict(trust)}


async def export_checkpoints(conn: Connection, service: str, trust: Mapping[str, Any]) -> dict[str, Any]:
    return checkpoints_doc(service, await stored_checkpoints(conn, service), trust)


async def export_bundle(
    conn: Connection, service: str, trust: Mapping[str, Any], first: int = 1, last: int | None = None,
) -> dict[str, Any]:
    """The bundle of positions [first, last] (last: the newest), extended back to the anchor checkpoint."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        # Only checkpoints the range can answer for: one beyond its end would count events left out of it.
        checkpoints = [cp for cp in await stored_checkpoints(conn, service) if last is None or cp.position <= last]
        anchor = next((cp for cp in reversed(checkpoints) if cp.position < first), None)
        start = anchor.position + 1 if anchor else 1
        events = await read_events(conn, service, start, last)
        logs = {}
        for table in await chained_logs(conn, service):
            after = anchor.coverage().logs.get(table, (0, b""))[0] if anchor else 0
            logs[table] = [log_to_json(r) for r in await read_log(conn, service, table, after)]
    return {
        "format": BUNDLE_FORMAT, "service": service, "exported_at": datetime.now(UTC).isoformat(),
        "range": {"from": first, "to": last, "events_from": start},
        "anchor": anchor.to_json() if anchor else None,
        "events": [event_to_json(r) for r in events],
        "checkpoints": [cp.to_json() for cp in checkpoints],
        "logs": logs,
        "trust": dict(trust),
    }


# --- the bus ----------------------------------------------------------------------------------------------------


async def _drain_ordered(nc: Client, subject: str, stream: str, idle_s: float) -> list[Any]:
    """Every message of `stream` under `subject`, from the start, through an ordered (ephemeral) consumer."""
    js = nc.jetstream()
    sub = await js.subscribe(subject, stream=stream, ordered_consumer=True)
    got: list[Any] = []
    try:
        while True:
            try:
                msg = await sub.next_msg(timeout=idle_s)
            except (nats.errors.TimeoutError, TimeoutError):
                break
            got.append(msg)
            if msg.metadata.num_pending == 0:
                break
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()
    return got


async def read_bus(nc: Client, service: str, idle_s: float = 2.0) -> list[BusMessage]:
    """The service's events as the WANQING stream holds them (needs the operator's right to read it)."""
    msgs = await _drain_ordered(nc, subjects.events_of_service(service), STREAM, idle_s)
    return [BusMessage((m.headers or {}).get("Nats-Msg-Id", ""), bytes(m.data), int(m.metadata.sequence.stream))
            for m in msgs]


async def read_published_checkpoints(nc: Client, service: str, idle_s: float = 2.0,
                                     witness: str | None = None) -> list[SignedCheckpoint]:
    """The service's checkpoints as the platform's WANQING_AUDIT holds them, or (`witness`) as that witness's
    own stream WITNESS holds them: what the auditor reads, connected to its own account.

    A message that is not a signed checkpoint at all is skipped (verification judges the signatures of the rest).
    """
    if witness is None:
        msgs = await _drain_ordered(nc, subjects.audit_of(service), AUDIT_STREAM, idle_s)
    else:
        msgs = await _drain_ordered(nc, subjects.witness_checkpoint(witness, service), WITNESS_STREAM, idle_s)
    found = []
    for m in msgs:
        try:
            found.append(SignedCheckpoint.from_json(json.loads(m.data)))
        except (ValueError, KeyError, TypeError):
            continue
    return found


# --- verifying --------------------------------------------------------------------------------------------------


def verify_bundle(doc: Mapping[str, Any], trust: Mapping[str, Any] | None = None) -> Report:
    """Offline: the bundle alone (or with the auditor's own copy of the public keys, which then wins)."""
    if doc.get("format") != BUNDLE_FORMAT:
        raise BundleError("not a bundle (a checkpoints file is verified with --live)")
    keys = public_keys(trust if trust is not None else doc["trust"])
    anchor = SignedCheckpoint.from_json(doc["anchor"]) if doc.get("anchor") else None
    return verify_rows(
        str(doc["service"]), [event_from_json(e) for e in doc["events"]],
        [SignedCheckpoint.from_json(c) for c in doc["checkpoints"]], keys,
        logs={name: [log_from_json(r) for r in rows] for name, rows in doc.get("logs", {}).items()},
        anchor=anchor,
    )


async def verify_live(
    conn: Connection, service: str, held: Mapping[str, Any], trust: Mapping[str, Any] | None = None,
    nc: Client | None = None,
) -> Report:
    """The live table (all of it) against the checkpoints the auditor held (`held`: a checkpoints file or a
    bundle), and the bus when a connection that may read the event stream is given.
    """
    keys = public_keys(trust if trust is not None else held["trust"])
    checkpoints = [SignedCheckpoint.from_json(c) for c in held["checkpoints"]]
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await read_events(conn, service)
        tables = await chained_logs(conn, service)
        relayed = await published_through(conn, service)
    logs = {table: await read_log(conn, service, table) for table in tables}
    bus = await read_bus(nc, service) if nc is not None else None
    return verify_rows(service, rows, checkpoints, keys, logs=logs, bus=bus, published_through=relayed)
