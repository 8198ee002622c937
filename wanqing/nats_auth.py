"""Who may do what on NATS: the one definition of the platform's principals, their nkeys and the server's accounts.

Every process connects as a principal (a service, `console`, `ops`) identified by an nkey (an Ed25519 key pair:
the server keeps only the public half and checks a signature at connect time, so no password is ever sent or
stored on the server). All principals are users of one config-file account, `WANQING`, which holds the streams;
external agencies will get their own accounts importing only their own feed (ARCHITECTURE §15), which is why
this is accounts + nkeys and not one flat user list. The server's system account has no user at all.

The rights are allow-lists (what a process of that kind is seen to do, nothing more) plus an explicit deny-list
for what nobody may do (delete or purge a stream, delete a message or a consumer, anything on `$SYS`):

* a service publishes only its own events (`wanqing.evt.*.<service>.>`) and the dead letters of its own durable
  consumers; subscribes to its own commands and queries (queue groups) and its own inbox (`_INBOX_<service>.>`);
  asks only the queries of the services it names in `ASKS`; uses only its own durables (create-or-update,
  info, fetch, ack); reads the event stream's info (the relay);
* `console` (the edge) sends commands, queries and the credential-less identity requests; subscribes its inbox;
* `ops` (the command line, the demo loader, the supervisor) sends the same, defines the streams of
  deploy/streams.json, reads stream and consumer info, tails events (plain subscription, or an ordered
  ephemeral consumer, which needs flow-control replies);
* `auditor` (an outside auditor, docs/audit.md) only hears the signed checkpoints: subscribes to
  `wanqing.audit.>` and reads the WANQING_AUDIT stream through an ordered (ephemeral) consumer; nothing else.
  Each service publishes its own checkpoints only (`wanqing.audit.<service>.>`).

Replies go only to the inboxes of those who may ask: a service may publish on `_INBOX_console.>`,
`_INBOX_ops.>` and the inboxes of the services that ask it. nats-server's `allow_responses` is NOT used: the
right it grants (publish once to the reply subject of any received message) overrides the deny-list, so a
console that sets `$JS.API.STREAM.DELETE.WANQING` as the reply subject of a command makes the service delete
the stream (seen on nats-server 2.15.1: tests/wanqing/test_nats_permissions.py keeps that shut).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nkeys  # type: ignore[import-untyped]  # nkeys 0.2.1 ships no type information
from nats.aio.client import Client

from backbone.checkpoints import WITNESS_STREAM
from backbone.relay import STREAM
from contracts import subjects
from contracts.feed import FEED_STREAM
from wanqing.platform_secrets import OWNER_ONLY_DIR, write_private
from wanqing.streams import load_definitions

__all__ = [
    "ACCOUNT",
    "AUDITOR",
    "CONSOLE",
    "DENY_ALL",
    "OPS",
    "NkeyUser",
    "Principal",
    "ServiceBusNeeds",
    "accounts_block",
    "auditor_principal",
    "connect_as",
    "connect_options",
    "console_principal",
    "ensure_nkeys",
    "inbox_prefix",
    "nkeys_folder",
    "ops_principal",
    "platform_principals",
    "service_principal",
]

ACCOUNT = "WANQING"  # the account of every platform user; the auditor and agencies get accounts of their own
AUDITOR_ACCOUNT = "AUDITOR"
CONSOLE = "console"
OPS = "ops"
AUDITOR = "auditor"

_API = "$JS.API"
# Nobody may destroy what the platform's history travels through, not even ops: Postgres is the system of
# record, but a purged stream silently skips events for every consumer still behind. Durable consumers are
# never deleted at run time either (a deleted durable replays everything; changing one is create-or-update).
DENY_ALL: tuple[str, ...] = (
    f"{_API}.STREAM.DELETE.>",
    f"{_API}.STREAM.PURGE.>",
    f"{_API}.STREAM.MSG.DELETE.>",
    f"{_API}.CONSUMER.DELETE.>",
    "$SYS.>",  # every account imports a few $SYS requests (connections, user info): none is ours to ask
)


def inbox_prefix(name: str) -> str:
    """Each principal's own reply subjects, so that nobody else may subscribe to its replies."""
    return subjects.inbox_prefix(name)


@dataclass(frozen=True)
class Principal:
    """One kind of process and what the server lets it publish and subscribe to."""

    name: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    deny_publish: tuple[str, ...]
    allow_responses: bool  # nats-server's reply-once right; False for all of ours (see the module's docstring)
    account: str = "WANQING"  # ACCOUNT, or an outside party's account of its own (the auditor, an agency)
    # A witness (the auditor, each agency) keeps the checkpoints in a stream of its own account.
    witness: str | None = None
    # What its account exports as services for the platform's account to import: (subject there, subject in
    # the platform's account). `witness.<w>.>` and `agency.<a>.>` are answered (acked) by its own stream.
    exports: tuple[tuple[str, str], ...] = ()

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.name)


@dataclass(frozen=True)
class ServiceBusNeeds:
    """What a service does on the bus beyond the rule for every service (its composition root declares it)."""

    consumers: tuple[str, ...] = ()  # its durable consumers' names, on the event stream
    asks: tuple[str, ...] = ()  # the services whose queries it asks at run time
    publishes: tuple[str, ...] = ()  # subjects beyond the platform's (the feed's hand-over to the agencies)


def _inbox(name: str) -> str:
    return f"{inbox_prefix(name)}.>"


def _durable_rights(durable: str) -> tuple[str, ...]:
    """A durable pull consumer of the event stream, as backbone/consumer.py uses it through nats-py 2.16.

    Create-or-update comes on one of three subjects depending on the config (named with one filter subject,
    named, or durable only): each is bound to this durable's name, so none can touch another's consumer.
    """
    d = subjects.check_token(durable, "consumer")
    return (
        f"{_API}.CONSUMER.DURABLE.CREATE.{STREAM}.{d}",
        f"{_API}.CONSUMER.CREATE.{STREAM}.{d}",
        f"{_API}.CONSUMER.CREATE.{STREAM}.{d}.>",
        f"{_API}.CONSUMER.INFO.{STREAM}.{d}",
        f"{_API}.CONSUMER.MSG.NEXT.{STREAM}.{d}",  # fetch
        f"$JS.ACK.{STREAM}.{d}.>",  # ack, nak with delay, term
        subjects.dead_letter(d),
    )


def service_principal(service: str, needs: ServiceBusNeeds, *, asked_by: Iterable[str] = ()) -> Principal:
    """A service's rights. `asked_by`: the services that ask its queries (it may reply to their inboxes too)."""
    subscribe = [subjects.commands_of(service), subjects.queries_of(service), _inbox(service)]
    if service == subjects.AUTH_SERVICE:
        subscribe.append(subjects.auth_of())  # the requests that carry no credential yet: login, refresh ...
    publish = [
        subjects.events_of_service(service),
        subjects.audit_of(service),  # its own signed checkpoints (stream WANQING_AUDIT)
        subjects.witness_checkpoints_of(service),  # the same, handed to each witness (imported from its account)
        f"{_API}.STREAM.INFO.{STREAM}",  # the relay reads whether the stream takes atomic batches
        *(right for durable in needs.consumers for right in _durable_rights(durable)),
        *(subjects.queries_of(peer) for peer in needs.asks),
        *needs.publishes,
        # Replies: only to those who may ask (never allow_responses, see the module's docstring).
        *(_inbox(asker) for asker in dict.fromkeys((CONSOLE, OPS, *asked_by))),
    ]
    return Principal(service, tuple(publish), tuple(subscribe), DENY_ALL, allow_responses=False)


def _requests() -> tuple[str, ...]:
    return ("wanqing.cmd.*.*", "wanqing.qry.*.*", subjects.auth_of())


def console_principal() -> Principal:
    """The edge (the web console): asks, and hears only its own replies."""
    return Principal(CONSOLE, _requests(), (_inbox(CONSOLE),), DENY_ALL, allow_responses=False)


def ops_principal(streams: Sequence[str] | None = None) -> Principal:
    """The command line and the supervisor. `streams`: the names of deploy/streams.json (read when not given)."""
    names = list(streams) if streams is not None else [c.name for c in load_definitions() if c.name]
    publish = [
        *_requests(),
        f"{_API}.INFO",
        f"{_API}.STREAM.NAMES",
        f"{_API}.STREAM.LIST",
        *(f"{_API}.STREAM.{op}.{name}" for name in names for op in ("INFO", "CREATE", "UPDATE")),
        *(f"{_API}.CONSUMER.{op}.{name}" for name in names for op in ("LIST", "NAMES")),
        *(f"{_API}.CONSUMER.INFO.{name}.*" for name in names),
        # `wanqing tail --from-start` and the care rebuild: an ordered consumer is an unnamed ephemeral one
        # (the server refuses a durable name on this subject) whose flow-control requests it answers.
        f"{_API}.CONSUMER.CREATE.{STREAM}",
        "$JS.FC.>",
    ]
    subscribe = (_inbox(OPS), subjects.ALL_EVENTS)  # `wanqing tail` without JetStream
    return Principal(OPS, tuple(publish), subscribe, DENY_ALL, allow_responses=False)


def auditor_principal() -> Principal:
    """An outside auditor, in an account of its own (AUDITOR_ACCOUNT): nothing of the platform's account is
    visible from there. Its stream WITNESS keeps every service's signed checkpoints as they are handed over
    (`witness.auditor.<service>.checkpoint`, acked by that stream); the auditor defines that stream and reads it
    through an ordered (ephemeral) consumer, and may do nothing else. It cannot delete or purge it either.
    """
    publish = (*(f"{_API}.STREAM.{op}.{WITNESS_STREAM}" for op in ("CREATE", "UPDATE", "INFO")),
               f"{_API}.CONSUMER.CREATE.{WITNESS_STREAM}", f"$JS.FC.{WITNESS_STREAM}.>")
    return Principal(AUDITOR, publish, (_inbox(AUDITOR),), DENY_ALL, allow_responses=False,
                     account=AUDITOR_ACCOUNT, witness=AUDITOR,
                     exports=((subjects.witness_of(AUDITOR), subjects.witness_of(AUDITOR)),))


def agency_name(agency: str) -> str:
    """An agency's principal (its nkey file, its inbox prefix): `agency-<id>`."""
    return f"agency-{subjects.check_token(agency, 'agency')}"


def agency_account(agency: str) -> str:
    return "AGENCY_" + subjects.check_token(agency, "agency").upper().replace("-", "_")


def agency_principal(agency: str) -> Principal:
    """An outside agency (docs/agencies.md), in an account of its own: its stream FEED keeps its feed
    (`agency.<agency>.>`, handed over by the feed service) and the checkpoints it witnesses; it defines the stream,
    reads it with its own durable consumers (create, info, fetch, ack) or an ordered one, and may do nothing
    else: nothing of the platform's account or of another agency's is reachable from there. The platform's
    account may ask one thing of it: its consumers' state (`agencyjs.<agency>.CONSUMER.INFO.FEED.*`).
    """
    name = agency_name(agency)
    stream = FEED_STREAM
    publish = (
        *(f"{_API}.STREAM.{op}.{stream}" for op in ("CREATE", "UPDATE", "INFO")),
        f"{_API}.CONSUMER.DURABLE.CREATE.{stream}.*", f"{_API}.CONSUMER.CREATE.{stream}.*",
        f"{_API}.CONSUMER.CREATE.{stream}.*.>", f"{_API}.CONSUMER.CREATE.{stream}",
        f"{_API}.CONSUMER.INFO.{stream}.*", f"{_API}.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.ACK.{stream}.>", f"$JS.FC.{stream}.>",
    )
    feed = subjects.agency_feed_of(agency)
    exports = ((subjects.witness_of(agency), subjects.witness_of(agency)), (feed, feed),
               (f"{_API}.CONSUMER.INFO.{stream}.*",
                f"{subjects.agency_jetstream(agency)}.CONSUMER.INFO.{stream}.*"))
    return Principal(name, publish, (_inbox(name),), DENY_ALL, allow_responses=False,
                     account=agency_account(agency), witness=agency, exports=exports)


def platform_principals(services: Mapping[str, ServiceBusNeeds], agencies: Sequence[str] = ()) -> list[Principal]:
    """Every service's principal (in the mapping's order), then console, ops, the auditor and each enabled
    agency's.
    """
    for service, needs in services.items():
        if service in (CONSOLE, OPS, AUDITOR):
            raise ValueError(f"a service may not be named {service!r}: that is a principal of its own")
        unknown = [peer for peer in needs.asks if peer not in services]
        if unknown:
            raise ValueError(f"{service} asks services that do not exist: {unknown}")
    durables = [d for needs in services.values() for d in needs.consumers]
    if len(durables) != len(set(durables)):
        raise ValueError(f"a durable consumer belongs to one service only: {sorted(durables)}")
    principals = [
        service_principal(service, needs, asked_by=[s for s, n in services.items() if service in n.asks])
        for service, needs in services.items()
    ]
    return [*principals, console_principal(), ops_principal(), auditor_principal(),
            *(agency_principal(a) for a in agencies)]


# --- nkeys ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NkeyUser:
    """A principal's nkey: the seed (secret, owner-only file) and the public key the server is told."""

    name: str
    seed_file: Path
    public_key: str

    @property
    def inbox_prefix(self) -> str:
        return inbox_prefix(self.name)


def nkeys_folder(data_dir: Path) -> Path:
    """Where `wanqing up` keeps the seeds: `<data dir>/secrets/nats/<principal>.nk`."""
    return data_dir / "secrets" / "nats"


def _public_key(seed: bytes, seed_file: Path) -> str:
    try:
        pair = nkeys.from_seed(bytearray(seed))
    except nkeys.NkeysError as exc:
        raise ValueError(f"{seed_file} does not hold an nkey seed ({type(exc).__name__})") from exc
    public = str(pair.public_key.decode())
    pair.wipe()
    if not public.startswith("U"):
        raise ValueError(f"{seed_file} holds a {public[0]}... nkey, not a user nkey (U...)")
    return public


def ensure_nkeys(folder: Path, names: Iterable[str]) -> dict[str, NkeyUser]:
    """One user nkey per principal in `<folder>/<name>.nk`, made once and reused after; idempotent.

    The folder is 0700 and each seed file 0600 from the moment it is created. Deleting a seed file and running
    this again (`wanqing up` does) rotates that principal's key: the old public key leaves the server's config.
    """
    folder.mkdir(mode=OWNER_ONLY_DIR, parents=True, exist_ok=True)
    folder.chmod(OWNER_ONLY_DIR)
    users: dict[str, NkeyUser] = {}
    for name in dict.fromkeys(names):
        seed_file = folder / f"{subjects.check_token(name, 'principal')}.nk"
        if not seed_file.exists():
            seed = bytes(nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER))
            write_private(seed_file, seed + b"\n")
        seed = seed_file.read_bytes().strip()
        users[name] = NkeyUser(name, seed_file, _public_key(seed, seed_file))
    return users


# --- the server's configuration -------------------------------------------------------------------------------


def _strings(values: Iterable[str]) -> str:
    # JSON strings are valid NATS config strings, and quoted ones keep `$JS...` from reading as a variable.
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def _user_block(principal: Principal, user: NkeyUser) -> str:
    lines = [
        f"      # {principal.name}",
        "      {",
        f"        nkey: {json.dumps(user.public_key)}",
        "        permissions: {",
        f"          publish: {{ allow: {_strings(principal.publish)}, deny: {_strings(principal.deny_publish)} }}",
        f"          subscribe: {{ allow: {_strings(principal.subscribe)} }}",
    ]
    if principal.allow_responses:
        lines.append("          allow_responses: { max: 1 }")
    lines += ["        }", "      }"]
    return "\n".join(lines)


def _account_block(account: str, members: Sequence[Principal], users: Mapping[str, NkeyUser],
                   imports: Sequence[tuple[str, str, str]], exports: Sequence[str]) -> str:
    lines = [f"  {account}: {{", "    jetstream: enabled"]
    if imports:
        lines.append("    imports: [")
        lines += [f"      {{ service: {{ account: {a}, subject: {json.dumps(s)} }}"
                  + (f", to: {json.dumps(to)}" if to != s else "") + " }" for a, s, to in imports]
        lines.append("    ]")
    if exports:
        lines.append("    exports: [")
        lines += [f"      {{ service: {json.dumps(s)}, response_type: singleton }}" for s in exports]
        lines.append("    ]")
    lines += ["    users: [", *(_user_block(p, users[p.name]) for p in members), "    ]", "  }"]
    return "\n".join(lines)


def accounts_block(principals: Sequence[Principal], users: Mapping[str, NkeyUser]) -> str:
    """The `accounts { ... }` text of a server config: the platform's account (every service, console, ops)
    and one account per witness, each with a user per principal.

    A witness's account exports `witness.<witness>.>` as a service (its own stream answers each publish with an
    ack) and the platform's account imports it: the one way between them. With users defined, the server refuses
    any connection without a known nkey; the system account gets no user, so nobody of the platform reaches it.
    """
    missing = [p.name for p in principals if p.name not in users]
    if missing:
        raise ValueError(f"no nkey for {missing}")
    names = [p.name for p in principals]
    if len(names) != len(set(names)):
        raise ValueError(f"principals named twice: {names}")
    accounts = dict.fromkeys([ACCOUNT, *(p.account for p in principals)])
    outside = [p for p in principals if p.exports]
    if any(p.account == ACCOUNT for p in outside):
        raise ValueError("a party that exports to the platform must have an account of its own")
    imports = [(p.account, there, here) for p in outside for there, here in p.exports]
    blocks = [
        _account_block(
            account, [p for p in principals if p.account == account], users,
            imports=imports if account == ACCOUNT else [],
            exports=[there for p in outside if p.account == account for there, _ in p.exports])
        for account in accounts
    ]
    return (
        "# Generated by wanqing/nats_auth.py from the platform's one definition of principals; do not edit.\n"
        "accounts {\n" + "\n".join(blocks) + "\n}\n"
    )


# --- clients ----------------------------------------------------------------------------------------------------


def connect_options(user: NkeyUser) -> dict[str, str]:
    """nats-py connect options for this principal (faststream's NatsBroker passes them through)."""
    return {"nkeys_seed": str(user.seed_file), "inbox_prefix": user.inbox_prefix}


async def connect_as(url: str, user: NkeyUser, **options: Any) -> Client:
    """A NATS connection as this principal: its nkey signs the server's challenge, replies come to its inbox."""
    return await nats.connect(url, **connect_options(user), **options)
