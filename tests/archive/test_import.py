"""Importing real-looking rosters through the running profiles service (xlsx and csv, messy on purpose)."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from openpyxl import Workbook

from contracts.base import Actor, Role
from contracts.id_number import make_id_number
from tests.services_harness import DISTRICT_ACTOR, RunningPlatform
from wanqing.importer import import_roster, preview_lines

TODAY = date(2026, 11, 22)
HEADER = ["序号", "姓名", "公民身份号码", "性别", "出生年月", "退休日期", "联系电话", "家庭住址", "政治面貌",
          "入党时间"]


def people(n: int, start: int = 0) -> list[list[Any]]:
    rows = []
    for i in range(start, start + n):
        born = date(1940 + i % 20, 1 + i % 12, 1 + i % 28)
        rows.append([i + 1, f"测试{chr(0x4E00 + i)}", make_id_number("110105", born, 11 + 2 * i),
                     "男", f"{born.year}.{born.month:02d}", f"{born.year + 60}-{born.month:02d}",
                     f"1390000{i:04d}", f"幸福路{i}号", "中共党员" if i % 3 == 0 else "群众",
                     f"{born.year + 25}年7月" if i % 3 == 0 else None])
    return rows


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["区教育局退休人员花名册"])
    ws.append([])
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "gb18030") -> Path:
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])
            w.writerow([])  # blank lines between rows, as exported by some systems
    return path


async def archive_size(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM profiles.retirees"))
    finally:
        await conn.close()


async def run_import(platform: RunningPlatform, path: Path, **kw: Any) -> Any:
    return await import_roster(path, unit="U0001", access=platform.access, actor=Actor.model_validate(DISTRICT_ACTOR),
                               today=TODAY, **kw)


@pytest.fixture
async def unit(platform: RunningPlatform) -> None:
    unit = {"code": "U0001", "name": "区教育局", "kind": "bureau"}
    assert (await platform.send("profiles", "RegisterUnit", unit))["ok"]


@pytest.mark.usefixtures("unit")
class TestImport:
    async def test_xlsx_is_imported_and_reimporting_changes_nothing(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        path = write_xlsx(tmp_path / "roster.xlsx", people(30))
        first = await run_import(platform, path)
        assert first.ok and first.written
        assert (first.imported, first.skipped_existing) == (30, 0)
        assert await archive_size(database_url) == 30  # noqa: PLR2004
        again = await run_import(platform, path)
        assert (again.imported, again.skipped_existing) == (0, 30)
        assert await archive_size(database_url) == 30  # noqa: PLR2004
        listing = await platform.query("profiles", "ListRetirees", {"unit": "U0001", "party_member": True,
                                                                    "limit": 100})
        assert listing["data"]["total"] == 10  # noqa: PLR2004 - every third person is a party member

    async def test_gbk_csv_with_blank_lines_is_imported(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        outcome = await run_import(platform, write_csv(tmp_path / "roster.csv", people(12)))
        assert outcome.ok and outcome.imported == 12  # noqa: PLR2004
        assert await archive_size(database_url) == 12  # noqa: PLR2004

    async def test_one_bad_row_means_nothing_is_written_and_the_preview_names_it(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        rows = people(5)
        rows[2][2] = rows[2][2][:-1] + ("0" if rows[2][2][-1] != "0" else "1")  # wrong check digit
        path = write_xlsx(tmp_path / "bad.xlsx", rows)
        outcome = await run_import(platform, path)
        assert not outcome.written
        assert await archive_size(database_url) == 0
        text = "\n".join(preview_lines(outcome.roster, path))
        assert "第 6 行" in text  # title, blank, header, then the third person is spreadsheet row 6

    async def test_skip_invalid_writes_the_valid_rows(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        rows = people(5)
        rows[0][2] = "123"
        outcome = await run_import(platform, write_xlsx(tmp_path / "bad.xlsx", rows), skip_invalid=True)
        assert outcome.imported == 4  # noqa: PLR2004
        assert await archive_size(database_url) == 4  # noqa: PLR2004

    async def test_dry_run_writes_nothing(self, platform: RunningPlatform, database_url: str, tmp_path: Path) -> None:
        outcome = await run_import(platform, write_xlsx(tmp_path / "r.xlsx", people(3)), dry_run=True)
        assert not outcome.written
        assert len(outcome.roster.valid_records) == 3  # noqa: PLR2004
        assert await archive_size(database_url) == 0

    async def test_a_person_already_in_the_archive_is_skipped(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        rows = people(4)
        await run_import(platform, write_xlsx(tmp_path / "a.xlsx", rows[:2]))
        outcome = await run_import(platform, write_xlsx(tmp_path / "b.xlsx", rows))
        assert (outcome.imported, outcome.skipped_existing) == (2, 2)
        assert await archive_size(database_url) == 4  # noqa: PLR2004

    async def test_staff_of_another_unit_cannot_import_into_this_one(
        self, platform: RunningPlatform, database_url: str, tmp_path: Path
    ) -> None:
        outcome = await import_roster(write_xlsx(tmp_path / "r.xlsx", people(2)), unit="U0001",
                                      access=platform.access,
                                      actor=Actor(user="x", role=Role.UNIT_STAFF, unit="U0009"), today=TODAY)
        assert outcome.refused[0]["code"] == "forbidden"
        assert await archive_size(database_url) == 0
