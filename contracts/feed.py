"""The agencies' feed: what each outside agency (人社局, 民政局, 卫健委, 社区, 统计局) may receive of the platform's
events, and the messages it receives (docs/agencies.md).

An agency's policy (deploy/agencies.json) is an allow-list: event types, and per type the plain fields copied,
the personal fields revealed (only with the legal basis written next to each), and an equality filter. Anything
not listed never leaves. The person is named by a pseudonym of the agency's own (a keyed hash of the archive id,
stable for that agency and useless to any other), or not at all (statistics).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from contracts.base import Command, Event, Message, Query

SERVICE = "feed"
FEED_STREAM = "FEED"  # the stream in each agency's own account: its feed and the checkpoints it witnesses


def feed_subject(agency: str, type_: str) -> str:
    """Where an agency's messages of one type arrive (in its own stream FEED)."""
    return f"agency.{agency}.{type_}"  # under subjects.agency_feed_of(agency)

AgencyId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9-]*$")]  # a subject token
LegalBasis = Annotated[str, Field(min_length=8, max_length=300)]
# What profiles can reveal for a disclosure (GetRetiree answers them; each reveal is in its read-access log).
Revealable = Literal["name", "id_number", "phone", "address", "sex", "birth_date"]


class EventRule(Message):
    """One event type an agency receives. An unknown key is an error, not ignored: an allow-list with a typo
    must not load.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    fields: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list)
    reveal: dict[Revealable, LegalBasis] = Field(default_factory=dict)
    where: dict[str, str] = Field(default_factory=dict)  # field -> the value it must have (an agency's area)
    # Only about people this agency was already told of (a community hears of deaths in its own area only).
    known_only: bool = False


class AgencyPolicy(Message):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: AgencyId
    name: Annotated[str, Field(min_length=2, max_length=60)]  # 北京市某区人力资源和社会保障局
    short: Annotated[str, Field(min_length=2, max_length=20)]  # 人社局: how staff and the CLI name it
    purpose: Annotated[str, Field(min_length=4, max_length=300)]  # why it receives anything at all
    subject: Literal["pseudonym", "none"] = "pseudonym"  # none: counts only, no person is identifiable
    events: dict[str, EventRule]
    # The durable consumer of the agency's own client whose acknowledgements the platform reports (/health).
    durable: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "feed-client"

    @model_validator(mode="after")
    def _counts_reveal_nobody(self) -> AgencyPolicy:
        if self.subject == "none" and any(rule.reveal or rule.known_only for rule in self.events.values()):
            msg = (f"agency {self.id} receives counts only (subject none): it may not be revealed personal data, "
                   "nor know whom a message is about (known_only)")
            raise ValueError(msg)
        return self


class AgencyBook(Message):
    agencies: list[AgencyPolicy]

    @model_validator(mode="after")
    def _unique(self) -> AgencyBook:
        for attr in ("id", "short"):
            values = [getattr(a, attr) for a in self.agencies]
            if len(values) != len(set(values)):
                msg = f"two agencies share an {attr}: {sorted(values)}"
                raise ValueError(msg)
        return self

    def find(self, name: str) -> AgencyPolicy:
        """By id or by short name (`wanqing agency tail --agency 人社局`)."""
        for agency in self.agencies:
            if name in (agency.id, agency.short):
                return agency
        msg = f"no agency {name!r}; known: {', '.join(f'{a.id} ({a.short})' for a in self.agencies)}"
        raise LookupError(msg)


class FeedMessage(Message):
    """What an agency receives, on `agency.<agency>.<type>` in its own stream FEED (with `Nats-Msg-Id` =
    `message_id`: a repeat is dropped there). `data` holds exactly the fields of the agency's rule for the type,
    and the revealed ones; `legal_basis` names, for each revealed field, why the agency may have it.
    """

    message_id: UUID
    agency: AgencyId
    type: str
    schema_version: int = 1
    occurred_at: AwareDatetime
    unit: str | None
    subject: str | None  # the agency's pseudonym of the person; None for counts and for non-person events
    data: dict[str, Any]
    legal_basis: dict[str, str] = Field(default_factory=dict)


SUBJECT_ERASED = "SubjectErased"  # the type of the notice that a person's data was erased (PIPL Art. 47)


class GetFeedStatus(Query):
    """Per agency: enabled, messages waiting to be handed over, and its client's last acknowledgement."""


COMMANDS: tuple[type[Command], ...] = ()
EVENTS: tuple[type[Event], ...] = ()
QUERIES: tuple[type[Query], ...] = (GetFeedStatus,)
