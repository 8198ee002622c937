"""`wanqing audit export`, `wanqing audit checkpoints` and `wanqing audit verify` (docs/audit.md).

Thin: the logic is in wanqing/audit/bundle.py (files, the database, the bus) and wanqing/audit/verify.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import nats
import nats.errors
import typer

from backbone.settings import Settings
from contracts import subjects
from contracts.registry import SERVICES
from wanqing import access, state
from wanqing.audit import app
from wanqing.audit.bundle import (
    BUNDLE_FORMAT,
    BundleError,
    checkpoints_doc,
    export_bundle,
    export_checkpoints,
    read_json,
    read_published_checkpoints,
    verify_bundle,
    verify_live,
    write_json,
)
from wanqing.audit.verify import Report

T = TypeVar("T")

ServiceOption = Annotated[str, typer.Option("--service", help="The service whose history: " + ", ".join(SERVICES))]
TrustOption = Annotated[Path | None, typer.Option(
    "--trust", help="The public keys (trust.json) to believe; default: the platform's, or the file's own.")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"wanqing audit: {message}", err=True)
    raise typer.Exit(code)


def _service(name: str) -> str:
    if name not in SERVICES:
        _fail(f"unknown service {name!r}; the platform runs: {', '.join(SERVICES)}")
    return name


def _trust(path: Path | None, settings: Settings) -> dict[str, Any]:
    chosen = path or settings.trust_file or settings.data_dir / "secrets" / "trust.json"
    try:
        doc: dict[str, Any] = json.loads(chosen.read_text(encoding="utf-8"))
    except OSError as exc:
        _fail(f"cannot read the public keys {chosen}: {exc}")
        raise
    return doc


def _on_database(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    settings = Settings()

    async def go() -> T:
        conn = await asyncpg.connect(state.database_url(settings))
        try:
            return await work(conn)
        finally:
            await conn.close()

    try:
        return asyncio.run(go())
    except state.PlatformNotFoundError as exc:
        _fail(str(exc))
        raise
    except (OSError, asyncpg.PostgresError) as exc:
        _fail(f"cannot reach the platform's database: {exc}")
        raise


@app.command("export")
def export(
    service: ServiceOption,
    out: Annotated[Path, typer.Option("--out", help="The bundle to write (.json, or .json.gz compressed).")],
    first: Annotated[int, typer.Option("--from", min=1, help="The first position of the range.")] = 1,
    last: Annotated[int | None, typer.Option("--to", min=1, help="The last position (default: the newest).")] = None,
    trust: TrustOption = None,
) -> None:
    """Write a self-contained bundle: the events of a range, the signed checkpoints and the public keys."""
    keys = _trust(trust, Settings())
    doc = _on_database(lambda conn: export_bundle(conn, _service(service), keys, first, last))
    write_json(out, doc)
    typer.echo(f"{service}: {len(doc['events'])} events (positions {doc['range']['events_from']}-"
               f"{last or 'newest'}), {len(doc['checkpoints'])} checkpoints -> {out}")


@app.command("checkpoints")
def checkpoints(
    service: ServiceOption,
    out: Annotated[Path, typer.Option("--out", help="Where to write the checkpoints file.")],
    trust: TrustOption = None,
    nats_url: Annotated[str | None, typer.Option(
        "--nats-url", help="Read them from the auditor's own stream WITNESS (connected as the auditor, to its own "
                           "account) instead of the database.")] = None,
    nkey: Annotated[Path | None, typer.Option("--nkey", help="The auditor's NATS nkey seed file.")] = None,
) -> None:
    """Write the service's signed checkpoints and the public keys: what an auditor takes home."""
    keys = _trust(trust, Settings())
    name = _service(service)
    if nats_url:
        async def from_bus() -> dict[str, Any]:
            options: dict[str, Any] = ({"nkeys_seed": str(nkey), "inbox_prefix": subjects.inbox_prefix("auditor")}
                                       if nkey else {})
            nc = await nats.connect(nats_url, connect_timeout=5, max_reconnect_attempts=3, **options)
            try:
                return checkpoints_doc(name, await read_published_checkpoints(nc, name, witness="auditor"), keys)
            finally:
                await nc.close()
        try:
            doc = asyncio.run(from_bus())
        except (OSError, nats.errors.Error) as exc:
            _fail(f"cannot read the checkpoints from NATS: {exc}")
            raise
    else:
        doc = _on_database(lambda conn: export_checkpoints(conn, name, keys))
    write_json(out, doc)
    last = doc["checkpoints"][-1]["body"] if doc["checkpoints"] else None
    typer.echo(f"{name}: {len(doc['checkpoints'])} checkpoints"
               + (f", the last at position {last['position']} ({last['count']} events)" if last else "")
               + f" -> {out}")


def _print(report: Report, as_json: bool) -> None:  # noqa: FBT001
    if as_json:
        typer.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(f"{report.service}: {report.events} events (positions {report.first_position}-{report.last_position}),"
               f" {report.checkpoints_used} signed checkpoints checked, covered to position {report.covered_to}"
               + "".join(f"; {name}: {n} entries" for name, n in report.log_entries.items())
               + (f"; {report.bus_messages} messages on the bus" if report.bus_messages is not None else ""))
    if report.ok:
        typer.echo("ok / 校验通过：历史与已签名的检查点一致")
        return
    first = report.first
    assert first is not None
    where = (f"position {first.position}" if first.position is not None else
             f"{first.log} entry {first.log_seq}" if first.log_seq is not None else "(no position)")
    typer.echo(f"FIRST MISMATCH / 首个不符之处: {where}: {first.code}")
    for f in report.sorted_findings:
        at = (f"position {f.position}" if f.position is not None else
              f"{f.log} #{f.log_seq}" if f.log_seq is not None else "-")
        stream = f" {f.stream_id}@{f.version}" if f.stream_id else ""
        typer.echo(f"  [{f.code}] {at}{stream}: {f.zh}\n      {f.en}\n      {f.detail}")


@app.command("verify")
def verify(  # noqa: PLR0913 - the options of one command
    bundle: Annotated[Path | None, typer.Argument(help="A bundle to verify offline, from itself alone.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Verify the live database instead of a bundle.")] = False,  # noqa: FBT002
    held: Annotated[Path | None, typer.Option(
        "--checkpoints", help="With --live: the checkpoints (or a bundle) the auditor kept.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="With --live: default, the file's service.")] = None,
    trust: TrustOption = None,
    bus: Annotated[bool, typer.Option(  # noqa: FBT002
        "--bus/--no-bus", help="With --live: compare with the events on the WANQING stream (as the operator).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="The report as JSON.")] = False,  # noqa: FBT002
) -> None:
    """Verify a history; report the first position that does not match. Exit 0 only when all is well."""
    try:
        if not live:
            if bundle is None:
                _fail("give a bundle, or --live --checkpoints FILE")
                return
            doc = read_json(bundle)
            keys = json.loads(trust.read_text(encoding="utf-8")) if trust else None
            report = verify_bundle(doc, keys)
        else:
            if held is None:
                _fail("--live needs --checkpoints FILE (checkpoints or a bundle you kept)")
                return
            doc = read_json(held)
            name = _service(service or str(doc["service"]))
            settings = Settings()
            keys = json.loads(trust.read_text(encoding="utf-8")) if trust else None
            report = _on_database(lambda conn: _live(conn, name, doc, keys, settings, bus=bus))
    except (BundleError, ValueError, KeyError, OSError) as exc:
        _fail(f"cannot read the file: {exc}")
        return
    _print(report, as_json)
    if doc.get("format") == BUNDLE_FORMAT and not live and not doc["checkpoints"]:
        typer.echo("note: the bundle holds no signed checkpoint; only its internal consistency was checked")
    raise typer.Exit(0 if report.ok else 1)


async def _live(  # noqa: PLR0913
    conn: asyncpg.Connection, name: str, doc: dict[str, Any], keys: dict[str, Any] | None,
                settings: Settings, *, bus: bool) -> Report:
    if not bus:
        return await verify_live(conn, name, doc, keys)
    nc = await nats.connect(state.nats_url(settings), connect_timeout=5, max_reconnect_attempts=3,
                            **access.nats_options(settings.data_dir, "ops"))
    try:
        return await verify_live(conn, name, doc, keys, nc)
    finally:
        await nc.close()
