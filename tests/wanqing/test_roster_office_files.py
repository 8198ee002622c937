"""Rosters the way offices really keep them: footers and notes, two-row headers, formulas, members without a date."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from contracts.id_number import make_id_number
from contracts.profiles import RosterRow
from wanqing.cli import app
from wanqing.importer import nothing_to_import, preview_lines, to_row
from wanqing.roster import Notice, Problem, Roster, read_roster, read_roster_rows

TODAY = date(2027, 3, 10)
ZHANG = make_id_number("110105", date(1958, 3, 12), 11)  # male
LI = make_id_number("320102", date(1960, 5, 1), 22)  # female
WANG = make_id_number("510107", date(1961, 11, 30), 33)  # male

HEADER: list[object] = ["姓名", "身份证号", "退休时间", "手机", "备注"]
PEOPLE: list[list[object]] = [
    ["张三", ZHANG, "2018-03", "13800138000", None],
    ["李四", LI, "2015-05", None, "已迁居"],
]


def new_sheet() -> tuple[Workbook, Worksheet]:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "花名册"
    return workbook, sheet


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], merges: Sequence[str] = ()) -> Path:
    workbook, sheet = new_sheet()
    for row in rows:
        sheet.append(list(row))
    for cells in merges:
        sheet.merge_cells(cells)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[object]], encoding: str = "gb18030") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream).writerows([["" if cell is None else cell for cell in row] for row in rows])
    return path


def skipped(roster: Roster) -> list[tuple[int, str]]:
    return [(notice.row, notice.message_zh) for notice in roster.notices if notice.skipped]


# --- 1. footers, notes and repeated headers ---------------------------------------------------------------------

FOOTER = "制表人：张三    审核人：李四    填表日期：2027年3月1日"
OFFICE_TAIL: list[list[object]] = [
    ["合计：2人"],  # 4
    [],  # 5
    [FOOTER],  # 6
    ["单位（盖章）：", None, None, "负责人签字："],  # 7
    ["备注：退休时间以人社局批复为准"],  # 8
    ["说明：1. 身份证号须为18位"],  # 9
    ["2. 退休时间填写到月"],  # 10: continues the 说明
]
EXPECTED_SKIPPED = [
    (4, "合计行，已跳过"),
    (6, "表尾签名行，已跳过"),
    (7, "表尾签名行，已跳过"),
    (8, "备注说明行，已跳过"),
    (9, "备注说明行，已跳过"),
    (10, "备注说明行，已跳过"),
]


def assert_office_tail_skipped(roster: Roster) -> None:
    assert roster.problems == []
    assert [record.name for record in roster.valid_records] == ["张三", "李四"]
    assert skipped(roster) == EXPECTED_SKIPPED


def test_footer_signature_and_notes_rows_are_skipped_xlsx(tmp_path: Path) -> None:
    # the footers sit in column A, which is 姓名: before, each was a person with three problems
    path = write_xlsx(tmp_path / "花名册.xlsx", [HEADER, *PEOPLE, *OFFICE_TAIL], merges=["A6:E6"])
    roster = read_roster(path, TODAY)
    assert_office_tail_skipped(roster)
    lines = preview_lines(roster, path)
    assert lines[0] == "文件 花名册.xlsx：共 2 行数据，其中有效 2 行，另跳过表尾、说明等非数据行 6 行，问题 0 处。"
    assert "  第 6 行：表尾签名行，已跳过" in lines
    assert "  第 4 行：合计行，已跳过" in lines


def test_footer_signature_and_notes_rows_are_skipped_csv(tmp_path: Path) -> None:
    assert_office_tail_skipped(read_roster(write_csv(tmp_path / "r.csv", [HEADER, *PEOPLE, *OFFICE_TAIL]), TODAY))


def test_a_signature_line_spread_over_cells_is_skipped() -> None:
    # "张三" lands in the 姓名 column and "审核人：" in the 身份证号 column: two labels make it a signature line
    rows = [["序号", "姓名", "身份证号", "退休时间"], [1, "王五", WANG, "2021-12"],
            ["制表人：", "张三", "审核人：", "李四"]]  # fmt: skip
    roster = read_roster_rows(rows, TODAY)
    assert roster.problems == []
    assert skipped(roster) == [(3, "表尾签名行，已跳过")]


def test_a_header_repeated_on_each_printed_page_is_skipped(tmp_path: Path) -> None:
    rows = [["XX区退休人员花名册"], HEADER, PEOPLE[0], HEADER, PEOPLE[1], ["姓 名", "身份证号码", "退休时间"]]
    for path in (write_xlsx(tmp_path / "r.xlsx", rows), write_csv(tmp_path / "r.csv", rows)):
        roster = read_roster(path, TODAY)
        assert roster.problems == []
        assert [record.row for record in roster.valid_records] == [3, 5]
        assert skipped(roster) == [(4, "重复的表头，已跳过"), (6, "重复的表头，已跳过")]
        assert "  第 4 行：重复的表头，已跳过" in preview_lines(roster, path)


def test_a_person_whose_cells_mention_a_note_label_is_data() -> None:
    header: list[object] = ["备注", "姓名", "身份证号", "退休时间"]
    rows = [
        header,
        ["说明：独居，备注见附页", "张三", ZHANG, "2018-03"],  # a label first, but a person's identity number
        ["备注：子女在外地", "李四", None, "2015-05"],  # a label first and no number, but a person's name
        [None, "王五", WANG, "2021-12"],
        [None, "赵六", None, "合计"],  # 合计 not in the first filled cell
    ]
    roster = read_roster_rows(rows, TODAY)
    assert skipped(roster) == []
    assert [record.name for record in roster.records] == ["张三", "李四", "王五", "赵六"]
    assert [(p.row, p.code) for p in roster.problems] == [(3, "id_missing"), (5, "id_missing"),
                                                          (5, "retirement_date_invalid")]  # fmt: skip


# --- 2. headers over two or three rows --------------------------------------------------------------------------

TWO_ROW_HEADER: list[list[object]] = [
    ["XX区审计局退休人员花名册"],  # 1, merged A1:H1
    [],  # 2
    ["序号", "基本信息", None, None, "退休时间", "联系方式", None, "入党"],  # 3
    [None, "姓名", "性别", "公民身份号码", None, "手机", "家庭住址", "时间"],  # 4
    [1, "张三", "男", ZHANG, "2018-03", "13800138000", "幸福路1号", "1980-07"],  # 5
    [2, "李四", "女", LI, "2015-05", None, "和平街2号", None],  # 6
]
# 序号 A3:A4 and 退休时间 E3:E4 merged down; 基本信息 B3:D3 and 联系方式 F3:G3 merged across
TWO_ROW_MERGES = ["A1:H1", "A3:A4", "B3:D3", "E3:E4", "F3:G3"]


def assert_two_row_header(roster: Roster) -> None:
    assert (roster.header_row, roster.problems) == (3, [])
    assert roster.infos == ["表头占第3-4行，已按列合并读取", "已忽略未识别的列：序号"]
    zhang, li = roster.valid_records
    assert (zhang.row, zhang.retirement_date, zhang.phone, zhang.address, zhang.party_joined_on) == (
        5, date(2018, 3, 1), "13800138000", "幸福路1号", date(1980, 7, 1))  # fmt: skip
    assert (li.row, li.sex, li.retirement_date, li.address) == (6, "female", date(2015, 5, 1), "和平街2号")


def test_a_two_row_header_with_merged_cells_xlsx(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", TWO_ROW_HEADER, merges=TWO_ROW_MERGES)
    assert_two_row_header(read_roster(path, TODAY))


def test_a_two_row_header_csv(tmp_path: Path) -> None:
    # a CSV export of merged cells keeps the text in the first cell and leaves the others empty
    assert_two_row_header(read_roster(write_csv(tmp_path / "r.csv", TWO_ROW_HEADER), TODAY))


def test_a_three_row_header() -> None:
    rows: list[list[object]] = [
        ["序号", "人员信息", None, None, None, "备注"],
        [None, "基本信息", None, "退休", "联系方式", None],
        [None, "姓名", "身份证号", "年月", "电话", None],
        [1, "张三", ZHANG, "2018-03", "010-88881234", "独居"],
    ]
    roster = read_roster_rows(rows, TODAY)
    assert roster.problems == []
    assert roster.infos[0] == "表头占第1-3行，已按列合并读取"
    [zhang] = roster.valid_records
    assert (zhang.retirement_date, zhang.phone, zhang.note) == (date(2018, 3, 1), "010-88881234", "独居")


def test_a_group_row_below_a_header_that_already_names_name_and_id(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["姓名", "身份证号", "退休时间", "联系方式", None],  # 姓名…退休时间 merged down over rows 1-2
        [None, None, None, "手机", "住址"],
        ["张三", ZHANG, "2018-03", "13800138000", "幸福路1号"],
    ]
    path = write_xlsx(tmp_path / "r.xlsx", rows, merges=["A1:A2", "B1:B2", "C1:C2", "D1:E1"])
    roster = read_roster(path, TODAY)
    assert roster.problems == []
    [zhang] = roster.valid_records
    assert (zhang.row, zhang.phone, zhang.address) == (3, "13800138000", "幸福路1号")


def test_a_title_row_directly_above_a_one_row_header_is_not_part_of_it(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["XX区退休人员花名册"], [*HEADER, None], PEOPLE[0]], merges=["A1:F1"])
    roster = read_roster(path, TODAY)
    assert (roster.header_row, roster.infos, roster.problems) == (2, [], [])


# --- 3. a file not understood imports nothing, and says so with a non-zero exit ---------------------------------


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([["姓名", "身份证号"], ["张三", ZHANG]], "缺少“退休时间”列"),
        ([["名字", "号码"], ["张三", ZHANG]], "未找到表头：需要一行同时包含“姓名”和“身份证号”列"),
        ([["姓名", "身份证号", "退休时间"], ["张三", "123", "2018-03"]], "没有一行有效数据"),
        ([["姓名", "身份证号", "退休时间"], [FOOTER]], "文件中没有数据行"),
    ],
)
@pytest.mark.parametrize("options", [["--skip-invalid"], [], ["--dry-run"]])
def test_a_file_that_imports_nothing_exits_non_zero_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: list[list[object]], reason: str, options: list[str]
) -> None:
    monkeypatch.setenv("WANQING_NATS_URL", "nats://127.0.0.1:1")  # never reached: nothing is sent
    path = write_xlsx(tmp_path / "r.xlsx", rows)
    result = CliRunner().invoke(app, ["import", "retirees", str(path), "--unit", "U0001", *options])
    assert result.exit_code == 1, result.output
    assert reason in result.output
    assert "导入完成" not in result.output


def test_a_roster_with_a_valid_row_has_something_to_import() -> None:
    assert nothing_to_import(read_roster_rows([HEADER, *PEOPLE, ["张三"]], TODAY)) is None


# --- 4. formulas without a stored result ------------------------------------------------------------------------


def with_stored_results(path: Path, results: dict[str, tuple[str, str]]) -> Path:
    """Give formula cells the result Excel would have stored: {"D2": ("str", "138…")}; openpyxl stores none."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for cell, (kind, value) in results.items():
        sheet, count = re.subn(f'<c r="{cell}"(.*?)><f>(.*?)</f><v ?/>',
                               f'<c r="{cell}"\\1 t="{kind}"><f>\\2</f><v>{value}</v>', sheet)  # fmt: skip
        assert count == 1, cell
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return path


def formula_roster(tmp_path: Path, results: dict[str, tuple[str, str]] | None = None) -> Path:
    rows: list[list[object]] = [
        HEADER,
        ["张三", ZHANG, "2018-03", '="138"&"00138000"', None],  # 2: a phone assembled by a formula
        ["李四", LI, "=DATE(2015,5,1)", None, '=IF(1,"","x")'],  # 3: a retirement date, a note
        ["王五", WANG, "2021-12", '=IF(1,"","x")', None],  # 4: a phone formula whose result is ""
    ]
    return with_stored_results(write_xlsx(tmp_path / "r.xlsx", rows), results or {})


def test_a_formula_without_a_stored_result_is_a_problem_not_a_blank(tmp_path: Path) -> None:
    roster = read_roster(formula_roster(tmp_path), TODAY)
    hint = "是公式，没有计算结果：请在 Excel 中打开并保存后再导入"
    assert roster.problems == [
        Problem(2, "手机", f"“手机”{hint}", "phone_uncalculated"),
        Problem(3, "退休时间", f"“退休时间”{hint}", "retirement_date_uncalculated"),  # and not also "不能为空"
        Problem(4, "手机", f"“手机”{hint}", "phone_uncalculated"),
    ]
    # 备注 is checked for nothing: read as blank, but said so
    assert roster.notices == [Notice(3, "备注", "“备注”是公式，没有计算结果，已按空白读取", "note_uncalculated")]
    assert "  第 2 行【手机】：“手机”是公式，没有计算结果：请在 Excel 中打开并保存后再导入" in preview_lines(
        roster, tmp_path / "r.xlsx"
    )


def test_a_formula_with_a_stored_result_gives_the_result(tmp_path: Path) -> None:
    serial = str((date(2015, 5, 1) - date(1899, 12, 30)).days)
    results = {"D2": ("str", "13800138000"), "C3": ("n", serial), "E3": ("str", ""), "D4": ("str", "")}
    roster = read_roster(formula_roster(tmp_path, results), TODAY)
    assert (roster.problems, roster.notices) == ([], [])
    zhang, li, wang = roster.valid_records
    assert (zhang.phone, li.retirement_date, li.note, wang.phone) == ("13800138000", date(2015, 5, 1), None, None)


# --- 5. a party member without a date of joining ----------------------------------------------------------------


def test_a_party_member_without_a_joining_date_is_imported_as_a_member(tmp_path: Path) -> None:
    rows = [
        ["姓名", "身份证号", "退休时间", "政治面貌", "入党时间"],
        ["张三", ZHANG, "2018-03", "中共党员", None],
        ["李四", LI, "2015-05", "中共党员", "1985-07"],
        ["王五", WANG, "2021-12", "群众", None],
    ]
    path = write_xlsx(tmp_path / "r.xlsx", rows)
    roster = read_roster(path, TODAY)
    zhang, li, wang = (RosterRow.model_validate(to_row(record)) for record in roster.valid_records)
    assert (zhang.party_member, zhang.party_joined_on) == (True, None)
    assert (li.party_member, li.party_joined_on) == (True, date(1985, 7, 1))
    assert (wang.party_member, wang.party_joined_on) == (False, None)
    assert "party_member" not in to_row(roster.valid_records[2])
    member_lines = [line for line in preview_lines(roster, path) if "入党时间" in line]
    assert member_lines == ["  第 2 行：中共党员，未填入党时间：按党员导入，但无法安排政治生日慰问"]
