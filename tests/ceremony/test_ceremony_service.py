"""The ceremony process through the running services: profiles' approval opens the case, time passes, staff act."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import shutil
import subprocess
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext

from backbone.envelope import canonical, envelope_dict
from contracts import subjects
from tests.ceremony.journey import (
    UNIT,
    UNIT_NAME,
    advance,
    approved_retiree,
    case_of,
    register_unit,
    send_ok,
    set_today,
    staff,
)
from tests.services_harness import RunningPlatform

APPROVED = date(2027, 3, 5)
MIN_INK, MAX_INK = 0.01, 0.5
# poppler-utils (make install puts it there); found on PATH like any tool of the test run.
PDFTOTEXT, PDFTOPPM = shutil.which("pdftotext") or "pdftotext", shutil.which("pdftoppm") or "pdftoppm"


@pytest.fixture
async def unit(platform: RunningPlatform, database_url: str) -> None:
    await set_today(database_url, date(2027, 3, 20))
    await register_unit(platform)


async def consented(platform: RunningPlatform, approved_on: date = APPROVED, name: str = "王建国",
                    **registration: Any) -> str:
    rid = await approved_retiree(platform, approved_on, name, **registration)
    await case_of(platform, rid, status="awaiting_consent")
    await send_ok(platform, "GiveConsent", {"retiree_id": str(rid), "actor": staff()})
    return str(rid)


class TestOneMonthRule:
    async def test_case_opens_on_approval_and_is_overdue_after_one_month(
        self, platform: RunningPlatform, database_url: str, unit: None
    ) -> None:
        rid = await approved_retiree(platform, APPROVED)
        opened = await case_of(platform, rid, status="awaiting_consent")
        assert (opened["ceremony_due_on"], opened["handover_due_on"]) == ("2027-04-05", "2027-04-05")
        assert opened["handover_steps"] == ["archive_created"]
        await set_today(database_url, date(2027, 4, 5))  # the due day itself is still on time
        await asyncio.sleep(0.5)
        assert not (await case_of(platform, rid))["ceremony_overdue"]
        await advance(database_url, timedelta(days=1))
        overdue = await case_of(platform, rid, ceremony_overdue=True, handover_overdue=True)
        assert overdue["status"] == "awaiting_consent"


class TestConsentDeclined:
    async def test_no_ceremony_no_overdue_but_the_handover_still_happens(
        self, platform: RunningPlatform, database_url: str, unit: None
    ) -> None:
        rid = await approved_retiree(platform, APPROVED)
        await case_of(platform, rid)
        await send_ok(platform, "DeclineConsent", {"retiree_id": str(rid), "reason": "本人希望低调", "actor": staff()})
        refused = await platform.send("ceremony", "GivePlaque", {"retiree_id": str(rid), "actor": staff()})
        assert (refused["ok"], refused["code"]) == (False, "conflict")
        await send_ok(platform, "CompleteHandoverStep", {"retiree_id": str(rid), "step": "benefits_explained",
                                                         "actor": staff()})
        await send_ok(platform, "CompleteHandoverStep", {"retiree_id": str(rid), "step": "wechat_group_joined",
                                                         "actor": staff()})
        by_unit = await platform.send("ceremony", "CompleteHandoverStep", {
            "retiree_id": str(rid), "step": "handed_over", "actor": staff()})
        assert (by_unit["ok"], by_unit["code"]) == (False, "forbidden")
        await send_ok(platform, "CompleteHandoverStep", {"retiree_id": str(rid), "step": "handed_over"})
        done = await case_of(platform, rid, handover_status="completed")
        assert (done["status"], done["decline_reason"], done["handover_on_time"]) == ("declined", "本人希望低调", True)
        await set_today(database_url, date(2027, 5, 1))
        await asyncio.sleep(0.6)
        after = await case_of(platform, rid)
        assert (after["ceremony_overdue"], after["handover_overdue"]) == (False, False)


class TestHalfYearBatch:
    async def test_30_june_and_1_july_fall_in_different_batches_and_december_in_the_second(
        self, platform: RunningPlatform, database_url: str, unit: None
    ) -> None:
        await send_ok(platform, "SetCeremonyMode", {"unit": UNIT, "mode": "half_year_batch", "actor": staff()})
        await set_today(database_url, date(2027, 12, 30))
        june = await approved_retiree(platform, date(2027, 6, 30), "赵六")
        july = await approved_retiree(platform, date(2027, 7, 1), "钱七")
        december = await approved_retiree(platform, date(2027, 12, 28), "孙八")
        assert (await case_of(platform, june))["batch_id"] == "U0007-2027H1"
        assert (await case_of(platform, july))["ceremony_due_on"] == "2027-12-31"
        assert (await case_of(platform, december))["batch_id"] == "U0007-2027H2"
        roster = await platform.query("ceremony", "GetBatchRoster", {"unit": UNIT, "year": 2027, "half": 2})
        assert roster["ok"], roster
        assert [m["retiree_id"] for m in roster["data"]["roster"]] == [str(july), str(december)]
        assert roster["data"]["due_on"] == "2027-12-31"
        await send_ok(platform, "GiveConsent", {"retiree_id": str(july)})
        await send_ok(platform, "ScheduleBatchCeremony", {"unit": UNIT, "year": 2027, "half": 2,
                                                          "held_on": "2027-12-31", "venue": "局机关礼堂"})
        upcoming = await platform.query("ceremony", "UpcomingCeremonies", {"unit": UNIT})
        assert [(u["kind"], u["subject"], u["retirees"]) for u in upcoming["data"]] == [("batch", "U0007-2027H2", 1)]
        individual = await platform.send("ceremony", "ScheduleCeremony", {
            "retiree_id": str(july), "held_on": "2027-12-31", "venue": "会议室"})
        assert (individual["ok"], individual["code"]) == (False, "validation")


class TestChecklistAndDocuments:
    async def test_held_refused_naming_missing_items_then_held_with_documents(
        self, platform: RunningPlatform, database_url: str, unit: None, tmp_path: Path
    ) -> None:
        rid = await consented(platform)
        body = {"retiree_id": rid, "actor": staff()}
        await send_ok(platform, "ScheduleCeremony", {**body, "held_on": "2027-03-28", "venue": "三楼会议室"})
        await send_ok(platform, "GivePlaque", body)
        early = await platform.send("ceremony", "HoldCeremony", {**body, "held_on": "2027-03-20"})
        assert (early["ok"], early["code"]) == (False, "validation")
        assert early["details"]["missing"] == ["decision_announced", "thank_you_letter", "certificate", "souvenir",
                                               "farewell_remarks"]
        assert "②致感谢信" in early["message"]
        await send_ok(platform, "AnnounceDecision", {**body, "document_number": "教人〔2027〕12号"})
        await send_ok(platform, "GiveThankYouLetter", {**body, "signed_by": "张局长"})
        await send_ok(platform, "IssueCertificate", body)
        await send_ok(platform, "GiveSouvenir", {**body, "souvenir": "纪念相册"})
        await send_ok(platform, "RecordFarewellRemarks", {**body, "text": "感谢组织培养，退休不褪色。"})
        await send_ok(platform, "RecordExtraItem", {**body, "item": "合影留念"})
        await set_today(database_url, date(2027, 3, 28))
        await send_ok(platform, "HoldCeremony", {**body, "held_on": "2027-03-28"})
        held = await case_of(platform, rid, status="held")  # type: ignore[arg-type]
        assert held["certificate_number"] == "U0007-2027-0001"
        assert held["extra_items"] == ["合影留念"]
        assert held["ceremony_on_time"] is True
        cert_text = pdf_text(Path(held["certificate_path"]))
        for expected in ("王建国", UNIT_NAME, "U0007-2027-0001", "退休证"):
            assert expected in cert_text
        letter_text = pdf_text(Path(held["letter_path"]))
        assert "王建国" in letter_text
        assert "感谢信" in letter_text.replace(" ", "")
        assert "张局长" in letter_text
        png = render_png(Path(held["certificate_path"]), tmp_path / "cert")
        assert MIN_INK < ink_ratio(png) < MAX_INK  # text and frame on a white page: neither blank nor black

    async def test_on_time_rates_per_unit(self, platform: RunningPlatform, database_url: str, unit: None) -> None:
        rid = await consented(platform)
        await set_today(database_url, date(2027, 4, 6))
        await case_of(platform, rid, ceremony_overdue=True)  # type: ignore[arg-type]
        rates = await platform.query("ceremony", "OnTimeRates", {})
        assert rates["ok"], rates
        [row] = rates["data"]
        assert (row["unit"], row["ceremonies_due"], row["ceremony_on_time_rate"]) == (UNIT, 1, 0.0)
        mine = await platform.query("ceremony", "OnTimeRates", {"actor": staff("U0008")})
        assert (mine["ok"], mine["code"]) == (False, "forbidden")


class TestCertificateNumbers:
    async def test_concurrent_issues_take_1_to_n_without_gap_or_repeat(
        self, platform: RunningPlatform, unit: None
    ) -> None:
        rids = [await consented(platform, name=f"退休人员{i}") for i in range(12)]
        replies = await asyncio.gather(
            *(platform.send("ceremony", "IssueCertificate", {"retiree_id": r}) for r in rids),
            *(platform.send("ceremony", "IssueCertificate", {"retiree_id": r}) for r in rids[:4]),  # repeats
        )
        assert sum(r["ok"] for r in replies) == len(rids)
        assert {r.get("code") for r in replies if not r["ok"]} == {"conflict"}
        numbers = sorted([(await case_of(platform, r))["certificate_number"] for r in rids])  # type: ignore[arg-type]
        assert numbers == [f"U0007-2027-{i:04d}" for i in range(1, len(rids) + 1)]


def pdf_text(pdf: Path) -> str:
    return subprocess.run([PDFTOTEXT, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def render_png(pdf: Path, prefix: Path) -> Path:
    subprocess.run([PDFTOPPM, "-png", "-r", "40", "-singlefile", str(pdf), str(prefix)], check=True)
    subprocess.run([PDFTOPPM, "-gray", "-r", "40", "-singlefile", str(pdf), str(prefix)], check=True)
    return prefix.with_suffix(".png")


def ink_ratio(png: Path) -> float:
    """Share of dark pixels of the page, read from the binary PGM (P5) rendered beside the PNG."""
    assert png.stat().st_size > 0
    raw = png.with_suffix(".pgm").read_bytes()
    magic, width, height, maxval, pixels = raw.split(maxsplit=4)
    assert magic == b"P5"
    assert int(maxval) == 255  # noqa: PLR2004
    dark = sum(1 for value in pixels[: int(width) * int(height)] if value < 160)  # noqa: PLR2004
    return dark / (int(width) * int(height))


class TestDocumentsSayWhatIsTrue:
    async def test_the_certificate_number_is_in_the_reply_and_the_party_is_named_only_to_members(
        self, platform: RunningPlatform, database_url: str, unit: None,
    ) -> None:
        member = await consented(platform, name="李党员", party_joined_on="1990-07-01")
        other = await consented(platform, name="张群众")
        issued = await platform.send("ceremony", "IssueCertificate", {"retiree_id": member, "actor": staff()})
        assert issued["ok"], issued
        assert issued["summary"]["certificate_number"] == "U0007-2027-0001"
        texts = {}
        for rid in (member, other):
            await send_ok(platform, "GiveThankYouLetter", {"retiree_id": rid, "signed_by": "张局长", "actor": staff()})
            case = await case_of(platform, rid)
            texts[rid] = pdf_text(Path(case["letter_path"])).replace(" ", "")
        assert "离岗不离党" in texts[member]
        assert "离岗不离党" not in texts[other]
        assert "张群众" in texts[other]


def outside_the_documents_folder(data_dir: Path) -> list[Path]:
    """Where <documents>/ceremony/../../../outside would land: next to the data folder."""
    return list(data_dir.resolve().parent.glob("outside*"))


class TestAForgedUnitEscapesNothing:
    async def test_an_approval_whose_unit_would_leave_the_documents_folder_is_dead_lettered(
        self, platform: RunningPlatform, database_url: str, unit: None, js: JetStreamContext, tmp_path: Path,
    ) -> None:
        """The audit's forged RetirementApproved ("unit": "../../../outside") opens no case, writes no file, and
        ceremony's consumer and relay go on: the next real approval opens its case and is published.
        """
        forged_id = uuid.uuid4()
        now = datetime.now(UTC)
        raw = canonical(envelope_dict(
            event_id=uuid.uuid4(), type_="RetirementApproved", schema_version=1, stream_id=f"retiree-{forged_id}",
            version=2, unit=UNIT, occurred_at=now, recorded_at=now, correlation_id=uuid.uuid4(), causation_id=None,
            actor={"user": "x", "role": "district_office", "unit": "DISTRICT"},
            data={"retiree_id": str(forged_id), "unit": "../../../outside", "document_number": "伪造",
                  "approved_on": "2027-03-05", "retirement_date": "2027-03-05", "category": "cadre"}))
        dlq = await js.pull_subscribe(subjects.dead_letter("ceremony-profiles"), durable="forged", stream="WANQING_DLQ")
        await js.publish(subjects.event(UNIT, "profiles", "RetirementApproved"), raw)
        [dead] = await dlq.fetch(1, timeout=15)
        assert "unit" in (dead.headers or {})["Wanqing-Error"]
        real = await approved_retiree(platform, APPROVED)
        await case_of(platform, real, status="awaiting_consent")
        assert (await platform.query("ceremony", "GetCase", {"retiree_id": str(forged_id)}))["code"] == "not_found"
        assert outside_the_documents_folder(Path(platform.settings.data_dir)) == []
        published = await js.pull_subscribe(subjects.events_of_type("ceremony", "CeremonyCaseOpened"),
                                            durable="opened", stream="WANQING")
        assert len(await published.fetch(1, timeout=15)) == 1


class TestDocumentDownloads:
    async def test_a_download_is_authorised_recorded_and_stays_in_the_documents_folder(
        self, platform: RunningPlatform, database_url: str, unit: None,
    ) -> None:
        rid = await consented(platform)
        await send_ok(platform, "IssueCertificate", {"retiree_id": rid, "actor": staff()})
        case = await case_of(platform, rid)
        ask = {"retiree_id": rid, "kind": "certificate", "purpose": "本人领取退休证", "actor": staff()}
        got = await platform.query("ceremony", "GetDocument", ask)
        assert got["ok"], got
        content = base64.b64decode(got["data"]["content_base64"])
        assert content == await asyncio.to_thread(Path(case["certificate_path"]).read_bytes)
        assert (got["data"]["filename"], got["data"]["size"]) == ("退休证-U0007-2027-0001.pdf", len(content))
        assert got["data"]["sha256"] == hashlib.sha256(content).hexdigest()
        # Another unit's clerk, a missing purpose, a letter never given: refused, and none of them is a read.
        other = await platform.query("ceremony", "GetDocument", {**ask, "actor": staff("U0008")})
        assert (other["ok"], other["code"]) == (False, "forbidden")
        assert "无权下载" in other["message"]
        nopurpose = await platform.query("ceremony", "GetDocument", {k: v for k, v in ask.items() if k != "purpose"})
        assert (nopurpose["ok"], nopurpose["code"]) == (False, "validation")
        letter = await platform.query("ceremony", "GetDocument", {**ask, "kind": "thank_you_letter"})
        assert (letter["ok"], letter["code"], letter["message"]) == (False, "not_found", "尚未为该退休人员生成感谢信")
        # A stored path that leaves the documents folder is never opened.
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("UPDATE ceremony.cases SET certificate_path = '/etc/hostname' WHERE retiree_id = $1",
                               uuid.UUID(rid))
            escaped = await platform.query("ceremony", "GetDocument", ask)
            reads = await conn.fetch("SELECT user_id, role, actor_unit, retiree_id, document, purpose, query "
                                     "FROM ceremony.read_access ORDER BY access_id")
        finally:
            await conn.close()
        assert (escaped["ok"], escaped["code"]) == (False, "conflict")
        assert "content_base64" not in str(escaped)
        listed = await platform.query("ceremony", "ListReadAccess", {"retiree_id": rid})
        assert [(r["user_id"], r["document"], r["purpose"]) for r in listed["data"]] == [
            ("clerk-U0007", "certificate", "本人领取退休证")]
        by_clerk = await platform.query("ceremony", "ListReadAccess", {"actor": staff()})
        assert (by_clerk["ok"], by_clerk["code"]) == (False, "forbidden")  # the district office's alone
        assert [dict(r) for r in reads] == [{
            "user_id": "clerk-U0007", "role": "unit_staff", "actor_unit": UNIT, "retiree_id": uuid.UUID(rid),
            "document": "certificate", "purpose": "本人领取退休证", "query": "GetDocument"}]
