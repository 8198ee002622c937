"""Subject builders: the only place a NATS subject string is made (ARCHITECTURE §9)."""

from __future__ import annotations

import re

ROOT = "wanqing"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def inbox_prefix(principal: str) -> str:
    """A principal's own reply subjects (`_INBOX_<principal>`): NATS lets only that principal subscribe to them."""
    return f"_INBOX_{check_token(principal, 'principal')}"


def check_token(token: str, what: str = "token") -> str:
    """A subject token: no dots, spaces or wildcards, so permissions can cut by it."""
    if not _TOKEN.fullmatch(token):
        msg = f"{what} {token!r} is not a valid subject token (letters, digits, '_' or '-', 1-64)"
        raise ValueError(msg)
    return token


def event(unit: str, service: str, event_type: str) -> str:
    return ".".join(
        (ROOT, "evt", check_token(unit, "unit"), check_token(service, "service"), check_token(event_type, "type"))
    )


def command(service: str, name: str) -> str:
    return f"{ROOT}.cmd.{check_token(service, 'service')}.{check_token(name, 'command')}"


def query(service: str, name: str) -> str:
    return f"{ROOT}.qry.{check_token(service, 'service')}.{check_token(name, 'query')}"


# Requests that carry no credential yet (Login, Refresh, Logout, ChangePassword): only identity answers them.
AUTH_SERVICE = "identity"


def auth(name: str) -> str:
    return f"{ROOT}.auth.{AUTH_SERVICE}.{check_token(name, 'request')}"


def auth_of() -> str:
    return f"{ROOT}.auth.{AUTH_SERVICE}.*"


def dead_letter(consumer: str) -> str:
    return f"{ROOT}.dlq.{check_token(consumer, 'consumer')}"


def commands_of(service: str) -> str:
    return f"{ROOT}.cmd.{check_token(service, 'service')}.*"


def queries_of(service: str) -> str:
    return f"{ROOT}.qry.{check_token(service, 'service')}.*"


def events_of_service(service: str) -> str:
    return f"{ROOT}.evt.*.{check_token(service, 'service')}.>"


def events_of_unit(unit: str) -> str:
    return f"{ROOT}.evt.{check_token(unit, 'unit')}.>"


def events_of_type(service: str, event_type: str) -> str:
    return f"{ROOT}.evt.*.{check_token(service, 'service')}.{check_token(event_type, 'type')}"


def events_matching(unit: str | None = None, event_type: str | None = None) -> str:
    """Filter for a tail: any unit/service/type where not given."""
    unit_tok = check_token(unit, "unit") if unit else "*"
    if event_type:
        return f"{ROOT}.evt.{unit_tok}.*.{check_token(event_type, 'type')}"
    return f"{ROOT}.evt.{unit_tok}.>"


def audit_checkpoint(service: str) -> str:
    """Where a service publishes its signed checkpoints (stream WANQING_AUDIT, docs/audit.md)."""
    return f"{ROOT}.audit.{check_token(service, 'service')}.checkpoint"


def audit_of(service: str) -> str:
    return f"{ROOT}.audit.{check_token(service, 'service')}.>"


def witness_checkpoint(witness: str, service: str) -> str:
    """A service's signed checkpoint handed to a witness (an account of its own outside the platform's, whose
    stream keeps it: docs/audit.md). The witness exports this subject as a service, so each publish is acked by
    the witness's own stream.
    """
    return f"witness.{check_token(witness, 'witness')}.{check_token(service, 'service')}.checkpoint"


def witness_of(witness: str) -> str:
    return f"witness.{check_token(witness, 'witness')}.>"


def witness_checkpoints_of(service: str) -> str:
    """A service's checkpoints to every witness (what NATS lets that service, and only it, publish)."""
    return f"witness.*.{check_token(service, 'service')}.checkpoint"


def agency_feed_of(agency: str) -> str:
    """An agency's feed (contracts/feed.py feed_subject: `agency.<agency>.<Type>`), in its own stream FEED."""
    return f"agency.{check_token(agency, 'agency')}.>"


ALL_AGENCY_FEEDS = "agency.*.>"  # what the feed service alone may publish


def agency_jetstream(agency: str) -> str:
    """The prefix under which the platform's account reaches the one JetStream request an agency's account
    exports to it: its consumers' info (`<prefix>.CONSUMER.INFO.FEED.<durable>`).
    """
    return f"agencyjs.{check_token(agency, 'agency')}"


ALL_AGENCY_CONSUMER_INFO = "agencyjs.*.CONSUMER.INFO.FEED.*"  # the feed service's one request of the agencies


EVENT_OWNER_TOKEN = 3  # wanqing.evt.<unit>.<service>.<Type>


def event_owner(subject: str) -> str:
    """The service an event subject names as its owner."""
    return subject.split(".")[EVENT_OWNER_TOKEN]


ALL_AUDIT = f"{ROOT}.audit.>"
ALL_EVENTS = f"{ROOT}.evt.>"
ALL_DEAD_LETTERS = f"{ROOT}.dlq.>"
