"""Create or update the JetStream streams from the one definition in deploy/streams.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

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
