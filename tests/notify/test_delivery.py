"""Notify end to end on real NATS, Postgres, SMTP and HTTP peers: inbox and email, retries, redelivery."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.notify.conftest import NotifyPlatform, notify_settings, seed_unit, wait_for_staff
from tests.notify.peers import HttpPeer, SmtpPeer

EMAIL_AND_INBOX = 2
TWO_FAILURES_AND_A_SUCCESS = 3


def assigned(assignee: str = "clerk-U0001") -> dict[str, Any]:
    return {"task_id": str(uuid.uuid4()), "retiree_id": str(uuid.uuid4()), "unit": "U0001", "assignee": assignee,
            "kind": "hospital_visit", "due_at": "2026-05-13T09:00:00+00:00"}


async def events_of(platform: NotifyPlatform, type_: str) -> list[Any]:
    return await platform.sql("SELECT * FROM notify.events WHERE type = $1", type_)


class TestInboxAndEmail:
    async def test_a_task_assignment_reaches_the_inbox_and_the_smtp_server(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "clerk-U0001")
        cause = await platform.publish("care", "CareTaskAssigned", assigned())
        rows = await platform.settled(cause, 2)
        assert [(r["channel"], r["status"], r["attempts"]) for r in rows] == [("email", "sent", 1),
                                                                                ("inbox", "sent", 1)]
        inbox = await platform.query("notify", "ListInbox", {"recipient": "staff:clerk-U0001"})
        assert inbox["ok"], inbox
        assert [m["subject"] for m in inbox["data"]] == ["新的关怀任务：住院看望"]
        assert "张伟" in inbox["data"][0]["body"]
        assert len(smtp.mailbox.messages) == 1
        mail = smtp.mailbox.messages[0]
        assert mail["To"] == "clerk-U0001@district.example"
        assert mail["Subject"] == "新的关怀任务：住院看望"
        assert "2026年5月13日 17:00" in mail.get_content()
        assert len(await events_of(platform, "NotificationSent")) == EMAIL_AND_INBOX

    async def test_reading_a_message_and_choosing_channels(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "clerk-U0001")
        me = {"user": "clerk-U0001", "role": "unit_staff", "unit": "U0001"}
        pref = await platform.send("notify", "SetChannelPreference",
                                   {"recipient": "staff:clerk-U0001", "channels": ["inbox"], "actor": me})
        assert pref["ok"], pref
        other = await platform.send("notify", "SetChannelPreference",
                                    {"recipient": "staff:head-U0001", "channels": ["sms"], "actor": me})
        assert other["code"] == "forbidden"
        cause = await platform.publish("care", "CareTaskAssigned", assigned())
        rows = await platform.settled(cause, 1)
        assert [r["channel"] for r in rows] == ["inbox"]
        assert smtp.mailbox.messages == []
        inbox = await platform.query("notify", "ListInbox", {"recipient": "staff:clerk-U0001", "actor": me})
        message_id = inbox["data"][0]["message_id"]
        read = await platform.send("notify", "MarkRead", {"message_id": message_id, "actor": me})
        assert read["ok"], read
        unread = await platform.query("notify", "ListInbox",
                                      {"recipient": "staff:clerk-U0001", "unread_only": True, "actor": me})
        assert unread["data"] == []
        missing = await platform.send("notify", "MarkRead", {"message_id": str(uuid.uuid4()), "actor": me})
        assert missing["code"] == "not_found"
        peek = await platform.query("notify", "ListInbox", {"recipient": "staff:clerk-U0001", "actor": {
            "user": "clerk-U0002", "role": "unit_staff", "unit": "U0002"}})
        assert peek["code"] == "forbidden"


class TestAtMostOnce:
    async def test_a_redelivered_event_gives_no_second_delivery(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "clerk-U0001")
        data = assigned()
        cause = await platform.publish("care", "CareTaskAssigned", data)
        # The same envelope again under another message id: JetStream's dedupe does not stop it, notify must.
        await platform.publish("care", "CareTaskAssigned", data, event_id=cause, msg_id=f"again-{cause}")
        await platform.settled(cause, 2)
        await asyncio.sleep(1.0)
        assert len(await platform.deliveries(cause)) == EMAIL_AND_INBOX
        assert len(smtp.mailbox.messages) == 1

    async def test_a_peer_failing_twice_then_succeeding_gives_exactly_one_delivery(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        wecom.fail_first = 2
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "head-U0001")
        cause = await platform.publish("care", "CareTaskEscalated", {
            "task_id": str(uuid.uuid4()), "retiree_id": str(uuid.uuid4()), "unit": "U0001", "kind": "hospital_visit",
            "level": "unit_head", "due_at": "2026-05-13T09:00:00+00:00", "escalated_at": "2026-05-14T09:00:00+00:00"})
        rows = await platform.settled(cause, 3)
        by_channel = {r["channel"]: r for r in rows}
        assert (by_channel["wecom"]["status"], by_channel["wecom"]["attempts"]) == ("sent", TWO_FAILURES_AND_A_SUCCESS)
        assert len(wecom.requests) == TWO_FAILURES_AND_A_SUCCESS
        assert len(wecom.accepted) == 1
        posted = wecom.accepted[0]
        assert posted["msgtype"] == "text"
        assert posted["text"]["mentioned_mobile_list"] == ["13900000002"]
        assert posted["text"]["content"].startswith("【督办】区教育局关怀任务逾期未完成")
        sent = await events_of(platform, "NotificationSent")
        assert len([e for e in sent if e["stream_id"] == f"delivery-{by_channel['wecom']['delivery_id']}"]) == 1

    async def test_a_permanent_refusal_is_recorded_and_not_retried(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        wecom.reply = {"errcode": 93000, "errmsg": "invalid webhook url"}
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "head-U0001")
        cause = await platform.publish("care", "CareTaskEscalated", {
            "task_id": str(uuid.uuid4()), "retiree_id": str(uuid.uuid4()), "unit": "U0001", "kind": "hospital_visit",
            "level": "unit_head", "due_at": "2026-05-13T09:00:00+00:00", "escalated_at": "2026-05-14T09:00:00+00:00"})
        rows = {r["channel"]: r for r in await platform.settled(cause, 3)}
        assert (rows["wecom"]["status"], rows["wecom"]["attempts"]) == ("failed", 1)
        assert "93000" in rows["wecom"]["last_error"]
        assert len(wecom.requests) == 1
        failed = await events_of(platform, "NotificationFailed")
        assert len(failed) == 1
