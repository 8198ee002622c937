"""Channels behind one small interface: in-app inbox, email (SMTP), WeCom group robot, SMS gateway.

A channel raises `TransientFailure` for what may work later (SMTP 4xx, connection errors, HTTP 5xx/429,
timeouts) and `PermanentFailure` for what never will (SMTP 5xx, HTTP 4xx, a robot's error code).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Literal, Protocol

import aiosmtplib
import httpx

from backbone.db import Connection
from contracts.notify import ChannelName
from services.notify.settings import NotifySettings


class TransientFailure(Exception):  # noqa: N818 - named after the outcome the worker acts on
    pass


class PermanentFailure(Exception):  # noqa: N818
    pass


@dataclass(frozen=True)
class Outgoing:
    delivery_id: uuid.UUID
    recipient: str
    rule: str
    subject: str
    body: str
    address: str | None  # the email or phone the channel needs; None for the inbox
    now: datetime


class Channel(Protocol):
    @property
    def name(self) -> ChannelName: ...

    @property
    def needs(self) -> Literal["email", "phone"] | None:
        """Which contact the channel sends to (None: it needs no address)."""

    @property
    def configured(self) -> bool: ...

    async def send(self, conn: Connection, msg: Outgoing) -> None: ...


class InboxChannel:
    """站内信: a row in notify's own table, written in the delivery's transaction (it cannot fail halfway)."""

    name = ChannelName.INBOX
    needs = None
    configured = True

    async def send(self, conn: Connection, msg: Outgoing) -> None:
        await conn.execute(
            "INSERT INTO notify.inbox_messages (message_id, delivery_id, recipient, subject, body, rule, created_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (delivery_id) DO NOTHING",
            uuid.uuid4(), msg.delivery_id, msg.recipient, msg.subject, msg.body, msg.rule, msg.now,
        )


class EmailChannel:
    name = ChannelName.EMAIL
    needs: Literal["email"] = "email"

    def __init__(self, settings: NotifySettings) -> None:
        self._s = settings
        self.configured = bool(settings.smtp_host)

    async def send(self, _conn: Connection, msg: Outgoing) -> None:
        email = EmailMessage()
        email["From"] = self._s.smtp_from
        email["To"] = msg.address
        email["Subject"] = msg.subject
        email["Message-ID"] = f"<{msg.delivery_id}@wanqing>"  # a resend after a crash is recognisable
        email.set_content(msg.body)
        password = self._s.smtp_password.get_secret_value()
        try:
            await aiosmtplib.send(
                email, hostname=self._s.smtp_host, port=self._s.smtp_port, timeout=self._s.timeout_s,
                start_tls=self._s.smtp_starttls, username=self._s.smtp_username or None,
                password=password or None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            raise _by_smtp_code(min(codes, default=550), str(exc)) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise _by_smtp_code(exc.code, exc.message) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:  # connect, disconnect, timeout
            raise TransientFailure(f"smtp: {exc}") from exc


def _by_smtp_code(code: int, message: str) -> Exception:
    text = f"smtp {code}: {message}"
    return TransientFailure(text) if 400 <= code < 500 else PermanentFailure(text)  # noqa: PLR2004


async def post_json(url: str, payload: dict[str, Any], timeout: float, headers: dict[str, str] | None = None,  # noqa: ASYNC109
                    ) -> httpx.Response:
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=payload, headers=headers)
    except httpx.HTTPError as exc:  # connect errors and timeouts
        raise TransientFailure(f"http: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if status >= 500 or status == 429:  # noqa: PLR2004
        raise TransientFailure(f"http {status}: {response.text[:200]}")
    if status >= 400:  # noqa: PLR2004
        raise PermanentFailure(f"http {status}: {response.text[:200]}")
    return response


# WeCom's "too many requests" codes: retry later. Every other non-zero errcode is a refusal.
WECOM_RATE_LIMITED = frozenset({45009, 45033})


class WeComChannel:
    """企业微信群机器人: posts a text message to the configured group, @-mentioning the staff member's phone."""

    name = ChannelName.WECOM
    needs = None

    def __init__(self, settings: NotifySettings) -> None:
        self._s = settings
        self.configured = bool(settings.wecom_webhook_url)

    async def send(self, _conn: Connection, msg: Outgoing) -> None:
        text: dict[str, Any] = {"content": f"{msg.subject}\n{msg.body}"}
        if msg.address:
            text["mentioned_mobile_list"] = [msg.address]
        response = await post_json(self._s.wecom_webhook_url, {"msgtype": "text", "text": text}, self._s.timeout_s)
        try:
            errcode = int(response.json().get("errcode", 0))
        except (ValueError, AttributeError):
            errcode = 0
        if errcode in WECOM_RATE_LIMITED:
            raise TransientFailure(f"wecom errcode {errcode}")
        if errcode != 0:
            raise PermanentFailure(f"wecom errcode {errcode}: {response.text[:200]}")


class SmsChannel:
    """An HTTP SMS gateway: POST {"to", "text", "id"} with a bearer token; the id lets the gateway dedupe."""

    name = ChannelName.SMS
    needs: Literal["phone"] = "phone"

    def __init__(self, settings: NotifySettings) -> None:
        self._s = settings
        self.configured = bool(settings.sms_gateway_url)

    async def send(self, _conn: Connection, msg: Outgoing) -> None:
        token = self._s.sms_token.get_secret_value()
        headers = {"Authorization": f"Bearer {token}"} if token else None
        payload = {"to": msg.address, "text": f"【晚晴】{msg.subject}\n{msg.body}", "id": str(msg.delivery_id)}
        await post_json(self._s.sms_gateway_url, payload, self._s.timeout_s, headers)


def build_channels(settings: NotifySettings) -> dict[ChannelName, Channel]:
    channels: list[Channel] = [InboxChannel(), EmailChannel(settings), WeComChannel(settings), SmsChannel(settings)]
    return {c.name: c for c in channels}
