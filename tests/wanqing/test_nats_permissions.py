"""NATS asks everyone for an nkey and lets each principal do only its part (wanqing/nats_auth.py, docs/security.md).

The server is a real nats-server started from the config rendered out of `platform_principals` with every
service's real `bus_needs`. The expectation is NOT read from those principals: it comes from the small table
and rules written below, so a wrong right in the definition shows up as a mismatch.

How a cell is observed (two independent signals, which must agree, or the cell is reported as unclear):
* the server's answer to the actor: a refused publish or subscription makes nats-server send
  `-ERR 'Permissions Violation ...'`, which nats-py hands (lowercased) to `error_cb`; the server writes it
  before the PONG of the actor's next `flush()`, so after the flush it is known;
* what actually arrives: a test-only `probe` user of the same account (publish and subscribe `>`, not a
  platform principal) subscribes to `>` and sees every publish the server let through; for a subscription,
  the probe publishes a marker the actor's subscription receives only if the server took it; for a request
  (queries, JetStream API, `$SYS`), an answer coming back at all. The flushes order the observations, so no
  cell waits on a timeout unless it is a mismatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import stat
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import nats.js.errors
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from wanqing.catalog import SERVICES, bus_needs
from wanqing.certificates import ensure_cluster_certificates, render_cluster_node
from wanqing.embedded import EmbeddedNats, free_port, nats_server_binary
from wanqing.nats_auth import (
    AUDITOR,
    CONSOLE,
    OPS,
    NkeyUser,
    Principal,
    accounts_block,
    connect_as,
    ensure_nkeys,
    platform_principals,
)
from wanqing.platform_secrets import OWNER_ONLY_DIR, OWNER_ONLY_FILE
from wanqing.streams import ensure_streams, load_definitions

# --- the expectation, written independently of wanqing/nats_auth.py ---------------------------------------------

# Per service: its durable consumers, and the services whose queries it asks at run time.
DURABLES: dict[str, tuple[str, ...]] = {
    "profiles": (),
    "identity": ("identity-profiles",),
    "care": ("care-profiles",),
    "ceremony": ("ceremony-profiles",),
    "notify": ("notify-events",),
    "feed": ("feed-events",),
}
ASKS: dict[str, tuple[str, ...]] = {"profiles": (), "identity": ("profiles",), "care": (), "ceremony": ("profiles",),
                                    "notify": ("profiles",), "feed": ("profiles",)}
FEED = "feed"  # the only one handing messages to agencies (agency.<agency>.>)
REQUESTERS = (CONSOLE, OPS)  # people's requests: commands, queries, identity's login and the like
AUTH = "identity"  # the only one answering wanqing.auth.identity.*
STREAM = "WANQING"
AUDIT_STREAM = "WANQING_AUDIT"  # the signed checkpoints (docs/audit.md)
PROBE = Principal("probe", (">",), (">",), (), allow_responses=False)  # the test's observer, not the platform's
AGENCIES = ("hrss", "stats")  # two agencies, each in an account of its own (docs/agencies.md)


def expected(actor: str, kind: str, target: str) -> bool:  # noqa: C901, PLR0911, PLR0912 - the table in one place
    """May `actor` do `kind` on `target`? The platform's rules, stated once more in plain code."""
    service = actor in DURABLES
    own_durable = target in DURABLES.get(actor, ())
    if kind in ("publish event", "publish checkpoint"):  # a service's own events and its own checkpoints
        return actor == target
    if kind in ("publish feed", "publish agency consumer info"):
        return actor == FEED
    if kind in ("subscribe checkpoints", "audit ordered consumer"):  # the auditor hears them in its own account
        return False
    if kind in ("publish command", "request command", "publish auth", "request auth"):
        return actor in REQUESTERS
    if kind in ("publish query", "request query"):
        return actor in REQUESTERS or target in ASKS.get(actor, ())
    if kind in ("publish dead letter", "publish ack", "consumer create", "consumer next"):
        return own_durable
    if kind == "publish inbox":  # a reply: a service answers those who may ask it, nobody else
        return service and (target in REQUESTERS or actor in ASKS.get(target, ()))
    if kind in ("subscribe inbox", "subscribe commands", "subscribe queries"):
        return actor == target
    if kind == "subscribe auth":
        return actor == AUTH
    if kind == "subscribe events":
        return actor == OPS
    if kind == "stream info":
        return service or actor == OPS
    if kind in ("stream update", "account info", "ordered consumer"):
        return actor == OPS
    if kind == "consumer info":
        return own_durable or actor == OPS
    if kind in ("subscribe all", "subscribe $SYS", "subscribe dead letters", "request $SYS", "stream delete",
                "stream purge", "message delete", "consumer delete"):
        return False
    raise AssertionError(f"no rule for {kind}")


# --- the server ----------------------------------------------------------------------------------------------------


@dataclass
class Platform:
    url: str
    users: dict[str, NkeyUser]
    principals: list[Principal]
    folder: Path


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    folder = tmp_path_factory.mktemp("natsauth")
    principals = platform_principals({service: bus_needs(service) for service in SERVICES}, AGENCIES)
    users = ensure_nkeys(folder / "secrets" / "nats", [p.name for p in principals] + [PROBE.name])
    server = EmbeddedNats(folder / "nats", auth=accounts_block([*principals, PROBE], users))
    server.start()
    yield Platform(server.url, users, principals, folder)
    server.stop()


@dataclass
class Actor:
    name: str
    nc: Client
    violations: list[str] = field(default_factory=list)


async def _connect(platform: Platform, name: str) -> Actor:
    actor = Actor(name, None)  # type: ignore[arg-type]  # the connection needs the callback first

    async def on_error(exc: Exception) -> None:
        if "permissions violation" in str(exc).lower():  # nats-py lowercases the server's text
            actor.violations.append(str(exc))

    actor.nc = await connect_as(platform.url, platform.users[name], error_cb=on_error, allow_reconnect=False)
    return actor


def _drain(sub: Subscription) -> list[Msg]:
    """What the subscription holds right now (after the flushes, everything the server sent it)."""
    got = []
    while sub.pending_msgs:
        got.append(sub._pending_queue.get_nowait())  # noqa: SLF001 - a non-blocking read nats-py does not offer
    return got


async def _sync(nc: Client) -> None:
    """Everything this connection sent has been processed by the server, and what the server sent it before is
    read. Two flushes: nats-py 2.16's flush() writes its PING straight to the socket, ahead of commands still
    in its buffer; the second PING leaves after them.
    """
    await nc.flush()
    await nc.flush()


@dataclass
class Seen:
    arrived: bool
    violation: bool
    note: str = ""


async def publish_cell(actor: Actor, probe: Actor, probe_sub: Subscription, subject: str) -> Seen:
    marker = uuid.uuid4().hex.encode()
    actor.violations.clear()
    await actor.nc.publish(subject, marker)
    await _sync(actor.nc)
    await _sync(probe.nc)
    arrived = any(m.subject == subject and m.data == marker for m in _drain(probe_sub))
    return Seen(arrived, bool(actor.violations))


def _concrete(pattern: str) -> str:
    return ".".join({"*": "x", ">": "x.y"}.get(token, token) for token in pattern.split("."))


async def subscribe_cell(actor: Actor, probe: Actor, probe_sub: Subscription, pattern: str) -> Seen:
    actor.violations.clear()
    sub = await actor.nc.subscribe(pattern)
    await _sync(actor.nc)
    marker = uuid.uuid4().hex.encode()
    await probe.nc.publish(_concrete(pattern), marker)
    await _sync(probe.nc)
    await _sync(actor.nc)
    arrived = any(m.data == marker for m in _drain(sub))
    with contextlib.suppress(nats.errors.Error):
        await sub.unsubscribe()
    _drain(probe_sub)
    return Seen(arrived, bool(actor.violations))


ANSWER_WAIT_S = 2.0


async def answer_cell(actor: Actor, call: Callable[[], Awaitable[Any]], others: list[Actor] | None = None) -> Seen:
    """A request of any kind: allowed when an answer (even a refusal by the JetStream API) comes back."""
    actor.violations.clear()
    for other in others or []:
        other.violations.clear()
    task = asyncio.ensure_future(call())
    deadline = time.monotonic() + ANSWER_WAIT_S + 0.5
    while not task.done() and not actor.violations and time.monotonic() < deadline:
        await asyncio.sleep(0.002)
    if not task.done():
        task.cancel()
    try:
        result = await task
    except asyncio.CancelledError:
        return Seen(arrived=False, violation=bool(actor.violations), note="no answer")
    except nats.js.errors.APIError as exc:  # the JetStream API answered: the request got through
        return Seen(arrived=True, violation=bool(actor.violations), note=f"API error {exc.err_code}")
    except (TimeoutError, nats.errors.TimeoutError, nats.errors.NoRespondersError) as exc:
        others_refused = [v for o in others or [] for v in o.violations]
        return Seen(arrived=False, violation=bool(actor.violations), note=f"{type(exc).__name__} {others_refused}")
    if isinstance(result, Subscription):
        await result.unsubscribe()
    return Seen(arrived=True, violation=bool(actor.violations))


async def _ask(nc: Client, subject: str, payload: bytes) -> Msg:
    """A request whose answer may come on another subject than its inbox (a fetched JetStream message keeps
    its own subject, which nats-py's request() does not recognise): the first message on a fresh inbox.
    """
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox, max_msgs=1)
    try:
        await nc.publish(subject, payload, reply=inbox)
        return await sub.next_msg(timeout=ANSWER_WAIT_S)
    finally:
        with contextlib.suppress(nats.errors.Error):
            await sub.unsubscribe()


def _consumer_config(durable: str) -> ConsumerConfig:
    # As backbone/consumer.py makes it (the server's create is create-or-update for an existing durable).
    return ConsumerConfig(durable_name=durable, filter_subjects=["wanqing.evt.*.profiles.>"],
                          ack_policy=AckPolicy.EXPLICIT, deliver_policy=DeliverPolicy.ALL, max_deliver=-1,
                          ack_wait=30, max_ack_pending=256)


async def _responder(actor: Actor, subject: str, queue: str) -> None:
    async def answer(msg: Msg) -> None:
        if msg.reply:
            await msg.respond(b"pong")

    await actor.nc.subscribe(subject, queue=queue, cb=answer)


async def _restore(probe: Actor) -> None:
    """After a cell that destroys (when a right is wrong): streams and durables back, so later cells mean something."""
    js = probe.nc.jetstream()
    await ensure_streams(js)
    for durables in DURABLES.values():
        for durable in durables:
            await js.add_consumer(STREAM, _consumer_config(durable))


Cell = tuple[str, str, Callable[[Actor], Awaitable[Seen]]]


def _cells(probe: Actor, probe_sub: Subscription, actors: dict[str, Actor]) -> tuple[list[Cell], list[Cell]]:
    """(kind, target, run) for every cell; the second list destroys when wrongly allowed, so it runs last."""
    def pub(subject: str) -> Callable[[Actor], Awaitable[Seen]]:
        return lambda a: publish_cell(a, probe, probe_sub, subject)

    def sub(pattern: str) -> Callable[[Actor], Awaitable[Seen]]:
        return lambda a: subscribe_cell(a, probe, probe_sub, pattern)

    def req(subject: str, responder: str | None) -> Callable[[Actor], Awaitable[Seen]]:
        others = [actors[responder]] if responder else []
        return lambda a: answer_cell(a, lambda: a.nc.request(subject, b"ping", timeout=ANSWER_WAIT_S), others)

    def js(call: Callable[[Any], Awaitable[Any]]) -> Callable[[Actor], Awaitable[Seen]]:
        return lambda a: answer_cell(a, lambda: call(a.nc.jetstream(timeout=ANSWER_WAIT_S)))

    def raw(subject: str, body: dict[str, Any]) -> Callable[[Actor], Awaitable[Seen]]:
        payload = json.dumps(body).encode()
        return lambda a: answer_cell(a, lambda: _ask(a.nc, subject, payload))

    principals = [*DURABLES, CONSOLE, OPS]
    durables = [d for ds in DURABLES.values() for d in ds]
    wanqing = load_definitions()[0]
    assert wanqing.name == STREAM
    cells: list[Cell] = []
    for service in DURABLES:
        cells += [
            ("publish event", service, pub(f"wanqing.evt.U0001.{service}.Probe")),
            ("publish checkpoint", service, pub(f"wanqing.audit.{service}.checkpoint")),
            ("publish command", service, pub(f"wanqing.cmd.{service}.Probe")),
            ("publish query", service, pub(f"wanqing.qry.{service}.Probe")),
            ("subscribe commands", service, sub(f"wanqing.cmd.{service}.*")),
            ("subscribe queries", service, sub(f"wanqing.qry.{service}.*")),
            ("request command", service, req(f"wanqing.cmd.{service}.Ping", service)),
            ("request query", service, req(f"wanqing.qry.{service}.Ping", service)),
        ]
    for name in principals:
        cells += [("publish inbox", name, pub(f"_INBOX_{name}.probe.1")),
                  ("subscribe inbox", name, sub(f"_INBOX_{name}.>"))]
    for durable in durables:
        cells += [
            ("publish dead letter", durable, pub(f"wanqing.dlq.{durable}")),
            ("publish ack", durable, pub(f"$JS.ACK.{STREAM}.{durable}.1.1.1.1.0")),
            ("consumer create", durable, js(lambda j, d=durable: j.add_consumer(STREAM, _consumer_config(d)))),
            ("consumer info", durable, js(lambda j, d=durable: j.consumer_info(STREAM, d))),
            ("consumer next", durable, raw(f"$JS.API.CONSUMER.MSG.NEXT.{STREAM}.{durable}",
                                           {"batch": 1, "no_wait": True})),
        ]
    cells += [
        ("publish auth", AUTH, pub("wanqing.auth.identity.x")),
        ("request auth", AUTH, req("wanqing.auth.identity.Login", AUTH)),
        ("subscribe auth", AUTH, sub("wanqing.auth.identity.*")),
        ("subscribe all", ">", sub(">")),
        ("subscribe events", "wanqing.evt.>", sub("wanqing.evt.>")),
        ("subscribe dead letters", "wanqing.dlq.>", sub("wanqing.dlq.>")),
        ("subscribe $SYS", "$SYS.>", sub("$SYS.>")),
        ("request $SYS", "$SYS.REQ.USER.INFO", req("$SYS.REQ.USER.INFO", None)),
        ("stream info", STREAM, js(lambda j: j.stream_info(STREAM))),
        ("stream update", STREAM, js(lambda j: j.update_stream(wanqing))),
        ("account info", "", js(lambda j: j.account_info())),
        ("ordered consumer", STREAM, js(lambda j: j.subscribe("wanqing.evt.>", stream=STREAM, ordered_consumer=True,
                                                             cb=_ignore))),
        ("subscribe checkpoints", "wanqing.audit.>", sub("wanqing.audit.>")),
        ("publish feed", "agency.hrss.MemberDeceased", pub("agency.hrss.MemberDeceased")),
        ("publish agency consumer info", "agencyjs.hrss", pub("agencyjs.hrss.CONSUMER.INFO.FEED.feed-client")),
        ("audit ordered consumer", AUDIT_STREAM, js(lambda j: j.subscribe(
            "wanqing.audit.>", stream=AUDIT_STREAM, ordered_consumer=True, cb=_ignore))),
    ]
    destructive: list[Cell] = [
        ("stream delete", STREAM, js(lambda j: j.delete_stream(STREAM))),
        ("stream purge", STREAM, js(lambda j: j.purge_stream(STREAM, subject="wanqing.evt.NONE.none.None"))),
        ("message delete", STREAM, js(lambda j: j.delete_msg(STREAM, 10**9))),
    ]
    destructive += [("consumer delete", d, js(lambda j, d=d: j.delete_consumer(STREAM, d))) for d in durables]
    return cells, destructive


async def _ignore(msg: Msg) -> None:
    pass


def test_bus_needs_are_the_tables() -> None:
    """What the composition roots declare is what this test expects (a new consumer or peer: update both)."""
    assert set(SERVICES) == set(DURABLES)
    declared = {s: (bus_needs(s).consumers, bus_needs(s).asks) for s in SERVICES}
    assert declared == {s: (DURABLES[s], ASKS[s]) for s in SERVICES}


def _verdict(name: str, kind: str, target: str, seen: Seen) -> str | None:
    """None when the cell is as the rules say; otherwise the line the failure lists."""
    want = expected(name, kind, target)
    if seen.arrived == seen.violation:
        return f"{name}: {kind} {target}: unclear (arrived={seen.arrived}, violation={seen.violation}) {seen.note}"
    if seen.arrived != want:
        return (f"{name}: {kind} {target}: expected {'allowed' if want else 'denied'}, "
                f"was {'allowed' if seen.arrived else 'denied'} {seen.note}")
    return None


async def _serve_requests(actors: dict[str, Actor]) -> None:
    """Each service answers its own requests (queue groups), as it does on the platform."""
    for service in DURABLES:
        await _responder(actors[service], f"wanqing.cmd.{service}.*", f"{service}-commands")
        await _responder(actors[service], f"wanqing.qry.{service}.*", f"{service}-queries")
    await _responder(actors[AUTH], "wanqing.auth.identity.*", f"{AUTH}-auth")
    for actor in actors.values():
        await _sync(actor.nc)
        assert not actor.violations, f"{actor.name} may not even do its own part: {actor.violations}"


async def test_permission_matrix(platform: Platform) -> None:
    """Every principal of the platform's account; the auditor's account has a test of its own (below)."""
    names = [*DURABLES, CONSOLE, OPS]
    outside = [AUDITOR, *(f"agency-{a}" for a in AGENCIES)]
    assert sorted(p.name for p in platform.principals) == sorted([*names, *outside])
    assert {p.name for p in platform.principals if p.account != "WANQING"} == set(outside)
    probe = await _connect(platform, PROBE.name)
    actors = {name: await _connect(platform, name) for name in names}
    try:
        await _restore(probe)
        await _serve_requests(actors)
        probe_sub = await probe.nc.subscribe(">")
        await _sync(probe.nc)
        cells, destructive = _cells(probe, probe_sub, actors)
        started = time.monotonic()
        verdicts = [_verdict(name, kind, target, await run(actors[name]))
                    for name in names for kind, target, run in cells]
        for name in names:
            for kind, target, run in destructive:
                verdicts.append(_verdict(name, kind, target, await run(actors[name])))
                await _restore(probe)
        elapsed = time.monotonic() - started
        mismatches = [v for v in verdicts if v is not None]
        assert not mismatches, f"{len(mismatches)} of {len(verdicts)} cells differ from the rules:\n" + "\n".join(
            mismatches)
        assert len(verdicts) == len(names) * (len(cells) + len(destructive))
        print(f"{len(verdicts)} cells in {elapsed:.1f}s")  # noqa: T201 - the figure the report quotes (pytest -s)
    finally:
        for actor in [*actors.values(), probe]:
            await actor.nc.close()


async def test_no_connection_without_a_known_nkey(platform: Platform) -> None:
    with pytest.raises((nats.errors.Error, OSError)):
        await nats.connect(platform.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
    stranger = ensure_nkeys(platform.folder / "strangers", ["care"])["care"]  # a well-formed key nobody was told of
    with pytest.raises((nats.errors.Error, OSError)):
        await connect_as(platform.url, stranger, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)


async def _count(probe: Actor, subject: str) -> int:
    info = await probe.nc.jetstream().stream_info(STREAM, subjects_filter=subject)
    return int((info.state.subjects or {}).get(subject, 0))


async def test_a_forged_event_never_reaches_the_stream(platform: Platform) -> None:
    probe = await _connect(platform, PROBE.name)
    care = await _connect(platform, "care")
    profiles = await _connect(platform, "profiles")
    try:
        await ensure_streams(probe.nc.jetstream())
        subject = "wanqing.evt.U0001.profiles.MemberDeceased"
        body = json.dumps({"type": "MemberDeceased", "unit": "U0001", "data": {"retiree_id": "R1"}}).encode()
        before = await _count(probe, subject)
        with pytest.raises((nats.errors.TimeoutError, TimeoutError)):
            await care.nc.jetstream().publish(subject, body, timeout=1)
        await _sync(care.nc)
        assert any("publish" in v and subject.lower() in v for v in care.violations), care.violations
        assert await _count(probe, subject) == before
        ack = await profiles.nc.jetstream().publish(subject, body, timeout=5)
        assert ack.stream == STREAM
        assert await _count(probe, subject) == before + 1
    finally:
        for actor in (probe, care, profiles):
            await actor.nc.close()


async def test_the_auditor_keeps_the_checkpoints_in_its_own_account_and_can_do_nothing_else(
    platform: Platform,
) -> None:
    """The auditor's account (AUDITOR) holds the stream WITNESS; a service hands it its own checkpoints only
    (acked by that stream, across the accounts); the auditor reads them, cannot delete or purge them, and sees
    nothing of the platform's account, which in turn cannot see the auditor's stream at all.
    """
    from backbone.checkpoints import Coverage, make_body, sign  # noqa: PLC0415
    from backbone.credentials import new_signing_key  # noqa: PLC0415
    from wanqing.audit.bundle import read_published_checkpoints  # noqa: PLC0415
    from wanqing.streams import ensure_witness_stream  # noqa: PLC0415

    probe = await _connect(platform, PROBE.name)
    profiles = await _connect(platform, "profiles")
    care = await _connect(platform, "care")
    ops = await _connect(platform, OPS)
    auditor = await _connect(platform, AUDITOR)
    try:
        await ensure_streams(probe.nc.jetstream())
        await ensure_witness_stream(auditor.nc.jetstream(), AUDITOR)
        assert auditor.violations == []
        body = make_body(service="profiles", seq=1, cov=Coverage(), previous="",
                         made_at=datetime.now(UTC), signer="profiles")
        checkpoint = sign(body, new_signing_key())
        subject = "witness.auditor.profiles.checkpoint"
        ack = await profiles.nc.jetstream().publish(subject, checkpoint.encode(),
                                                    headers={"Nats-Msg-Id": "profiles-checkpoint-1"}, timeout=5)
        assert ack.stream == "WITNESS"
        assert profiles.violations == []
        heard = await read_published_checkpoints(auditor.nc, "profiles", witness=AUDITOR)
        assert [c.to_json() for c in heard] == [checkpoint.to_json()]
        # Another service cannot hand over profiles' checkpoints; the auditor cannot write its own stream.
        for actor in (care, auditor):
            with pytest.raises((nats.errors.TimeoutError, TimeoutError, nats.errors.NoRespondersError)):
                await actor.nc.jetstream().publish(subject, checkpoint.encode(), timeout=1)
            await _sync(actor.nc)
            assert any("publish" in v and subject in v for v in actor.violations), actor.violations
        assert len(await read_published_checkpoints(auditor.nc, "profiles", witness=AUDITOR)) == 1
        # Nor delete or purge it (denied to the auditor, and the stream itself refuses both).
        for attempt in (lambda j: j.delete_stream("WITNESS"), lambda j: j.purge_stream("WITNESS")):
            seen = await answer_cell(auditor, lambda a=attempt: a(auditor.nc.jetstream(timeout=ANSWER_WAIT_S)))
            assert (seen.arrived, seen.violation) == (False, True), seen
        # From the auditor's account nothing of the platform's is reachable...
        for pattern in ("wanqing.>", "wanqing.audit.>", ">"):
            seen = await subscribe_cell(auditor, probe, await probe.nc.subscribe(">"), pattern)
            assert (seen.arrived, seen.violation) == (False, True), (pattern, seen)
        seen = await answer_cell(auditor, lambda: auditor.nc.jetstream(timeout=ANSWER_WAIT_S).stream_info(STREAM))
        assert (seen.arrived, seen.violation) == (False, True), seen
        # ...and the platform's account does not even see the auditor's stream (ops may not ask; the probe,
        # with every right in the platform's account, is told it does not exist).
        seen = await answer_cell(ops, lambda: ops.nc.jetstream(timeout=ANSWER_WAIT_S).stream_info("WITNESS"))
        assert (seen.arrived, seen.violation) == (False, True), seen
        with pytest.raises(nats.js.errors.NotFoundError):
            await probe.nc.jetstream().stream_info("WITNESS")
    finally:
        for actor in (probe, profiles, care, ops, auditor):
            await actor.nc.close()


async def test_an_agency_reaches_its_own_feed_only_and_only_the_feed_writes_it(platform: Platform) -> None:
    """Each agency's account holds its stream FEED; the feed service hands it messages (acked by that stream,
    across the accounts), no other service can; the agency reads its own, cannot write or delete it, and reaches
    nothing of the platform's account nor of the other agency's.
    """
    from wanqing.streams import agency_stream, ensure_outside_stream  # noqa: PLC0415

    probe = await _connect(platform, PROBE.name)
    feed = await _connect(platform, "feed")
    care = await _connect(platform, "care")
    ops = await _connect(platform, OPS)
    hrss = await _connect(platform, "agency-hrss")
    stats = await _connect(platform, "agency-stats")
    try:
        for agency, actor in (("hrss", hrss), ("stats", stats)):
            await ensure_outside_stream(actor.nc.jetstream(), agency_stream(agency))
            assert actor.violations == []
        ack = await feed.nc.jetstream().publish("agency.hrss.MemberDeceased", b'{"probe": 1}', timeout=5,
                                                headers={"Nats-Msg-Id": "probe-1"})
        assert ack.stream == "FEED" and feed.violations == []
        for actor in (care, hrss, stats):  # nobody else puts anything in an agency's feed
            with pytest.raises((nats.errors.TimeoutError, TimeoutError, nats.errors.NoRespondersError)):
                await actor.nc.jetstream().publish("agency.hrss.MemberDeceased", b"{}", timeout=1)
            await _sync(actor.nc)
            assert any("publish" in v and "agency.hrss.memberdeceased" in v.lower() for v in actor.violations), (
                actor.name, actor.violations)
        info = await hrss.nc.jetstream().stream_info("FEED")
        assert info.state.messages == 1 and info.config.subjects == ["agency.hrss.>", "witness.hrss.>"]
        other = await stats.nc.jetstream().stream_info("FEED")
        assert other.state.messages == 0  # stats' FEED is its own: hrss's message is not there
        # The agency's own durable consumer reads and acknowledges it.
        hrss.violations.clear()
        sub = await hrss.nc.jetstream().pull_subscribe("agency.hrss.>", "feed-client", stream="FEED")
        [msg] = await sub.fetch(1, timeout=5)
        await msg.ack_sync()
        assert msg.data == b'{"probe": 1}' and hrss.violations == []
        # The feed may ask one thing of the agency's account: its consumers' state (through the import).
        state = await feed.nc.jetstream(prefix="agencyjs.hrss", timeout=5).consumer_info("FEED", "feed-client")
        assert state.ack_floor is not None and state.ack_floor.stream_seq == 1
        for actor in (care, ops):
            seen = await answer_cell(actor, lambda a=actor: a.nc.jetstream(
                prefix="agencyjs.hrss", timeout=ANSWER_WAIT_S).consumer_info("FEED", "feed-client"))
            assert (seen.arrived, seen.violation) == (False, True), (actor.name, seen)
        # From an agency's account: nothing of the platform's, nothing of the other agency's, no destruction.
        for pattern in ("wanqing.>", "agency.stats.>", "witness.>", ">"):
            seen = await subscribe_cell(hrss, probe, await probe.nc.subscribe(">"), pattern)
            assert (seen.arrived, seen.violation) == (False, True), (pattern, seen)
        for call in (lambda j: j.delete_stream("FEED"), lambda j: j.purge_stream("FEED"),
                     lambda j: j.stream_info(STREAM), lambda j: j.account_info()):
            seen = await answer_cell(hrss, lambda c=call: c(hrss.nc.jetstream(timeout=ANSWER_WAIT_S)))
            assert (seen.arrived, seen.violation) == (False, True), seen
        with pytest.raises(nats.js.errors.NotFoundError):
            await probe.nc.jetstream().stream_info("FEED")  # the platform's account does not even see it
    finally:
        for actor in (probe, feed, care, ops, hrss, stats):
            await actor.nc.close()


async def test_a_reply_subject_cannot_turn_a_service_against_the_stream(platform: Platform) -> None:
    """nats-server's allow_responses would let a service answer on any reply subject, even the JetStream API's
    (that deleted the stream on 2.15.1, deny-list or not): our services may answer only into requesters' inboxes.
    """
    probe = await _connect(platform, PROBE.name)
    console = await _connect(platform, CONSOLE)
    care = await _connect(platform, "care")
    try:
        await ensure_streams(probe.nc.jetstream())
        forged = "wanqing.evt.U0001.profiles.MemberDeceased"
        before = await _count(probe, forged)
        await _responder(care, "wanqing.cmd.care.*", "care-commands")
        await _sync(care.nc)
        for reply in (f"$JS.API.STREAM.DELETE.{STREAM}", f"$JS.API.STREAM.PURGE.{STREAM}", forged):
            await console.nc.publish("wanqing.cmd.care.CompleteTask", b"{}", reply=reply)
        await _sync(console.nc)
        deadline = time.monotonic() + 5
        while len(care.violations) < 3 and time.monotonic() < deadline:  # noqa: PLR2004 - the three replies
            await asyncio.sleep(0.01)
            await _sync(care.nc)
        assert len(care.violations) == 3, care.violations  # noqa: PLR2004
        assert console.violations == []  # asking with any reply subject is allowed: answering there is not
        info = await probe.nc.jetstream().stream_info(STREAM)
        assert info.config.name == STREAM
        assert await _count(probe, forged) == before
    finally:
        for actor in (probe, console, care):
            await actor.nc.close()


def test_nkeys_are_private_made_once_and_rotated_by_deleting(tmp_path: Path) -> None:
    folder = tmp_path / "secrets" / "nats"
    first = ensure_nkeys(folder, ["care", "ops"])
    assert stat.S_IMODE(folder.stat().st_mode) == OWNER_ONLY_DIR
    for user in first.values():
        assert stat.S_IMODE(user.seed_file.stat().st_mode) == OWNER_ONLY_FILE
        assert user.seed_file == folder / f"{user.name}.nk"
        assert user.public_key.startswith("U")
        assert user.public_key not in user.seed_file.read_text()
    assert ensure_nkeys(folder, ["care", "ops"]) == first
    first["care"].seed_file.unlink()
    rotated = ensure_nkeys(folder, ["care", "ops"])
    assert rotated["care"].public_key != first["care"].public_key
    assert rotated["ops"] == first["ops"]
    block = accounts_block(platform_principals({"care": bus_needs("care")})[:1], rotated)
    assert rotated["care"].public_key in block
    assert first["care"].public_key not in block
    with pytest.raises(ValueError, match="no nkey"):
        accounts_block(platform_principals({"care": bus_needs("care")}), {"care": rotated["care"]})


async def test_streams_made_while_open_are_kept_when_auth_is_turned_on(tmp_path: Path) -> None:
    """A data folder of an older version (open server, streams in the global account) keeps its events."""
    open_server = EmbeddedNats(tmp_path / "nats")
    open_server.start()
    try:
        nc = await nats.connect(open_server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        await js.publish("wanqing.evt.U0001.profiles.RetireeRegistered", b"{}")
        await nc.close()
    finally:
        open_server.stop()
    principals = platform_principals({s: bus_needs(s) for s in SERVICES})
    users = ensure_nkeys(tmp_path / "secrets" / "nats", [p.name for p in principals])
    server = EmbeddedNats(tmp_path / "nats", auth=accounts_block(principals, users))
    server.start()
    try:
        ops = await connect_as(server.url, users[OPS])
        info = await ops.jetstream().stream_info(STREAM)
        assert info.state.messages == 1
        await ops.close()
    finally:
        server.stop()


# --- production: three nodes, TLS for clients and routes ----------------------------------------------------------


def _plain_handshake(port: int) -> tuple[bytes, bytes, bool]:
    """A client that speaks NATS without TLS: the server's INFO, what it answers CONNECT + PING, whether it hung up."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.settimeout(5)
        info = s.recv(4096)
        s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        answer, closed = b"", False
        with contextlib.suppress(TimeoutError):
            while chunk := s.recv(4096):
                answer += chunk
            closed = True
        return info, answer, closed


NODES = ("wanqing-nats-1", "wanqing-nats-2", "wanqing-nats-3")


@dataclass
class Cluster:
    ca_file: Path
    users: dict[str, NkeyUser]
    ports: dict[str, dict[str, int]]  # node -> client_port, cluster_port, http_port
    logs: list[Path]

    def client_url(self, node: str) -> str:
        return f"tls://127.0.0.1:{self.ports[node]['client_port']}"

    def monitor(self, node: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[node]['http_port']}/{path}"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Three nodes from rendered configs, on free ports of the loopback, each with its own certificate."""
    certs = ensure_cluster_certificates(tmp_path / "tls", NODES)
    for path in [certs.ca_file, certs.ca_key_file, *(f for n in certs.nodes.values() for f in (n.cert_file,
                                                                                            n.key_file))]:
        assert stat.S_IMODE(path.stat().st_mode) == OWNER_ONLY_FILE
    principals = platform_principals({s: bus_needs(s) for s in SERVICES})
    users = ensure_nkeys(tmp_path / "secrets" / "nats", [p.name for p in principals])
    auth = accounts_block(principals, users)
    ports = {n: {"client_port": free_port(), "cluster_port": free_port(), "http_port": free_port()} for n in NODES}
    routes = [f"127.0.0.1:{ports[n]['cluster_port']}" for n in NODES]
    procs, logs = [], []
    try:
        for node in NODES:
            conf = tmp_path / f"{node}.conf"
            conf.write_text(render_cluster_node(certs.nodes[node], ca_file=certs.ca_file, store_dir=tmp_path / node,
                                                routes=routes, auth=auth, listen_host="127.0.0.1", **ports[node]))
            logs.append(tmp_path / f"{node}.log")
            with logs[-1].open("ab") as log:
                procs.append(subprocess.Popen([nats_server_binary(), "-c", str(conf)], stdout=log, stderr=log,
                                              start_new_session=True))
        yield Cluster(certs.ca_file, users, ports, logs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _until(what: str, attempt: Callable[[], Awaitable[Any]], seconds: float, cluster: Cluster) -> Any:
    """attempt() until it returns something true (exceptions: not yet); fails with the nodes' logs."""
    deadline = time.monotonic() + seconds
    while True:
        with contextlib.suppress(httpx.HTTPError, nats.errors.Error, OSError):
            if result := await attempt():
                return result
        if time.monotonic() > deadline:
            logs = "\n".join(log.read_text()[-1500:] for log in cluster.logs)
            pytest.fail(f"{what} within {seconds}s; the nodes' logs:\n{logs}")
        await asyncio.sleep(0.2)


async def test_a_three_node_cluster_speaks_only_tls(cluster: Cluster) -> None:
    async with httpx.AsyncClient(timeout=2) as http:

        async def routed() -> bool:
            # Each node has routes (a pool of them, since 2.10) to both others, by name.
            for node in NODES:
                routez = (await http.get(cluster.monitor(node, "routez"))).json()
                if {r.get("remote_name") for r in routez.get("routes") or []} != set(NODES) - {node}:
                    return False
            return True

        await _until("the nodes did not form a cluster", routed, 15, cluster)
        varz = (await http.get(cluster.monitor(NODES[0], "varz"))).json()
    assert varz["tls_required"] is True
    assert varz["cluster"]["tls_required"] is True
    assert varz["cluster"]["tls_verify"] is True  # routes are mutual TLS

    tls = ssl.create_default_context(cafile=str(cluster.ca_file))
    first, last = cluster.client_url(NODES[0]), cluster.client_url(NODES[-1])
    profiles = await connect_as(first, cluster.users["profiles"], tls=tls, allow_reconnect=False)
    ceremony = await connect_as(last, cluster.users["ceremony"], tls=tls, allow_reconnect=False)
    ops = await connect_as(first, cluster.users[OPS], tls=tls, allow_reconnect=False)
    try:
        # A query crosses the routes: ceremony asks on node 3, profiles answers on node 1.
        await _responder(Actor("profiles", profiles), "wanqing.qry.profiles.*", "profiles-queries")
        await _sync(profiles)
        reply = await _until("no answer across the routes",
                             lambda: ceremony.request("wanqing.qry.profiles.GetRetiree", b"{}", timeout=1), 5, cluster)
        assert reply.data == b"pong"
        # JetStream across the cluster: an R3 stream as ops defines it, once a meta leader is elected.
        js = ops.jetstream(timeout=5)
        info = await _until("no R3 stream", lambda: js.add_stream(
            StreamConfig(name=STREAM, subjects=["wanqing.evt.>"], num_replicas=3)), 15, cluster)
        assert info.config.num_replicas == len(NODES)
    finally:
        for nc in (profiles, ceremony, ops):
            await nc.close()

    with pytest.raises((nats.errors.Error, OSError)):  # TLS and the CA, but no nkey
        await nats.connect(first, tls=tls, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3)
    # Without TLS: the server announces TLS, takes the plain CONNECT for a failed handshake and hangs up.
    info_line, answer, closed = _plain_handshake(cluster.ports[NODES[0]]["client_port"])
    assert info_line.startswith(b"INFO ")
    assert b'"tls_required":true' in info_line
    assert b"PONG" not in answer
    assert closed


def test_render_refuses_a_cluster_node_without_auth(tmp_path: Path) -> None:
    certs = ensure_cluster_certificates(tmp_path, ["n1"])
    with pytest.raises(ValueError, match="accounts"):
        render_cluster_node(certs.nodes["n1"], ca_file=certs.ca_file, store_dir=tmp_path, routes=[], auth="")
