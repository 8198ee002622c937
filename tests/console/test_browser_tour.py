"""The pages of part 2 in a real browser (Debian's headless Chromium through Selenium), against `wanqing up`: a
clerk prints the roster with a signature column (the PDF downloaded and read), and the district office opens its
overview, report, escalated list, assistance cases, campaigns, ceremonies and the read-access log. A screenshot of
each goes to docs/console/ (docs/console.md shows them).
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.console.conftest import PASSWORD, ConsolePlatform
from tests.console.test_browser import CHROMEDRIVER, Pages, _driver
from tests.console.test_ceremony_pages import PDFTOTEXT

pytestmark = pytest.mark.skipif(not Path(CHROMEDRIVER).exists() and not os.environ.get("CI"),
                                reason="needs Debian's chromium and chromium-driver (make system-packages)")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


@pytest.fixture
def pages(console_platform: ConsolePlatform, tmp_path: Path) -> Iterator[tuple[Pages, Path]]:
    try:
        driver = _driver()
    except WebDriverException as exc:
        pytest.fail(f"Chromium did not start: {exc}")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    folder = tmp_path / "screenshots"
    folder.mkdir()
    try:
        yield Pages(driver, console_platform.url, folder), downloads
    finally:
        driver.quit()


def _login(p: Pages, user: str) -> None:
    """By the fields' ids, not the focus: a loaded machine may not have focused the field yet."""
    p.open("/login")
    p.wait_for(lambda: "登录工作台" in p.text, "the login page")
    p.driver.find_element(By.ID, "user").send_keys(user)
    p.driver.find_element(By.ID, "password").send_keys(PASSWORD)
    p.driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    p.wait_for(lambda: "今日工作" in p.driver.title, f"the home page after {user} logged in", seconds=60)


def _keep(pages: Pages, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pages.shot(name), DOCS / f"{name}.png")


def test_a_roster_prints_with_the_signature_column_and_the_office_opens_its_pages(
    pages: tuple[Pages, Path],
) -> None:
    p, downloads = pages
    d = p.driver
    _login(p, "clerk-U0001")
    p.open("/print/roster")
    p.wait_for(lambda: "花名册" in p.text, "the print page")
    d.find_element(By.ID, "title").send_keys("春节走访慰问签收表")
    Select(d.find_element(By.ID, "signature")).select_by_visible_text("慰问签字")
    _keep(p, "print-roster")
    # The form as the browser sends it (its session cookie, its CSRF token); the PDF opens inline in the browser's
    # viewer for printing, so the test takes its bytes through the page instead of the viewer.
    pdf = base64.b64decode(d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const form = document.getElementById("roster-form");
        fetch(form.action, {method: "POST", body: new FormData(form)}).then(r => r.arrayBuffer()).then(buf => {
            let s = ""; for (const x of new Uint8Array(buf)) { s += String.fromCharCode(x); } done(btoa(s));
        });"""))
    assert pdf.startswith(b"%PDF")
    path = downloads / "roster.pdf"
    path.write_bytes(pdf)
    text = subprocess.run([PDFTOTEXT, "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert "春节走访慰问签收表" in text and "慰问签字" in text and "张建国" in text
    assert "13800138000" not in text  # the phone only when asked for
    p.logout()

    _login(p, "lgj-01")
    for path, name, shows in (("/district", "district", "各单位"), ("/district/report", "district-report", "考评"),
                              ("/district/escalated", "district-escalated", "督办"),
                              ("/district/assistance", "district-assistance", "困难帮扶"),
                              ("/district/campaigns", "district-campaigns", "节日"),
                              ("/district/units/U0001", "district-unit", "区财政局"),
                              ("/district/campaigns/new", "district-campaign-new", "发起"),
                              ("/ceremonies", "ceremonies", "荣誉退休"), ("/audit/reads", "audit-reads", "查阅记录")):
        p.open(path)
        p.wait_for(lambda s=shows: s in p.text, f"{path} shows {shows}")
        assert p.fits_at_200_percent(), path
        _keep(p, name)
    p.logout()
    p.open("/me/login")  # a retiree's way in (docs/console.md, 我的页面)
    p.wait_for(lambda: "登录我的页面" in p.text, "the retiree's login page")
    _keep(p, "me-login")
