"""`wanqing keys` and the migration of a data folder's single master.key into the key folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from backbone.crypto import new_master_key, parse_master_key
from backbone.master_keys import MasterKeys
from backbone.settings import Settings
from wanqing.keys_cli import app
from wanqing.supervisor import key_folder


def test_a_data_folders_master_key_moves_out_to_the_key_folder_as_version_1(tmp_path: Path) -> None:
    data = tmp_path / "wanqing"
    data.mkdir()
    b64 = new_master_key()
    (data / "master.key").write_text(b64 + "\n")
    folder = key_folder(Settings(data_dir=data), data)
    assert folder == tmp_path / "wanqing.keys"  # beside the data folder, not in it
    assert MasterKeys(folder).versions() == {1: parse_master_key(b64)}
    assert not (data / "master.key").exists()  # the copy in the data folder is destroyed
    assert key_folder(Settings(data_dir=data), data) == folder  # idempotent: version 1 stays
    assert MasterKeys(folder).versions() == {1: parse_master_key(b64)}


def test_status_rotate_and_destroy_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANQING_DATA_DIR", str(tmp_path / "wanqing"))
    monkeypatch.setenv("WANQING_BACKUP_WINDOW_DAYS", "0")
    runner = CliRunner()
    rotated = runner.invoke(app, ["rotate"])
    assert rotated.exit_code == 0, rotated.output
    assert "master key version 2" in rotated.output
    status = runner.invoke(app, ["status"])
    assert "version 1: destroyed at" in status.output
    assert "version 2: current" in status.output
    destroyed = runner.invoke(app, ["destroy-due"])
    assert "destroyed: [1]" in destroyed.output
    assert MasterKeys(tmp_path / "wanqing.keys").versions().keys() == {2}
