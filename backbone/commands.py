"""Command and query handling (§6): request/reply, typed replies, stable error codes, idempotent by command_id."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from backbone import metrics
from backbone.clock import Clock
from backbone.credentials import CredentialError, TrustBundle
from backbone.db import Connection, quote_ident
from backbone.recording import CommandContext, Recorder
from backbone.requests import fingerprint, parse_body, refusal
from backbone.store import ConcurrencyConflict, Metadata
from contracts.base import Accepted, Actor, Answer, Command, Query, Refused, Role
from contracts.errors import DomainError, ErrorCode

log = structlog.get_logger()

MAX_CONFLICT_RETRIES = 5


CommandHandler = Callable[[CommandContext, Any], Awaitable[Accepted]]
QueryHandler = Callable[[Connection, Any, datetime], Awaitable[Any]]


RETIREES_ONLY_OWN_ZH = "退休人员本人只能查看和办理与本人有关的事项"
UNAVAILABLE_ZH = "系统暂时无法处理该请求，未作任何记录，请稍后再试；如多次出现，请记下时间并报告。"


def domain_refusal(exc: DomainError) -> Refused:
    return refusal(exc.code, exc.zh, exc.message, **exc.details)


class CommandRouter:
    """Routes `wanqing.cmd.<service>.<Name>` requests to handlers and records each reply by command id."""

    def __init__(  # noqa: PLR0913 - what a router routes with
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        recorder: Recorder,
        clock: Clock,
        trust: TrustBundle,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self._pool = pool
        self._recorder = recorder
        self._clock = clock
        self._trust = trust
        self._on_commit = on_commit
        self._commands: dict[str, tuple[type[Command], CommandHandler]] = {}
        self._queries: dict[str, tuple[type[Query], QueryHandler]] = {}
        # What a retiree on their own pages may ask at all (each handler then checks it is about them): closed
        # by default, so a handler written for staff is never reached by a retiree's credential.
        self._for_retirees: set[str] = set()
        self._t = f"{quote_ident(recorder.store.schema)}.commands"

    def command(self, model: type[Command], handler: CommandHandler, *, for_retirees: bool = False) -> None:
        self._commands[model.__name__] = (model, handler)
        if for_retirees:
            self._for_retirees.add(model.__name__)

    def query(self, model: type[Query], handler: QueryHandler, *, for_retirees: bool = False) -> None:
        self._queries[model.__name__] = (model, handler)
        if for_retirees:
            self._for_retirees.add(model.__name__)

    def _closed_to(self, actor: Actor, name: str) -> Refused | None:
        if actor.role is Role.RETIREE and name not in self._for_retirees:
            return refusal(ErrorCode.FORBIDDEN, RETIREES_ONLY_OWN_ZH, f"{name} of {self.service} is not open to "
                           "retirees")
        return None

    @property
    def command_names(self) -> list[str]:
        return sorted(self._commands)

    @property
    def query_names(self) -> list[str]:
        return sorted(self._queries)

    def _actor(self, credential: str | None) -> Actor | Refused:
        """Who acts, from the verified credential alone (ARCHITECTURE §15)."""
        try:
            return self._trust.verify(credential)
        except CredentialError as exc:
            return refusal(ErrorCode.FORBIDDEN, exc.zh, str(exc))

    async def _log_refusal(self, kind: str, name: str, actor: Actor | None, reply: Refused) -> None:
        """A security event: who was turned away from what, and why (audited with the read-access log)."""
        if reply.code is not ErrorCode.FORBIDDEN:
            return
        try:
            await self._pool.execute(
                f"INSERT INTO {quote_ident(self._recorder.store.schema)}.security_log "
                "(kind, name, principal, role, unit, reason) VALUES ($1, $2, $3, $4, $5, $6)",
                kind, name, actor.user if actor else None, actor.role.value if actor else None,
                actor.unit if actor else None, reply.developer_message[:500])
        except (OSError, asyncpg.PostgresError):
            log.exception("security_log_failed", name=name)
        log.warning("request_refused", kind=kind, name=name, principal=actor.user if actor else None,
                    reason=reply.developer_message)

    async def handle_command(self, name: str, body: bytes, credential: str | None = None) -> Accepted | Refused:
        started = time.perf_counter()
        actor = self._actor(credential)
        try:
            if name not in self._commands:
                reply: Accepted | Refused = refusal(ErrorCode.VALIDATION, f"没有这项操作：{name}",
                                                    f"unknown command {name!r} for {self.service}",
                                                    known=self.command_names)
            elif isinstance(actor, Refused):
                reply = actor
            elif (closed := self._closed_to(actor, name)) is not None:
                reply = closed
            else:
                reply = await self._handle_command(name, body, actor)
        except Exception:
            log.exception("command_failed", command=name)
            reply = refusal(ErrorCode.UNAVAILABLE, UNAVAILABLE_ZH, f"{self.service} could not handle {name} just now; "
                            "nothing was recorded. Try again; if it persists, report it with the time.")
        outcome = "accepted" if isinstance(reply, Accepted) else reply.code.value
        if isinstance(reply, Refused):
            log.debug("command_refused", command=name, code=outcome, reason=reply.developer_message)
            await self._log_refusal("command", name, None if isinstance(actor, Refused) else actor, reply)
        # The label is a known command or one shared value: a caller's made-up names never grow /metrics.
        label = name if name in self._commands else "(unknown)"
        metrics.COMMANDS.labels(self.service, label, outcome).inc()
        metrics.COMMAND_SECONDS.labels(self.service, label).observe(time.perf_counter() - started)
        return reply

    async def _handle_command(self, name: str, body: bytes, actor: Actor) -> Accepted | Refused:
        model, handler = self._commands[name]
        parsed = parse_body(model, body, actor)
        if isinstance(parsed, Refused):
            return parsed
        assert isinstance(parsed, Command)
        structlog.contextvars.bind_contextvars(
            command=name, command_id=str(parsed.command_id),
            correlation_id=str(parsed.correlation_id or parsed.command_id),
        )
        request = fingerprint(name, parsed)
        previous = await self._stored_reply(parsed.command_id, name, request)
        if previous is not None:
            return previous
        for attempt in range(1, MAX_CONFLICT_RETRIES + 1):
            try:
                return await self._run_once(name, parsed, handler, request)
            except ConcurrencyConflict as exc:
                log.info("command_conflict_retry", command=name, attempt=attempt, reason=exc.reason)
            except DomainError as exc:
                reply = domain_refusal(exc)
                await self._remember(parsed.command_id, name, reply, request)
                return reply
            except asyncpg.UniqueViolationError as exc:
                if exc.table_name == "commands":  # the same command id was handled concurrently
                    stored = await self._stored_reply(parsed.command_id, name, request)
                    if stored is not None:
                        return stored
                raise
        return refusal(ErrorCode.CONFLICT, "办理期间记录一直在变化，请重新提交",
                       "the record kept changing while this command ran; send it again")

    async def _run_once(self, name: str, command: Command, handler: CommandHandler, request: bytes) -> Accepted:
        now = await self._clock.now()
        meta = Metadata(
            actor=command.actor,
            correlation_id=command.correlation_id or command.command_id,
            causation_id=command.command_id,
        )
        async with self._pool.acquire() as conn, conn.transaction():
            ctx = self._recorder.context(conn, now, meta)
            reply = await handler(ctx, command)
            await conn.execute(
                f"INSERT INTO {self._t} (command_id, name, reply, request_hash) VALUES ($1, $2, $3, $4)",
                command.command_id, name, reply.model_dump(mode="json"), request,
            )
        if self._on_commit:
            self._on_commit()
        log.debug("command_accepted", command=name, command_id=str(command.command_id),
                 correlation_id=str(meta.correlation_id), event_ids=[str(e) for e in reply.event_ids])
        return reply

    async def _stored_reply(self, command_id: uuid.UUID, name: str, request: bytes) -> Accepted | Refused | None:
        """The reply of an identical earlier request; a refusal if the id was used for another request."""
        row = await self._pool.fetchrow(f"SELECT name, reply, request_hash FROM {self._t} WHERE command_id = $1",
                                        command_id)
        if row is None:
            return None
        stored = row["request_hash"]
        if row["name"] != name or (stored is not None and bytes(stored) != request):
            # Not stored: the first request keeps its id and its reply.
            return refusal(ErrorCode.CONFLICT, f"该操作编号（command_id）已用于另一项请求（{row['name']}），"
                           "请为新请求使用新的编号", f"command_id {command_id} was already used for another "
                           f"request ({row['name']}); send a new command_id for a new request",
                           first_command=row["name"])
        raw = row["reply"]
        return Refused.model_validate(raw) if raw.get("ok") is False else Accepted.model_validate(raw)

    async def _remember(self, command_id: uuid.UUID, name: str, reply: Refused, request: bytes) -> None:
        await self._pool.execute(
            f"INSERT INTO {self._t} (command_id, name, reply, request_hash) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT DO NOTHING", command_id, name, reply.model_dump(mode="json"), request,
        )

    async def handle_query(self, name: str, body: bytes, credential: str | None = None) -> Answer | Refused:
        entry = self._queries.get(name)
        if entry is None:
            return refusal(ErrorCode.VALIDATION, f"没有这项查询：{name}", f"unknown query {name!r} for {self.service}",
                           known=self.query_names)
        actor = self._actor(credential)
        if isinstance(actor, Refused):
            await self._log_refusal("query", name, None, actor)
            return actor
        closed = self._closed_to(actor, name)
        if closed is not None:
            await self._log_refusal("query", name, actor, closed)
            return closed
        model, handler = entry
        parsed = parse_body(model, body, actor)
        if isinstance(parsed, Refused):
            return parsed
        reply = await self._answer(name, handler, parsed)
        if isinstance(reply, Refused):
            await self._log_refusal("query", name, actor, reply)
        return reply

    async def _answer(self, name: str, handler: QueryHandler, parsed: Any) -> Answer | Refused:
        now = await self._clock.now()
        try:
            async with self._pool.acquire() as conn:
                data = await handler(conn, parsed, now)
        except DomainError as exc:
            return domain_refusal(exc)
        except Exception:
            log.exception("query_failed", query=name)
            return refusal(ErrorCode.UNAVAILABLE, "系统暂时无法回答该查询，请稍后再试",
                           f"{self.service} could not answer {name} just now")
        return Answer(data=data)
