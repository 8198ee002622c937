"""查阅记录 in the console: the district office filters the read-access log by person, reader, unit and date;
nobody else may open it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

from contracts.base import LOCAL_TZ
from tests.console.conftest import Browser, ConsolePlatform


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_district_office_sees_who_read_whom_and_filters_it(console_platform: ConsolePlatform,
                                                                browser_for: Any) -> None:
    rid = console_platform.district.people["张建国"]
    clerk: Browser = browser_for("clerk-U0001")
    assert clerk.get(f"/retirees/{rid}").status_code == HTTPStatus.OK  # a read of 张建国 by the clerk
    office: Browser = browser_for("lgj-01")
    page = office.get("/audit/reads", params={"retiree_id": rid})
    assert page.status_code == HTTPStatus.OK, page.text
    text = _text(page.text)
    assert "clerk-U0001（单位经办人）" in text and "U0001" in text and "已查看" in text
    assert "记录于" in text and "档案" in text  # profiles', care's and ceremony's logs, merged
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    by_user = _text(office.get("/audit/reads", params={"user": "clerk-U0001", "unit": "U0001",
                                                       "since": today.isoformat(),
                                                       "until": today.isoformat()}).text)
    assert "clerk-U0001" in by_user and "共 0 条" not in by_user
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert "共 0 条" in _text(office.get("/audit/reads", params={"user": "clerk-U0001", "since": tomorrow}).text)
    assert "共 0 条" in _text(office.get("/audit/reads", params={"retiree_id": rid, "user": "nobody-read-it"}).text)
    bad = office.get("/audit/reads", params={"since": "去年"})
    assert "日期格式有误" in _text(bad.text)
    # A unit's staff and its head may not open the log.
    for user in ("clerk-U0001", "head-U0001"):
        refused = browser_for(user).get("/audit/reads")
        assert refused.status_code == HTTPStatus.FORBIDDEN, (user, refused.status_code)
        assert "只有区老干部局" in _text(refused.text)
