"""Bundled plugins and channels use only kith's public API (what ``kith/__init__.py`` exports).

import-linter cannot follow Kith's package-dir mapping (``kith.plugins`` lives outside
``core/``), so this test reads the imports itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ["plugins", "channels", "examples"]
ALLOWED_PREFIXES = ("kith.plugins", "kith.channels", "kith.testing")


def private_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad: list[str] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name.startswith("kith.") and not name.startswith(ALLOWED_PREFIXES):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    return bad


def test_plugins_and_channels_import_only_the_public_api():
    offenders: list[str] = []
    for folder in CHECKED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "piccolo_migrations" in path.parts:
                continue
            offenders.extend(private_imports(path))
    assert offenders == [], "\n".join(offenders)


def test_the_checker_catches_a_private_import(tmp_path):
    sample = ROOT / "plugins" / "_boundary_sample.py"
    sample.write_text("from kith.db import Database\nimport kith\n", encoding="utf-8")
    try:
        assert private_imports(sample) == ["plugins/_boundary_sample.py:1 imports kith.db"]
    finally:
        sample.unlink()
