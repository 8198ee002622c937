"""Paths built from data stay under their root: each part is one plain name, and the resolved result (links
followed) lies inside the resolved root. A unit code or id that would escape is refused, never written.
"""

from __future__ import annotations

from pathlib import Path

FORBIDDEN_NAMES = frozenset({"", ".", ".."})


class PathEscapeError(ValueError):
    """A path built from data would leave its root folder."""


def under(root: Path, *parts: str) -> Path:
    """`root / part / ...`, refused unless every part is one plain name and the result stays inside `root`."""
    for part in parts:
        if part in FORBIDDEN_NAMES or any(c in part for c in "/\\\x00"):
            msg = f"{part!r} is not a plain file or folder name"
            raise PathEscapeError(msg)
    base = root.resolve()
    path = base.joinpath(*parts).resolve()
    if not path.is_relative_to(base):
        msg = f"{path} is not under {base}"
        raise PathEscapeError(msg)
    return path
