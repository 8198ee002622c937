"""Chinese message templates (Jinja2, one file per rule and version): the first line is the subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from contracts.care import FESTIVAL_ZH, TASK_KIND_ZH, Festival, TaskKind

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


class TemplateError(ValueError):
    """A template is missing, or the event lacks a field the template needs."""


def _as_datetime(value: Any) -> datetime | date:
    if isinstance(value, (datetime, date)):
        return value
    text = str(value)
    try:
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    except ValueError as exc:
        raise TemplateError(f"not a date or time: {value!r}") from exc


class Templates:
    def __init__(self, tz: ZoneInfo, folder: Path = TEMPLATES_DIR) -> None:
        self._tz = tz
        # Plain text, not HTML: no autoescaping; StrictUndefined so a missing event field fails loudly.
        self._env = jinja2.Environment(  # noqa: S701 - text messages, never HTML
            loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False, trim_blocks=False,
        )
        self._env.filters.update(zh_date=self.zh_date, zh_datetime=self.zh_datetime,
                                 task_kind=_task_kind, festival=_festival)

    def zh_date(self, value: Any) -> str:
        moment = _as_datetime(value)
        day = moment.astimezone(self._tz).date() if isinstance(moment, datetime) else moment
        return f"{day.year}年{day.month}月{day.day}日"

    def zh_datetime(self, value: Any) -> str:
        moment = _as_datetime(value)
        if not isinstance(moment, datetime):
            return self.zh_date(moment)
        local = moment.astimezone(self._tz)
        return f"{self.zh_date(local)} {local:%H:%M}"

    def render(self, template_id: str, context: dict[str, Any]) -> Rendered:
        try:
            text = self._env.get_template(f"{template_id}.txt.j2").render(**context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"no template {template_id!r} in {TEMPLATES_DIR}") from exc
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template {template_id}: {exc.message}") from exc
        subject, _, body = text.strip().partition("\n")
        return Rendered(subject=subject.strip(), body=body.strip() + "\n")


def _task_kind(value: str) -> str:
    try:
        return TASK_KIND_ZH[TaskKind(value)]
    except ValueError:
        return str(value)


def _festival(value: str) -> str:
    try:
        return FESTIVAL_ZH[Festival(value)]
    except ValueError:
        return str(value)


def message_context(cause: dict[str, Any], *, recipient_name: str | None, unit_name: str | None) -> dict[str, Any]:
    """What a rule's template sees: the cause event's data and envelope fields, who it is for, the unit."""
    return {
        "event": cause.get("data", {}),
        "type": cause.get("type"),
        "unit": cause.get("unit"),
        "occurred_at": cause.get("occurred_at"),
        "recipient_name": recipient_name,
        "unit_name": unit_name or cause.get("unit") or "",
        **cause.get("extra", {}),  # what a digest lists
    }
