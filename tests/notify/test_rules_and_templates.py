"""Pure parts of notify: rule matching, channel choice, quiet hours, backoff, and every rule's template."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from contracts.base import Event
from contracts.notify import ChannelName
from services.notify.preview import PreviewError, preview
from services.notify.quiet_hours import QuietHours, backoff, next_morning, not_before
from services.notify.rules import EVENT_TYPES, RULES_FILE, UnknownRuleError, effective_channels, load_rules
from services.notify.templates import TemplateError, Templates, message_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours(time(21), time(8), SHANGHAI)
SAMPLES = RULES_FILE.parent / "samples"
RULE_IDS = [r.id for r in load_rules().rules]


class SomethingElse(Event):
    type: str = "SomethingElse"


def event(type_: str, fields: dict[str, object]) -> Event:
    """The typed event a rule is matched against; built unchecked, with just the fields a test gives."""
    return EVENT_TYPES.get(type_, SomethingElse).model_construct(**fields)


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=SHANGHAI)


class TestRuleMatching:
    def test_an_event_type_triggers_its_rule(self) -> None:
        assert [r.id for r in load_rules().matching(event("CareTaskAssigned", {}))] == ["task_assigned"]

    def test_when_fields_select_between_rules_of_one_type(self) -> None:
        book = load_rules()
        assert [r.id for r in book.matching(event("CareTaskEscalated", {"level": "district_office"}))] == [
            "escalation_district_office"]
        birthday = event("CareTaskOpened", {"kind": "birthday_visit", "for_survivor": False})
        assert [r.id for r in book.matching(birthday)] == ["birthday_greeting"]

    def test_a_survivor_task_greets_nobody_and_unknown_events_match_nothing(self) -> None:
        book = load_rules()
        assert book.matching(event("CareTaskOpened", {"kind": "birthday_visit", "for_survivor": True})) == []
        assert book.matching(event("SomethingElse", {})) == []

    def test_an_unknown_rule_id_names_the_known_ones(self) -> None:
        with pytest.raises(UnknownRuleError, match="task_assigned"):
            load_rules().get("nope")


class TestChannels:
    def test_preference_narrows_the_rules_channels(self) -> None:
        chosen = effective_channels([ChannelName.INBOX, ChannelName.EMAIL], [ChannelName.EMAIL], to_retiree=False)
        assert chosen == [ChannelName.EMAIL]

    def test_an_empty_intersection_falls_back_to_the_inbox(self) -> None:
        assert effective_channels([ChannelName.EMAIL], [ChannelName.SMS], to_retiree=False) == [ChannelName.INBOX]

    def test_retirees_are_never_posted_to_a_group_robot(self) -> None:
        chosen = effective_channels([ChannelName.WECOM, ChannelName.SMS], None, to_retiree=True)
        assert chosen == [ChannelName.SMS]


class TestQuietHours:
    @pytest.mark.parametrize(("moment", "quiet"), [
        (at(20, 59), False), (at(21, 0), True), (at(23, 30), True), (at(0, 5), True), (at(7, 59), True),
        (at(8, 0), False), (at(12), False),
    ])
    def test_the_window_crosses_midnight(self, moment: datetime, quiet: bool) -> None:  # noqa: FBT001
        assert QUIET.contains(moment) is quiet

    def test_a_late_evening_message_waits_for_eight_next_morning(self) -> None:
        assert not_before(at(22), urgent=False, silent_channel=False, quiet=QUIET) == at(8, day=11)

    def test_an_early_morning_message_waits_for_eight_the_same_day(self) -> None:
        assert not_before(at(6), urgent=False, silent_channel=False, quiet=QUIET) == at(8)

    def test_urgent_and_silent_messages_go_now(self) -> None:
        assert not_before(at(22), urgent=True, silent_channel=False, quiet=QUIET) == at(22)
        assert not_before(at(22), urgent=False, silent_channel=True, quiet=QUIET) == at(22)

    def test_the_window_is_in_local_time_whatever_zone_now_is_in(self) -> None:
        utc_evening = datetime(2026, 5, 10, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai
        assert not_before(utc_evening, urgent=False, silent_channel=False, quiet=QUIET) == at(8, day=11)

    def test_next_morning_is_strictly_after_now(self) -> None:
        assert next_morning(at(8), 8, SHANGHAI) == at(8, day=11)
        assert next_morning(at(7), 8, SHANGHAI) == at(8)

    def test_backoff_doubles_and_is_capped(self) -> None:
        assert [backoff(n, 1, 5).total_seconds() for n in (1, 2, 3, 4)] == [1, 2, 4, 5]
        assert backoff(1, 30, 3600) == timedelta(seconds=30)


class TestTemplates:
    @pytest.mark.parametrize("rule_id", RULE_IDS)
    def test_every_rule_renders_its_sample_event_in_chinese(self, rule_id: str) -> None:
        rule = load_rules().get(rule_id)
        cause = json.loads((SAMPLES / f"{rule_id}.json").read_text(encoding="utf-8"))
        assert cause["type"] == rule.event
        assert rule in load_rules().matching(event(cause["type"], cause["data"]))
        rendered = Templates(SHANGHAI).render(rule.template, message_context(
            cause, recipient_name="张伟", unit_name="区教育局"))
        assert rendered.subject
        assert "{{" not in rendered.body
        assert "区教育局" in rendered.subject + rendered.body or "张伟" in rendered.body

    def test_times_are_shown_in_beijing_time(self) -> None:
        cause = json.loads((SAMPLES / "task_assigned.json").read_text(encoding="utf-8"))
        rendered = Templates(SHANGHAI).render("task_assigned.v1", message_context(cause, recipient_name="张伟",
                                                                                  unit_name=None))
        assert "2026年5月13日 17:00" in rendered.body
        assert rendered.subject == "新的关怀任务：住院看望"

    def test_a_missing_event_field_is_a_template_error(self) -> None:
        with pytest.raises(TemplateError, match="held_on"):
            Templates(SHANGHAI).render("ceremony_invitation.v1", message_context(
                {"type": "CeremonyScheduled", "data": {"venue": "x"}}, recipient_name=None, unit_name=None))

    def test_the_digest_lists_overdue_and_due_today(self) -> None:
        task = {"kind": "hospital_visit", "due_at": "2026-05-10T01:00:00+00:00", "assignee": "zhangwei",
                "task_id": "t1"}
        rendered = Templates(SHANGHAI).render("digest.v1", {
            "recipient_name": "张伟", "unit_name": "区教育局", "today": "2026-05-10",
            "overdue": [task], "due_today": [task, task]})
        assert "共3项" in rendered.body
        assert "已逾期（1项）" in rendered.body
        assert "今日到期（2项）" in rendered.body


class TestPreview:
    def test_preview_renders_a_sample(self) -> None:
        rendered = preview("ceremony_invitation", SAMPLES / "ceremony_invitation.json", recipient_name="李秀英")
        assert "2026年6月18日" in rendered.body
        assert "尊敬的李秀英" in rendered.body

    def test_an_event_of_another_type_is_refused(self) -> None:
        with pytest.raises(PreviewError, match="CareTaskAssigned"):
            preview("task_assigned", SAMPLES / "ceremony_invitation.json")

    def test_an_unreadable_file_is_refused(self, tmp_path: Path) -> None:
        bad = tmp_path / "e.json"
        bad.write_text("{not json", encoding="utf-8")
        with pytest.raises(PreviewError, match="cannot read"):
            preview("task_assigned", bad)
