"""`wanqing audit as-of` and `wanqing audit rebuild-digests` (docs/audit-as-of.md).

* `as-of retiree|tasks|scores … --at T`: the answer as it stood at T, replayed from the events recorded up to T,
  asked of the owning service (GetRetiree / ListTasks / GetUnitScores with `as_of`), so authorization and the
  read-access log are the live queries' own. A time typed without an offset is Beijing time.
* `rebuild-digests`: each service's read models rebuilt from history inside a transaction that is rolled back,
  their digests compared with the live ones; nothing is changed. Exit 1 if any service differs.

The functions below are what the commands run, so tests call them directly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from uuid import UUID

import asyncpg
import typer

from backbone.credentials import OPS
from backbone.crypto import Keyring
from backbone.rebuild import RebuildError
from backbone.settings import Settings
from contracts import subjects
from contracts.base import LOCAL_TZ, Actor
from contracts.care import TASK_KIND_ZH, TaskKind
from wanqing import access, admin, keys_cli, messages, state
from wanqing.audit import app
from wanqing.report import table_lines

T = TypeVar("T")

as_of_app = typer.Typer(no_args_is_help=True, help="The answer as it stood at a past time, replayed from history.")
app.add_typer(as_of_app, name="as-of")

AtOption = Annotated[str, typer.Option("--at", help="The time: ISO 8601; without an offset it is Beijing time.")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor-json", help="The operator only: act as this staff member (default: the district office).")]
WAIT_S = 60.0

REBUILDABLE = ("profiles", "care", "ceremony", "notify", "identity")


# ------------------------------------------------------------------------------------------------- helpers


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"wanqing: {message}", err=True)
    raise typer.Exit(code)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except (state.PlatformNotFoundError, access.AccessError) as exc:
        _fail(str(exc))
    except messages.NoAnswerError as exc:
        _fail(str(exc), 1)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        _fail(f"cannot reach the platform's database: {exc}")


def parse_at(text: str) -> datetime:
    try:
        return admin.parse_instant(text)
    except ValueError:
        _fail(f"--at {text!r} is not a time (e.g. 2027-03-03T09:00, Beijing time, or with an offset)")


def _actor(text: str | None) -> Actor | None:
    try:
        return messages.actor_of(text) if text else None
    except messages.BadInputError as exc:
        _fail(str(exc))


def _access() -> access.Access:
    settings = Settings()
    return access.of(settings, state.nats_url(settings))


def shown(moment: str | datetime | None) -> str:
    """A moment as staff read it: Beijing time, to the minute."""
    if moment is None:
        return "—"
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return when.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _answer(reply: dict[str, Any], *, as_json: bool) -> Any:
    if not reply.get("ok"):
        if as_json:
            typer.echo(json.dumps(reply, ensure_ascii=False, indent=2))
        _fail(f"{reply.get('code')}: {reply.get('message')}", 1)
    return reply["data"]


# ------------------------------------------------------------------------------------------------- queries


async def ask_retiree(  # noqa: PLR0913 - the query's fields
    acc: access.Access, retiree_id: UUID, at: datetime, reveal: Sequence[str] = (), purpose: str | None = None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"retiree_id": str(retiree_id), "as_of": at.isoformat(), "reveal": list(reveal)}
    if purpose:
        body["purpose"] = purpose
    return await messages.request(acc, subjects.query("profiles", "GetRetiree"), body, WAIT_S, actor)


async def ask_tasks(acc: access.Access, unit: str, at: datetime, view: str = "all",
                    actor: Actor | None = None) -> dict[str, Any]:
    body = {"unit": unit, "as_of": at.isoformat(), "view": view, "limit": 2000}
    return await messages.request(acc, subjects.query("care", "ListTasks"), body, WAIT_S, actor)


async def ask_scores(acc: access.Access, period: str, at: datetime, unit: str | None = None,
                     actor: Actor | None = None) -> dict[str, Any]:
    body = {"period": period, "as_of": at.isoformat(), **({"unit": unit} if unit else {})}
    return await messages.request(acc, subjects.query("care", "GetUnitScores"), body, WAIT_S, actor)


STATUS_ZH = {"planned": "拟退休", "retired": "已退休", "deceased": "已去世"}
TASK_STATUS_ZH = {"open": "待办", "done": "已完成", "cancelled": "已取消"}
ESCALATION_ZH = {"unit_head": "已督办至单位负责人", "district_office": "已督办至区老干部局"}
YES_NO = {True: "是", False: "否", None: "—"}


def retiree_lines(data: dict[str, Any]) -> list[str]:
    rows = [
        ("姓名", data.get("name")), ("单位", data.get("unit")),
        ("状态", STATUS_ZH.get(str(data.get("status")), data.get("status"))),
        ("性别", {"male": "男", "female": "女"}.get(str(data.get("sex")), data.get("sex"))),
        ("出生日期", data.get("birth_date")), ("当时年龄", data.get("age")),
        ("退休日期", data.get("retirement_date")), ("批准日期", data.get("approved_on")),
        ("批准文号", data.get("document_number")),
        ("住院", f"自 {data['hospitalized_since']} 起住院" if data.get("hospitalized_since") else "否"),
        ("独居", YES_NO.get(data.get("living_alone"))), ("风险等级", data.get("risk_tier")),
        ("党员", YES_NO.get(data.get("party_member"))), ("入党日期", data.get("party_joined_on")),
        ("所在社区", data.get("community")), ("去世日期", data.get("died_on")),
    ]
    for key, label in (("id_number", "身份证号"), ("phone", "联系电话"), ("address", "住址"),
                       ("emergency_contact", "紧急联系人"), ("bank_account", "银行账户"), ("hospital", "住院信息")):
        if key in data:
            rows.append((label, data[key]))
    if "survivors" in data:
        rows.append(("遗属", "；".join(f"{s['relation']} {s['name']}" for s in data["survivors"]) or "无"))
    head = (f"退休人员档案（截至 {shown(data['as_of'])}，北京时间；"
            f"依据当时已记录的 {data.get('events_replayed', 0)} 条档案事件重放）")
    lines = [head]
    if data.get("erased"):
        lines.append("该人员的个人信息已删除，无法查看其任何时点的档案内容。")
    lines += [f"  {label}：{'—' if value is None else value}" for label, value in rows]
    return lines


def task_lines(data: dict[str, Any], unit: str) -> list[str]:
    lines = [f"{unit} 关怀任务清单（截至 {shown(data['as_of'])}，北京时间；共 {data['total']} 件）"]
    if not data["items"]:
        lines.append("  当时没有任务。")
    for t in data["items"]:
        state_zh = TASK_STATUS_ZH.get(t["status"], t["status"])
        if t["status"] == "open" and t["overdue"]:
            state_zh += "（已逾期）"
        if t["escalation"]:
            state_zh += f"，{ESCALATION_ZH.get(t['escalation'], t['escalation'])}"
        done = f"，完成于 {shown(t['done_at'])}{'（按时）' if t['on_time'] else '（超时）'}" if t["done_at"] else ""
        kind = t.get("kind_zh") or TASK_KIND_ZH.get(TaskKind(t["kind"]), t["kind"])
        lines.append(f"  {shown(t['due_at'])} 到期  {kind}  {state_zh}{done}  经办人：{t['assignee'] or '未指定'}"
                     f"  任务号：{t['task_id']}")
    return lines


def score_lines(data: dict[str, Any]) -> list[str]:
    lines = table_lines(data)
    lines.insert(1, f"（历史回放：依据 {shown(data['as_of_requested'])} 前已记录的 "
                    f"{data.get('events_replayed', 0)} 条关怀事件计算）")
    return lines


@as_of_app.command("retiree")
def as_of_retiree(  # noqa: PLR0913 - the query's knobs
    retiree_id: Annotated[UUID, typer.Argument(help="The retiree's id.")],
    at: AtOption,
    reveal: Annotated[list[str] | None, typer.Option(help="Sensitive fields to open (needs --purpose).")] = None,
    purpose: Annotated[str | None, typer.Option(help="Why the sensitive fields are opened (logged).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON.")] = False,  # noqa: FBT002
    actor: ActorOption = None,
) -> None:
    """A retiree's archive as it stood at --at (profiles' GetRetiree, replayed)."""
    reply = _run(ask_retiree(_access(), retiree_id, parse_at(at), reveal or (), purpose, _actor(actor)))
    data = _answer(reply, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in retiree_lines(data):
        typer.echo(line)


@as_of_app.command("tasks")
def as_of_tasks(
    unit: Annotated[str, typer.Option(help="The unit code.")],
    at: AtOption,
    view: Annotated[str, typer.Option(help="all (default), open, overdue, today or upcoming, judged at --at.")] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON.")] = False,  # noqa: FBT002
    actor: ActorOption = None,
) -> None:
    """A unit's care tasks as they stood at --at (care's ListTasks, replayed)."""
    reply = _run(ask_tasks(_access(), unit, parse_at(at), view, _actor(actor)))
    data = _answer(reply, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in task_lines(data, unit):
        typer.echo(line)


@as_of_app.command("scores")
def as_of_scores(
    period: Annotated[str, typer.Option(help="2027, 2027Q1, 2027H1 or 2027-03.")],
    at: AtOption,
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON.")] = False,  # noqa: FBT002
    actor: ActorOption = None,
) -> None:
    """The work-quality scores as they stood at --at (care's GetUnitScores, replayed)."""
    reply = _run(ask_scores(_access(), period, parse_at(at), unit, _actor(actor)))
    data = _answer(reply, as_json=as_json)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for line in score_lines(data):
        typer.echo(line)


# ---------------------------------------------------------------------------------------- rebuild digests


async def rebuild_digests(db_url: str, bus_url: str, data_dir: Path, services: Sequence[str] = REBUILDABLE,
                          keyrings: Mapping[str, Keyring] | None = None) -> dict[str, dict[str, Any]]:
    """Each service's read models rebuilt in a rolled-back transaction, its digests next to the live ones
    (`keyrings`: those of the services that open sealed facts, wanqing/keys_cli.rebuild_keyring).
    """
    import nats  # noqa: PLC0415 - only this command talks to the bus directly

    from backbone.db import create_pool  # noqa: PLC0415
    from services.care import app as care  # noqa: PLC0415
    from services.ceremony import app as ceremony  # noqa: PLC0415
    from services.identity import app as identity  # noqa: PLC0415
    from services.notify import app as notify  # noqa: PLC0415
    from services.profiles import app as profiles  # noqa: PLC0415

    checks: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
        "profiles": profiles.check_rebuild, "care": care.check_rebuild, "ceremony": ceremony.check_rebuild,
              "notify": notify.check_rebuild, "identity": identity.check_rebuild}
    pool = await create_pool(db_url, min_size=1, max_size=1)
    nc = await nats.connect(bus_url, connect_timeout=5, max_reconnect_attempts=3,
                            **access.nats_options(data_dir, OPS))
    out: dict[str, dict[str, Any]] = {}
    try:
        async with pool.acquire() as conn:
            for name in services:
                try:
                    keyring = (keyrings or {}).get(name)
                    out[name] = await (checks[name](conn, nc.jetstream()) if keyring is None
                                       else checks[name](conn, nc.jetstream(), keyring))
                except (RebuildError, asyncpg.UndefinedTableError) as exc:
                    out[name] = {"service": name, "equal": False, "error": str(exc)}
    finally:
        await nc.close()
        await pool.close()
    return out


def digest_lines(results: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["读模型重建核对（在回滚的事务中从历史重建，与现有读模型逐表比对摘要；现有数据未作任何改动）"]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"  {name}：无法重建：{r['error']}")
            continue
        verdict = "一致" if r["equal"] else f"不一致（{'、'.join(r['differing_tables'])}）"
        rep = r["report"]
        lines.append(f"  {name}：{verdict}；重放本服务事件 {rep['own_events']} 条、"
                     f"其他服务事件 {rep['stream_events']} 条，用时 {rep['seconds']} 秒；摘要 {r['live']['all'][:16]}…")
        for table, t in r["live"]["tables"].items():
            again = r["rebuilt"]["tables"][table]
            mark = "" if t["sha256"] == again["sha256"] else f" ≠ 重建 {again['sha256'][:16]}…（{again['rows']} 行）"
            lines.append(f"    {table}：{t['rows']} 行 {t['sha256'][:16]}…{mark}")
    return lines


@app.command("rebuild-digests")
def rebuild_digests_command(
    service: Annotated[list[str] | None, typer.Option(help="Only these services (default: all five).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reply as JSON.")] = False,  # noqa: FBT002
) -> None:
    """Rebuild every service's read models from history without changing them, and compare digests."""
    chosen = service or list(REBUILDABLE)
    unknown = [s for s in chosen if s not in REBUILDABLE]
    if unknown:
        _fail(f"cannot rebuild {', '.join(unknown)}; rebuildable: {', '.join(REBUILDABLE)}")
    settings = Settings()
    keyrings = {s: k for s in chosen if (k := keys_cli.rebuild_keyring(s, settings)) is not None}
    results = _run(rebuild_digests(state.database_url(settings), state.nats_url(settings), settings.data_dir,
                                   chosen, keyrings))
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    else:
        for line in digest_lines(results):
            typer.echo(line)
    raise typer.Exit(0 if all(r.get("equal") for r in results.values()) else 1)
