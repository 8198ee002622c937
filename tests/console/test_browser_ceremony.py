"""A unit runs an honorary retirement ceremony in a real browser (Debian's headless Chromium through Selenium),
against `wanqing up`: from 荣誉退休 to the case, consent, a date and venue, the six items and an X item each by its
own form, held, and the certificate downloaded with its purpose. Screenshots under the test's output folder; the
case page after the ceremony is copied to docs/console/ceremony-case.png.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By

from tests.console.conftest import ConsolePlatform
from tests.console.test_browser import CHROMEDRIVER, Pages, _driver
from tests.console.test_ceremony_pages import PDFTOTEXT, new_name, register_and_approve, today

pytestmark = pytest.mark.skipif(not Path(CHROMEDRIVER).exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver (make system-packages)")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest.fixture
def pages(console_platform: ConsolePlatform, tmp_path: Path) -> Iterator[Pages]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    try:
        driver = _driver()
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    try:
        yield Pages(driver, console_platform.url, folder)
    finally:
        driver.quit()
        print(f"screenshots in {folder}")  # noqa: T201 - where to look at them (pytest -s)


def _submit(pages: Pages, form_id: str, fields: dict[str, str], done: str) -> None:
    """Fill a case form (dates through script, as a date picker would) and send it; wait for the case again."""
    d = pages.driver
    form = d.find_element(By.ID, form_id)
    for name, value in fields.items():
        box = form.find_element(By.NAME, name)
        if box.get_attribute("type") == "date":
            d.execute_script("arguments[0].value = arguments[1]", box, value)
        else:
            box.send_keys(value)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    pages.wait_for(lambda: "已记录" in pages.text and f"done={done}" in d.current_url, f"{form_id} recorded")


def _open(pages: Pages, item: str) -> None:
    pages.driver.find_element(By.CSS_SELECTOR, f"li#{item} summary").click()


def test_a_unit_runs_a_ceremony_to_the_certificate(console_platform: ConsolePlatform, pages: Pages,
                                                    browser_for: Any, tmp_path: Path) -> None:
    name = new_name()
    register_and_approve(browser_for("clerk-U0001"), name)
    d = pages.driver
    pages.login_with_keyboard("clerk-U0001")
    d.find_element(By.LINK_TEXT, "荣誉退休").click()
    pages.wait_for(lambda: "待征求意愿" in pages.text and name in pages.text, "the case on 荣誉退休")
    pages.shot("ceremonies")
    assert pages.fits_at_200_percent()
    d.find_element(By.LINK_TEXT, name).click()
    pages.wait_for(lambda: "征求本人意愿" in pages.text, "the case page")
    pages.shot("case-new")

    _submit(pages, "form-consent", {}, "consent")
    _submit(pages, "form-schedule", {"held_on": today(), "venue": "三楼会议室"}, "schedule")
    steps = (("decision_announced", {"document_number": "区财〔2026〕9号"}),
             ("thank_you_letter", {"signed_by": "李局长"}),
             ("certificate", {}), ("plaque", {"inscription": "光荣退休"}), ("souvenir", {"souvenir": "纪念相册"}),
             ("farewell_remarks", {"text": "感谢组织培养，退休不褪色。"}))
    for item, fields in steps:
        _open(pages, item)
        if item == "certificate":
            pages.shot("checklist")
        _submit(pages, f"form-{item}", fields, item)
    d.find_element(By.CSS_SELECTOR, "#extra + details summary").click()
    _submit(pages, "form-extra", {"item": "合影留念"}, "extra")
    _submit(pages, "form-hold", {"held_on": today()}, "hold")
    pages.wait_for(lambda: "已举办" in pages.text and "证书编号" in pages.text, "the ceremony held")
    assert "合影留念" in pages.text
    shot = pages.shot("case-held")
    assert pages.fits_at_200_percent()
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, DOCS / "ceremony-case.png")

    # The certificate, downloaded with its purpose.
    d.find_element(By.ID, "purpose-certificate").send_keys("仪式上颁发")
    d.find_element(By.CSS_SELECTOR, "#download-certificate button[type=submit]").click()
    folder = tmp_path / "downloads"
    deadline = time.monotonic() + 30
    while not list(folder.glob("*.pdf")):
        if time.monotonic() > deadline:
            pytest.fail(f"no PDF downloaded: {list(folder.iterdir())}")
        time.sleep(0.3)
    time.sleep(0.5)
    pdf = next(folder.glob("*.pdf"))
    assert pdf.name.startswith("退休证-U0001-"), pdf.name
    words = subprocess.run([PDFTOTEXT, str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert name in words
    assert "/ceremonies/" in d.current_url  # the page stays; the file came as an attachment
    pages.logout()
