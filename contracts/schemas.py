"""JSON Schema export of every event, command and query (`wanqing contracts export DIR`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel

from contracts.base import Envelope
from contracts.registry import COMMANDS, EVENTS, QUERIES


def export(target: Path) -> list[Path]:
    written: list[Path] = []
    groups: dict[str, Mapping[str, Mapping[str, type[BaseModel]]]] = {
        "events": EVENTS, "commands": COMMANDS, "queries": QUERIES}
    for kind, per_service in groups.items():
        for service, models in per_service.items():
            for name, model in models.items():
                path = target / service / kind / f"{name}.schema.json"
                path.parent.mkdir(parents=True, exist_ok=True)
                schema = model.model_json_schema(mode="validation")
                schema["$id"] = f"urn:wanqing:{service}:{kind}:{name}"
                path.write_text(json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "utf-8")
                written.append(path)
    env = target / "Envelope.schema.json"
    env.write_text(json.dumps(Envelope.model_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                   "utf-8")
    written.append(env)
    return written
