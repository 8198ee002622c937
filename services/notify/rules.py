"""Rules as data: which event becomes which message, to whom, over which channels. Pure: no I/O but loading."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.notify import ChannelName

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


class UnknownRuleError(LookupError):
    def __init__(self, rule_id: str, known: list[str]) -> None:
        super().__init__(f"no rule {rule_id!r}; rules: {', '.join(known)}")


class RuleBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    rules: list[Rule]

    def matching(self, event_type: str, data: dict[str, Any]) -> list[Rule]:
        """The rules an event triggers: same type, and every `when` field equal to the event's."""
        return [r for r in self.rules if r.event == event_type and all(data.get(k) == v for k, v in r.when.items())]

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
