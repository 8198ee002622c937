"""`wanqing report units`: the district's work-quality report (工作质量考评) as a Chinese table and an .xlsx."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from contracts.base import LOCAL_TZ

COLUMNS: list[tuple[str, str]] = [
    ("unit", "单位代码"),
    ("name", "单位名称"),
    ("talks_before_approval_pct", "谈心谈话按时率(%)"),
    ("hospital_visits_on_time_pct", "住院看望及时率(%)"),
    ("median_hours_to_hospital_visit", "看望用时中位数(小时)"),
    ("festival_coverage_pct", "节日慰问覆盖率(%)"),
    ("contacted_pct", "日常联系覆盖率(%)"),
    ("exams_done_pct", "体检完成率(%)"),
    ("overdue_open_tasks", "逾期未办(件)"),
    ("assistance_on_time_pct", "帮扶按时决定率(%)"),
]


NOT_OWED = "—"  # nothing was owed in the period: no score, which is not the same as 0
LEGEND = "注：“—”表示本期无此项任务，不计分（不同于 0）。"


def _cell(value: Any) -> str:
    if value is None:
        return NOT_OWED
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


CJK_START = 0x2E80  # from here on, characters take two columns on a terminal


def _width(text: str) -> int:
    return sum(2 if ord(ch) > CJK_START else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def as_of(report: dict[str, Any]) -> str:
    """The moment the figures hold for, in Beijing time."""
    return datetime.fromisoformat(report["as_of"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def total_label(report: dict[str, Any]) -> list[str]:
    """The total row speaks for what the reader sees: the whole district, or only their own unit."""
    if report.get("scope") == "district":
        return ["合计", "全区"]
    units = report["units"]
    return ["合计", units[0]["name"] or units[0]["unit"]] if len(units) == 1 else ["合计", "所列单位"]


def table_lines(report: dict[str, Any]) -> list[str]:
    rows = [[_cell(u.get(key)) for key, _ in COLUMNS] for u in report["units"]]
    district = report["district"]
    rows.append([*total_label(report), *(_cell(district.get(key)) for key, _ in COLUMNS[2:])])
    heads = [title for _, title in COLUMNS]
    widths = [max(_width(x) for x in col) for col in zip(heads, *rows, strict=True)]
    title = (f"离退休服务管理工作质量考评（{report['period']}，{report['start']} 至 {report['end']}，"
             f"截至 {as_of(report)}，北京时间）")
    lines = [title, "  ".join(_pad(h, w) for h, w in zip(heads, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(c, w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.append(LEGEND)
    return lines


def _xlsx(value: Any) -> Any:
    """Numbers stay numbers (sortable in Excel); a score not owed is written as "—", like the table, not blank."""
    return NOT_OWED if value is None else value


def write_xlsx(report: dict[str, Any], path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = f"考评{report['period']}"
    ws.append([f"离退休服务管理工作质量考评（{report['period']}）"])
    ws.append([f"统计区间：{report['start']} 至 {report['end']}（截至 {as_of(report)}，北京时间）"])
    ws.append([title for _, title in COLUMNS])
    for u in report["units"]:
        ws.append([_xlsx(u.get(key)) for key, _ in COLUMNS])
    district = report["district"]
    ws.append([*total_label(report), *(_xlsx(district.get(key)) for key, _ in COLUMNS[2:])])
    ws["A1"].font = Font(bold=True, size=14)
    header_fill = PatternFill("solid", fgColor="FCE4D6")
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, horizontal="center")
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.append([LEGEND])
    for i, (_, title) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(i)].width = max(10, _width(title) + 2)
    ws.freeze_panes = "C4"
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
