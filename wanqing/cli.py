"""The `wanqing` command line: run the local platform, talk to it, and look after it."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import asyncpg
import typer

from backbone import logs
from backbone.credentials import OPS
from backbone.settings import Settings
from contracts import schemas, subjects
from contracts.base import Actor
from wanqing import access, admin, agency_cli, audit, keys_cli, messages, state
from wanqing.catalog import SERVICES, migrate_all
from wanqing.durations import parse_duration

T = TypeVar("T")

app = typer.Typer(name="wanqing", no_args_is_help=True, add_completion=False,
                  help="Wanqing (晚晴): the district retiree service platform.")
contracts_app = typer.Typer(no_args_is_help=True, help="The published language: schemas of every message.")
clock_app = typer.Typer(no_args_is_help=True, help="The platform clock every service follows (simulated time).")
bench_app = typer.Typer(no_args_is_help=True, help="Measurements on this machine.")
notify_app = typer.Typer(no_args_is_help=True, help="Notifications: rules and their templates.")
app.add_typer(contracts_app, name="contracts")
app.add_typer(clock_app, name="clock")
app.add_typer(bench_app, name="bench")
app.add_typer(notify_app, name="notify")
app.add_typer(audit.app, name="audit")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(agency_cli.app, name="agency")

JsonOption = Annotated[str, typer.Option("--json", help="The message body as a JSON object.")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor-json", help="The operator only: act as this staff member (default: the district office).")]
TimeoutOption = Annotated[float, typer.Option(help="Seconds to wait for the reply.")]


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"wanqing: {message}", err=True)
    raise typer.Exit(code)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Runs a coroutine with the errors every command shares turned into one clear line."""
    try:
        return asyncio.run(coro)
    except state.PlatformNotFoundError as exc:
        fail(str(exc))
    except access.AccessError as exc:
        fail(str(exc))
    except messages.NoAnswerError as exc:
        fail(str(exc), 1)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        fail(f"cannot reach the platform's database: {exc}")


def database_url(settings: Settings) -> str:
    try:
        return state.database_url(settings)
    except state.PlatformNotFoundError as exc:
        fail(str(exc))


def nats_url(settings: Settings) -> str:
    try:
        return state.nats_url(settings)
    except state.PlatformNotFoundError as exc:
        fail(str(exc))


def platform_access(settings: Settings) -> access.Access:
    """Where the platform is and as whom this command acts (a logged-in person, or the operator)."""
    url = nats_url(settings)
    try:
        return access.of(settings, url)
    except access.AccessError as exc:
        fail(str(exc))


def actor_option(text: str | None) -> Actor | None:
    try:
        return messages.actor_of(text) if text else None
    except messages.BadInputError as exc:
        fail(str(exc))


def print_json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@app.command()
def up() -> None:
    """Run the platform here: embedded NATS and Postgres unless WANQING_NATS_URL/DATABASE_URL are set."""
    from wanqing.supervisor import Supervisor  # noqa: PLC0415 - only `up` needs the process machinery

    settings = Settings()
    logs.configure(settings.log_format, settings.log_level, service="supervisor")
    # The services' lines go to a file, so the banner and the supervisor's own lines stay readable here.
    services_log = settings.data_dir.resolve() / "services.log"
    try:
        code = Supervisor(settings, service_output=services_log).run()
    except RuntimeError as exc:
        fail(str(exc), 1)
    raise typer.Exit(code)


def _request(  # noqa: PLR0913 - the options of send and query, passed through
    kind: str, service: str, name: str, *, body_json: str, actor_json: str | None, timeout: float,
) -> None:
    settings = Settings()
    try:
        messages.check_service(service)
        subject = subjects.command(service, name) if kind == "command" else subjects.query(service, name)
        body = messages.parse_object(body_json, "--json")
        body = messages.command_body(body) if kind == "command" else messages.no_actor(body)
    except ValueError as exc:  # BadInputError, or a name that is not a subject token
        fail(str(exc))
    actor = actor_option(actor_json)
    reply = run_async(messages.request(platform_access(settings), subject, body, timeout, actor))
    print_json(reply)
    if reply.get("ok") is not True:  # the reply's `message` is for people (Chinese); the JSON keeps the detail
        typer.echo(f"未受理：{reply.get('message')}", err=True)
    raise typer.Exit(0 if reply.get("ok") is True else 1)


@app.command()
def send(service: str, command: str, body: JsonOption = "{}", actor: ActorOption = None,
         timeout: TimeoutOption = 10.0) -> None:
    """Send a command; prints the reply; exit 0 if accepted, 1 if refused."""
    _request("command", service, command, body_json=body, actor_json=actor, timeout=timeout)


@app.command()
def query(service: str, name: Annotated[str, typer.Argument(metavar="QUERY")], body: JsonOption = "{}",
          actor: ActorOption = None, timeout: TimeoutOption = 10.0) -> None:
    """Ask a query; prints the answer; exit 0 if answered, 1 if refused."""
    _request("query", service, name, body_json=body, actor_json=actor, timeout=timeout)


PasswordOption = Annotated[str, typer.Option(prompt="密码", hide_input=True, envvar="WANQING_PASSWORD",
                                               help="Asked for when not given (WANQING_PASSWORD for scripts).")]


@app.command()
def login(user: Annotated[str, typer.Option(prompt="用户名", help="Your user name (as registered).")],
          password: PasswordOption) -> None:
    """Log in: later commands act as you, until `wanqing logout` or the session ends (idle 30 min, 12 h)."""
    from wanqing import login as logins  # noqa: PLC0415

    settings = Settings()

    def new_password() -> str:
        typer.echo("首次登录或密码已被重置，请设置新密码（至少 10 位，含字母和数字）。")
        fresh: str = typer.prompt("新密码", hide_input=True, confirmation_prompt="再次输入新密码")
        return fresh

    try:
        done = run_async(logins.login(settings, nats_url(settings), user, password, new_password))
    except logins.LoginRefusedError as exc:
        fail(f"登录失败：{exc}", 1)
    if done.changed_password:
        typer.echo("密码已修改。")
    typer.echo(f"已登录：{logins.describe(done.actor)}，会话有效至 {logins.beijing(done.session_expires_at)}"
               "（北京时间）。")


@app.command()
def logout() -> None:
    """End your session (commands then act as the operator, if you can read the platform's keys)."""
    from wanqing import login as logins  # noqa: PLC0415

    settings = Settings()
    who = run_async(logins.logout(settings, nats_url(settings)))
    typer.echo(f"已退出登录：{logins.describe(who)}。" if who else "当前没有登录。")


@app.command()
def whoami() -> None:
    """Who the commands act as: the person logged in, or the operator (the district office)."""
    from wanqing import login as logins  # noqa: PLC0415

    settings = Settings()
    person = access.load_session()
    if person is not None:
        typer.echo(f"{logins.describe(person.actor)}（已登录）")
        return
    ops = access.operator(settings.data_dir, settings.district)
    if ops is None:
        fail("未登录，也无法读取平台的运维密钥：请先 wanqing login", 1)
    typer.echo(f"{logins.describe(ops.actor)}（运维密钥，{settings.data_dir / 'secrets'}）")


@app.command("set-password")
def set_password(
    user: Annotated[str, typer.Argument(help="The staff member's user name.")],
    password: Annotated[str, typer.Option(prompt="临时密码", hide_input=True, confirmation_prompt="再次输入临时密码",
                                          envvar="WANQING_NEW_PASSWORD", help="Asked for when not given.")],
    permanent: Annotated[bool, typer.Option(help="Not temporary: no change required at first login.")] = False,
) -> None:
    """The district office sets or resets a staff member's password (temporary: changed at first login)."""
    settings = Settings()
    body = messages.command_body({"user": user, "password": password, "temporary": not permanent})
    reply = run_async(messages.request(platform_access(settings), subjects.command("identity", "SetPassword"),
                                       body, 30))
    if not reply.get("ok"):
        fail(f"未受理：{reply.get('message')}", 1)
    typer.echo(f"已为 {user} 设置{'' if permanent else '临时'}密码" + ("。" if permanent else "，首次登录时须修改。"))


@app.command()
def tail(
    unit: Annotated[str | None, typer.Option(help="Only this unit's events.")] = None,
    event_type: Annotated[str | None, typer.Option("--type", help="Only events of this type.")] = None,
    from_start: Annotated[bool, typer.Option(help="Replay the stream WANQING from its beginning first.")] = False,
    limit: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
) -> None:
    """Print events as they arrive: recorded time, subject, stream@version, data."""
    from wanqing.tail import tail as run_tail  # noqa: PLC0415

    settings = Settings()
    try:
        subjects.events_matching(unit, event_type)
    except ValueError as exc:
        fail(str(exc))
    url = nats_url(settings)
    try:
        run_async(run_tail(url, nats_options=access.nats_options(settings.data_dir, OPS), unit=unit,
                           event_type=event_type, from_start=from_start, limit=limit,
                           out=typer.echo))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


@contracts_app.command("export")
def contracts_export(target: Path) -> None:
    """Write the JSON Schema of every event, command and query under TARGET, and each outside agency's feed
    documents (AsyncAPI, message schemas, README) under TARGET/agencies/.
    """
    from services.feed.app import load_book  # noqa: PLC0415 - only this command needs the agencies' policies
    from wanqing.agency_docs import export_agency_docs  # noqa: PLC0415 - nor faststream's AsyncAPI

    written = schemas.export(target)
    typer.echo(f"wrote {len(written)} schemas under {target}")
    agency_docs = export_agency_docs(target, load_book())
    typer.echo(f"wrote {len(agency_docs)} agency documents under {target / 'agencies'}")


BackwardsOption = Annotated[bool, typer.Option("--backwards", help="Allow moving the platform's time back.")]


def _show(reading: admin.ClockReading) -> None:
    typer.echo(f"平台时间 {reading.beijing}（北京时间，{reading.mode_zh}）")


def _change(**how: Any) -> None:
    try:
        change: admin.ClockChange = run_async(admin.change_clock(database_url(Settings()), **how))
    except admin.BackwardsError as exc:
        fail(f"{exc.zh}\n({exc})", 1)
    moved = change.moved
    direction = "拨快" if moved >= timedelta(0) else "拨回"
    typer.echo(f"平台时钟已{direction}：{change.before.beijing} → {change.after.beijing}（北京时间）")
    _show(change.after)


@clock_app.command("show")
def clock_show() -> None:
    """The platform's current time (shown in Beijing time) and whether it is simulated."""
    _show(run_async(admin.read_clock(database_url(Settings()))))


@clock_app.command("set")
def clock_set(when: Annotated[str, typer.Argument(help="ISO 8601 time; Beijing time when no offset is given.")],
              backwards: BackwardsOption = False) -> None:
    """Freeze the platform at a time (refused if that is earlier than now, unless --backwards)."""
    try:
        instant: datetime = admin.parse_instant(when)
    except ValueError as exc:
        fail(f"{when!r} is not an ISO 8601 time: {exc}")
    _change(to=instant, backwards=backwards)


@clock_app.command("advance")
def clock_advance(duration: Annotated[str, typer.Argument(help="e.g. 3d, 12h, 30m, 1d12h")]) -> None:
    """Move the platform's time forward; timers that fall due fire on the services' next tick."""
    try:
        delta = parse_duration(duration)
    except ValueError as exc:
        fail(str(exc))
    _change(by=delta)


@clock_app.command("reset")
def clock_reset(backwards: BackwardsOption = False) -> None:
    """Return the platform to the wall clock (refused if that moves time back, unless --backwards)."""
    _change(reset=True, backwards=backwards)


@app.command()
def verify(service: Annotated[str | None, typer.Argument(help="One service (default: all).")] = None) -> None:
    """Recompute each service's hash chain; exit 1 if any history was altered or has a gap."""
    if service is not None and service not in SERVICES:
        fail(f"unknown service {service!r}; the platform runs: {', '.join(SERVICES)}")
    chosen = (service,) if service else SERVICES
    results = run_async(admin.verify_services(database_url(Settings()), chosen))
    broken = False
    for name, result in results.items():
        if result is None:
            typer.echo(f"{name}: no event table yet (not migrated)")
            continue
        verdict = "ok" if result.ok else f"{len(result.breaks)} broken stream(s)"
        typer.echo(f"{name}: {result.events} events checked, head position {result.head_position}: {verdict}")
        for b in result.breaks[:10]:
            typer.echo(f"  position {b.position} ({b.stream_id}@{b.version}): {b.problem}")
        broken = broken or not result.ok
    raise typer.Exit(1 if broken else 0)


REBUILDABLE = ("profiles", "care", "ceremony", "notify", "identity")


async def _rebuild(service: str, settings: Settings) -> dict[str, Any]:
    import nats  # noqa: PLC0415 - only the rebuild talks to the bus directly

    from backbone.db import create_pool  # noqa: PLC0415

    app_module = importlib.import_module(f"services.{service}.app")
    keyring = keys_cli.rebuild_keyring(service, settings)
    pool = await create_pool(database_url(settings), min_size=1, max_size=1)
    nc = await nats.connect(nats_url(settings), connect_timeout=5, max_reconnect_attempts=3,
                            **access.nats_options(settings.data_dir, OPS))
    try:
        async with pool.acquire() as conn:
            report = await (app_module.rebuild(conn, nc.jetstream(), keyring) if keyring is not None
                            else app_module.rebuild(conn, nc.jetstream()))
            return dict(report.as_dict())
    finally:
        await nc.close()
        await pool.close()


@app.command()
def rebuild(service: Annotated[str, typer.Argument(help="The service whose read models to rebuild.")]) -> None:
    """Drop a service's read models and rebuild them from the event history (docs/audit.md; `wanqing audit
    rebuild-digests` checks that a rebuild gives the same read models without changing them).
    """
    from backbone.rebuild import RebuildError  # noqa: PLC0415

    if service not in REBUILDABLE:
        fail(f"cannot rebuild {service!r}; rebuildable: {', '.join(REBUILDABLE)}")
    settings = Settings()
    try:
        print_json(run_async(_rebuild(service, settings)))
    except RebuildError as exc:
        fail(str(exc), 1)


@app.command("nats-accounts")
def nats_accounts() -> None:
    """Print the NATS accounts of this platform's principals (nkeys made under <data dir>/secrets/nats once), to
    include in a production server's configuration; `wanqing up` configures its embedded server itself.
    """
    from wanqing.catalog import nats_accounts  # noqa: PLC0415

    typer.echo(nats_accounts(Settings().data_dir.resolve())[1], nl=False)


@app.command()
def migrate() -> None:
    """Apply every service's migrations (`wanqing up` does this too)."""
    applied = run_async(migrate_all(database_url(Settings())))
    for name, names in applied.items():
        typer.echo(f"{name}: {', '.join(names) if names else 'up to date'}")


@bench_app.command("store", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_store(ctx: typer.Context) -> None:
    """Event store throughput on this machine (bench/store.py); extra arguments are passed through."""
    from bench import store  # noqa: PLC0415 - the benchmark and its imports load only when asked for

    sys.argv = ["wanqing bench store", *ctx.args]
    store.main()
    raise typer.Exit(0)


@bench_app.command("import", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_import(ctx: typer.Context) -> None:
    """Roster import throughput and memory (bench/importing.py): 10,000 rows by default (--rows N)."""
    from bench import importing  # noqa: PLC0415

    importing.main(ctx.args)


@bench_app.command("campaign", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_campaign(ctx: typer.Context) -> None:
    """Launching a district-wide 春节 campaign (bench/campaign.py): 50,000 retirees in 200 units by default."""
    from bench import campaign  # noqa: PLC0415

    campaign.main(ctx.args)


@bench_app.command("console", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench_console(ctx: typer.Context) -> None:
    """The staff console's 今日工作 and search pages under load (bench/console.py): 3,000 retirees, 50 sessions by
    default (--retirees, --units, --sessions, --rounds; --quick for a smoke run).
    """
    from bench import console  # noqa: PLC0415

    console.main(ctx.args)


@notify_app.command("preview")
def notify_preview(
    rule: Annotated[str, typer.Argument(help="A rule id of services/notify/rules/rules.json.")],
    event: Annotated[Path, typer.Option("--event", help="A JSON file: an event envelope, or its data alone.")],
    recipient_name: Annotated[str | None, typer.Option(help="The name to address the message to.")] = None,
    unit_name: Annotated[str | None, typer.Option(help="The unit's name (default: its code).")] = None,
) -> None:
    """Render the message RULE would send for an event, without sending it."""
    from services.notify.app import PreviewError, TemplateError, UnknownRuleError, preview  # noqa: PLC0415

    try:
        rendered = preview(rule, event, recipient_name=recipient_name, unit_name=unit_name)
    except (PreviewError, UnknownRuleError, TemplateError) as exc:
        fail(str(exc).strip("'\""))
    typer.echo(f"主题：{rendered.subject}\n\n{rendered.body}", nl=False)


import_app = typer.Typer(no_args_is_help=True, help="Bulk import of office spreadsheets.")
report_app = typer.Typer(no_args_is_help=True, help="Reports for the district office.")
app.add_typer(import_app, name="import")
app.add_typer(report_app, name="report")


@import_app.command("retirees")
def import_retirees(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The roster, .xlsx or .csv.")],
    unit: Annotated[str, typer.Option(help="The unit code the retirees belong to.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only check and preview; write nothing.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help="Write valid rows, report the rest.")] = False,
    actor: ActorOption = None,
) -> None:
    """Check a roster (every problem with its row number), then import it; re-importing changes nothing."""
    from contracts.base import local_date  # noqa: PLC0415
    from wanqing.importer import import_roster, nothing_to_import, preview_lines  # noqa: PLC0415
    from wanqing.roster import UnreadableRosterError  # noqa: PLC0415

    settings = Settings()
    try:
        subjects.check_token(unit, "unit")
    except ValueError as exc:
        fail(str(exc))
    who = actor_option(actor)
    target = None if dry_run else (lambda: platform_access(settings))
    try:
        outcome = run_async(import_roster(file, unit=unit, access=target, actor=who,
                                          today=local_date(datetime.now(UTC)), dry_run=dry_run,
                                          skip_invalid=skip_invalid,
                                          progress=lambda n: typer.echo(f"已提交 {n} 行……", err=True)))
    except UnreadableRosterError as exc:
        fail(f"{exc.reason_zh}（{exc}）")
    for line in preview_lines(outcome.roster, file):
        typer.echo(line)
    if outcome.refused:
        refusal = outcome.refused[0]
        typer.echo(f"导入被拒绝：{refusal.get('message')}")
        for p in refusal.get("details", {}).get("problems", [])[:50]:
            typer.echo(f"  第 {p['row']} 行：{p['problem']}")
        raise typer.Exit(1)
    # a file not understood (no header, a column missing, no valid row) imports nothing: that is a failure
    reason = nothing_to_import(outcome.roster)
    if dry_run:
        typer.echo("预检完成（--dry-run），未写入任何数据。")
        if reason:
            typer.echo(f"该文件无法导入：{reason}。")
        raise typer.Exit(1 if outcome.roster.problems or reason else 0)
    if reason:
        typer.echo(f"未导入任何数据：{reason}。")
        raise typer.Exit(1)
    if outcome.roster.problems and not skip_invalid:
        typer.echo("存在问题，未写入任何数据。请修改后重新导入，或使用 --skip-invalid 只导入有效行。")
        raise typer.Exit(1)
    typer.echo(f"导入完成：新增 {outcome.imported} 人，已在档案中跳过 {outcome.skipped_existing} 人。")


@report_app.command("units")
def report_units(
    period: Annotated[str, typer.Option(help="2027, 2027Q1, 2027H1 or 2027-03.")],
    xlsx: Annotated[Path | None, typer.Option(help="Also write the report to this .xlsx file.")] = None,
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    actor: ActorOption = None,
) -> None:
    """The work-quality scores of every unit for a period, in Chinese; optionally as an Excel file."""
    from wanqing.report import table_lines, write_xlsx  # noqa: PLC0415

    settings = Settings()
    body = {"period": period, **({"unit": unit} if unit else {})}
    reply = run_async(messages.request(platform_access(settings), subjects.query("care", "GetUnitScores"), body, 30,
                                       actor_option(actor)))
    if not reply.get("ok"):
        fail(f"{reply.get('code')}: {reply.get('message')}", 1)
    for line in table_lines(reply["data"]):
        typer.echo(line)
    if xlsx is not None:
        typer.echo(f"已写入 {write_xlsx(reply['data'], xlsx)}")



@app.command()
def demo(  # noqa: PLR0913 - the demo's knobs
    units: Annotated[int, typer.Option(min=1, help="Units of the generated district.")] = 30,
    retirees: Annotated[int, typer.Option(min=0, help="Retirees of the generated district.")] = 3000,
    days: Annotated[int, typer.Option(min=10, help="Days to simulate from --start.")] = 92,
    seed: Annotated[int, typer.Option(help="The same seed gives the same district and the same quarter.")] = 2027,
    start: Annotated[str, typer.Option(help="First simulated day (the quarter reported on).")] = "2027-10-01",
    data_dir: Annotated[Path, typer.Option(help="The demo's own data, wiped at start.")] = Path(".wanqing-demo"),
) -> None:
    """Start the platform on its own data, load a demo district and live through a quarter; print the report."""
    from datetime import date  # noqa: PLC0415

    from wanqing.demo.run import DemoOptions, run_demo  # noqa: PLC0415 - the demo loads only when asked for

    try:
        first = date.fromisoformat(start)
    except ValueError:
        fail(f"--start {start!r} is not a date (YYYY-MM-DD)")
    opts = DemoOptions(data_dir=data_dir, units=units, retirees=retirees, days=days, seed=seed, start=first,
                       district=Settings().district)
    try:
        code = run_demo(opts, say=typer.echo)
    except RuntimeError as exc:
        fail(str(exc), 1)
    raise typer.Exit(code)


def main() -> None:
    app()
