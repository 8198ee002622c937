"""`wanqing report units`: what the reader sees is said of what they see, in Beijing time, with its legend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from wanqing.report import table_lines, write_xlsx


def report(scope: str, units: list[dict[str, Any]]) -> dict[str, Any]:
    return {"period": "2027Q1", "start": "2027-01-01", "end": "2027-04-01", "as_of": "2027-02-06T01:00:00+00:00",
            "scope": scope, "units": units, "district": {"contacted_pct": 50.0, "overdue_open_tasks": 3}}


UNIT = {"unit": "U0007", "name": "区教育局", "contacted_pct": 50.0, "overdue_open_tasks": 3, "exams_done_pct": None}


class TestReport:
    def test_a_unit_clerks_total_row_is_their_unit_not_the_district(self) -> None:
        lines = table_lines(report("unit", [UNIT]))
        assert lines[-2].split()[:2] == ["合计", "区教育局"]
        assert not any("全区" in line for line in lines)

    def test_the_district_offices_total_row_is_the_district(self) -> None:
        assert table_lines(report("district", [UNIT]))[-2].split()[:2] == ["合计", "全区"]

    def test_the_as_of_time_is_beijing_time(self) -> None:
        assert "截至 2027-02-06 09:00，北京时间" in table_lines(report("district", [UNIT]))[0]

    def test_the_spreadsheet_writes_not_owed_as_a_dash_and_carries_the_legend(self, tmp_path: Path) -> None:
        path = write_xlsx(report("unit", [UNIT]), tmp_path / "考评.xlsx")
        sheet = load_workbook(path).active
        assert sheet is not None
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
        unit_row = next(r for r in rows if r[0] == "U0007")
        assert unit_row[7] == "—"  # exams: nothing owed
        assert unit_row[6] == 50.0  # noqa: PLR2004 - numbers stay numbers
        assert rows[-1][0].startswith("注：“—”表示本期无此项任务")
        assert "截至 2027-02-06 09:00" in rows[1][0]
