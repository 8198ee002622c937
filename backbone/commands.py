"""Command and query handling (§6): request/reply, typed replies, stable error codes, idempotent by command_id."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
import structlog
from pydantic import BaseModel, ValidationError

from backbone import metrics
from backbone.clock import Clock
from backbone.db import Connection, quote_ident
from backbone.recording import CommandContext, Recorder
from backbone.store import ConcurrencyConflict, Metadata
from contracts.base import Accepted, Answer, Command, Query, Refused
from contracts.errors import DomainError, ErrorCode

log = structlog.get_logger()

MAX_CONFLICT_RETRIES = 5


CommandHandler = Callable[[CommandContext, Any], Awaitable[Accepted]]
QueryHandler = Callable[[Connection, Any, datetime], Awaitable[Any]]


def refused(code: ErrorCode, message: str, **details: Any) -> Refused:
    return Refused(code=code, message=message, details=details)


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "problem": e["msg"], "kind": e["type"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _describe(errors: list[dict[str, Any]]) -> str:
    return "; ".join(f"{e['field'] or '(body)'}: {e['problem']}" for e in errors)


def parse_body(model: type[BaseModel], body: bytes) -> BaseModel | Refused:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return refused(ErrorCode.VALIDATION, f"malformed JSON: {exc}")
    if not isinstance(payload, dict):
        return refused(ErrorCode.VALIDATION, "the body must be a JSON object")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        errors = _validation_details(exc)
        return refused(ErrorCode.VALIDATION, f"invalid {model.__name__}: {_describe(errors)}", errors=errors)


class CommandRouter:
    """Routes `wanqing.cmd.<service>.<Name>` requests to handlers and records each reply by command id."""

    def __init__(
        self,
        *,
        service: str,
        pool: asyncpg.Pool,
        recorder: Recorder,
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self._pool = pool
        self._recorder = recorder
        self._clock = clock
        self._on_commit = on_commit
        self._commands: dict[str, tuple[type[Command], CommandHandler]] = {}
        self._queries: dict[str, tuple[type[Query], QueryHandler]] = {}
        self._t = f"{quote_ident(recorder.store.schema)}.commands"

    def command(self, model: type[Command], handler: CommandHandler) -> None:
        self._commands[model.__name__] = (model, handler)

    def query(self, model: type[Query], handler: QueryHandler) -> None:
        self._queries[model.__name__] = (model, handler)

    @property
    def command_names(self) -> list[str]:
        return sorted(self._commands)

    @property
    def query_names(self) -> list[str]:
        return sorted(self._queries)

    async def handle_command(self, name: str, body: bytes) -> Accepted | Refused:
        started = time.perf_counter()
        try:
            reply = await self._handle_command(name, body)
        except Exception:
            log.exception("command_failed", command=name)
            reply = refused(ErrorCode.UNAVAILABLE, f"{self.service} could not handle {name} just now; nothing was "
                            "recorded. Try again; if it persists, report it with the time.")
        outcome = "accepted" if isinstance(reply, Accepted) else reply.code.value
        metrics.COMMANDS.labels(self.service, name, outcome).inc()
        metrics.COMMAND_SECONDS.labels(self.service, name).observe(time.perf_counter() - started)
        return reply

    async def _handle_command(self, name: str, body: bytes) -> Accepted | Refused:  # noqa: PLR0911 - one exit per outcome
        entry = self._commands.get(name)
        if entry is None:
            return refused(ErrorCode.VALIDATION, f"unknown command {name!r} for {self.service}",
                           known=self.command_names)
        model, handler = entry
        parsed = parse_body(model, body)
        if isinstance(parsed, Refused):
            return parsed
        assert isinstance(parsed, Command)
        structlog.contextvars.bind_contextvars(
            command=name, command_id=str(parsed.command_id),
            correlation_id=str(parsed.correlation_id or parsed.command_id),
        )
        previous = await self._stored_reply(parsed.command_id)
        if previous is not None:
            return previous
        for attempt in range(1, MAX_CONFLICT_RETRIES + 1):
            try:
                return await self._run_once(name, parsed, handler)
            except ConcurrencyConflict as exc:
                log.info("command_conflict_retry", command=name, attempt=attempt, reason=exc.reason)
            except DomainError as exc:
                reply = refused(exc.code, exc.message, **exc.details)
                await self._remember(parsed.command_id, name, reply)
                return reply
            except asyncpg.UniqueViolationError as exc:
                if exc.table_name == "commands":  # the same command id was handled concurrently
                    stored = await self._stored_reply(parsed.command_id)
                    if stored is not None:
                        return stored
                raise
        return refused(ErrorCode.CONFLICT, "the record kept changing while this command ran; send it again")

    async def _run_once(self, name: str, command: Command, handler: CommandHandler) -> Accepted:
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
                f"INSERT INTO {self._t} (command_id, name, reply) VALUES ($1, $2, $3)",
                command.command_id, name, reply.model_dump(mode="json"),
            )
        if self._on_commit:
            self._on_commit()
        log.info("command_accepted", command=name, command_id=str(command.command_id),
                 correlation_id=str(meta.correlation_id), event_ids=[str(e) for e in reply.event_ids])
        return reply

    async def _stored_reply(self, command_id: uuid.UUID) -> Accepted | Refused | None:
        raw = await self._pool.fetchval(f"SELECT reply FROM {self._t} WHERE command_id = $1", command_id)
        if raw is None:
            return None
        return Refused.model_validate(raw) if raw.get("ok") is False else Accepted.model_validate(raw)

    async def _remember(self, command_id: uuid.UUID, name: str, reply: Refused) -> None:
        await self._pool.execute(
            f"INSERT INTO {self._t} (command_id, name, reply) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            command_id, name, reply.model_dump(mode="json"),
        )

    async def handle_query(self, name: str, body: bytes) -> Answer | Refused:
        entry = self._queries.get(name)
        if entry is None:
            return refused(ErrorCode.VALIDATION, f"unknown query {name!r} for {self.service}", known=self.query_names)
        model, handler = entry
        parsed = parse_body(model, body)
        if isinstance(parsed, Refused):
            return parsed
        now = await self._clock.now()
        try:
            async with self._pool.acquire() as conn:
                data = await handler(conn, parsed, now)
        except DomainError as exc:
            return refused(exc.code, exc.message, **exc.details)
        except Exception:
            log.exception("query_failed", query=name)
            return refused(ErrorCode.UNAVAILABLE, f"{self.service} could not answer {name} just now")
        return Answer(data=data)
