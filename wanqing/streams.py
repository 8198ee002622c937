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
    names = []
    for config in load_definitions(path):
        assert config.name is not None  # load_definitions names every stream
        try:
            await js.stream_info(config.name)
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)
        names.append(config.name)
    return names


def witness_stream(witness: str) -> StreamConfig:
    """A witness's own stream (in its own account): every checkpoint handed to it, kept for good, never deleted
    or purged through the API (`deny_delete`, `deny_purge`: the stream refuses even its owner).
    """
    return StreamConfig(
        name=WITNESS_STREAM, subjects=[subjects.witness_of(witness)], storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS, discard=DiscardPolicy.OLD, max_age=0, duplicate_window=3600.0,
        num_replicas=1, deny_delete=True, deny_purge=True)


async def ensure_witness_stream(js: JetStreamContext, witness: str) -> str:
    """As the witness (its own account): create its stream, or bring it to `witness_stream`."""
    config = witness_stream(witness)
    try:
        await js.stream_info(WITNESS_STREAM)
    except NotFoundError:
        await js.add_stream(config)
    else:
        await js.update_stream(config)
    return WITNESS_STREAM
