"""`wanqing notify preview RULE --event FILE`: render one rule's template for an event, without sending."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from services.notify.rules import load_rules
from services.notify.settings import NotifySettings
from services.notify.templates import Rendered, Templates, message_context


class PreviewError(ValueError):
    """The event file is unreadable, or is not an event the rule applies to."""


def read_event(path: Path) -> dict[str, Any]:
    """An envelope ({"type", "data", ...}) as stored or tailed; a bare object is taken as the data alone."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PreviewError(f"cannot read the event file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise PreviewError(f"{path} must hold a JSON object")
    if isinstance(raw.get("data"), dict):
        return raw
    return {"type": raw.get("type"), "unit": raw.get("unit"), "data": raw}


def preview(rule_id: str, event_file: Path, *, recipient_name: str | None = None,
            unit_name: str | None = None) -> Rendered:
    rule = load_rules().get(rule_id)
    cause = read_event(event_file)
    if cause.get("type") not in (None, rule.event):
        raise PreviewError(f"rule {rule_id} is for {rule.event} events, the file holds a {cause['type']}")
    templates = Templates(NotifySettings().tz)
    context = message_context(cause, recipient_name=recipient_name, unit_name=unit_name)
    return templates.render(rule.template, context)
