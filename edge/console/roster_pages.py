"""导入花名册: upload, the preview with every problem by row (the command line's reader), confirm, the result.

The file holds personal data in plaintext: it is written to a private temporary folder only to be read, and
deleted at once; the parsed roster waits in memory for its uploader's confirmation (at most 30 minutes).
"""

from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from backbone.paths import under
from contracts.base import LOCAL_TZ
from edge.console.sessions import ConsoleSession
from edge.console.web import checked_form, console, current, render
from wanqing.access import Access
from wanqing.importer import ImportOutcome, nothing_to_import, send_batches
from wanqing.roster import Roster, UnreadableRosterError, read_roster

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
SUFFIXES = (".xlsx", ".xlsm", ".csv", ".txt")
MAX_BYTES = 20 * 1024 * 1024
KEEP_S = 1800.0


@dataclass
class Pending:
    user: str
    unit: str
    filename: str
    roster: Roster
    made: float = field(default_factory=time.monotonic)


PENDING: dict[str, Pending] = {}


def _forget_old() -> None:
    now = time.monotonic()
    for key in [k for k, p in PENDING.items() if now - p.made > KEEP_S]:
        del PENDING[key]


def _today() -> date:
    return datetime.now(LOCAL_TZ).date()


@router.get("/import", response_class=HTMLResponse)
async def upload_page(request: Request, session: Session) -> HTMLResponse:
    return render(request, "import.html", unit=session.actor.unit, stage="upload")


def _read(upload_name: str, content: bytes) -> Roster:
    suffix = Path(upload_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UnreadableRosterError(f"{suffix}: unsupported", reason_zh="只支持 .xlsx 和 .csv 文件")
    with tempfile.TemporaryDirectory(prefix="wanqing-roster-") as folder:
        path = under(Path(folder), f"roster{suffix}")  # the name is ours: nothing of the upload's name is used
        path.write_bytes(content)
        return read_roster(path, _today())


@router.post("/import", response_class=HTMLResponse)
async def preview(request: Request, session: Session, file: UploadFile) -> HTMLResponse:
    form = await checked_form(request, session)
    unit = form.get("unit", "").strip() or session.actor.unit
    content = await file.read(MAX_BYTES + 1)
    name = file.filename or "roster"
    if len(content) > MAX_BYTES:
        return render(request, "import.html", 422, unit=unit, stage="upload",
                      message="文件过大（超过 20 MB），请分批导入")
    if not content:
        return render(request, "import.html", 422, unit=unit, stage="upload", message="请选择要导入的花名册文件")
    try:
        roster = _read(name, content)
    except UnreadableRosterError as exc:
        return render(request, "import.html", 422, unit=unit, stage="upload", message=exc.reason_zh)
    _forget_old()
    token = secrets.token_urlsafe(16)
    PENDING[token] = Pending(session.actor.user, unit, Path(name).name, roster)
    problems = sorted(roster.problems, key=lambda p: (p.row or 0, p.column or ""))
    return render(request, "import.html", unit=unit, stage="preview", roster=roster, problems=problems,
                  token=token, filename=Path(name).name, blocked=nothing_to_import(roster))


@router.post("/import/confirm", response_model=None)
async def confirm(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    pending = PENDING.get(form.get("token", ""))
    if pending is None or pending.user != session.actor.user:
        return render(request, "import.html", 410, unit=session.actor.unit, stage="upload",
                      message="预览已过期，请重新上传文件")
    skip = form.get("skip_invalid") == "on"
    if pending.roster.problems and not skip:
        return render(request, "import.html", 422, unit=pending.unit, stage="upload",
                      message="花名册中有问题行：请改正后重新上传，或勾选“跳过有问题的行”后确认")
    del PENDING[form["token"]]
    app = console(request)
    outcome = ImportOutcome(pending.roster)
    await send_batches(Access(app.settings.nats_url, session.credentials, app.bus.nats_options()), pending.unit,
                       pending.filename,
                       pending.roster.valid_records, None, outcome)
    return render(request, "import.html", unit=pending.unit, stage="done", outcome=outcome,
                  filename=pending.filename)
