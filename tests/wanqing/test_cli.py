"""The command line's pure parts: durations, message defaults, input checks, event lines, the state file."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backbone.settings import Settings
from wanqing import access, messages, state
from wanqing.admin import parse_instant
from wanqing.cli import app
from wanqing.durations import parse_duration
from wanqing.tail import event_line

USAGE_ERROR = 2
OWNER_ONLY = 0o600


class TestDurations:
    @pytest.mark.parametrize(("text", "expected"), [
        ("3d", timedelta(days=3)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        ("2w", timedelta(weeks=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 3D ", timedelta(days=3)),
    ])
    def test_parses(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "3", "d", "3x", "-3d", "3 d", "1.5h", "3d junk"])
    def test_refuses_what_is_not_a_duration(self, text: str) -> None:
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(text)


class TestCommandDefaults:
    def test_fills_the_command_id_and_names_no_actor(self) -> None:
        fixed = uuid.UUID(int=7)
        body = messages.command_body({"retiree_id": "r"}, new_id=lambda: fixed)
        assert body == {"retiree_id": "r", "command_id": str(fixed)}  # who acts is in the credential

    def test_keeps_the_command_id_the_body_gives(self) -> None:
        assert messages.command_body({"command_id": "given"})["command_id"] == "given"

    def test_a_body_naming_an_actor_is_refused_before_anything_is_sent(self) -> None:
        mine = {"user": "u1", "role": "district_office", "unit": "DISTRICT"}
        with pytest.raises(messages.BadInputError, match="may not name an actor"):
            messages.command_body({"actor": mine})
        with pytest.raises(messages.BadInputError, match="may not name an actor"):
            messages.no_actor({"actor": mine, "retiree_id": "r"})

    def test_actor_json_is_an_actor_or_a_clear_error(self) -> None:
        actor = messages.actor_of('{"user": "u2", "role": "unit_head", "unit": "U0002"}')
        assert (actor.user, actor.role.value, actor.unit) == ("u2", "unit_head", "U0002")
        with pytest.raises(messages.BadInputError, match="--actor-json is not an actor"):
            messages.actor_of('{"user": "u2", "role": "king", "unit": "U0002"}')

    def test_the_default_actor_acts_for_the_configured_district(self) -> None:
        assert access.default_actor("D42").unit == "D42"


class TestInput:
    def test_json_must_be_an_object(self) -> None:
        with pytest.raises(messages.BadInputError, match="must be a JSON object"):
            messages.parse_object("[1]", "--json")

    def test_invalid_json_is_named(self) -> None:
        with pytest.raises(messages.BadInputError, match="--json is not valid JSON"):
            messages.parse_object("{nope", "--json")

    def test_unknown_service_is_refused_before_sending(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("WANQING_DATA_DIR", str(tmp_path))
        result = CliRunner().invoke(app, ["send", "nosuch", "ApproveRetirement", "--json", "{}"])
        assert result.exit_code == USAGE_ERROR
        assert "unknown service 'nosuch'" in result.output

    def test_without_a_platform_the_error_says_how_to_start_one(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("WANQING_DATA_DIR", str(tmp_path))
        monkeypatch.delenv("WANQING_NATS_URL", raising=False)
        result = CliRunner().invoke(app, ["query", "care", "GetRetireeFacts", "--json", "{}"])
        assert result.exit_code == USAGE_ERROR
        assert "wanqing up" in result.output

    def test_clock_set_reads_iso_times_as_beijing_time_unless_told(self) -> None:
        assert parse_instant("2026-12-01T08:00") == datetime(2026, 12, 1, 0, tzinfo=UTC)
        assert parse_instant("2026-12-01T08:00+00:00") == datetime(2026, 12, 1, 8, tzinfo=UTC)


class TestEventLine:
    def test_shows_the_platform_time_in_beijing_time_subject_stream_version_and_compact_data(self) -> None:
        env = {"recorded_at": "2026-12-01T20:30:00+00:00", "occurred_at": "2026-11-01T00:00:00+00:00",
               "stream_id": "retiree-1", "version": 3,
               "data": {"unit": "U0001", "document_number": "区人社〔2026〕12号"}}
        line = event_line("wanqing.evt.U0001.profiles.RetirementApproved", json.dumps(env).encode())
        assert line == ('2026-11-01 08:00:00+08:00  wanqing.evt.U0001.profiles.RetirementApproved  retiree-1@3  '
                        '{"document_number":"区人社〔2026〕12号","unit":"U0001"}')

    def test_a_payload_that_is_not_an_envelope_is_shown_raw(self) -> None:
        assert "(not an envelope)  hello" in event_line("wanqing.evt.U.s.T", b"hello")


class TestStateFile:
    def test_env_urls_win_over_the_state_file(self, tmp_path: Path) -> None:
        state.write_state(tmp_path, state.PlatformState("nats://file", "postgresql://file", os.getpid(), embedded=True))
        settings = Settings(data_dir=tmp_path, nats_url="nats://env", database_url="")
        assert state.nats_url(settings) == "nats://env"
        assert state.database_url(settings) == "postgresql://file"

    def test_is_private_to_its_owner(self, tmp_path: Path) -> None:
        path = state.write_state(tmp_path, state.PlatformState("n", "d", os.getpid(), embedded=True))
        assert path.stat().st_mode & 0o777 == OWNER_ONLY

    def test_a_file_left_by_a_dead_supervisor_is_ignored(self, tmp_path: Path) -> None:
        state.write_state(tmp_path, state.PlatformState("nats://old", "postgresql://old", 2**22 + 12345, embedded=True))
        with pytest.raises(state.PlatformNotFoundError):
            state.nats_url(Settings(data_dir=tmp_path, nats_url=""))
