"""Base models for events, commands, queries and replies; every message is frozen and typed."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.errors import ErrorCode

# The district's civil time: "today", birthdays, quiet hours and office mornings are days in China.
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


# Field types every service's contract uses.
UnitCode = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]  # a subject token too
Text = Annotated[str, Field(min_length=1, max_length=200)]


class Message(BaseModel):
    # Consumers ignore unknown fields (additive schema changes); producers are exact.
    model_config = ConfigDict(frozen=True, extra="ignore")


class Role(StrEnum):
    UNIT_STAFF = "unit_staff"
    UNIT_HEAD = "unit_head"
    PARTY_SECRETARY = "party_secretary"
    DISTRICT_OFFICE = "district_office"
    SYSTEM = "system"
    # A retired person on their own pages (console /me): acts for no unit, only for themselves (`is_person`).
    RETIREE = "retiree"


RETIREE_PREFIX = "retiree-"


def retiree_user(retiree_id: UUID | str) -> str:
    """The user name of a retiree's own login: `retiree-<archive id>`."""
    return f"{RETIREE_PREFIX}{retiree_id}"


class Actor(Message):
    """Who acts: a user with a role, within a unit (the district office acts everywhere)."""

    user: str = Field(min_length=1, max_length=64)
    role: Role
    unit: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")

    @property
    def oversees_all(self) -> bool:
        """The district office and the platform itself act for every unit."""
        return self.role in (Role.DISTRICT_OFFICE, Role.SYSTEM)

    def may_act_for(self, unit: str | None) -> bool:
        """The district office, the platform itself, or staff of that very unit: never a retiree, whose unit
        says where they retired from, not what they may do.
        """
        if self.role is Role.RETIREE:
            return False
        return self.oversees_all or (unit is not None and self.unit == unit)

    @property
    def retiree_id(self) -> str | None:
        """The archive id of a retiree acting on their own pages; None for everyone else."""
        return self.user.removeprefix(RETIREE_PREFIX) if self.role is Role.RETIREE else None

    def is_person(self, retiree_id: UUID | str) -> bool:
        """Whether the actor is that retiree, logged in on their own pages."""
        return self.role is Role.RETIREE and self.user == retiree_user(retiree_id)


SYSTEM_ACTOR = Actor(user="system", role=Role.SYSTEM, unit="DISTRICT")


def system_actor(service: str) -> Actor:
    """The actor of what a service decides by itself (a timer, a feed, a campaign): the service, as the system."""
    return Actor(user=service, role=Role.SYSTEM, unit=SYSTEM_ACTOR.unit)


class Event(Message):
    """A fact in past tense. Subclasses fix `type` with a Literal and list sensitive fields."""

    type: str
    schema_version: int = 1
    # Names of fields holding personal data: sealed per person before they are stored or published.
    SENSITIVE: ClassVar[tuple[str, ...]] = ()
    # The retiree (person) whose key seals SENSITIVE fields; None when the event holds no personal data.
    PERSON_FIELD: ClassVar[str | None] = None
    # Personal facts another service decides with (birth date, sex, health): sealed with the person's *facts
    # key*, which the event carries (`facts_key`, wrapped by the master key) for the services entitled to it
    # (backbone/facts.py). A reader without that key gets None in their place; the fields are Optional.
    SEALED_FACTS: ClassVar[tuple[str, ...]] = ()


class Command(Message):
    """An imperative. `command_id` makes a retry safe: the same id has one effect and one reply."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    command_id: UUID
    actor: Actor
    correlation_id: UUID | None = None


class Query(Message):
    model_config = ConfigDict(frozen=True, extra="forbid")
    actor: Actor


class ReadAccessQuery(Query):
    """A service's read-access log (查阅记录), newest first, filtered by person, reader, reader's unit and time:
    the district office's (profiles', care's and ceremony's `ListReadAccess`).
    """

    retiree_id: UUID | None = None
    user: Annotated[str, Field(max_length=64)] | None = None
    actor_unit: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] | None = None
    since: AwareDatetime | None = None
    until: AwareDatetime | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class Accepted(Message):
    ok: Literal[True] = True
    stream_id: str
    version: int
    event_ids: tuple[UUID, ...]
    # Counts and notes of a batch command (e.g. rows imported and skipped); None for ordinary commands.
    summary: dict[str, Any] | None = None


class Refused(Message):
    """A refusal: `message` is for the person who sent it (Chinese); `developer_message` is the English detail."""

    ok: Literal[False] = False
    code: ErrorCode
    message: str
    developer_message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class Answer(Message):
    ok: Literal[True] = True
    data: Any


Reply = Annotated[Accepted | Refused, Field(discriminator="ok")]
QueryReply = Annotated[Answer | Refused, Field(discriminator="ok")]


class Envelope(Message):
    """What travels on the bus and is stored and hashed (ARCHITECTURE §12)."""

    event_id: UUID
    type: str
    schema_version: int
    stream_id: str
    version: int
    unit: UnitCode
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: UUID
    causation_id: UUID | None
    actor: Actor
    data: dict[str, Any]
