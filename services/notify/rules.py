"""Rules as data: which event becomes which message, to whom, over which channels. Pure: no I/O but loading.

A rule names an event type and, in `when`, fields of it; the book is checked against the contracts when it is
loaded (the type exists, the fields exist, each recipient kind finds what it needs on the event), so reading
those fields from the typed event at run time cannot miss.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.base import Event
from contracts.notify import ChannelName
from contracts.registry import EVENTS

RULES_FILE = Path(__file__).parent / "rules" / "rules.json"


class RecipientKind(StrEnum):
    ASSIGNEE = "assignee"  # data.assignee, else the unit's care contact
    UNIT_STAFF = "unit_staff"  # every active staff member of the event's unit
    UNIT_HEAD = "unit_head"  # the unit's heads (单位行政一把手)
    DISTRICT_OFFICE = "district_office"  # staff with the district-office role
    UNITS_IN_SCOPE = "units_in_scope"  # every active staff member of each unit in data.units (campaigns)
    RETIREE = "retiree"  # data.retiree_id; contact fetched from profiles at send time
    APPLICANT = "applicant"  # the retiree an assistance case is for


RETIREE_KINDS = frozenset({RecipientKind.RETIREE, RecipientKind.APPLICANT})
# The event field a recipient kind reads (ASSIGNEE falls back to the unit's care contact without one).
NEEDS: dict[RecipientKind, str] = {RecipientKind.RETIREE: "retiree_id", RecipientKind.APPLICANT: "retiree_id",
                                   RecipientKind.UNITS_IN_SCOPE: "units"}

# Every event type of every service, by name (names are unique across the platform's contracts).
EVENT_TYPES: dict[str, type[Event]] = {name: model for models in EVENTS.values() for name, model in models.items()}


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    event: str
    when: dict[str, Any] = Field(default_factory=dict)
    recipients: Annotated[list[RecipientKind], Field(min_length=1)]
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]+\.v[0-9]+$")]
    channels: Annotated[list[ChannelName], Field(min_length=1)]
    urgency: Literal["normal", "urgent"] = "normal"
    digestible: bool = False

    @property
    def urgent(self) -> bool:
        return self.urgency == "urgent"

    @cached_property
    def model(self) -> type[Event]:
        return EVENT_TYPES[self.event]

    @model_validator(mode="after")
    def _fits_its_event(self) -> Rule:
        model = EVENT_TYPES.get(self.event)
        if model is None:
            msg = f"rule {self.id}: no event type {self.event!r} in the contracts"
            raise ValueError(msg)
        needed = set(self.when) | {NEEDS[k] for k in self.recipients if k in NEEDS}
        if missing := needed - set(model.model_fields):
            msg = f"rule {self.id}: {self.event} has no field {', '.join(sorted(missing))}"
            raise ValueError(msg)
        return self

    def applies_to(self, event: Event) -> bool:
        """Same type, and every `when` field equal to the event's (a list in `when` means one of its values)."""
        return type(event) is self.model and all(
            getattr(event, k) in v if isinstance(v, list) else getattr(event, k) == v for k, v in self.when.items())


class UnknownRuleError(LookupError):
    def __init__(self, rule_id: str, known: list[str]) -> None:
        super().__init__(f"no rule {rule_id!r}; rules: {', '.join(known)}")


class RuleBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    rules: list[Rule]

    def matching(self, event: Event) -> list[Rule]:
        """The rules an event triggers: same type, and every `when` field equal to the event's."""
        return [r for r in self.rules if r.applies_to(event)]

    @property
    def event_types(self) -> frozenset[type[Event]]:
        return frozenset(r.model for r in self.rules)

    def get(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise UnknownRuleError(rule_id, [r.id for r in self.rules])


def load_rules(path: Path = RULES_FILE) -> RuleBook:
    book = RuleBook.model_validate(json.loads(path.read_text(encoding="utf-8")))
    ids = [r.id for r in book.rules]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate rule ids in {path}")
    return book


def effective_channels(rule_channels: list[ChannelName], preference: list[ChannelName] | None,
                       *, to_retiree: bool) -> list[ChannelName]:
    """The rule's channels narrowed to the recipient's preference; never nothing: the inbox is the fallback.

    Retirees are never posted to a WeCom group robot (a group chat is no place for one person's affairs).
    """
    chosen = [c for c in rule_channels if preference is None or c in preference]
    if to_retiree:
        chosen = [c for c in chosen if c is not ChannelName.WECOM]
    return chosen or [ChannelName.INBOX]
