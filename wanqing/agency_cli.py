"""`wanqing agency`: the outside agencies' feeds (docs/agencies.md) for the operator, and their reference client.

`add`, `disable` and `rotate-credentials` change which agencies the platform serves and with which NATS key:
the enabled list (`<data dir>/agencies/enabled.json`, read by the feed and by every checkpointer) and the agency's
nkey (`<data dir>/secrets/nats/agency-<id>.nk`, owner-only: hand it to the agency). A running `wanqing up` is told
at once (SIGHUP): its NATS server reloads the accounts and closes a disabled or re-keyed agency's connection.
Against a server of your own, `wanqing nats-accounts` prints the new accounts; reload that server.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Annotated

import nats.errors
import typer

from backbone.agencies import EnabledAgencies, write_enabled
from backbone.master_keys import shred
from backbone.settings import Settings
from contracts import subjects
from contracts.feed import AgencyBook, AgencyPolicy
from services.feed.app import load_book
from wanqing import messages, nats_auth
from wanqing.agency_client import run_tail
from wanqing.state import running_state

app = typer.Typer(no_args_is_help=True, help="Outside agencies' feeds: enable, disable, re-key, status, tail.")

AgencyArg = Annotated[str, typer.Argument(help="The agency's id or short name (hrss or 人社局).")]


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


def _agency(book: AgencyBook, name: str) -> AgencyPolicy:
    try:
        return book.find(name)
    except LookupError as exc:
        _fail(str(exc))
        raise


def seed_file(data_dir: Path, agency: str) -> Path:
    return nats_auth.nkeys_folder(data_dir) / f"{nats_auth.agency_name(agency)}.nk"


def _tell_platform(data_dir: Path, what: str) -> None:
    state = running_state(data_dir)
    if state is None:
        typer.echo(f"{what}; the platform is not running here: it takes effect at the next `wanqing up`.")
        return
    os.kill(state.pid, signal.SIGHUP)
    typer.echo(f"{what}; the running platform reloads its NATS accounts now."
               + ("" if state.embedded else " Its NATS is your own: run `wanqing nats-accounts` and reload it."))


def enable(data_dir: Path, agency: str) -> Path:
    """The agency enabled, its nkey made once (kept if it exists): the seed file to hand over."""
    nats_auth.ensure_nkeys(nats_auth.nkeys_folder(data_dir), [nats_auth.agency_name(agency)])
    write_enabled(data_dir, {*EnabledAgencies(data_dir)(), agency})
    return seed_file(data_dir, agency)


def disable(data_dir: Path, agency: str) -> bool:
    enabled = EnabledAgencies(data_dir)()
    if agency not in enabled:
        return False
    write_enabled(data_dir, enabled - {agency})
    return True


def rotate(data_dir: Path, agency: str) -> Path:
    """A new nkey for the agency; the old seed is overwritten and deleted, so the old key is gone for good."""
    old = seed_file(data_dir, agency)
    if old.exists():
        shred(old)
    nats_auth.ensure_nkeys(nats_auth.nkeys_folder(data_dir), [nats_auth.agency_name(agency)])
    return old


@app.command("list")
def list_agencies() -> None:
    """The agencies of deploy/agencies.json, whether each is enabled, and what it receives."""
    settings = Settings()
    enabled = EnabledAgencies(settings.data_dir.resolve())()
    for agency in load_book().agencies:
        mark = "已启用" if agency.id in enabled else "未启用"
        typer.echo(f"{agency.id:18} {agency.short:8} {mark}  {', '.join(agency.events)}")


@app.command()
def add(agency: AgencyArg) -> None:
    """Enable an agency: its own NATS account and key, its own stream, its feed from the next event on."""
    settings = Settings()
    policy = _agency(load_book(), agency)
    seed = enable(settings.data_dir.resolve(), policy.id)
    typer.echo(f"{policy.short}（{policy.name}）已启用。NATS 凭据：{seed}（请安全交付该单位，勿外传）")
    _tell_platform(settings.data_dir.resolve(), f"{policy.id} enabled")


@app.command("disable")
def disable_command(agency: AgencyArg) -> None:
    """Disable an agency: nothing more is queued for it, and its connection is refused from the reload on."""
    settings = Settings()
    policy = _agency(load_book(), agency)
    if not disable(settings.data_dir.resolve(), policy.id):
        _fail(f"{policy.id} is not enabled")
    typer.echo(f"{policy.short} 已停用。")
    _tell_platform(settings.data_dir.resolve(), f"{policy.id} disabled")


@app.command("rotate-credentials")
def rotate_credentials(agency: AgencyArg) -> None:
    """A new NATS key for the agency; the old one stops working at the reload."""
    settings = Settings()
    policy = _agency(load_book(), agency)
    rotate(settings.data_dir.resolve(), policy.id)
    typer.echo(f"{policy.short} 的新凭据：{seed_file(settings.data_dir.resolve(), policy.id)}（旧凭据已销毁）")
    _tell_platform(settings.data_dir.resolve(), f"{policy.id} re-keyed")


@app.command()
def status() -> None:
    """Per agency: enabled, messages waiting to be handed over, handed over, and its client's acknowledgements."""
    from wanqing.cli import platform_access  # noqa: PLC0415 - the CLI's one way to reach the platform

    reply = asyncio.run(messages.request(platform_access(Settings()), subjects.query("feed", "GetFeedStatus"), {},
                                         10, None))
    if not reply.get("ok"):
        _fail(f"{reply.get('code')}: {reply.get('message')}")
    for row in reply["data"]:
        client = row["client"]
        acked = (f"客户端已确认至第 {client['acknowledged_up_to']} 条，未确认 {client['unacknowledged']} 条"
                 if client else "客户端尚未连接")
        typer.echo(f"{row['agency']:18} {row['short']:8} {'已启用' if row['enabled'] else '未启用'}  "
                   f"待交付 {row['waiting']}  已交付 {row['handed_over']}  {acked}")


@app.command()
def tail(  # noqa: PLR0913 - the reference client's options
    agency: Annotated[str, typer.Option("--agency", help="The agency's id or short name.")],
    nkey: Annotated[Path | None, typer.Option(help="The agency's nkey seed (default: this platform's copy).")] = None,
    nats_url: Annotated[str | None, typer.Option("--nats-url", help="Default: the running platform's.")] = None,
    durable: Annotated[str, typer.Option(help="The agency's durable consumer.")] = "feed-client",
    limit: Annotated[int | None, typer.Option(help="Stop after this many messages.")] = None,
    idle_stop: Annotated[float | None, typer.Option(help="Stop after this many seconds without a message.")] = None,
) -> None:
    """The reference client: read the agency's own feed in order, acknowledging each message once printed."""
    settings = Settings()
    data_dir = settings.data_dir.resolve()
    policy = _agency(load_book(), agency)
    seed = nkey or seed_file(data_dir, policy.id)
    if not seed.exists():
        _fail(f"no NATS key for {policy.id} at {seed}: `wanqing agency add {policy.id}` makes one")
    running = running_state(data_dir)
    url = nats_url or (running.nats_url if running is not None else settings.nats_url)
    if not url:
        _fail("where is NATS? give --nats-url, or run `wanqing up` here")
    try:
        count = asyncio.run(run_tail(url, str(seed), policy.id, policy.short, durable=durable, limit=limit,
                                     idle_stop_s=idle_stop, out=typer.echo))
    except (OSError, nats.errors.Error) as exc:
        _fail(f"cannot read {policy.id}'s feed: {exc}")
        raise
    typer.echo(f"{policy.short}：本次处理并确认 {count} 条")
