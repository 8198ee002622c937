"""A retiree on a phone-sized screen, in a real browser (Debian's headless Chromium through Selenium), against
`wanqing up`: logs in with the code of the letter the clerk printed, declines the ceremony invitation, and the clerk
sees the decline. The home page is copied to docs/console/me-home.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.console.conftest import Browser, ConsolePlatform
from tests.console.test_browser import CHROMEDRIVER, Pages, _driver
from tests.console.test_ceremony_pages import eventually, new_name, register_and_approve
from tests.console.test_me_pages import print_letter

pytestmark = pytest.mark.skipif(not Path(CHROMEDRIVER).exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver (make system-packages)")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"
PHONE = (390, 844)


@pytest.fixture
def phone(console_platform: ConsolePlatform, tmp_path: Path) -> Iterator[Pages]:
    try:
        driver = _driver()
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc}")
    driver.set_window_size(*PHONE)
    folder = tmp_path / "screenshots"
    folder.mkdir()
    try:
        yield Pages(driver, console_platform.url, folder)
    finally:
        driver.quit()


def test_a_retiree_declines_the_ceremony_on_a_phone(console_platform: ConsolePlatform, browser_for: Any,
                                                     phone: Pages, tmp_path: Path) -> None:
    clerk: Browser = browser_for("clerk-U0001")
    name = new_name()
    rid = register_and_approve(clerk, name)
    code = print_letter(clerk, rid, tmp_path)

    d = phone.driver
    phone.open("/me")  # not logged in: to the letter's login page
    phone.wait_for(lambda: "登录我的页面" in phone.text, "the retiree's login page")
    d.switch_to.active_element.send_keys(code, Keys.ENTER)  # the code field has the focus on arrival
    phone.wait_for(lambda: f"{name}，您好" in phone.text, "the retiree's home page")
    assert "荣誉退休仪式邀请" in phone.text and "我的联系人" in phone.text
    width = d.execute_script("return document.documentElement.scrollWidth")
    assert int(width) <= PHONE[0], f"the page is wider than the phone: {width}px"  # no sideways scrolling
    d.set_window_size(PHONE[0], 1400)
    shot = phone.folder / "me-home.png"
    d.save_screenshot(str(shot))
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, DOCS / "me-home.png")
    d.find_element(By.ID, "reason").send_keys("腿脚不便，谢谢组织")
    d.find_element(By.XPATH, "//button[text()='不参加']").click()
    phone.wait_for(lambda: "您已告知单位不参加仪式" in phone.text, "the decline recorded")
    page = eventually(lambda: (p := clerk.get(f"/ceremonies/{rid}")).status_code == HTTPStatus.OK
                      and "腿脚不便" in p.text and p, "the clerk sees the decline")
    assert page
