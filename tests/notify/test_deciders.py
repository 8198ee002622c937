"""Given / when / then tests of notify's own decisions: marking a message read, channel choices, digest mode,
what a digest lists and when a reminder waits for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Actor, Role
from contracts.errors import DomainError, ErrorCode
from contracts.notify import (
    ChannelName,
    ChannelPreferenceSet,
    DigestModeSet,
    InboxMessageRead,
    MarkRead,
    SetChannelPreference,
    SetDigestMode,
)
from services.notify import digest, inbox, preferences
from services.notify.planning import folded_into_digest
from services.notify.rules import load_rules

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor(user="clerk", role=Role.UNIT_STAFF, unit="U0001")
HEAD = Actor(user="head", role=Role.UNIT_HEAD, unit="U0001")
OTHER_HEAD = Actor(user="head2", role=Role.UNIT_HEAD, unit="U0002")
OFFICE = Actor(user="office", role=Role.DISTRICT_OFFICE, unit="DISTRICT")


def read(actor: Actor, message_id: uuid.UUID) -> MarkRead:
    return MarkRead(command_id=uuid.uuid4(), actor=actor, message_id=message_id)


class TestMarkRead:
    def test_the_recipient_reads_their_message(self) -> None:
        mid = uuid.uuid4()
        events = inbox.decide_mark_read(read(CLERK, mid), inbox.Message(mid, "staff:clerk", read=False))
        assert events == [InboxMessageRead(message_id=mid, recipient="staff:clerk", read_by="clerk")]

    def test_reading_it_again_changes_nothing(self) -> None:
        mid = uuid.uuid4()
        assert inbox.decide_mark_read(read(CLERK, mid), inbox.Message(mid, "staff:clerk", read=True)) == []

    def test_another_staff_member_may_not_and_a_missing_message_is_not_found(self) -> None:
        mid = uuid.uuid4()
        with pytest.raises(DomainError) as caught:
            inbox.decide_mark_read(read(HEAD, mid), inbox.Message(mid, "staff:clerk", read=False))
        assert caught.value.code is ErrorCode.FORBIDDEN
        with pytest.raises(DomainError) as missing:
            inbox.decide_mark_read(read(CLERK, mid), None)
        assert missing.value.code is ErrorCode.NOT_FOUND


class TestPreferencesAndDigestMode:
    def test_channels_keep_their_order_without_repeats(self) -> None:
        cmd = SetChannelPreference(command_id=uuid.uuid4(), actor=CLERK, recipient="staff:clerk",
                                   channels=[ChannelName.EMAIL, ChannelName.INBOX, ChannelName.EMAIL])
        assert preferences.decide_set_preference(cmd) == [
            ChannelPreferenceSet(recipient="staff:clerk", channels=[ChannelName.EMAIL, ChannelName.INBOX])]

    def test_the_unit_head_sets_the_units_digest_mode_but_not_another_units(self) -> None:
        mine = SetDigestMode(command_id=uuid.uuid4(), actor=HEAD, unit="U0001", enabled=False)
        assert digest.decide_set_digest_mode(mine) == [DigestModeSet(unit="U0001", enabled=False)]
        theirs = SetDigestMode(command_id=uuid.uuid4(), actor=OTHER_HEAD, unit="U0001", enabled=False)
        with pytest.raises(DomainError, match="unit head or the district office"):
            digest.decide_set_digest_mode(theirs)

    def test_a_reminder_waits_for_the_digest_only_where_digest_mode_is_on(self) -> None:
        due_soon = load_rules().get("task_due_tomorrow")
        assigned = load_rules().get("task_assigned")
        assert folded_into_digest(due_soon, digest_mode=True)
        assert not folded_into_digest(due_soon, digest_mode=False)
        assert not folded_into_digest(assigned, digest_mode=True)


class TestWhatADigestLists:
    DAY = datetime(2027, 3, 15, tzinfo=SHANGHAI)
    SINCE = DAY - timedelta(hours=16)  # yesterday's digest at 08:00

    def task(self, task_id: str, due_in_hours: float, *, overdue: bool = False,
             opened_hours_ago: float = 100) -> dict[str, object]:
        return {"task_id": task_id, "kind": "hospital_visit", "assignee": "clerk", "overdue": overdue,
                "due_at": self.DAY + timedelta(hours=due_in_hours),
                "opened_at": self.DAY - timedelta(hours=opened_hours_ago)}

    def test_each_open_task_once_under_overdue_today_tomorrow_or_new(self) -> None:
        tasks = [self.task("late", -1), self.task("flagged", 3, overdue=True), self.task("today", 20),
                 self.task("tomorrow", 30), self.task("new", 70, opened_hours_ago=10),
                 self.task("known", 70, opened_hours_ago=30)]
        content = digest.compose(tasks, self.DAY, self.SINCE)
        assert content is not None
        assert [t["task_id"] for t in content.overdue] == ["late", "flagged"]
        assert [t["task_id"] for t in content.due_today] == ["today"]
        assert [t["task_id"] for t in content.due_tomorrow] == ["tomorrow"]
        assert [t["task_id"] for t in content.new] == ["new"]  # "known" was in yesterday's digest already

    def test_nothing_to_say_sends_nothing(self) -> None:
        assert digest.compose([], self.DAY, self.SINCE) is None
        assert digest.compose([self.task("known", 70, opened_hours_ago=30)], self.DAY, self.SINCE) is None
