"""Which outside agencies are enabled: `<data dir>/agencies/enabled.json`, written by `wanqing agency
add/disable` (docs/agencies.md).

Read again whenever it changes (its modification time): the feed service queues nothing more for a disabled
agency from the next event on, and every service's checkpointer hands its checkpoints to the enabled agencies
(they are witnesses); the NATS side (its account and user leave the server's config) refuses its connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

ENABLED_FILE = Path("agencies") / "enabled.json"


class EnabledAgencies:
    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / ENABLED_FILE
        self._stamp: float | None = None
        self._ids: frozenset[str] = frozenset()

    def __call__(self) -> frozenset[str]:
        try:
            stamp = self._path.stat().st_mtime
        except FileNotFoundError:
            return frozenset()
        if stamp != self._stamp:
            doc = json.loads(self._path.read_text(encoding="utf-8"))
            self._ids = frozenset(str(a) for a in doc.get("enabled", []))
            self._stamp = stamp
        return self._ids


def write_enabled(data_dir: Path, ids: Iterable[str]) -> Path:
    """Atomically (a reader sees the old list or the new one, never half of one)."""
    path = data_dir / ENABLED_FILE
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"enabled": sorted(set(ids))}, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
