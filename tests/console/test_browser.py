"""A clerk's day in a real browser (Debian's headless Chromium through Selenium; nothing downloads a browser),
against `wanqing up`: log in with the keyboard, find a person by name, record a hospitalisation, see the visit
task on 今日工作, record the visit; another unit's clerk cannot open the person; a roster with a bad row names
the row; a form sent after the session expired keeps what was typed. Each page is saved as a screenshot under
the test's output folder (`<basetemp>/.../screenshots/`), and checked at 200 % zoom for sideways scrolling.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path

import asyncpg
import pytest
from openpyxl import Workbook
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from contracts.base import LOCAL_TZ
from contracts.id_number import make_id_number
from tests.console.conftest import PASSWORD, ConsolePlatform, second_console

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Skipped only off CI on a machine without them (`make system-packages` installs them as root); CI fails instead.
pytestmark = pytest.mark.skipif(not Path(CHROMEDRIVER).exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver (make system-packages)")


def _today() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()  # what a clerk in Beijing types


class Pages:
    """The browser, and a screenshot of every page it is asked to keep."""

    def __init__(self, driver: WebDriver, base: str, folder: Path) -> None:
        self.driver = driver
        self.base = base
        self.folder = folder
        self.shots: list[Path] = []

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def shot(self, name: str) -> Path:
        """The whole page (the window made as tall as the page for the picture)."""
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(1280, max(800, min(int(height) + 120, 4000)))
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(1280, 1000)
        self.shots.append(path)
        return path

    @property
    def text(self) -> str:
        """What the page shows now (read in one step: a page being replaced has no stale parts to trip on)."""
        try:
            return str(self.driver.execute_script("return document.body ? document.body.innerText : ''"))
        except WebDriverException:
            return ""  # between two pages

    def login_with_keyboard(self, user: str) -> None:
        self.open("/")
        assert "/login" in self.driver.current_url
        active = self.driver.switch_to.active_element  # the account field has the focus on arrival
        active.send_keys(user, Keys.TAB)
        self.driver.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER)
        self.wait_for(lambda: "今日工作" in self.driver.title, "the home page after logging in")

    def logout(self) -> None:
        self.driver.find_element(By.CSS_SELECTOR, "header form button").click()
        self.wait_for(lambda: "/login" in self.driver.current_url, "the login page after logging out")

    def wait_for(self, ok: Callable[[], bool], what: str, seconds: float = 30, *, reload: bool = False) -> None:
        deadline = time.monotonic() + seconds
        while not ok():
            if time.monotonic() > deadline:
                pytest.fail(f"not within {seconds}s: {what}\n{self.text[:1500]}")
            time.sleep(0.3)
            if reload:
                self.driver.refresh()

    def fits_at_200_percent(self) -> bool:
        """At 200 % zoom a 1280-pixel screen is 640 CSS pixels wide: nothing may need sideways scrolling."""
        self.driver.set_window_size(640, 900)
        try:
            width = self.driver.execute_script("return document.documentElement.scrollWidth")
            inner = self.driver.execute_script("return window.innerWidth")
            return bool(width <= inner)
        finally:
            self.driver.set_window_size(1280, 1000)


def _driver() -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--lang=zh-CN", "--disable-gpu"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


@pytest.fixture
def pages(console_platform: ConsolePlatform, tmp_path: Path) -> Iterator[Pages]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    try:
        driver = _driver()
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc}")
    try:
        yield Pages(driver, console_platform.url, folder)
    finally:
        driver.quit()
        print(f"screenshots in {folder}")  # noqa: T201 - where to look at them (pytest -s)


def test_a_clerks_day(console_platform: ConsolePlatform, pages: Pages) -> None:
    d = pages.driver
    pages.login_with_keyboard("clerk-U0001")
    pages.shot("home-empty")
    assert "clerk-U0001（单位经办人，U0001）" in pages.text

    # Find 张建国 by part of his given name, open his page.
    d.find_element(By.LINK_TEXT, "人员").click()
    box = d.find_element(By.ID, "q")
    box.send_keys("建国", Keys.ENTER)
    pages.wait_for(lambda: "张建国" in pages.text, "张建国 in the search results")
    pages.shot("search")
    d.find_element(By.LINK_TEXT, "张建国").click()
    pages.wait_for(lambda: "登记事项" in pages.text, "张建国's page")
    pages.shot("person")
    assert pages.fits_at_200_percent()

    # Record the hospitalisation (keyboard only: the fields in order, Enter to send).
    d.find_element(By.LINK_TEXT, "住院登记").click()
    pages.wait_for(lambda: "住院登记" in d.title, "the hospitalisation form")
    d.find_element(By.ID, "f-hospital").send_keys("区人民医院")
    d.execute_script("document.getElementById('f-admitted_on').value = arguments[0]", _today())
    Select(d.find_element(By.ID, "f-severity")).select_by_visible_text("重病")
    pages.shot("hospitalisation-form")
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    pages.wait_for(lambda: "已登记" in pages.text, "the hospitalisation recorded")

    # The visit task comes to 今日工作 (care opens it from profiles' event), with the person's name.
    d.find_element(By.LINK_TEXT, "今日工作").click()
    pages.wait_for(lambda: "住院看望" in pages.text, "the hospital visit on 今日工作", reload=True)
    pages.shot("home-with-visit")
    assert "张建国" in pages.text
    assert pages.fits_at_200_percent()

    # Record the visit.
    d.find_element(By.LINK_TEXT, "张建国").click()
    pages.wait_for(lambda: "记录办理情况" in pages.text, "the task page")
    assert "区人民医院" in pages.text  # the cause, with the hospital (revealed to do the task)
    Select(d.find_element(By.ID, "f-form")).select_by_visible_text("医院看望")
    d.find_element(By.ID, "f-notes").send_keys("精神尚好，家属陪护")
    d.find_element(By.ID, "f-gifts").send_keys("水果、牛奶")
    d.find_element(By.ID, "f-amount").send_keys("500")
    pages.shot("visit-form")
    d.find_element(By.CSS_SELECTOR, "form[action$='/complete'] button[type=submit]").click()
    pages.wait_for(lambda: "已记录" in pages.text, "the visit recorded")
    pages.shot("visit-done")
    assert "已办结" in pages.text
    assert "按时" in pages.text
    d.find_element(By.CSS_SELECTOR, "main h1 a").click()  # the person's page: the task and what happened
    pages.wait_for(lambda: "经历" in pages.text, "张建国's page again")
    tasks = d.find_element(By.XPATH, "//h2[text()='关怀任务']/following-sibling::table[1]").text
    assert "住院看望" in tasks
    assert "已办结" in tasks
    assert "住院" in d.find_element(By.CSS_SELECTOR, "ol.timeline").text
    pages.shot("person-after")
    pages.logout()


def test_another_units_clerk_is_refused_and_it_is_on_record(console_platform: ConsolePlatform,
                                                            pages: Pages) -> None:
    pages.login_with_keyboard("clerk-U0002")
    rid = console_platform.district.people["张建国"]
    pages.open(f"/retirees/{rid}")
    pages.wait_for(lambda: "无权访问" in pages.text, "the 403 page")
    pages.shot("forbidden")
    assert "张建国" not in pages.text
    assert asyncio.run(_refused_reads(console_platform.up.database_url, rid, "clerk-U0002")) >= 1
    pages.logout()


async def _refused_reads(database_url: str, rid: str, user: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM profiles.read_access WHERE retiree_id = $1 "
                                       "AND user_id = $2 AND NOT success", rid, user))
    finally:
        await conn.close()


def _roster(path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["序号", "姓名", "身份证号码", "性别", "出生年月", "退休时间"])
    ws.append([1, "赵德胜", make_id_number("110105", date(1957, 3, 14), 31), "男", "1957.03", "2017-03"])
    ws.append([2, "孙桂芳", "110105195801019999", "女", "1958.01", "2013-01"])  # a wrong check digit
    ws.append([3, "周卫东", make_id_number("110105", date(1959, 7, 2), 33), "男", "1959.07", "2019-07"])
    wb.save(path)
    return path


def test_a_roster_with_a_bad_row_names_the_row(pages: Pages, tmp_path: Path) -> None:
    d = pages.driver
    pages.login_with_keyboard("clerk-U0001")
    d.find_element(By.LINK_TEXT, "导入花名册").click()
    d.find_element(By.ID, "file").send_keys(str(_roster(tmp_path / "花名册.xlsx")))
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    pages.wait_for(lambda: "需要处理的问题" in pages.text, "the preview with its problems")
    pages.shot("import-preview")
    assert "第 3 行" in pages.text  # the header is row 1: 孙桂芳 is on row 3, as Excel shows it
    assert "身份证" in pages.text
    d.find_element(By.ID, "skip_invalid").click()
    d.find_element(By.CSS_SELECTOR, "form[action='/import/confirm'] button[type=submit]").click()
    pages.wait_for(lambda: "导入完成" in pages.text, "the import's result")
    pages.shot("import-done")
    assert "新增 2 人" in pages.text


def test_a_form_survives_an_expired_session(console_platform: ConsolePlatform, pages: Pages,
                                            tmp_path: Path) -> None:
    proc, url = second_console(console_platform.up, idle_s=3, log=tmp_path / "console.log")
    try:
        pages.base = url
        pages.login_with_keyboard("clerk-U0001")
        rid = console_platform.district.people["王秀兰"]
        pages.open(f"/retirees/{rid}/record/ReportFamilyEmergency")
        d = pages.driver
        Select(d.find_element(By.ID, "f-kind")).select_by_visible_text("家人重病")
        d.execute_script("document.getElementById('f-happened_on').value = arguments[0]", _today())
        d.find_element(By.ID, "f-description").send_keys("儿子突发重病住院，老人独自在家")
        time.sleep(4)  # away from the desk: the session idles out
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        pages.wait_for(lambda: "登录已超时" in pages.text, "the login page saying the session expired")
        pages.shot("session-expired")
        assert "您填写的内容已保留" in pages.text
        d.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
        pages.wait_for(lambda: "家庭重大变故" in d.title, "the form again")
        assert "儿子突发重病住院，老人独自在家" in d.find_element(By.ID, "f-description").get_attribute("value")
        pages.shot("form-kept")
        d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
        pages.wait_for(lambda: "已登记" in pages.text, "the family emergency recorded")
    finally:
        proc.terminate()
        proc.wait(10)
