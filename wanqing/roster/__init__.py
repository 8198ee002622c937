"""Office rosters of retirees (退休人员花名册, .xlsx or .csv) read into checked records; pure but for reading the file.

Offices keep these lists by hand, so the reader expects a mess: a title row above the header, headers with
hints ("身份证号码（必填）"), full-width digits, dates typed a dozen ways, identity numbers that Excel turned
into floats, blank and duplicated rows. Nothing is fixed silently that could be wrong: every row gets ALL of
its problems, with the row number the user sees in Excel (or the line number of a CSV file), and only rows
without any problem are `valid_records`.

Decisions worth knowing:

* The birth date and sex of a record come from the identity number when it is valid; the 出生日期 and 性别
  columns are only cross-checked against it (a month-only 出生年月 is compared by year and month).
* A date like "1958.1" is refused as ambiguous: Excel stores a typed 1958.10 as the number 1958.1, so the
  text cannot tell January from October.
* A missing 退休时间 column is one file-level problem (row None) instead of one per row; any file-level
  problem leaves no valid record.
* The header is searched in the first 50 rows; of a multi-sheet workbook the first sheet with a header is read.
  It may span up to three rows (a group such as “基本信息” above 姓名/身份证号, 退休时间 merged down), combined
  column by column, the lowest title first: see `header_rows`.
* Footers, signature lines, notes, totals and a header repeated on each printed page are recognised by the
  row's shape (see `layout`) and skipped, each with a notice; a person's 备注 never makes a row a note.
* A formula cell without a stored result (a file written by a program, never saved by Excel) is a problem,
  not a blank; only in 备注, which nothing checks, it reads as blank, with a notice.
* Text cells are stored with full-width ASCII turned half-width, including punctuation in addresses and notes.

The modules, each depending only on those before it: `records` (the results), `cells` (cleaning and simple
cell types), `dates`, `header`, `header_rows` (finding the header), `layout` (rows that are not data), `rows`
(one row checked), `builder` (the whole roster), `files` (reading them).
"""

from wanqing.roster.builder import HEADER_SEARCH_ROWS
from wanqing.roster.cells import clean_text
from wanqing.roster.files import read_roster, read_roster_rows
from wanqing.roster.header import header_key
from wanqing.roster.records import Category, Notice, Problem, RetireeRecord, Roster, UnreadableRosterError

__all__ = [
    "HEADER_SEARCH_ROWS",
    "Category",
    "Notice",
    "Problem",
    "RetireeRecord",
    "Roster",
    "UnreadableRosterError",
    "clean_text",
    "header_key",
    "read_roster",
    "read_roster_rows",
]
