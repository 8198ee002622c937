"""打印: a unit's roster (花名册) with the columns chosen and an optional signature column, and the visit sheet of
the actor's open tasks, as A4 PDFs.

The roster's rows are what profiles' ListRetirees answers for the same filters at that moment (the list and the
export give the same people); phone, address and ID number are off by default and, when chosen, are revealed
person by person through GetRetiree with the purpose typed, so each one is in profiles' read-access log.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from contracts.base import Refused
from edge.console.bus import Bus
from edge.console.labels import STATUS_ZH, beijing, kind_zh, today_beijing
from edge.console.names import UNIT_NAMES, names_of
from edge.console.pdf import table_pdf
from edge.console.sessions import ConsoleSession
from edge.console.web import checked_form, console, current, data, render
from wanqing.access import Credentials

router = APIRouter()
Session = Annotated[ConsoleSession, Depends(current)]
VISITS_PURPOSE = "打印走访签字表"
PAGE = 1000
MAX_ROWS = 5000
AT_ONCE = 20  # sensitive reveals asked side by side


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    weight: float = 1.0
    default: bool = False
    sensitive: bool = False


COLUMNS = (
    Column("name", "姓名", 1.4, default=True), Column("sex", "性别", 0.7, default=True),
    Column("age", "年龄", 0.7, default=True), Column("birth_date", "出生日期", 1.3),
    Column("status", "状态", 1.0, default=True), Column("category", "人员类别", 1.0),
    Column("retirement_date", "退休日期", 1.3), Column("party", "政治面貌", 1.1),
    Column("community", "居住地社区", 1.6),
    Column("phone", "联系电话", 1.6, sensitive=True), Column("address", "住址", 2.6, sensitive=True),
    Column("id_number", "身份证号码", 2.3, sensitive=True),
)
SIGNATURES = {"": "不加", "receipt": "签收", "visit": "慰问签字"}
STATUS_FILTER = {"retired": "已退休", "planned": "临退休", "deceased": "已去世", "": "全部"}
PARTY_FILTER = {"": "不限", "yes": "中共党员", "no": "非党员"}
SEX_ZH = {"male": "男", "female": "女"}
CATEGORY_ZH = {"cadre": "干部", "worker": "工人"}


def _defaults() -> dict[str, str]:
    return {"status": "retired", **{f"col_{c.key}": "on" for c in COLUMNS if c.default}}


def _form_page(request: Request, session: ConsoleSession, values: dict[str, str], units: dict[str, str],  # noqa: PLR0913
               message: str = "", status: int = 200) -> HTMLResponse:
    return render(request, "print_roster.html", status, values=values, columns=COLUMNS, signatures=SIGNATURES,
                  statuses=STATUS_FILTER, parties=PARTY_FILTER, units=units, message=message,
                  unit=session.actor.unit)


@router.get("/print/roster", response_class=HTMLResponse)
async def roster_form(request: Request, session: Session) -> HTMLResponse:
    units = await UNIT_NAMES.get(console(request).bus, session.credentials)
    return _form_page(request, session, _defaults(), units)


def _filters(form: dict[str, str], unit: str) -> tuple[dict[str, Any], str]:
    """ListRetirees' filters from the form, and a refusal in Chinese ('' when they are fine)."""
    query: dict[str, Any] = {"unit": unit}
    if form.get("status") in ("retired", "planned", "deceased"):
        query["status"] = form["status"]
    for name in ("min_age", "max_age"):
        raw = form.get(name, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) > 130:  # noqa: PLR2004 - the oldest age profiles accepts
                return query, "年龄请填写 0 到 130 之间的整数"
            query[name] = int(raw)
    if form.get("party") in ("yes", "no"):
        query["party_member"] = form["party"] == "yes"
    return query, ""


async def list_retirees(bus: Bus, creds: Credentials, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every person ListRetirees answers for these filters, page after page (its order: by birth date)."""
    rows: list[dict[str, Any]] = []
    while len(rows) < MAX_ROWS:
        page = data(await bus.query(creds, "profiles", "ListRetirees", {**query, "limit": PAGE, "offset": len(rows)}))
        items = list(page.get("items", []))
        rows += items
        if not items or len(rows) >= int(page.get("total", 0)):
            break
    return rows


async def _reveal(bus: Bus, creds: Credentials, rows: list[dict[str, Any]], fields: list[str], purpose: str,
                  ) -> dict[str, dict[str, Any]]:
    """retiree_id -> the sensitive fields asked, each person read through GetRetiree (and logged there)."""
    out: dict[str, dict[str, Any]] = {}

    async def one(rid: str) -> None:
        reply = await bus.query(creds, "profiles", "GetRetiree", {"retiree_id": rid, "reveal": fields,
                                                                  "purpose": purpose})
        out[rid] = {} if isinstance(reply, Refused) else reply.data

    ids = [str(r["retiree_id"]) for r in rows]
    for start in range(0, len(ids), AT_ONCE):
        await asyncio.gather(*(one(rid) for rid in ids[start:start + AT_ONCE]))
    return out


def _cell(column: Column, row: dict[str, Any], secret: dict[str, Any]) -> Any:
    match column.key:
        case "sex":
            return SEX_ZH.get(row.get("sex") or "", "")
        case "status":
            return STATUS_ZH.get(row.get("status") or "", row.get("status"))
        case "category":
            return CATEGORY_ZH.get(row.get("category") or "", "")
        case "party":
            return "中共党员" if row.get("party_member") else ""
        case "phone" | "address" | "id_number":
            return secret.get(column.key) or ""
        case _:
            return row.get(column.key)


def pdf_response(content: bytes, filename: str, ascii_name: str) -> Response:
    disposition = f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    return Response(content, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post("/print/roster", response_model=None)
async def print_roster(request: Request, session: Session) -> Response:
    form = await checked_form(request, session)
    bus, creds = console(request).bus, session.credentials
    units = await UNIT_NAMES.get(bus, creds)
    unit = form.get("unit", "").strip() if session.actor.oversees_all else session.actor.unit
    chosen = [c for c in COLUMNS if form.get(f"col_{c.key}") == "on"]
    sensitive = [c.key for c in chosen if c.sensitive]
    purpose = form.get("purpose", "").strip()
    query, problem = _filters(form, unit)
    if not chosen:
        problem = "请至少选择一列"
    elif sensitive and not purpose:
        problem = "打印联系电话、住址、身份证号码等敏感信息须填写用途"
    elif not unit:
        problem = "请选择单位"
    if problem:
        return _form_page(request, session, form, units, problem, 422)
    rows = await list_retirees(bus, creds, query)
    secrets = await _reveal(bus, creds, rows, sensitive, purpose) if sensitive else {}
    signature = SIGNATURES.get(form.get("signature", ""), "") if form.get("signature") else ""
    headers = ["序号", *(c.label for c in chosen)] + ([signature] if signature else [])
    weights = [0.6, *(c.weight for c in chosen)] + ([1.6] if signature else [])
    table = [[n, *(_cell(c, r, secrets.get(str(r["retiree_id"]), {})) for c in chosen)] + ([""] if signature else [])
             for n, r in enumerate(rows, start=1)]
    title = form.get("title", "").strip()[:60] or "退休人员花名册"
    what = [units.get(unit, unit), STATUS_FILTER.get(str(query.get("status", "")), "全部")]
    if "min_age" in query or "max_age" in query:
        what.append(f"年龄 {query.get('min_age', '')}–{query.get('max_age', '')} 岁")
    if "party_member" in query:
        what.append("中共党员" if query["party_member"] else "非党员")
    subtitle = f"{'，'.join(what)}；共 {len(rows)} 人；{today_beijing()}"
    content = table_pdf(title, subtitle, headers, table, weights)
    return pdf_response(content, f"{title}-{unit}-{today_beijing()}.pdf", "roster.pdf")


@router.get("/print/visits", response_model=None)
async def print_visits(request: Request, session: Session) -> Response:
    """The actor's open tasks, soonest first, with a column to sign at each visit."""
    bus, creds = console(request).bus, session.credentials
    found = data(await bus.query(creds, "care", "ListTasks", {"assignee": session.actor.user, "view": "open",
                                                             "limit": 500}))
    tasks = sorted(found.get("items", []), key=lambda t: str(t.get("due_at") or ""))
    names = await names_of(bus, creds, (t["retiree_id"] for t in tasks), VISITS_PURPOSE)
    rows = [[n, str(t.get("kind_zh") or kind_zh(str(t.get("kind")))) + ("（遗属）" if t.get("for_survivor") else ""),
             names.get(str(t["retiree_id"]), "（未能显示姓名）"), beijing(t.get("due_at")), "", ""]
            for n, t in enumerate(tasks, start=1)]
    me = session.actor
    subtitle = f"经办人 {me.user}（{me.unit}）；待办 {len(rows)} 项；{today_beijing()}"
    headers = ["序号", "事项", "人员", "办理期限", "本人或家属签字", "备注"]
    content = table_pdf("走访慰问签字表", subtitle, headers, rows, [0.6, 1.6, 1.4, 1.6, 2.0, 1.6])
    return pdf_response(content, f"走访慰问签字表-{me.user}-{today_beijing()}.pdf", "visits.pdf")
