"""Create or update the JetStream streams from the one definition in deploy/streams.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from backbone.checkpoints import WITNESS_STREAM
from contracts import subjects
from contracts.feed import FEED_STREAM
from wanqing.embedded import DEPLOY

DEFINITION = DEPLOY / "streams.json"


def load_definitions(path: Path = DEFINITION) -> list[StreamConfig]:
    raw: dict[str, Any] = json.loads(path.read_text())
    return [
        StreamConfig(
            name=s["name"],
            subjects=s["subjects"],
            storage=StorageType(s["storage"]),
            retention=RetentionPolicy(s["retention"]),
            discard=DiscardPolicy(s["discard"]),
            max_age=float(s["max_age_s"]),
            duplicate_window=float(s["duplicate_window_s"]),
            num_replicas=int(s["num_replicas"]),
            allow_atomic=bool(s.get("allow_atomic", False)),
        )
        for s in raw["streams"]
    ]


async def ensure_streams(js: JetStreamContext, path: Path = DEFINITION) -> list[str]:
    return [await ensure_stream(js, config) for config in load_definitions(path)]


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> str:
    """Create the stream, or bring an existing one to `config`; its name."""
    assert config.name is not None  # every definition names its stream
    try:
        await js.stream_info(config.name)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
    return config.name


def outside_stream(name: str, stream_subjects: list[str], path: Path = DEFINITION) -> StreamConfig:
    """A stream in an outside party's own account (deploy/streams.json "outside"): kept as sized there, never
    deleted or purged through the API (`deny_delete`, `deny_purge`: the stream refuses even its owner).
    """
    spec = json.loads(path.read_text())["outside"][name]
    return StreamConfig(
        name=name, subjects=stream_subjects, storage=StorageType(spec["storage"]), retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD, max_age=float(spec["max_age_s"]), duplicate_window=float(spec["duplicate_window_s"]),
        num_replicas=1, deny_delete=True, deny_purge=True)


def witness_stream(witness: str) -> StreamConfig:
    """The auditor's WITNESS: every checkpoint handed to it, kept for good."""
    return outside_stream(WITNESS_STREAM, [subjects.witness_of(witness)])


def agency_stream(agency: str) -> StreamConfig:
    """An agency's FEED: its feed and the checkpoints it witnesses (docs/agencies.md)."""
    return outside_stream(FEED_STREAM, [subjects.agency_feed_of(agency), subjects.witness_of(agency)])


async def ensure_outside_stream(js: JetStreamContext, config: StreamConfig) -> str:
    """As the outside party (connected to its own account): its stream, as defined here."""
    return await ensure_stream(js, config)


async def ensure_witness_stream(js: JetStreamContext, witness: str) -> str:
    return await ensure_outside_stream(js, witness_stream(witness))
