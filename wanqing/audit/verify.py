"""Verifying a service's history against signed checkpoints (docs/audit.md): from a bundle, or the live database.

Two passes over the same rows:

* per stream, in version order: each envelope hashes to its recorded hash, links to the previous event of its
  stream, names the stream, version and event id of its row, and versions have no gap; positions grow with the
  version (the store guarantees it), so an event moved before an earlier one of its stream is a reordering;
* in position order: the running global chain, the count, the number of streams and the order-free set hash,
  compared with every checkpoint whose signature is the service's own; a mismatch is named by what differs.

The read-access log (a chained log) is checked as a chain and against the heads the checkpoints signed.
Every problem is a `Finding` with a stable code and a Chinese and an English explanation (`EXPLANATIONS`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from backbone.checkpoints import Coverage, SignatureProblem, SignedCheckpoint, check_signature, set_step
from backbone.store import EMPTY_HASH, chain_hash

# code -> (Chinese, English): what an auditor reads. The codes are stable (docs/audit.md).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "altered_bytes": ("事件内容被改动：存储的字节与其记录的哈希不符，或与前一事件的链接断开",
                      ("altered bytes: the stored envelope does not hash to its recorded hash, or no longer links "
                      "to the previous event of its stream")),
    "missing_event": ("事件缺失：同一档案流中缺少某个版本（中间的事件被删除）",
                      "missing event: a version of a stream is absent (an event inside the history was deleted)"),
    "missing_tail": ("末尾事件缺失：已签名的检查点记录了更多事件，档案流末尾的事件被删除",
                     "missing tail: a signed checkpoint counted more events; the last events of a stream are gone"),
    "missing_stream": ("整条档案流缺失：已签名的检查点记录的档案流比现存的多",
                       "missing stream: a signed checkpoint counted more streams than remain; a whole stream is gone"),
    "reordering": ("事件顺序被改动：事件相同，但排列顺序与签名时不同",
                   "reordering: the same events as signed, in another order"),
    "uncovered_rewrite": ("历史被整体改写：各链条重新计算后看似完整，但与已签名的检查点不符",
                          ("consistent rewrite: the chains were recomputed and look valid, but the history no longer "
                          "matches a signed checkpoint")),
    "bad_signature": ("检查点签名无效：内容在签名后被改动或签名是伪造的，该检查点不予采信",
                      ("bad signature: the checkpoint was changed after signing or its signature is forged; "
                      "it is not used")),
    "unknown_key": ("检查点的签名者不在公钥清单中（或不是该服务本身），不予采信",
                    ("unknown key: the checkpoint's signer is not in the public keys held (or is not the service "
                    "itself); it is not used")),
    "bus_divergence": ("存储的历史与消息总线上的不一致：同一事件在数据库与总线上的字节不同，或只在一方存在",
                       ("divergence between the stored history and the bus: the same event has other bytes in the "
                       "database than on the stream, or exists on one side only")),
    "log_altered": ("查阅记录被改动：某条记录与其链哈希不符",
                    "read-access log altered: an entry does not match its chain hash or its recorded content"),
    "log_missing_entry": ("查阅记录缺失：链条序号中间有缺口（记录被删除）",
                          "read-access log entry missing: a gap in the chain's sequence (entries were deleted)"),
    "log_missing_tail": ("查阅记录末尾缺失：已签名的检查点记录了更多条目",
                         "read-access log tail missing: a signed checkpoint counted more entries"),
    "log_rewrite": ("查阅记录被整体改写：链条看似完整，但与已签名的检查点不符",
                    "read-access log rewritten: the chain looks valid but does not match a signed checkpoint"),
}


@dataclass(frozen=True)
class EventRow:
    position: int
    event_id: str
    stream_id: str
    version: int
    envelope: bytes
    prev_hash: bytes
    hash: bytes


@dataclass(frozen=True)
class LogRow:
    seq: int | None
    entry: bytes
    prev_hash: bytes
    hash: bytes
    matches_row: bool = True  # live only: the entry still says what the row's columns say


@dataclass(frozen=True)
class Finding:
    code: str
    position: int | None = None  # an event position (events), or None
    stream_id: str | None = None
    version: int | None = None
    log: str | None = None  # the chained log's name (read_access), for log findings
    log_seq: int | None = None
    detail: str = ""
    # For a missing_event of pass A: how many versions are missing, and whether the stream's first is among them
    # (so a checkpoint's lower count is known to be this finding, not another one).
    missing_versions: int = 0
    missing_first: bool = False
    after_position: int = 0  # the position of the last remaining version before the missing ones

    @property
    def zh(self) -> str:
        return EXPLANATIONS[self.code][0]

    @property
    def en(self) -> str:
        return EXPLANATIONS[self.code][1]

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "position": self.position, "stream_id": self.stream_id, "version": self.version,
                "log": self.log, "log_seq": self.log_seq, "detail": self.detail, "zh": self.zh, "en": self.en}


def _order(f: Finding) -> tuple[int, int, int]:
    if f.position is not None:
        return (0, f.position, 0)
    if f.log_seq is not None:
        return (1, f.log_seq, 0)
    return (2, 0, 0)


@dataclass
class Report:
    service: str
    events: int = 0
    first_position: int | None = None
    last_position: int | None = None
    checkpoints_used: int = 0
    covered_to: int = 0  # the last position a valid signed checkpoint vouches for
    log_entries: dict[str, int] = field(default_factory=dict)
    log_pending: dict[str, int] = field(default_factory=dict)  # rows not chained yet (not protected yet)
    findings: list[Finding] = field(default_factory=list)
    bus_messages: int | None = None

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def sorted_findings(self) -> list[Finding]:
        return sorted(self.findings, key=_order)

    @property
    def first(self) -> Finding | None:
        found = self.sorted_findings
        return found[0] if found else None

    @property
    def first_bad_position(self) -> int | None:
        return next((f.position for f in self.sorted_findings if f.position is not None), None)

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "ok": self.ok, "events": self.events, "first_position": self.first_position,
                "last_position": self.last_position, "checkpoints_used": self.checkpoints_used,
                "covered_to": self.covered_to, "log_entries": self.log_entries, "log_pending": self.log_pending,
                "bus_messages": self.bus_messages,
                "first_bad_position": self.first_bad_position,
                "findings": [f.to_json() for f in self.sorted_findings]}


# --- checkpoints --------------------------------------------------------------------------------------------------


def trusted_checkpoints(
    service: str, checkpoints: Iterable[SignedCheckpoint], keys: Mapping[str, Ed25519PublicKey], report: Report,
) -> list[SignedCheckpoint]:
    """The checkpoints of `service` whose signature is its own, by position; the others become findings."""
    good: dict[int, SignedCheckpoint] = {}
    for cp in checkpoints:
        if cp.service != service:
            continue
        try:
            check_signature(cp, keys)
        except SignatureProblem as exc:
            report.findings.append(Finding(exc.code, position=None, detail=f"{exc} (checkpoint at position "
                                                                           f"{cp.body.get('position')})"))
            continue
        other = good.get(cp.seq)
        if other is not None and other.digest != cp.digest:
            report.findings.append(Finding("uncovered_rewrite", min(other.position, cp.position), detail=(
                f"two different checkpoints numbered {cp.seq}, both signed by {service}: a second history was "
                "signed")))
            continue
        good[cp.seq] = cp
    for cp in good.values():
        before = good.get(cp.seq - 1)
        if before is not None and cp.body.get("previous") != before.digest:
            report.findings.append(Finding("uncovered_rewrite", before.position, detail=(
                f"checkpoint {cp.seq} does not follow checkpoint {cp.seq - 1} (its `previous` differs): "
                "a second history was signed")))
    return sorted(good.values(), key=lambda c: (c.position, c.seq))


# --- pass A: every stream in version order ------------------------------------------------------------------------


def _envelope_problem(row: EventRow) -> str | None:
    try:
        env = json.loads(row.envelope)
    except (ValueError, UnicodeDecodeError):
        return "the stored envelope is not JSON"
    if not isinstance(env, dict):
        return "the stored envelope is not a JSON object"
    if (env.get("stream_id"), env.get("version"), env.get("event_id")) != (row.stream_id, row.version,
                                                                             row.event_id):
        return "the envelope names another stream, version or event id than its row"
    return None


def check_streams(  # noqa: C901
    rows: Iterable[EventRow], *, from_start: bool) -> list[Finding]:
    """The per-stream checks over rows given in (stream_id, version) order; the first break of each stream.

    `from_start`: the rows are the whole table, so every stream must begin at version 1 (a bundle's range may
    begin inside a stream: there the first event's link is taken as given, the global chain covers it).
    """
    findings: list[Finding] = []
    stream: str | None = None
    prev_hash = EMPTY_HASH
    prev_version = 0
    prev_position = 0
    broken = False
    for row in rows:
        if row.stream_id != stream:
            stream, broken = row.stream_id, False
            prev_hash, prev_version, prev_position = row.prev_hash, row.version - 1, 0
            if from_start and row.version != 1:
                findings.append(Finding("missing_event", row.position, row.stream_id, row.version,
                                        detail=f"the stream begins at version {row.version}: versions 1-"
                                               f"{row.version - 1} are missing",
                                        missing_versions=row.version - 1, missing_first=True))
                broken = True
            elif from_start and row.prev_hash != EMPTY_HASH:
                prev_hash = EMPTY_HASH
        if broken:
            continue
        problem: tuple[str, str] | None = None
        if row.version != prev_version + 1:
            problem = ("missing_event", (f"version {row.version} follows version {prev_version}: "
                                        f"{row.version - prev_version - 1} missing"))
        elif chain_hash(row.prev_hash, row.envelope) != row.hash:
            problem = ("altered_bytes", "the stored bytes do not hash to the recorded hash")
        elif row.prev_hash != prev_hash:
            problem = ("altered_bytes", "prev_hash does not match the previous event's hash")
        elif (envelope := _envelope_problem(row)) is not None:
            problem = ("altered_bytes", envelope)
        elif row.position <= prev_position:
            problem = ("reordering", (f"version {row.version} is at position {row.position}, before version "
                                     f"{prev_version} at {prev_position}"))
        if problem is not None:
            at = min(row.position, prev_position) if problem[0] == "reordering" else row.position
            missing = row.version - prev_version - 1 if problem[0] == "missing_event" else 0
            findings.append(Finding(problem[0], at, row.stream_id, row.version, detail=problem[1],
                                    missing_versions=max(missing, 0), after_position=prev_position))
            broken = True
            continue
        prev_hash, prev_version, prev_position = row.hash, row.version, row.position
    return findings


# --- pass B: the whole table in position order against the checkpoints --------------------------------------------


@dataclass
class _Interval:
    """What was seen since the last checkpoint that matched."""

    start: int  # positions after this one
    first_gap: int | None = None
    first_row: int | None = None


def check_global(  # noqa: C901, PLR0915 - one pass, its state in one place
    rows: Iterable[EventRow], checkpoints: Sequence[SignedCheckpoint], start: Coverage, stream_findings: list[Finding],
    report: Report,
) -> None:
    """Rows in position order, from `start` (the zero state, or a signed anchor checkpoint's).

    Count and streams are compared cumulatively (what pass A found missing explains part of a shortfall: an event
    missing between two remaining versions lies between their positions); the hashes are compared interval by
    interval (after a mismatch the signed state is taken, so a later, separate change is found on its own).
    """
    cov = Coverage(start.position, start.count, start.streams, start.events_hash, start.events_set)
    pending = [cp for cp in checkpoints if cp.position > start.position]
    interval = _Interval(start.position)
    last_row = start.position
    missing = [f for f in stream_findings if f.code == "missing_event" and f.position is not None]
    reported_events = reported_streams = 0
    previous_deficit = 0
    cumulative_set = start.events_set  # never reset: equal sets again later mean the same events, moved
    unresolved: Finding | None = None  # a changed interval that may yet prove a reordering across checkpoints

    def compare(cp: SignedCheckpoint) -> None:
        nonlocal interval, reported_events, reported_streams, previous_deficit, unresolved
        want = cp.coverage()
        report.checkpoints_used += 1
        deficit, stream_deficit = want.count - cov.count, want.streams - cov.streams
        gap = interval.first_gap
        if gap is None and last_row < cp.position:
            gap = last_row + 1
        suspect = gap if gap is not None else (interval.first_row or interval.start + 1)
        detail = (f"checkpoint {cp.seq} (position {cp.position}) signed {want.count} events in {want.streams} "
                  f"streams; found {cov.count} in {cov.streams}")
        may_explain_events = sum(f.missing_versions for f in missing if f.after_position < cp.position)
        may_explain_streams = sum(1 for f in missing if f.missing_first)
        found_here = False
        if stream_deficit - may_explain_streams > reported_streams:
            report.findings.append(Finding("missing_stream", suspect, detail=detail + "; the first position that "
                                                                                      "could be the missing one"))
            reported_streams = stream_deficit - may_explain_streams
            reported_events = max(reported_events, deficit - may_explain_events)
            found_here = True
        elif deficit - may_explain_events > reported_events:
            # Once a whole stream is missing, its later events fall short at later checkpoints too: counted with it.
            if not reported_streams:
                report.findings.append(Finding("missing_tail", suspect, detail=detail))
            reported_events = deficit - may_explain_events
            found_here = True
        if cov.events_hash == want.events_hash:
            report.covered_to = max(report.covered_to, cp.position)
        else:
            local = deficit - previous_deficit
            between = f"between positions {interval.start + 1} and {cp.position}"
            if local == 0 and not found_here and cov.events_set == want.events_set:
                report.findings.append(Finding("reordering", interval.first_row or interval.start + 1,
                                               detail=detail + f"; the same events in another order {between}"))
            elif local <= 0 and not found_here and unresolved is None:
                unresolved = Finding("uncovered_rewrite", interval.first_row or interval.start + 1,
                                     detail=detail + f"; the events {between} are not the ones signed")
            # Carry on from the signed hashes: what follows is checked on its own.
            cov.events_hash, cov.events_set = want.events_hash, want.events_set
        if unresolved is not None and deficit == 0 and cumulative_set == want.events_set:
            report.findings.append(Finding("reordering", unresolved.position, detail=(
                f"the same events as signed up to checkpoint {cp.seq} (position {cp.position}), in another order "
                f"from position {unresolved.position} on")))
            unresolved = None
        previous_deficit = deficit
        interval = _Interval(cp.position)

    for row in rows:
        while pending and pending[0].position < row.position:
            compare(pending.pop(0))
        if row.position > last_row + 1 and interval.first_gap is None:
            interval.first_gap = last_row + 1
        if interval.first_row is None:
            interval.first_row = row.position
        cov.add(row.position, row.version, row.hash)
        cumulative_set = set_step(cumulative_set, row.hash)
        last_row = row.position
    for cp in pending:
        compare(cp)
    if unresolved is not None:
        report.findings.append(unresolved)


# --- chained logs (the read-access log) --------------------------------------------------------------------------


def check_log(  # noqa: C901, PLR0912
    name: str, rows: Iterable[LogRow], checkpoints: Sequence[SignedCheckpoint], report: Report,
    start: tuple[int, bytes] = (0, EMPTY_HASH),
) -> None:
    """Rows in chain order (`seq`), from `start` (the zero state, or an anchor checkpoint's head of this log)."""
    seq, prev = start
    heads: dict[int, bytes] = {}
    count = 0
    broken = False
    for row in rows:
        count += 1
        if row.seq is None:  # written, not chained yet: the checkpointer chains committed rows within a tick
            report.log_pending[name] = report.log_pending.get(name, 0) + 1
            continue
        heads[row.seq] = row.hash
        if broken:
            seq = row.seq
            continue
        problem: tuple[str, str] | None = None
        if row.seq != seq + 1:
            problem = ("log_missing_entry", f"entry {row.seq} follows entry {seq}: {row.seq - seq - 1} missing")
        elif hashlib.sha256(row.prev_hash + row.entry).digest() != row.hash or row.prev_hash != prev:
            problem = ("log_altered", "the entry does not hash to its chain hash or does not link to the previous")
        elif not row.matches_row:
            problem = ("log_altered", "the row's columns no longer say what was chained")
        if problem is not None:
            report.findings.append(Finding(problem[0], log=name, log_seq=row.seq if problem[0] != "log_missing_entry"
                                           else seq + 1, detail=problem[1]))
            broken = True
        seq, prev = row.seq, row.hash
    report.log_entries[name] = count
    for cp in checkpoints:
        signed = cp.coverage().logs.get(name)
        if signed is None or signed[0] <= start[0]:
            continue
        at, want = signed
        if at not in heads:
            if at > max(heads, default=start[0]):
                report.findings.append(Finding("log_missing_tail", log=name, log_seq=max(heads, default=start[0]) + 1,
                                               detail=f"checkpoint {cp.seq} signed {at} entries"))
            elif not broken:
                report.findings.append(Finding("log_missing_entry", log=name, log_seq=at,
                                               detail=f"entry {at}, signed by checkpoint {cp.seq}, is gone"))
            continue
        if heads[at] != want and not broken:
            report.findings.append(Finding("log_rewrite", log=name, log_seq=start[0] + 1,
                                           detail=f"entry {at} is not the one checkpoint {cp.seq} signed"))
            return


# --- the bus ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BusMessage:
    event_id: str
    data: bytes
    stream_seq: int


def check_bus(rows: Sequence[EventRow], bus: Sequence[BusMessage], published_through: int, report: Report) -> None:
    """Stored envelopes against the messages on the event stream (each carries its event id as Nats-Msg-Id).

    `published_through`: positions the relay has published (a stored event after it may not be on the bus yet).
    """
    report.bus_messages = len(bus)
    on_bus = {m.event_id: m for m in bus}
    stored = {r.event_id: r for r in rows}
    heads: dict[str, int] = {}
    for r in rows:
        heads[r.stream_id] = max(heads.get(r.stream_id, 0), r.version)
        m = on_bus.get(r.event_id)
        if m is None:
            if r.position <= published_through:
                report.findings.append(Finding("bus_divergence", r.position, r.stream_id, r.version,
                                               detail="stored, but never on the bus"))
        elif m.data != r.envelope:
            report.findings.append(Finding("bus_divergence", r.position, r.stream_id, r.version,
                                           detail=f"the bus (stream sequence {m.stream_seq}) carries other bytes"))
    for m in bus:
        if m.event_id in stored:
            continue
        try:
            env = json.loads(m.data)
            stream_id, version = str(env["stream_id"]), int(env["version"])
        except (ValueError, KeyError, TypeError):
            report.findings.append(Finding("bus_divergence", detail=f"bus message {m.stream_seq} is not an envelope"))
            continue
        where = f"on the bus (stream sequence {m.stream_seq}), not in the database"
        if stream_id not in heads:
            code = "missing_stream"
        elif version > heads[stream_id]:
            code = "missing_tail"
        else:
            code = "missing_event"
        report.findings.append(Finding(code, None, stream_id, version, detail=where))


# --- everything ----------------------------------------------------------------------------------------------------


def verify_rows(  # noqa: PLR0913
    service: str,
    rows: Sequence[EventRow],
    checkpoints: Iterable[SignedCheckpoint],
    keys: Mapping[str, Ed25519PublicKey],
    *,
    logs: Mapping[str, Sequence[LogRow]] | None = None,
    anchor: SignedCheckpoint | None = None,
    bus: Sequence[BusMessage] | None = None,
    published_through: int = 0,
) -> Report:
    """All checks over rows held in memory (a bundle, or the live table read once): the report."""
    report = Report(service)
    by_position = sorted(rows, key=lambda r: r.position)
    report.events = len(by_position)
    if by_position:
        report.first_position, report.last_position = by_position[0].position, by_position[-1].position
    start = Coverage()
    if anchor is not None:
        try:
            check_signature(anchor, keys)
        except SignatureProblem as exc:
            report.findings.append(Finding(exc.code, detail=f"the bundle's starting checkpoint: {exc}"))
            return report
        start = anchor.coverage()
        report.covered_to = anchor.position
    trusted = trusted_checkpoints(service, checkpoints, keys, report)
    stream_findings = check_streams(sorted(rows, key=lambda r: (r.stream_id, r.version)), from_start=anchor is None)
    report.findings += stream_findings
    check_global(by_position, trusted, start, stream_findings, report)
    for name, log_rows in (logs or {}).items():
        log_start = start.logs.get(name, (0, EMPTY_HASH))
        check_log(name, sorted(log_rows, key=lambda r: (r.seq is None, r.seq or 0)), trusted, report, log_start)
    if bus is not None:
        check_bus(by_position, bus, published_through, report)
    return report
