"""Opening a retiree's honorary-retirement case when profiles approves the retirement: pure.

The unit's mode decides the promise: an individual ceremony within a month, or a place in the half-yearly
batch of the approval's half year (the batch is opened by its first retiree).
"""

from __future__ import annotations

from contracts.base import Event
from contracts.ceremony import CeremonyMode
from contracts.profiles import RetirementApproved
from services.ceremony import batch, case
from services.ceremony.batch import Batch
from services.ceremony.case import Case
from services.ceremony.policy import CeremonyPolicy


def batch_of(approval: RetirementApproved) -> str:
    """The id of the batch an approval belongs to (in batch mode)."""
    return batch.batch_of(approval.unit, approval.approved_on)[0]


def decide_open(
    state: Case, approval: RetirementApproved, mode: CeremonyMode, batch_state: Batch, policy: CeremonyPolicy,
) -> tuple[list[Event], list[Event]]:
    """The case's events and the batch's events (none in individual mode); nothing for a case already open."""
    if state.opened:
        return [], []
    chosen = None
    batch_events: list[Event] = []
    if mode is CeremonyMode.HALF_YEAR_BATCH:
        bid, _year, _half, due = batch.batch_of(approval.unit, approval.approved_on)
        batch_events = batch.add_retiree(batch_state, approval.unit, approval.approved_on, approval.retiree_id)
        chosen = (bid, due)
    case_events = case.open_case(state, retiree_id=approval.retiree_id, unit=approval.unit,
                                 document_number=approval.document_number, approved_on=approval.approved_on,
                                 mode=mode, batch=chosen, policy=policy)
    return case_events, batch_events
