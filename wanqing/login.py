"""`wanqing login`, `logout`, `whoami` and `set-password`: people act as themselves on the command line.

Login and ChangePassword go to identity on `wanqing.auth.identity.*`, as the `console` NATS user (they carry no
credential: they make one). The session is kept in an owner-only file (access.session_file()).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backbone.settings import Settings
from contracts import subjects
from contracts.base import LOCAL_TZ, Actor, Role
from wanqing import access, messages

ROLE_ZH = {Role.UNIT_STAFF: "单位经办人", Role.UNIT_HEAD: "单位负责人", Role.PARTY_SECRETARY: "党支部书记",
           Role.DISTRICT_OFFICE: "区老干部局", Role.SYSTEM: "系统"}
MUST_CHANGE = "must_change_password"


class LoginRefusedError(RuntimeError):
    """Identity said no: the message is for the person (Chinese)."""


@dataclass(frozen=True)
class LoggedIn:
    actor: Actor
    session_expires_at: str
    changed_password: bool


async def _ask(settings: Settings, nats_url: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    nc = await messages.connect(nats_url, access.nats_options(settings.data_dir, access.CONSOLE))
    try:
        reply = await nc.request(subjects.auth(name), json.dumps(body, ensure_ascii=False).encode(), timeout=30)
    except Exception as exc:
        msg = f"identity did not answer {name}: {type(exc).__name__} (is the platform running?)"
        raise messages.NoAnswerError(msg) from exc
    finally:
        await nc.close()
    decoded: dict[str, Any] = json.loads(reply.data)
    return decoded


async def login(settings: Settings, nats_url: str, user: str, password: str,
                new_password: Callable[[], str]) -> LoggedIn:
    """Log in; a temporary password is changed first (`new_password` asks the person for the new one)."""
    reply = await _ask(settings, nats_url, "Login", {"user": user, "password": password, "client": "cli"})
    changed = False
    if not reply.get("ok") and reply.get("details", {}).get("reason") == MUST_CHANGE:
        fresh = new_password()
        change = await _ask(settings, nats_url, "ChangePassword",
                            {"user": user, "old_password": password, "new_password": fresh})
        if not change.get("ok"):
            raise LoginRefusedError(str(change.get("message")))
        changed = True
        reply = await _ask(settings, nats_url, "Login", {"user": user, "password": fresh, "client": "cli"})
    if not reply.get("ok"):
        raise LoginRefusedError(str(reply.get("message")))
    actor = Actor.model_validate(reply["actor"])
    access.save_session(reply["session"], actor, reply["session_expires_at"])
    return LoggedIn(actor, reply["session_expires_at"], changed)


async def logout(settings: Settings, nats_url: str) -> Actor | None:
    """End the session at identity and forget it here; None if nobody was logged in."""
    person = access.load_session()
    path = access.session_file()
    if person is None:
        path.unlink(missing_ok=True)
        return None
    await _ask(settings, nats_url, "Logout", {"session": person.session})
    path.unlink(missing_ok=True)
    return person.actor


def describe(actor: Actor) -> str:
    return f"{actor.user}（{ROLE_ZH[actor.role]}，{actor.unit}）"


def beijing(moment: str) -> str:
    from datetime import datetime  # noqa: PLC0415

    return datetime.fromisoformat(moment).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
