"""A path built from data stays under its root: a unit code or id that would escape is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbone.paths import PathEscapeError, under


def test_plain_names_make_a_path_inside_the_root(tmp_path: Path) -> None:
    assert under(tmp_path, "U0001", "b3c1") == (tmp_path / "U0001" / "b3c1").resolve()


@pytest.mark.parametrize("part", ["..", ".", "", "../../../outside", "a/b", "a\\b", "/etc", "x\x00y"])
def test_a_part_that_is_not_one_plain_name_is_refused(tmp_path: Path, part: str) -> None:
    with pytest.raises(PathEscapeError):
        under(tmp_path, "U0001", part)


def test_a_link_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "documents", tmp_path / "elsewhere"
    root.mkdir()
    outside.mkdir()
    (root / "U0001").symlink_to(outside)
    with pytest.raises(PathEscapeError, match="is not under"):
        under(root, "U0001", "letter.pdf")
