"""Reading messy office rosters: one shared messy roster in .xlsx, UTF-8 and GBK .csv, then each rule on its own."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from contracts.id_number import check_digit, make_id_number
from wanqing.roster import (
    Problem,
    RetireeRecord,
    Roster,
    UnreadableRosterError,
    header_key,
    read_roster,
    read_roster_rows,
)

TODAY = date(2026, 5, 1)

ZHANG = make_id_number("110105", date(1958, 3, 12), 11)  # male
LI = make_id_number("320102", date(1960, 5, 1), 22)  # female
ZHAO = make_id_number("510107", date(1963, 11, 30), 44)  # female
SUN = make_id_number("440304", date(1957, 8, 8), 31)
WU_15 = "510107631130046"  # legacy: 1963-11-30, female
WU = "51010719631130046" + check_digit("51010719631130046")
ZHENG = make_id_number("370202", date(1961, 2, 4), 53)  # male
AYGUL = make_id_number("650102", date(1962, 7, 15), 28)  # female
QIAN = make_id_number("110105", date(1955, 1, 1), 99)
WANG_FIRST17 = "11010519500101003"
WANG_CHECK = check_digit(WANG_FIRST17)
WANG_BAD = WANG_FIRST17 + ("0" if WANG_CHECK != "0" else "1")
FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

ID_COLUMN = "身份证号码（必填）"
HEADER: list[object] = ["序号", "姓名", ID_COLUMN, "性别", "出生年月", "退休时间", "所在单位", "手机号", "家庭住址",
          "政治面貌", "入党时间", "人员类别", "备注", "籍贯"]  # fmt: skip

# Cells whose type differs by format: (what Excel holds, what a CSV export of it shows)
LI_BIRTH = (datetime(1960, 5, 1), "1960/5/1")  # a date-typed cell  # noqa: DTZ001 - Excel dates are naive
LI_RETIRED = ((date(2015, 5, 1) - date(1899, 12, 30)).days, "2015年5月1日")  # an Excel serial in a number cell
SUN_ID = (4.40304195708080e17, "4.40304E+17")  # an identity number Excel turned into a float


def messy_rows(kind: int) -> list[list[object]]:
    """The shared roster; kind 0 gives Excel-typed cells, kind 1 their CSV text."""
    # fmt: off
    zhang = [1, "张三", ZHANG, "男", "1958.03", "2018-03", "审计局", "138 0013 8000", "幸福路１号", "中共党员",
             "1980年7月", "干部", None, "北京"]
    return [
        ["XX区审计局退休人员花名册"],  # 1: title
        [],  # 2: blank
        HEADER,  # 3
        zhang,  # 4
        [2, "李\u3000四", LI.translate(FULL_WIDTH), "女", LI_BIRTH[kind], LI_RETIRED[kind], "审计局", "010-88881234",
         "  和平街2号 ", "群众", None, "工人", "（已迁居）", "江苏"],
        [],  # 6: blank, skipped silently
        [3, "王五", WANG_BAD, "男", None, "2017-08", "财政局", None, None, "否", None, "工人", None, None],
        [4, "赵六", ZHAO, "男", "1963-11-30", "2018.11", "财政局", None, None, "群众", None, "干部", None, None],
        [5, "孙七", SUN_ID[kind], "男", None, "2017-08-08", "财政局", None, None, None, None, "工人", None, None],
        list(zhang),  # 10: an exact copy of row 4
        [6, "周八", ZHANG, "男", None, "2018-03", "民政局", None, None, None, None, "干部", None, None],
        [7, "吴九", WU_15, "女", "1963-11", "2018/11/30", "民政局", None, None, None, None, "干部", None, None],
        [8, "郑十", ZHENG, "男", "1961-02-03", "2030-01", "教育局", "12345", None, "否", "1985-07-01", "职员",
         None, None],
        [9, "阿依古丽.买买提", AYGUL.lower(), "女", "196207", "2017年7月", "文化馆", "0991 1234567", None,
         "预备党员", None, "工勤", "\u3000独居\u3000", "新疆"],
        [10, "钱", QIAN, "男", None, None, "文化馆", None, None, None, None, None, None, None],
    ]
    # fmt: on


EXPECTED_PROBLEMS = [
    Problem(7, ID_COLUMN, f"校验码错误，应为 {WANG_CHECK}", "id_check_digit"),
    Problem(8, "性别", "性别“男”与身份证号不符（身份证号为女性）", "sex_mismatch"),
    Problem(9, ID_COLUMN, "身份证号被Excel转为科学计数法，后几位已丢失：请把该列设为文本后重新录入", "id_scientific"),
    Problem(10, None, "与第4行完全重复", "duplicate_row"),
    Problem(11, ID_COLUMN, "与第4行身份证号重复", "duplicate_id"),
    Problem(13, "出生年月", "出生日期1961-02-03与身份证号中的1961-02-04不一致", "birth_date_mismatch"),
    Problem(13, "退休时间", "退休时间2030-01晚于一年以后，请核对", "retirement_too_late"),
    Problem(13, "政治面貌", "填写了入党时间，但政治面貌不是中共党员", "party_member_conflict"),
    Problem(13, "手机号", "电话号码“12345”格式不正确（手机为11位，固定电话如010-12345678）", "phone_invalid"),
    Problem(13, "人员类别", "人员类别“职员”应为“干部”或“工人”", "category_invalid"),
    Problem(15, "姓名", "姓名“钱”长度应为2-30个字", "name_invalid"),
    Problem(15, "退休时间", "退休时间不能为空", "retirement_date_missing"),
]

EXPECTED_VALID = [
    RetireeRecord(
        row=4,
        name="张三",
        id_number=ZHANG,
        sex="male",
        birth_date=date(1958, 3, 12),
        retirement_date=date(2018, 3, 1),
        retirement_date_month_only=True,
        unit_name="审计局",
        phone="13800138000",
        address="幸福路1号",
        party_member=True,
        party_joined_on=date(1980, 7, 1),
        party_joined_on_month_only=True,
        category="cadre",
    ),
    RetireeRecord(
        row=5,
        name="李四",
        id_number=LI,
        sex="female",
        birth_date=date(1960, 5, 1),
        retirement_date=date(2015, 5, 1),
        unit_name="审计局",
        phone="010-88881234",
        address="和平街2号",
        party_member=False,
        category="worker",
        note="(已迁居)",
    ),
    RetireeRecord(
        row=12,
        name="吴九",
        id_number=WU,
        sex="female",
        birth_date=date(1963, 11, 30),
        retirement_date=date(2018, 11, 30),
        unit_name="民政局",
        category="cadre",
    ),
    RetireeRecord(
        row=14,
        name="阿依古丽·买买提",
        id_number=AYGUL,
        sex="female",
        birth_date=date(1962, 7, 15),
        retirement_date=date(2017, 7, 1),
        retirement_date_month_only=True,
        unit_name="文化馆",
        phone="0991-1234567",
        party_member=True,
        category="worker",
        note="独居",
    ),
]

EXPECTED_INFOS = ["已忽略未识别的列：序号、籍贯", "第12行的15位身份证号已转换为18位"]


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], title: str = "花名册") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    sheet.merge_cells("A1:N1")
    sheet["E5"].number_format = "yyyy-mm-dd"
    workbook.save(path)
    return path


def write_csv(path: Path, rows: Sequence[Sequence[object]], encoding: str, delimiter: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as stream:
        csv.writer(stream, delimiter=delimiter).writerows(rows)
    return path


def assert_messy_roster(roster: Roster) -> None:
    assert roster.header_row == 3  # noqa: PLR2004
    assert roster.problems == EXPECTED_PROBLEMS
    assert roster.valid_records == EXPECTED_VALID
    assert roster.infos == EXPECTED_INFOS
    # rows with problems are still records (for review), except the duplicates, which are not imported
    assert [record.row for record in roster.records] == [4, 5, 7, 8, 9, 12, 13, 14, 15]


def test_messy_xlsx(tmp_path: Path) -> None:
    assert_messy_roster(read_roster(write_xlsx(tmp_path / "花名册.xlsx", messy_rows(0)), TODAY))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_messy_csv(tmp_path: Path, encoding: str) -> None:
    assert_messy_roster(read_roster(write_csv(tmp_path / "花名册.csv", messy_rows(1), encoding), TODAY))


def test_a_tab_separated_utf16_export(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "roster.txt", messy_rows(1), "utf-16", delimiter="\t")
    assert_messy_roster(read_roster(path, TODAY))


def test_records_with_problems_keep_what_could_be_read() -> None:
    roster = read_roster_rows(messy_rows(0), TODAY)
    by_row = {record.row: record for record in roster.records}
    assert by_row[7].id_number == WANG_BAD
    assert by_row[7].sex == "male"  # from the 性别 column, as the number is invalid
    assert by_row[7].birth_date is None
    assert by_row[8].sex == "female"  # the identity number wins over the 性别 column
    assert by_row[9].id_number == "440304195708080000"  # the float's digits, to show staff what Excel kept
    assert by_row[13].party_member is False
    assert by_row[13].retirement_date == date(2030, 1, 1)
    assert by_row[15].name == "钱"


# --- one rule at a time -----------------------------------------------------------------------------------------

BASE_HEADER: list[object] = ["姓名", "身份证号", "退休时间"]


def one_row(**cells: object) -> Roster:
    """A roster with one data row (row 2): 张三 retired 2018-03-12 unless the cells say otherwise."""
    values: dict[str, object] = {"姓名": "张三", "身份证号": ZHANG, "退休时间": "2018-03-12"} | cells
    return read_roster_rows([list(values), list(values.values())], TODAY)


def only_record(roster: Roster) -> RetireeRecord:
    assert roster.problems == []
    [record] = roster.records
    return record


def problems(roster: Roster) -> list[tuple[str | None, str, str]]:
    return [(problem.column, problem.code, problem.message_zh) for problem in roster.problems]


@pytest.mark.parametrize(
    ("cell", "expected", "month_only"),
    [
        ("2018-03-12", date(2018, 3, 12), False),
        ("2018/3/12", date(2018, 3, 12), False),
        ("2018.03.12", date(2018, 3, 12), False),
        ("20180312", date(2018, 3, 12), False),
        ("2018年3月12日", date(2018, 3, 12), False),
        ("2018 年 3 月 12 日", date(2018, 3, 12), False),
        ("２０１８－０３－１２", date(2018, 3, 12), False),
        ("2018-03-12 00:00:00", date(2018, 3, 12), False),
        (datetime(2018, 3, 12, 0, 0), date(2018, 3, 12), False),  # noqa: DTZ001 - Excel dates are naive
        (date(2018, 3, 12), date(2018, 3, 12), False),
        (43171, date(2018, 3, 12), False),  # Excel serial
        (43171.5, date(2018, 3, 12), False),  # Excel serial with a time of day
        ("43171", date(2018, 3, 12), False),
        (20180312, date(2018, 3, 12), False),
        ("2018-03", date(2018, 3, 1), True),
        ("2018/3", date(2018, 3, 1), True),
        ("2018.3", date(2018, 3, 1), True),
        ("2018.03", date(2018, 3, 1), True),
        ("2018.10", date(2018, 10, 1), True),
        ("2018年3月", date(2018, 3, 1), True),
        ("2018年3", date(2018, 3, 1), True),
        ("201803", date(2018, 3, 1), True),
        (201803, date(2018, 3, 1), True),
        (2018.03, date(2018, 3, 1), True),
        (2018.12, date(2018, 12, 1), True),
    ],
)
def test_date_forms(cell: object, expected: date, month_only: object) -> None:
    record = only_record(one_row(退休时间=cell))
    assert record.retirement_date == expected
    assert record.retirement_date_month_only is month_only


@pytest.mark.parametrize(
    ("cell", "code", "message"),
    [
        ("2018.1", "retirement_date_ambiguous", "日期“2018.1”有歧义（1月还是10月？），请写成2018.10或2018.01"),
        (2018.1, "retirement_date_ambiguous", "日期“2018.1”有歧义（1月还是10月？），请写成2018.10或2018.01"),
        ("2018", "retirement_date_year_only", "只有年份“2018”，请填写到月"),
        ("2018年", "retirement_date_year_only", "只有年份“2018年”，请填写到月"),
        (2018, "retirement_date_year_only", "只有年份“2018”，请填写到月"),
        ("2018-02-30", "retirement_date_invalid", "日期“2018-02-30”不存在"),
        ("2018-13", "retirement_date_invalid", "日期“2018-13”不存在"),
        ("18.3", "retirement_date_invalid", "无法识别的日期“18.3”"),
        ("退休", "retirement_date_invalid", "无法识别的日期“退休”"),
        (True, "retirement_date_invalid", "无法识别的日期“True”"),
    ],
)
def test_dates_that_are_refused(cell: object, code: str, message: str) -> None:
    assert problems(one_row(退休时间=cell)) == [("退休时间", code, message)]


def test_retirement_date_limits() -> None:
    # born 1958-03-12: 40 years later is 1998-03-12; a month-only date passes if any day of its month would
    assert only_record(one_row(退休时间="1998-03")).retirement_date == date(1998, 3, 1)
    assert only_record(one_row(退休时间="1998-03-12")).retirement_date == date(1998, 3, 12)
    assert problems(one_row(退休时间="1998-03-11")) == [
        ("退休时间", "retirement_too_early", "退休时间1998-03-11早于40周岁，请核对")
    ]
    assert problems(one_row(退休时间="1998-02")) == [
        ("退休时间", "retirement_too_early", "退休时间1998-02早于40周岁，请核对")
    ]
    assert only_record(one_row(退休时间="2027-05-01")).retirement_date == date(2027, 5, 1)
    assert problems(one_row(退休时间="2027-05-02")) == [
        ("退休时间", "retirement_too_late", "退休时间2027-05-02晚于一年以后，请核对")
    ]


def test_a_missing_retirement_column_is_one_file_level_problem() -> None:
    roster = read_roster_rows([["姓名", "身份证号"], ["张三", ZHANG], ["李四", LI]], TODAY)
    assert roster.problems == [Problem(None, None, "缺少“退休时间”列", "column_missing")]
    assert len(roster.records) == 2  # noqa: PLR2004
    assert roster.valid_records == []


@pytest.mark.parametrize(
    ("title", "field", "cell", "expected"),
    [
        ("身份证号码", "id_number", ZHANG, ZHANG),
        ("公民身份号码", "id_number", ZHANG, ZHANG),
        ("证件号码", "id_number", ZHANG, ZHANG),
        ("性别", "sex", "男", "male"),
        ("出生日期", "birth_date", "1958-03-12", date(1958, 3, 12)),
        ("退休日期", "retirement_date", "2018-03-12", date(2018, 3, 12)),
        ("退休年月", "retirement_date", "2018-03-12", date(2018, 3, 12)),
        ("单位", "unit_name", "审计局", "审计局"),
        ("原单位", "unit_name", "审计局", "审计局"),
        ("联系电话", "phone", "13800138000", "13800138000"),
        ("手机", "phone", "13800138000", "13800138000"),
        ("电话", "phone", "13800138000", "13800138000"),
        ("住址", "address", "幸福路1号", "幸福路1号"),
        ("现住址", "address", "幸福路1号", "幸福路1号"),
        ("居住地址", "address", "幸福路1号", "幸福路1号"),
        ("是否党员", "party_member", "是", True),
        ("入党日期", "party_joined_on", "1980-07-01", date(1980, 7, 1)),
        ("职务", "category", "干部", "cadre"),
        ("职级", "category", "干部", "cadre"),
        ("类别", "category", "工人", "worker"),
        ("备注", "note", "无", "无"),
        ("* 备注", "note", "无", "无"),
        ("备注（选填）", "note", "无", "无"),
        ("备 注\n(选填)", "note", "无", "无"),
        ("＊备注【选填】：", "note", "无", "无"),
    ],
)
def test_header_aliases(title: str, field: str, cell: object, expected: object) -> None:
    header = ["姓名", "退休时间", title] + ([] if field == "id_number" else ["身份证号"])
    row = ["张三", "2018-03-12", cell] + ([] if field == "id_number" else [ZHANG])
    record = only_record(read_roster_rows([header, row], TODAY))
    assert getattr(record, field) == expected


def test_header_key() -> None:
    assert header_key(" * 身份证号码（必填） ") == "身份证号码"
    assert header_key("姓　名") == "姓名"


def test_the_header_is_found_below_titles_and_blank_rows() -> None:
    rows: list[list[object]] = [["某单位退休人员花名册", None], [None, None], ["制表日期：2026年4月", None]]
    roster = read_roster_rows([*rows, ["姓名", "身份证号", "退休时间"], ["张三", ZHANG, "2018-03"]], TODAY)
    assert roster.header_row == 4  # noqa: PLR2004
    assert only_record(roster).row == 5  # noqa: PLR2004


def test_no_header() -> None:
    roster = read_roster_rows([["名字", "号码"], ["张三", ZHANG]], TODAY)
    assert roster.problems == [
        Problem(None, None, "未找到表头：需要一行同时包含“姓名”和“身份证号”列", "header_not_found")
    ]
    assert roster.records == []
    assert roster.header_row is None


def test_unknown_columns_are_one_info_and_blank_headers_are_ignored() -> None:
    header: list[object] = ["序号", "姓名", None, "身份证号", "退休时间", "籍贯", " "]
    rows: list[list[object]] = [
        header,
        [1, "张三", "x", ZHANG, "2018-03", "北京", "y"],
        [2, "李四", "z", LI, "2015-05", "江苏", None],
    ]
    roster = read_roster_rows(rows, TODAY)
    assert roster.infos == ["已忽略未识别的列：序号、籍贯"]
    assert roster.problems == []


def test_rows_with_only_a_prefilled_serial_number_are_blank() -> None:
    rows: list[list[object]] = [
        ["序号", "姓名", "身份证号", "退休时间"],
        [1, "张三", ZHANG, "2018-03"],
        [2, None, None, None],
        [3, " ", "", None],
    ]
    roster = read_roster_rows(rows, TODAY)
    assert roster.problems == []
    assert len(roster.records) == 1


def test_the_first_filled_of_two_synonymous_columns_is_used() -> None:
    header: list[object] = ["姓名", "身份证号", "退休时间", "联系电话", "手机"]
    rows: list[list[object]] = [
        header,
        ["张三", ZHANG, "2018-03", None, "13800138000"],
        ["李四", LI, "2015-05", "010-88881234", "13900139000"],
    ]
    assert [record.phone for record in read_roster_rows(rows, TODAY).records] == ["13800138000", "010-88881234"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("13800138000", "13800138000"),
        (13800138000, "13800138000"),
        (13800138000.0, "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("010-88881234", "010-88881234"),
        ("0571-8888123", "0571-8888123"),
        ("(010)88881234", "010-88881234"),
        ("（0571）88881234", "0571-88881234"),
        ("01088881234", "010-88881234"),
        ("02088881234", "020-88881234"),
        ("057188881234", "0571-88881234"),
        ("010-88881234-123", "010-88881234-123"),
    ],
)
def test_phone_forms(cell: object, expected: str) -> None:
    assert only_record(one_row(电话=cell)).phone == expected


@pytest.mark.parametrize(
    "cell", ["12345", "88881234", "1380013800", "23800138000", "138001380001", "手机不详", "010-123"]
)
def test_phones_that_are_refused(cell: str) -> None:
    [(column, code, message)] = problems(one_row(电话=cell))
    assert (column, code) == ("电话", "phone_invalid")
    assert message.startswith(f"电话号码“{cell}”格式不正确")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("是", True),
        ("党员", True),
        ("中共党员", True),
        ("中国共产党党员", True),
        ("预备党员", True),
        ("√", True),
        (True, True),
        ("否", False),
        ("群众", False),
        ("无党派人士", False),
        ("共青团员", False),
        ("民盟盟员", False),  # a democratic party, not the CPC
        ("九三学社社员", False),
        (False, False),
        (None, None),
    ],
)
def test_party_member(cell: object, expected: object) -> None:
    assert only_record(one_row(政治面貌=cell)).party_member is expected


def test_party_member_refused() -> None:
    assert problems(one_row(政治面貌="积极分子")) == [
        ("政治面貌", "party_member_invalid", "无法识别的政治面貌“积极分子”")
    ]


def test_party_joining_date() -> None:
    record = only_record(one_row(入党时间="1980.07"))
    assert (record.party_member, record.party_joined_on, record.party_joined_on_month_only) == (
        True,
        date(1980, 7, 1),
        True,
    )
    # born 1958-03-12: 16 years later is 1974-03-12
    assert only_record(one_row(入党时间="1974-03-12")).party_joined_on == date(1974, 3, 12)
    assert problems(one_row(入党时间="1974-03-11")) == [
        ("入党时间", "party_joined_too_early", "入党时间1974-03-11早于16周岁，请核对")
    ]
    assert problems(one_row(入党时间="2026-05-02")) == [
        ("入党时间", "party_joined_in_future", "入党时间2026-05-02晚于今天")
    ]
    assert problems(one_row(是否党员="群众", 入党时间="1980-07-01")) == [
        ("是否党员", "party_member_conflict", "填写了入党时间，但政治面貌不是中共党员")
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("干部", "cadre"),
        ("退休干部", "cadre"),
        ("工人", "worker"),
        ("工勤", "worker"),
        ("职工", "worker"),
        (None, None),
    ],
)
def test_category(cell: object, expected: object) -> None:
    assert only_record(one_row(人员类别=cell)).category == expected


@pytest.mark.parametrize(("cell", "expected"), [("男", "male"), ("男性", "male"), ("M", "male"), (" 男 ", "male")])
def test_sex_agrees_with_the_id(cell: str, expected: str) -> None:
    assert only_record(one_row(性别=cell)).sex == expected


def test_sex_refused() -> None:
    assert problems(one_row(性别="未知")) == [("性别", "sex_invalid", "性别“未知”应为“男”或“女”")]


def test_month_only_birth_date_is_compared_by_month() -> None:
    assert only_record(one_row(出生年月="1958年3月")).birth_date == date(1958, 3, 12)
    assert problems(one_row(出生年月="1958-04")) == [
        ("出生年月", "birth_date_mismatch", "出生日期1958-04与身份证号中的1958-03-12不一致")
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("张三", "张三"),
        ("张 三", "张三"),
        ("\xa0张三\u200b", "张三"),
        ("买买提·艾力", "买买提·艾力"),
        ("买买提・艾力", "买买提·艾力"),
        ("𠮷田", "𠮷田"),
        ("欧阳" * 15, "欧阳" * 15),
    ],
)
def test_names(cell: str, expected: str) -> None:
    assert only_record(one_row(姓名=cell)).name == expected


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("张", "姓名“张”长度应为2-30个字"),
        ("欧阳" * 15 + "修", f"姓名“{'欧阳' * 15}修”长度应为2-30个字"),
        ("Zhang San", "姓名“ZhangSan”只能包含汉字和间隔号“·”"),
        ("张三2", "姓名“张三2”只能包含汉字和间隔号“·”"),
        ("·张三", "姓名“·张三”只能包含汉字和间隔号“·”"),
        ("张··三", "姓名“张··三”只能包含汉字和间隔号“·”"),
    ],
)
def test_names_that_are_refused(cell: str, message: str) -> None:
    assert problems(one_row(姓名=cell)) == [("姓名", "name_invalid", message)]


def test_every_problem_of_a_row_is_reported() -> None:
    roster = one_row(姓名=None, 身份证号=None, 退休时间=None, 电话="1", 政治面貌="?", 人员类别="?")
    assert [code for _, code, _ in problems(roster)] == [
        "name_missing",
        "id_missing",
        "retirement_date_missing",
        "party_member_invalid",
        "phone_invalid",
        "category_invalid",
    ]


@pytest.mark.parametrize(
    "cell",
    [" 110105 19580312 0117 ", "'" + ZHANG, ZHANG.translate(FULL_WIDTH), int(ZHANG), f"\u200b{ZHANG}\xa0"],
)
def test_id_cell_forms(cell: object) -> None:
    assert only_record(one_row(身份证号=cell)).id_number == ZHANG


@pytest.mark.parametrize("cell", [1.10105195803120e17, "1.10105E+17", "1.1010519580312E17"])
def test_scientific_notation_ids(cell: object) -> None:
    assert [code for _, code, _ in problems(one_row(身份证号=cell))] == ["id_scientific"]


def test_a_legacy_number_stored_as_a_number_is_exact() -> None:
    assert only_record(one_row(身份证号=110105491231002.0)).id_number == "11010519491231002X"


def test_a_legacy_number_duplicates_its_18_digit_form() -> None:
    header = ["姓名", "身份证号", "退休时间"]
    roster = read_roster_rows(
        [header, ["赵", "11010519491231002X", "2009"], ["赵钱", "110105491231002", "2009-12"]], TODAY
    )
    assert [(p.row, p.code) for p in roster.problems] == [(2, "name_invalid"), (2, "retirement_date_year_only"),
                                                          (3, "duplicate_id")]  # fmt: skip


# --- files ------------------------------------------------------------------------------------------------------


def test_csv_rows_are_numbered_by_line_even_with_multiline_cells(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["姓名", "身份证号", "退休时间", "住址"],
        ["张三", ZHANG, "2018-03", "幸福路\n1号"],
        ["李四", LI, "2015", None],
    ]
    roster = read_roster(write_csv(tmp_path / "r.csv", rows, "utf-8"), TODAY)
    assert roster.records[0].address == "幸福路 1号"
    assert [(p.row, p.code) for p in roster.problems] == [(4, "retirement_date_year_only")]


def test_xlsx_rows_keep_excel_numbering_across_unwritten_rows(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet["B4"], sheet["C4"], sheet["D4"] = "姓名", "身份证号", "退休时间"
    sheet["B9"], sheet["C9"], sheet["D9"] = "张三", ZHANG, "2018"
    workbook.save(tmp_path / "r.xlsx")
    roster = read_roster(tmp_path / "r.xlsx", TODAY)
    assert roster.header_row == 4  # noqa: PLR2004
    assert roster.problems == [Problem(9, "退休时间", "只有年份“2018”，请填写到月", "retirement_date_year_only")]


def test_the_first_sheet_with_a_header_is_read(tmp_path: Path) -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = "填表说明"
    notes.append(["请按要求填写姓名和身份证号"])
    roster_sheet = workbook.create_sheet("花名册")
    roster_sheet.append(["姓名", "身份证号", "退休时间"])
    roster_sheet.append(["张三", ZHANG, date(2018, 3, 12)])
    workbook.save(tmp_path / "r.xlsx")
    roster = read_roster(tmp_path / "r.xlsx", TODAY)
    assert roster.infos == ["工作簿共有2个工作表，已读取“花名册”"]
    assert only_record(roster).retirement_date == date(2018, 3, 12)


def test_a_formula_cell_gives_its_value(tmp_path: Path) -> None:
    # openpyxl stores no cached value, so a formula written by it reads as blank: Excel itself would store one
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["姓名", "身份证号", "退休时间", "备注"])
    sheet.append(["张三", ZHANG, "2018-03", "=1+1"])
    workbook.save(tmp_path / "r.xlsx")
    assert only_record(read_roster(tmp_path / "r.xlsx", TODAY)).note is None


def test_a_workbook_without_header(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "r.xlsx", [["只有标题"], ["张三", ZHANG]])
    assert [p.code for p in read_roster(path, TODAY).problems] == ["header_not_found"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("r.xls", b"\xd0\xcf\x11\xe0", "不支持旧版 .xls 格式，请在 Excel 中“另存为” .xlsx 后再导入"),
        ("r.xlsx", b"not a zip", "无法打开该Excel文件，文件可能已损坏"),
        ("r.csv", b"\xff\x41\x80\x80", "无法识别文件编码，请另存为 UTF-8 或 GBK 编码的 CSV"),
        ("r.pdf", b"%PDF", "只支持 .xlsx 和 .csv 文件"),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(UnreadableRosterError) as caught:
        read_roster(tmp_path / name, TODAY)
    assert caught.value.reason_zh == reason


def test_a_bom_file_with_broken_bytes_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_bytes(b"\xef\xbb\xbf\xe5\xa7\x93\xe5\x90\x8d,\xff\xfe\n")
    with pytest.raises(UnreadableRosterError, match="utf-8-sig"):
        read_roster(tmp_path / "r.csv", TODAY)


def test_the_header_is_searched_in_the_first_50_rows() -> None:
    padding: list[list[object]] = [["说明"]] * 49
    found = read_roster_rows([*padding, BASE_HEADER, ["张三", ZHANG, "2018-03"]], TODAY)
    assert found.header_row == 50  # noqa: PLR2004
    missed = read_roster_rows([*padding, ["说明"], BASE_HEADER, ["张三", ZHANG, "2018-03"]], TODAY)
    assert [p.code for p in missed.problems] == ["header_not_found"]


def test_an_exact_duplicate_without_id_is_still_a_duplicate() -> None:
    rows: list[list[object]] = [BASE_HEADER, ["张三", None, "2018-03"], ["张三", None, "2018-03"]]
    roster = read_roster_rows(rows, TODAY)
    assert [(p.row, p.code) for p in roster.problems] == [(2, "id_missing"), (3, "duplicate_row")]
