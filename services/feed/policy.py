"""The agencies' policies (deploy/agencies.json), checked against the contracts when loaded: an agency can be
given only event types that exist, only fields those events have, never an internal id (the subject is the
agency's pseudonym), and never a sealed field as a plain copy (personal data leaves only revealed by profiles,
each with its legal basis in the policy and in profiles' read-access log).
"""

from __future__ import annotations

import json
import typing
import uuid
from pathlib import Path

from contracts.base import Event
from contracts.feed import AgencyBook, AgencyPolicy, EventRule
from contracts.profiles import PersonalDataErased
from contracts.registry import EVENTS

DEFAULT_BOOK = Path(__file__).resolve().parents[2] / "deploy" / "agencies.json"
PERSON_ID = "retiree_id"


class PolicyError(ValueError):
    """deploy/agencies.json asks for something no agency may have: the feed refuses to start with it."""


def event_types() -> dict[str, tuple[str, type[Event]]]:
    """Every event type of the platform: name -> (owner, model). Names are unique (contracts/registry.py)."""
    return {name: (owner, model) for owner, models in EVENTS.items() for name, model in models.items()}


def _is_internal_id(annotation: object) -> bool:
    return annotation is uuid.UUID or uuid.UUID in typing.get_args(annotation)


def check_rule(agency: AgencyPolicy, type_: str, rule: EventRule) -> None:
    known = event_types()
    if type_ not in known:
        raise PolicyError(f"{agency.id}: {type_} is not an event of the platform")
    model = known[type_][1]
    fields = model.model_fields
    for name in [*rule.fields, *rule.where]:
        if name not in fields or name in ("type", "schema_version"):
            raise PolicyError(f"{agency.id}: {type_} has no field {name!r}")
        if _is_internal_id(fields[name].annotation):
            raise PolicyError(f"{agency.id}: {type_}.{name} is an internal id; agencies get their own pseudonym")
        if name.endswith("_by"):  # approved_by, done_by...: the platform's staff are no agency's business
            raise PolicyError(f"{agency.id}: {type_}.{name} names the platform's staff; it never leaves")
        if name in model.SENSITIVE or name in model.SEALED_FACTS:
            raise PolicyError(f"{agency.id}: {type_}.{name} is personal data sealed in the event; "
                              "name what profiles may reveal, with its legal basis, under `reveal`")
    if (rule.reveal or rule.known_only) and PERSON_ID not in fields:
        raise PolicyError(f"{agency.id}: {type_} is about no person: nothing to reveal or to know")


def load_book(path: Path = DEFAULT_BOOK) -> AgencyBook:
    try:
        book = AgencyBook.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc
    for agency in book.agencies:
        for type_, rule in agency.events.items():
            check_rule(agency, type_, rule)
    return book


def routed_types(book: AgencyBook) -> dict[str, type[Event]]:
    """The event types any agency receives, and PersonalDataErased (every pseudonymous agency is told)."""
    known = event_types()
    names = {t for a in book.agencies for t in a.events} | {PersonalDataErased.__name__}
    return {name: known[name][1] for name in sorted(names)}
