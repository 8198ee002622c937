"""Given / when / then tests of the care policy as data: the deploy file, validation of a bad file, due_after."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.care import EscalationLevel, TaskKind
from services.care.policy import DEFAULT_POLICY_FILE, Policy, load_policy, parse_policy

NOW = datetime(2027, 3, 15, 9, tzinfo=UTC)


def deploy_raw() -> dict[str, Any]:
    return json.loads(DEFAULT_POLICY_FILE.read_text(encoding="utf-8"))


class TestLoadingTheDeployFile:
    def test_the_deploy_file_loads_as_a_policy(self) -> None:
        policy = load_policy()
        assert isinstance(policy, Policy)
        assert policy.version == "2026.1"

    def test_the_deploy_file_sets_the_due_hours_of_every_event_triggered_visit(self) -> None:
        policy = load_policy()
        assert policy.due_hours == {
            TaskKind.HOSPITAL_VISIT: 72, TaskKind.DISCHARGE_FOLLOW_UP: 168,
            TaskKind.FAMILY_EMERGENCY_VISIT: 72, TaskKind.BEREAVEMENT_VISIT: 48,
        }

    def test_the_deploy_file_escalates_to_the_unit_head_then_the_district_office(self) -> None:
        policy = load_policy()
        assert [(s.level, s.after_due_hours) for s in policy.escalation] == [
            (EscalationLevel.UNIT_HEAD, 24), (EscalationLevel.DISTRICT_OFFICE, 72)]

    def test_the_double_ninth_bands_end_open_at_ninety(self) -> None:
        policy = load_policy()
        assert policy.double_ninth_age_bands == [(70, 70), (75, 75), (80, 80), (85, 85), (90, None)]

    def test_the_approval_limits_are_per_approver_level(self) -> None:
        policy = load_policy()
        limits = [policy.approval_limit(level) for level in ("unit_head", "district_office", "unit_staff")]
        assert limits == [2000, 20000, None]

    def test_a_policy_file_at_another_path_loads(self, tmp_path: Path) -> None:
        raw = deploy_raw()
        raw["version"] = "2027.2"
        path = tmp_path / "policy.json"
        path.write_text(json.dumps(raw), encoding="utf-8")
        assert load_policy(path).version == "2027.2"

    def test_comment_and_unknown_top_level_keys_are_ignored(self) -> None:
        raw = deploy_raw() | {"future_rule": 1}
        assert parse_policy(raw).version == "2026.1"


class TestRejectingABadFile:
    @pytest.mark.parametrize("key", ["version", "due_hours", "escalation", "contact", "assistance",
                                     "double_ninth_age_bands"])
    def test_a_missing_top_level_key_is_a_validation_error(self, key: str) -> None:
        raw = deploy_raw()
        del raw[key]
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_negative_due_soon_hours_are_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["due_soon_hours"] = -1
        with pytest.raises(ValidationError):
            parse_policy(raw)

    @pytest.mark.parametrize("months", [6, 24])
    def test_an_exam_cadence_other_than_yearly_is_a_validation_error(self, months: int) -> None:
        raw = deploy_raw() | {"health_exam_every_months": months}
        with pytest.raises(ValidationError, match="health_exam_every_months"):
            parse_policy(raw)

    def test_negative_escalation_hours_are_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["escalation"][0]["after_due_hours"] = -24
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_an_unknown_escalation_level_is_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["escalation"][0]["level"] = "mayor"
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_an_unknown_task_kind_in_due_hours_is_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["due_hours"]["tea_party"] = 5
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_a_missing_contact_cadence_key_is_a_validation_error(self) -> None:
        raw = deploy_raw()
        del raw["contact"]["high_risk_age"]
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_an_unknown_key_inside_a_nested_section_is_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["assistance"]["decision_weeks"] = 2
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_negative_due_hours_are_a_validation_error(self) -> None:
        raw = deploy_raw()
        raw["due_hours"]["hospital_visit"] = -72
        with pytest.raises(ValidationError):
            parse_policy(raw)

    def test_due_hours_without_an_event_triggered_kind_is_a_validation_error(self) -> None:
        raw = deploy_raw()
        del raw["due_hours"]["hospital_visit"]
        with pytest.raises(ValidationError):
            parse_policy(raw)


class TestDueAfter:
    def test_a_hospital_visit_is_due_72_hours_after_the_start(self) -> None:
        assert load_policy().due_after(TaskKind.HOSPITAL_VISIT, NOW) == NOW + timedelta(hours=72)

    def test_a_bereavement_visit_is_due_48_hours_after_the_start(self) -> None:
        assert load_policy().due_after(TaskKind.BEREAVEMENT_VISIT, NOW) == NOW + timedelta(hours=48)

    def test_due_after_follows_a_changed_policy(self) -> None:
        raw = copy.deepcopy(deploy_raw())
        raw["due_hours"]["discharge_follow_up"] = 24
        assert parse_policy(raw).due_after(TaskKind.DISCHARGE_FOLLOW_UP, NOW) == NOW + timedelta(hours=24)

    def test_due_after_for_a_kind_without_due_hours_raises(self) -> None:
        with pytest.raises(KeyError):
            load_policy().due_after(TaskKind.BIRTHDAY_VISIT, NOW)
