"""`wanqing notify preview RULE --event FILE` renders a rule's message and refuses bad input clearly."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from services.notify.rules import RULES_FILE
from wanqing.cli import app

SAMPLES = RULES_FILE.parent / "samples"
BAD_INPUT = 2  # the CLI's exit code for a refused argument


def test_preview_prints_subject_and_body() -> None:
    result = CliRunner().invoke(app, ["notify", "preview", "handover_welcome", "--event",
                                      str(SAMPLES / "handover_welcome.json"), "--unit-name", "区教育局"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("主题：欢迎加入离退休干部大家庭")
    assert "2026年6月25日" in result.output


def test_an_unknown_rule_exits_2_and_names_the_rules() -> None:
    result = CliRunner().invoke(app, ["notify", "preview", "nope", "--event", str(SAMPLES / "task_assigned.json")])
    assert result.exit_code == BAD_INPUT
    assert "task_assigned" in result.output


def test_an_event_missing_a_field_the_template_needs_exits_2(tmp_path: Path) -> None:
    event = tmp_path / "e.json"
    event.write_text('{"type": "CeremonyScheduled", "data": {"venue": "礼堂"}}', encoding="utf-8")
    result = CliRunner().invoke(app, ["notify", "preview", "ceremony_invitation", "--event", str(event)])
    assert result.exit_code == BAD_INPUT
    assert "held_on" in result.output
