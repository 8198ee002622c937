"""The notify service's language: delivery outcomes, the in-app inbox, channel preferences and digest mode.

Recipients are named by key, never by contact: `staff:<user>` or `retiree:<uuid>`. Contact details of
retirees are fetched from profiles at send time and appear in no notify event.
"""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field

from contracts.base import Command, Event, Query, UnitCode

SERVICE = "notify"

RecipientKey = Annotated[str, Field(pattern=r"^(staff:[A-Za-z0-9_.@-]{1,64}|retiree:[0-9a-fA-F-]{36})$")]


class ChannelName(StrEnum):
    INBOX = "inbox"  # 站内信
    EMAIL = "email"  # 电子邮件
    WECOM = "wecom"  # 企业微信群机器人
    SMS = "sms"  # 短信


def delivery_stream(delivery_id: UUID) -> str:
    return f"delivery-{delivery_id}"


def preference_stream(recipient: str) -> str:
    return f"preference-{recipient}"


def quiet_hours_stream(recipient: str) -> str:
    return f"quiet-hours-{recipient}"


def inbox_stream(message_id: UUID) -> str:
    return f"inbox-{message_id}"


def digest_mode_stream(unit: str) -> str:
    return f"digest-mode-{unit}"


# ======================================================================== delivery outcomes


class DeliveryEvent(Event):
    delivery_id: UUID
    rule: str
    cause_event_id: UUID
    recipient: str
    channel: ChannelName


class NotificationSent(DeliveryEvent):
    type: Literal["NotificationSent"] = "NotificationSent"
    template: str
    attempts: int


class NotificationFailed(DeliveryEvent):
    """Given up: a permanent refusal, retries exhausted, or a channel/address that is not configured."""

    type: Literal["NotificationFailed"] = "NotificationFailed"
    attempts: int
    code: Literal["permanent", "exhausted", "not_configured", "no_address"]
    reason: str


class NotificationSuppressed(DeliveryEvent):
    """Never sent on purpose: the person is deceased or their data was erased."""

    type: Literal["NotificationSuppressed"] = "NotificationSuppressed"
    reason: Literal["deceased", "erased"]


# ======================================================================== inbox, preferences, digest


class MarkRead(Command):
    message_id: UUID


class InboxMessageRead(Event):
    type: Literal["InboxMessageRead"] = "InboxMessageRead"
    message_id: UUID
    recipient: str
    read_by: str


class SetChannelPreference(Command):
    """The channels a recipient wants, in the order given; rules' channels outside this list are dropped."""

    recipient: RecipientKey
    channels: Annotated[list[ChannelName], Field(min_length=1, max_length=4)]


class ChannelPreferenceSet(Event):
    type: Literal["ChannelPreferenceSet"] = "ChannelPreferenceSet"
    recipient: str
    channels: list[ChannelName]


class SetQuietHours(Command):
    """A recipient's own quiet hours (免打扰时段, Beijing time): nothing that is not urgent reaches a disturbing
    channel (SMS, WeCom, e-mail) between `start` and `end`; the same start and end turn quiet hours off. Without
    one, the platform's default applies (WANQING_NOTIFY_QUIET_START/END).
    """

    recipient: RecipientKey
    start: time
    end: time


class QuietHoursSet(Event):
    type: Literal["QuietHoursSet"] = "QuietHoursSet"
    recipient: str
    start: time
    end: time


class SetDigestMode(Command):
    """On (the default): a unit's due-soon and overdue reminders are folded into one morning digest."""

    unit: UnitCode
    enabled: bool


class DigestModeSet(Event):
    type: Literal["DigestModeSet"] = "DigestModeSet"
    unit: UnitCode
    enabled: bool


# ======================================================================== queries


class ListInbox(Query):
    recipient: RecipientKey
    unread_only: bool = False
    limit: Annotated[int, Field(ge=1, le=500)] = 50


class ListDeliveries(Query):
    cause_event_id: UUID | None = None
    recipient: RecipientKey | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


COMMANDS: tuple[type[Command], ...] = (MarkRead, SetChannelPreference, SetDigestMode, SetQuietHours)
EVENTS: tuple[type[Event], ...] = (
    NotificationSent, NotificationFailed, NotificationSuppressed, InboxMessageRead, ChannelPreferenceSet,
    DigestModeSet, QuietHoursSet,
)
QUERIES: tuple[type[Query], ...] = (ListInbox, ListDeliveries)
