"""The district office in a real browser (Debian's headless Chromium through Selenium), against `wanqing up`:
it launches next year's 重阳 campaign for a unit of its own, with the date the lunar calendar proposes, and sees
the unit's progress move when the unit's clerk records the visit. The page is saved as a screenshot under the
test's output folder and copied to docs/console/district-campaign.png.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path

from lunardate import LunarDate
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select

from contracts.base import LOCAL_TZ
from tests.console import test_browser
from tests.console.conftest import ConsolePlatform
from tests.console.test_browser import Pages
from tests.console.test_district_pages import OfficeWorld, _query, campaign_year, make_world

pages = test_browser.pages  # the browser fixture, with a screenshot of each page kept
pytestmark = test_browser.pytestmark  # skipped, like the other browser tests, only where there is no Chromium

DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


def _read(driver: WebDriver, script: str, arg: str) -> str:
    """Read from the page in one step (a page being replaced has no stale element to trip on)."""
    try:
        return str(driver.execute_script(script, arg))
    except WebDriverException:
        return ""  # between two pages


def _value(driver: WebDriver, element_id: str) -> str:
    return _read(driver, "var e = document.getElementById(arguments[0]); return e ? e.value : ''", element_id)


def _cell(driver: WebDriver, selector: str) -> str:
    return _read(driver, "var e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : ''",
                 selector)


def test_the_office_launches_a_double_ninth_campaign_and_sees_it_progress(
    console_platform: ConsolePlatform, pages: Pages,
) -> None:
    world: OfficeWorld = make_world(console_platform, "B")
    d = pages.driver
    year = campaign_year()
    pages.login_with_keyboard(world.office)
    d.find_element(By.LINK_TEXT, "区老干部局").click()
    pages.wait_for(lambda: "各单位概况" in d.title, "the district dashboard")
    assert world.unit_name in pages.text
    assert d.find_elements(By.CSS_SELECTOR, "figure.chart svg")
    pages.shot("district-dashboard")

    d.find_element(By.LINK_TEXT, "节日慰问").click()
    d.find_element(By.LINK_TEXT, "发起节日慰问活动").click()
    pages.wait_for(lambda: "发起节日慰问活动" in d.title, "the launch form")
    Select(d.find_element(By.ID, "pick-festival")).select_by_visible_text("重阳")
    box = d.find_element(By.ID, "pick-year")
    box.clear()
    box.send_keys(str(year))
    d.find_element(By.CSS_SELECTOR, "form[method=get] button[type=submit]").click()
    proposed = LunarDate(year, 9, 9).toSolarDate().isoformat()
    pages.wait_for(lambda: f"year={year}" in d.current_url and _value(d, "f-due_on") == proposed,
                   "the lunar date proposed")
    d.find_element(By.CSS_SELECTOR, f"input[name=units][value='{world.unit}']").click()
    pages.shot("campaign-form")
    d.find_element(By.CSS_SELECTOR, "form[action='/district/campaigns'] button[type=submit]").click()
    row = f"tr[data-unit='{world.unit}'] td.done"
    pages.wait_for(lambda: world.unit_name in pages.text and "各单位进度" in pages.text and _cell(d, row) != "",
                   "the campaign's progress with the unit", reload=True)
    assert _cell(d, row) == "0"
    campaign_url = d.current_url

    # The unit's clerk records the festival visit (in the same browser, after the office logs out).
    pages.logout()
    tasks = asyncio.run(_query(console_platform, "care", "ListTasks", {"unit": world.unit, "view": "open"},
                               world.actor))
    task = next(t for t in tasks["items"] if t["kind"] == "festival_visit")
    pages.login_with_keyboard(world.clerk)
    pages.open(f"/tasks/{task['task_id']}")
    pages.wait_for(lambda: "记录办理情况" in pages.text, "the festival visit's page")
    assert "陈桂英" in pages.text
    d.execute_script("document.getElementById('f-done_at').value = arguments[0]",
                     datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"))
    d.find_element(By.ID, "f-gifts").send_keys("重阳糕、慰问金")
    d.find_element(By.CSS_SELECTOR, "form[action$='/complete'] button[type=submit]").click()
    pages.wait_for(lambda: "已记录" in pages.text, "the visit recorded")
    pages.logout()

    pages.login_with_keyboard(world.office)
    d.get(campaign_url.split("?")[0])
    pages.wait_for(lambda: _cell(d, row) == "1", "the unit's progress moved",
                   reload=True)
    assert "100.0%" in pages.text
    assert pages.fits_at_200_percent()
    shot = pages.shot("district-campaign")
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "district-campaign.png")
    pages.logout()
