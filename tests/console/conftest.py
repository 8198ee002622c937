"""The console against a real platform: `wanqing up` (every service its own process, the console included),
a small district seeded through the bus as the operator, and staff with passwords who log in as people do.

Cookies are handled by hand in the HTTP tests: the console's cookies are Secure, which Python's cookie jar never
sends over http, while browsers do on localhost (the browser tests use a real Chromium).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http import HTTPStatus
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest

from backbone.credentials import OPS
from backbone.db import create_pool
from contracts.id_number import make_id_number
from tests.journeys.conftest import UpPlatform, Wanqing
from wanqing.access import nats_options
from wanqing.embedded import free_port

PASSWORD = "qingsong2027"  # noqa: S105 - the test district's password
UNITS = {"U0001": "区财政局", "U0002": "区教育局"}


@dataclass
class District:
    """What the tests know of the seeded district."""

    people: dict[str, str] = field(default_factory=dict)  # name -> retiree_id
    temporary_user: str = "newcomer-U0001"


@dataclass
class ConsolePlatform:
    up: UpPlatform
    url: str
    district: District

    def env(self) -> dict[str, str]:
        return self.up.env()


async def _seed(up: UpPlatform) -> District:
    district = District()
    nc = await nats.connect(up.nats_url, **nats_options(up.data_dir, OPS))
    pool = await create_pool(up.database_url, min_size=1, max_size=2)
    try:
        wq = Wanqing(up, nc, pool)
        for code, name in UNITS.items():
            await wq.unit(code, name)
        await wq.ok("profiles", "RegisterStaff", {"user": district.temporary_user, "name": "新同志",
                                                  "role": "unit_staff", "unit": "U0001", "email": "new@example.cn"})
        people = (("张建国", "U0001", date(1956, 5, 4), "13800138000"), ("王秀兰", "U0001", date(1950, 2, 9), None),
                  ("李志强", "U0002", date(1958, 8, 20), None))
        for seq, (name, unit, born, phone) in enumerate(people, start=1):
            rid = uuid.uuid4()
            body: dict[str, Any] = {"retiree_id": str(rid), "name": name, "unit": unit,
                                    "id_number": make_id_number("110105", born, seq * 2 + 1),
                                    "retirement_date": date(born.year + 60, born.month, 1).isoformat(),
                                    "already_retired": True}
            if phone:
                body["phone"] = phone
            await wq.ok("profiles", "RegisterRetiree", body)
            district.people[name] = str(rid)
        # The district office (区老干部局), as the demo district names its member: its pages and the audit view.
        await wq.ok("profiles", "RegisterUnit", {"code": "DISTRICT", "name": "区老干部局", "kind": "district"})
        await wq.ok("profiles", "RegisterStaff", {"user": "lgj-01", "name": "区老干部局工作人员",
                                                  "role": "district_office", "unit": "DISTRICT",
                                                  "email": "lgj-01@example.cn"})
        for user in ("clerk-U0001", "head-U0001", "clerk-U0002", "lgj-01"):
            await _password(wq, user, temporary=False)
        await _password(wq, district.temporary_user, temporary=True)
    finally:
        await nc.close()
        await pool.close()
    return district


async def _password(wq: Wanqing, user: str, *, temporary: bool) -> None:
    """Identity learns of staff from profiles' events: the district office sets the password once it knows them."""
    async def set_it() -> bool:
        reply = await wq.send("identity", "SetPassword", {"user": user, "password": PASSWORD, "temporary": temporary})
        return bool(reply["ok"])
    await wq.eventually(set_it, f"identity knows {user}")


@pytest.fixture(scope="package")
def console_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsolePlatform]:
    base = tmp_path_factory.mktemp("console-up")
    up = UpPlatform(data_dir=base / "data", log=base / "up.log")
    up.start()
    try:
        district = asyncio.run(_seed(up))
        state = json.loads((up.data_dir / "platform.json").read_text())
        url = state["console_url"].rstrip("/")
        _until_serving(url, up)
        yield ConsolePlatform(up, url, district)
    finally:
        if up.proc is not None and up.proc.poll() is None:
            up.stop()


def _until_serving(url: str, up: UpPlatform, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == HTTPStatus.OK:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the console at {url} does not serve:\n{up.tail()}")


# --- a browser-less client that keeps the console's cookies ------------------------------------------------------

CSRF = re.compile(r'name="csrf" value="([0-9a-f]*)"')


class Browser:
    """httpx with a cookie store that, like a browser on localhost, sends Secure cookies over http."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.cookies: dict[str, str] = {}
        self.http = httpx.Client(base_url=url, timeout=30, follow_redirects=False)
        self.last_set_cookies: list[str] = []

    def _keep(self, response: httpx.Response) -> httpx.Response:
        self.last_set_cookies = response.headers.get_list("set-cookie")
        for header in self.last_set_cookies:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or value in ('""', ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return response

    def _header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}

    def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        return self._keep(self.http.get(path, params=params, headers=self._header()))

    def post(self, path: str, data: dict[str, str], files: dict[str, Any] | None = None) -> httpx.Response:
        return self._keep(self.http.post(path, data=data, files=files, headers=self._header()))

    def csrf_of(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == HTTPStatus.OK, (path, page.status_code, page.text[:500])
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def login(self, user: str, password: str = PASSWORD, next_path: str = "/", draft: str = "") -> httpx.Response:
        token = self.csrf_of("/login")
        return self.post("/login", {"csrf": token, "user": user, "password": password, "next": next_path,
                                    "draft": draft})

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def browser_for(console_platform: ConsolePlatform) -> Iterator[Any]:
    made: list[Browser] = []

    def make(user: str | None = None, url: str | None = None) -> Browser:
        b = Browser(url or console_platform.url)
        made.append(b)
        if user is not None:
            reply = b.login(user)
            assert reply.status_code == HTTPStatus.SEE_OTHER, reply.text[:1000]
        return b

    yield make
    for b in made:
        b.close()


async def count_events(database_url: str) -> int:
    """Events of the domain (identity's logins and logouts are events too, and are not what a form changes)."""
    conn = await asyncpg.connect(database_url)
    try:
        total = 0
        for schema in ("profiles", "care", "notify", "ceremony"):
            total += await conn.fetchval(f"SELECT count(*) FROM {schema}.events")
        return int(total)
    finally:
        await conn.close()


def second_console(up: UpPlatform, idle_s: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Another console process on the same platform, with its own idle limit (the session-expiry tests)."""
    port = free_port()
    env = {**up.env(), "WANQING_NATS_URL": up.nats_url,
           "WANQING_NATS_NKEY_FILE": str(up.data_dir / "secrets" / "nats" / "console.nk"),
           "WANQING_CONSOLE_SECRET_FILE": str(up.data_dir / "secrets" / "console.key"),
           "WANQING_CONSOLE_PORT": str(port), "WANQING_CONSOLE_IDLE_S": str(idle_s)}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "edge.console"], env=env, stdout=out, stderr=out)
    url = f"http://localhost:{port}"
    _until_serving(url, up)
    return proc, url


def eventually(probe: Callable[[], Any], what: str, seconds: float = 45) -> Any:
    """Poll a (blocking) probe until it gives something truthy; fail naming what never happened."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds}s: {what}")
        time.sleep(0.3)
