"""What `wanqing send` and `wanqing query` put on the bus: the body with its defaults, and the request itself."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client
from nats.errors import NoRespondersError, NoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from pydantic import ValidationError

from contracts import registry
from contracts.base import Actor
from wanqing.access import Access


class BadInputError(ValueError):
    """The user's JSON or names cannot make a message."""


class NoAnswerError(RuntimeError):
    """The platform or the service did not answer."""


def parse_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{what} is not valid JSON: {exc}"
        raise BadInputError(msg) from exc
    if not isinstance(value, dict):
        msg = f"{what} must be a JSON object, got {type(value).__name__}"
        raise BadInputError(msg)
    return value


def check_service(service: str) -> str:
    if service not in registry.SERVICES:
        msg = f"unknown service {service!r}; known services: {', '.join(registry.SERVICES)}"
        raise BadInputError(msg)
    return service


def no_actor(body: dict[str, Any]) -> dict[str, Any]:
    """Who acts is proven by the credential, never written in the body (the services refuse one that is)."""
    if "actor" in body:
        msg = "the body may not name an actor: you act as who you logged in as (the operator: --actor-json)"
        raise BadInputError(msg)
    return body


def command_body(body: dict[str, Any], new_id: Callable[[], uuid.UUID] = uuid.uuid4) -> dict[str, Any]:
    """Fill in `command_id` where the body has none; what the body says wins."""
    out = dict(no_actor(body))
    out.setdefault("command_id", str(new_id()))
    return out


def actor_of(text: str) -> Actor:
    """The actor of --actor-json."""
    try:
        return Actor.model_validate(parse_object(text, "--actor-json"))
    except ValidationError as exc:
        msg = f"--actor-json is not an actor (user, role, unit): {exc.errors()[0]['msg']}"
        raise BadInputError(msg) from exc


async def _quiet(_exc: Exception) -> None:
    """nats-py prints a traceback for every failed attempt by default; the command reports the outcome itself."""


async def connect(nats_url: str, options: dict[str, Any] | None = None, *, keep_reconnecting: bool = False,
                  ) -> Client:
    """Fails within seconds when nothing listens (nats-py retries a first connect forever with attempts=0).
    `options`: the NATS user to connect as (access.nats_options).
    """
    try:
        nc = await nats.connect(nats_url, connect_timeout=3, max_reconnect_attempts=1, reconnect_time_wait=0.5,
                                error_cb=_quiet, **(options or {}))
    except (NoServersError, OSError, TimeoutError) as exc:
        msg = f"cannot reach NATS at {nats_url} (is `wanqing up` running?): {type(exc).__name__}"
        raise NoAnswerError(msg) from exc
    if keep_reconnecting:  # once connected, a tail should ride out a server restart
        nc.options["max_reconnect_attempts"] = -1
    return nc


async def request(access: Access, subject: str, body: dict[str, Any], wait_s: float, actor: Actor | None = None,
                  ) -> dict[str, Any]:
    """One request/reply with the credential of `access` (for `actor`, if the operator); the reply as JSON."""
    nc = await connect(access.nats_url, access.nats)
    try:
        headers = await access.credentials.headers(nc, actor)
        reply = await nc.request(subject, json.dumps(body, ensure_ascii=False).encode(), timeout=wait_s,
                                 headers=headers)
    except NoRespondersError as exc:
        msg = f"no service listens on {subject} (is it running?)"
        raise NoAnswerError(msg) from exc
    except NatsTimeoutError as exc:
        msg = f"no reply on {subject} within {wait_s}s"
        raise NoAnswerError(msg) from exc
    finally:
        await nc.close()
    decoded: dict[str, Any] = json.loads(reply.data)
    return decoded
