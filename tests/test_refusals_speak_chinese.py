"""Every refusal a person can read speaks Chinese: each raise site gives a `zh=` with Chinese text in it.

mypy already forces the keyword; this also refuses an English or empty one, at every site, from now on.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REFUSALS = {"refused", "not_found", "conflict", "forbidden", "DomainError"}
CJK = re.compile("[\u4e00-\u9fff]")


def _text_of(node: ast.expr) -> str:
    """The literal text of a str constant or an f-string (interpolations left out)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    if isinstance(node, ast.IfExp):
        return _text_of(node.body) + _text_of(node.orelse)
    return ""


def sites_without_chinese(paths: list[Path]) -> list[str]:
    bad = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name not in REFUSALS or path.name == "errors.py":
                continue
            zh = next((k.value for k in node.keywords if k.arg == "zh"), None)
            if zh is None or not CJK.search(_text_of(zh)):
                shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                bad.append(f"{shown}:{node.lineno}")
    return bad


def test_every_refusal_in_the_services_and_contracts_carries_chinese_for_people() -> None:
    paths = sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "contracts").rglob("*.py"))
    assert sites_without_chinese(paths) == []


def test_the_check_finds_a_refusal_in_english_only(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('def f():\n    raise refused("no", zh="nope")\n\n'
                      'def g():\n    raise conflict("x", zh="已办结")\n', encoding="utf-8")
    assert [site.rsplit(":", 1)[1] for site in sites_without_chinese([sample])] == ["2"]
