"""End to end: `wanqing demo` with a small district runs the platform, the quarter, the report, and stops."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_small_demo_runs_end_to_end(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANQING_")}
    done = subprocess.run(
        [sys.executable, "-m", "wanqing", "demo", "--units", "3", "--retirees", "60", "--days", "12",
         "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=140, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "离退休服务管理工作质量考评（2027Q4" in out
    assert "荣誉退休仪式" in out
    assert "人社局 的参考客户端收到" in out and "统计局 的参考客户端收到" in out  # the agencies' reference clients
    report = data_dir / "考评-2027Q4.xlsx"
    assert report.exists(), out[-2000:]
    sheet = load_workbook(report).active
    assert sheet is not None
    assert sheet.max_row >= 3 + 3 + 1  # title rows, header, the units, the district's total
    certificates = list((data_dir / "documents" / "ceremony").rglob("退休证-*.pdf"))
    assert certificates, out[-2000:]
    assert certificates[0].read_bytes().startswith(b"%PDF")
    assert not (data_dir / "platform.json").exists()  # the platform was stopped


def test_demo_refuses_to_wipe_a_folder_that_is_not_its_own(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("x")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANQING_")}
    done = subprocess.run([sys.executable, "-m", "wanqing", "demo", "--data-dir", str(precious)], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "not a demo data folder" in done.stderr
    assert (precious / "keep.txt").exists()
