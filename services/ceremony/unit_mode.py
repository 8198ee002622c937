"""A unit's choice of ceremony mode (individual or half-yearly batch). Pure decide/evolve."""

from __future__ import annotations

from contracts.base import Event
from contracts.ceremony import DEFAULT_MODE, CeremonyMode, CeremonyModeSet, SetCeremonyMode
from contracts.errors import conflict
from services.ceremony.case import authorize


def evolve(state: CeremonyMode, event: Event) -> CeremonyMode:
    return event.mode if isinstance(event, CeremonyModeSet) else state


def decide(command: SetCeremonyMode, state: CeremonyMode = DEFAULT_MODE) -> list[Event]:
    """Applies to cases opened from now on; open cases keep the due date they were promised."""
    authorize(command.actor, command.unit)
    if command.mode is state:
        raise conflict(f"unit {command.unit} already holds {state.value} ceremonies",
                       zh="本单位已是该举办方式，无需更改", mode=state.value)
    return [CeremonyModeSet(unit=command.unit, mode=command.mode)]
