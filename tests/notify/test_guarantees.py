"""Notify's promises about people and time: the deceased get nothing, quiet hours defer, the morning digest."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import asyncpg

from backbone.clock import set_platform_time
from backbone.migrations import migrate_service
from contracts.id_number import make_id_number
from services.notify import app as notify_app
from tests.notify.conftest import NotifyPlatform, notify_settings, seed_unit, wait_for_staff
from tests.notify.peers import HttpPeer, SmtpPeer

SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE = "13800138000"


async def register_retiree(platform: NotifyPlatform) -> uuid.UUID:
    rid = uuid.uuid4()
    reply = await platform.send("profiles", "RegisterRetiree", {
        "retiree_id": str(rid), "name": "李秀英", "id_number": make_id_number("110105", date(1960, 2, 29), 28),
        "unit": "U0001", "phone": PHONE, "retirement_date": "2020-03-01", "already_retired": True})
    assert reply["ok"], reply
    return rid


async def freeze(platform: NotifyPlatform, when: datetime) -> None:
    conn = await asyncpg.connect(platform.database_url)
    try:
        await set_platform_time(conn, when)
    finally:
        await conn.close()


class TestRetirees:
    async def test_a_consent_request_reaches_the_retiree_by_sms_with_the_contact_from_profiles(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        sms.fail_first = 2
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        rid = await register_retiree(platform)
        cause = await platform.publish("ceremony", "ConsentRequested", {"retiree_id": str(rid), "unit": "U0001"})
        rows = {r["channel"]: r for r in await platform.settled(cause, 2)}
        assert (rows["sms"]["status"], rows["sms"]["attempts"]) == ("sent", 3)
        assert [m["to"] for m in sms.accepted] == [PHONE]
        assert "尊敬的李秀英" in sms.accepted[0]["text"]
        # Nothing of the person is kept in notify: no phone or name in its tables or events.
        dump = await platform.sql("SELECT d::text AS t FROM notify.deliveries d UNION ALL "
                                  "SELECT i::text FROM notify.inbox_messages i UNION ALL "
                                  "SELECT convert_from(envelope, 'UTF8') FROM notify.events")
        assert not [r for r in dump if PHONE in r["t"] or "李秀英" in r["t"]]
        audited = await platform.sql("SELECT purpose FROM profiles.read_access WHERE user_id = 'notify'")
        assert {r["purpose"] for r in audited} == {"发送通知"}

    async def test_a_deceased_retiree_gets_nothing_and_the_suppression_is_recorded(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        rid = await register_retiree(platform)
        assert (await platform.send("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2026-05-01"}))["ok"]

        async def suppressed() -> bool:
            return bool(await platform.sql("SELECT 1 FROM notify.suppressions WHERE retiree_id = $1", rid))
        assert await platform.eventually(suppressed)
        cause = await platform.publish("care", "AssistanceApproved", {
            "case_id": str(uuid.uuid4()), "retiree_id": str(rid), "unit": "U0001", "amount": 3000,
            "approved_by": "office-1", "approver_level": "district_office", "on_time": True})
        rows = await platform.settled(cause, 2)
        assert {(r["channel"], r["status"], r["last_error"]) for r in rows} == {
            ("sms", "suppressed", "deceased"), ("inbox", "suppressed", "deceased")}
        events = await platform.sql("SELECT type FROM notify.events WHERE causation_id = $1", cause)
        assert [e["type"] for e in events] == ["NotificationSuppressed"] * 2
        await asyncio.sleep(0.5)
        assert sms.requests == []
        assert await platform.sql("SELECT * FROM notify.inbox_messages") == []


class TestTime:
    async def test_quiet_hours_defer_email_until_eight_and_it_goes_when_the_clock_gets_there(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        evening = datetime(2026, 5, 10, 22, 0, tzinfo=SHANGHAI)
        await platform.start_with(notify_settings(smtp, sms, wecom, quiet=(time(21), time(8))))
        await freeze(platform, evening)
        await seed_unit(platform)
        await wait_for_staff(platform, "clerk-U0001")
        cause = await platform.publish("care", "CareTaskAssigned", {
            "task_id": str(uuid.uuid4()), "retiree_id": str(uuid.uuid4()), "unit": "U0001",
            "assignee": "clerk-U0001", "kind": "hospital_visit", "due_at": "2026-05-13T09:00:00+00:00"})

        async def inbox_sent() -> bool:
            rows = {r["channel"]: r["status"] for r in await platform.deliveries(cause)}
            return rows.get("inbox") == "sent"
        assert await platform.eventually(inbox_sent)  # the inbox is silent: never deferred
        email = next(r for r in await platform.deliveries(cause) if r["channel"] == "email")
        assert email["status"] == "pending"
        assert email["not_before"] == datetime(2026, 5, 11, 8, 0, tzinfo=SHANGHAI)
        await asyncio.sleep(0.5)
        assert smtp.mailbox.messages == []
        await freeze(platform, datetime(2026, 5, 11, 8, 0, 1, tzinfo=SHANGHAI))
        rows = await platform.settled(cause, 2)
        assert {r["status"] for r in rows} == {"sent"}
        assert len(smtp.mailbox.messages) == 1

    async def test_a_recipients_own_quiet_hours_replace_the_platforms(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        """The clerk keeps 20:00-09:30 quiet (the platform 21:00-08:00): an 08:30 e-mail waits until 09:30."""
        await platform.start_with(notify_settings(smtp, sms, wecom, quiet=(time(21), time(8))))
        await freeze(platform, datetime(2026, 5, 11, 8, 30, tzinfo=SHANGHAI))
        await seed_unit(platform)
        await wait_for_staff(platform, "clerk-U0001")
        clerk = {"user": "clerk-U0001", "role": "unit_staff", "unit": "U0001"}
        other = await platform.send("notify", "SetQuietHours", {"recipient": "staff:head-U0001", "start": "20:00",
                                                                "end": "09:30", "actor": clerk})
        assert (other["ok"], other["code"]) == (False, "forbidden")  # only one's own
        own = await platform.send("notify", "SetQuietHours", {"recipient": "staff:clerk-U0001", "start": "20:00",
                                                              "end": "09:30", "actor": clerk})
        assert own["ok"], own
        cause = await platform.publish("care", "CareTaskAssigned", {
            "task_id": str(uuid.uuid4()), "retiree_id": str(uuid.uuid4()), "unit": "U0001",
            "assignee": "clerk-U0001", "kind": "hospital_visit", "due_at": "2026-05-13T09:00:00+00:00"})

        async def planned() -> bool:
            return any(r["channel"] == "email" for r in await platform.deliveries(cause))
        assert await platform.eventually(planned)
        email = next(r for r in await platform.deliveries(cause) if r["channel"] == "email")
        assert (email["status"], email["not_before"]) == ("pending", datetime(2026, 5, 11, 9, 30, tzinfo=SHANGHAI))

    async def test_the_morning_digest_folds_due_and_overdue_reminders_into_one_message(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        morning = datetime(2026, 5, 10, 7, 0, tzinfo=SHANGHAI)
        # Migrate first so the clock can be frozen before notify arms its first digest from it.
        conn = await asyncpg.connect(platform.database_url)
        try:
            await migrate_service(conn, notify_app.NAME, notify_app.MIGRATIONS)
        finally:
            await conn.close()
        await freeze(platform, morning)
        await platform.start_with(notify_settings(smtp, sms, wecom, quiet=(time(21), time(8))))
        await seed_unit(platform)
        await wait_for_staff(platform, "head-U0001")
        late, today = str(uuid.uuid4()), str(uuid.uuid4())
        for task, due in ((late, morning - timedelta(days=2)), (today, morning + timedelta(hours=8))):
            await platform.publish("care", "CareTaskOpened", {
                "task_id": task, "kind": "hospital_visit", "retiree_id": str(uuid.uuid4()), "unit": "U0001",
                "cause_event_id": None, "cause": "MemberHospitalized", "due_at": due.isoformat(), "period": None,
                "campaign_id": None, "policy_version": "1", "for_survivor": False})
        overdue = await platform.publish("care", "CareTaskOverdue", {
            "task_id": late, "retiree_id": str(uuid.uuid4()), "unit": "U0001", "assignee": "clerk-U0001",
            "kind": "hospital_visit", "due_at": (morning - timedelta(days=2)).isoformat()})

        async def projected() -> bool:
            return bool(await platform.sql("SELECT 1 FROM notify.care_tasks WHERE overdue"))
        assert await platform.eventually(projected)
        assert await platform.deliveries(overdue) == []  # folded into the digest, not sent on its own
        await freeze(platform, datetime(2026, 5, 10, 8, 0, 5, tzinfo=SHANGHAI))

        async def digests() -> list[asyncpg.Record]:
            rows = await platform.sql("SELECT * FROM notify.deliveries WHERE rule = 'daily_digest' AND status = 'sent'")
            return rows if len(rows) == 4 else []  # noqa: PLR2004 - two staff, inbox and email each
        rows = await platform.eventually(digests)
        assert {r["recipient"] for r in rows} == {"staff:clerk-U0001", "staff:head-U0001"}
        inbox = await platform.query("notify", "ListInbox", {"recipient": "staff:clerk-U0001"})
        [digest] = inbox["data"]
        assert digest["subject"] == "每日关怀任务汇总（2026年5月10日）"
        assert "已逾期（1项）" in digest["body"]
        assert "今日到期（1项）" in digest["body"]


class TestAssigneesHearInTime:
    """A 72-hour hospital visit in the default digest mode: the assignee is told when it opens (inbox at once,
    the next digest) and the morning before it is due, and every digest names them.
    """

    async def test_the_assignee_is_told_at_opening_in_the_next_digest_and_the_day_before(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        opened_at = datetime(2026, 5, 11, 10, 0, tzinfo=SHANGHAI)  # Monday 10:00, due Thursday 10:00
        conn = await asyncpg.connect(platform.database_url)
        try:
            await migrate_service(conn, notify_app.NAME, notify_app.MIGRATIONS)
        finally:
            await conn.close()
        await freeze(platform, opened_at)
        await platform.start_with(notify_settings(smtp, sms, wecom))
        await seed_unit(platform)
        await wait_for_staff(platform, "head-U0001")
        task = str(uuid.uuid4())
        await platform.publish("care", "CareTaskOpened", {
            "task_id": task, "kind": "hospital_visit", "retiree_id": str(uuid.uuid4()), "unit": "U0001",
            "cause_event_id": str(uuid.uuid4()), "cause": "MemberHospitalized",
            "due_at": (opened_at + timedelta(hours=72)).isoformat(), "period": None, "campaign_id": None,
            "policy_version": "1", "for_survivor": False, "assignee": "clerk-U0001"})

        async def inbox(recipient: str) -> list[dict[str, str]]:
            reply = await platform.query("notify", "ListInbox", {"recipient": recipient})
            return list(reversed(reply["data"]))  # oldest first

        async def messages(n: int) -> list[dict[str, str]] | None:
            got = await inbox("staff:clerk-U0001")
            return got if len(got) >= n else None

        [told] = await platform.eventually(lambda: messages(1))
        assert told["subject"] == "新的关怀任务：住院看望"  # at once, before any digest
        assert "2026年5月14日 10:00" in told["body"]
        assert await inbox("staff:head-U0001") == []  # the head is not the one who must act

        digests: list[dict[str, str]] = []
        for day in (12, 13, 14):  # the mornings after the opening
            await freeze(platform, datetime(2026, 5, day, 8, 0, 5, tzinfo=SHANGHAI))
            got = await platform.eventually(partial(messages, len(digests) + 2))
            assert got is not None, f"no digest on 5 May {day}"
            digests.append(got[-1])
        assert [d["subject"] for d in digests] == [f"每日关怀任务汇总（2026年5月{day}日）" for day in (12, 13, 14)]
        assert "新增任务（1项）" in digests[0]["body"]
        assert "明日到期（1项）" in digests[1]["body"]
        assert "今日到期（1项）" in digests[2]["body"]
        for d in digests:
            assert "经办人：张伟" in d["body"]  # the assignee by name, never "未分配"


class TestSuppressionFirst:
    async def test_a_message_waiting_for_a_person_who_then_died_is_suppressed_not_failed(
        self, platform: NotifyPlatform, smtp: SmtpPeer, sms: HttpPeer, wecom: HttpPeer,
    ) -> None:
        evening = datetime(2026, 5, 10, 22, 0, tzinfo=SHANGHAI)
        conn = await asyncpg.connect(platform.database_url)
        try:
            await migrate_service(conn, notify_app.NAME, notify_app.MIGRATIONS)
        finally:
            await conn.close()
        await freeze(platform, evening)
        settings = notify_settings(smtp, sms, wecom, quiet=(time(21), time(8))).model_copy(
            update={"sms_gateway_url": ""})  # no SMS gateway in this district
        await platform.start_with(settings)
        await seed_unit(platform)
        rid = await register_retiree(platform)
        cause = await platform.publish("ceremony", "ConsentRequested", {"retiree_id": str(rid), "unit": "U0001"})

        async def sms_waiting() -> bool:
            return any(r["channel"] == "sms" and r["status"] == "pending" for r in await platform.deliveries(cause))
        assert await platform.eventually(sms_waiting)  # deferred to 08:00 by quiet hours
        assert (await platform.send("profiles", "RecordDeath", {"retiree_id": str(rid), "died_on": "2026-05-10"}))["ok"]

        async def suppressed() -> bool:
            return bool(await platform.sql("SELECT 1 FROM notify.suppressions WHERE retiree_id = $1", rid))
        assert await platform.eventually(suppressed)
        await freeze(platform, datetime(2026, 5, 11, 8, 0, 5, tzinfo=SHANGHAI))
        rows = {r["channel"]: r for r in await platform.settled(cause, 2)}
        assert (rows["sms"]["status"], rows["sms"]["last_error"]) == ("suppressed", "deceased")
