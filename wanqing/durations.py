"""Durations as people type them for `wanqing clock advance`: 3d, 12h, 30m, 45s, or combined like 1d12h."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+)([wdhms])")
_WHOLE = re.compile(r"(?:\d+[wdhms])+")
_UNIT = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    compact = text.strip().lower()
    if not _WHOLE.fullmatch(compact):
        msg = f"{text!r} is not a duration: use a number and a unit (w, d, h, m, s), e.g. 3d, 12h, 30m, 1d12h"
        raise ValueError(msg)
    total = timedelta()
    for amount, unit in _PART.findall(compact):
        total += timedelta(**{_UNIT[unit]: int(amount)})
    return total
