"""``kith plugin new NAME``: a plugin package that installs and passes its own tests at once.

The package has a pyproject with the ``kith.plugins`` entry point, a table with its
migration, two commands, an event, an event handler, a recurring job, a chat verb, tests
on ``kith.testing`` and a README — the shape ``docs/plugins/guide.md`` walks through. The
templates are in ``kith/scaffold_templates`` (``string.Template``: ``$name`` placeholders).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from string import Template

from . import __version__
from .errors import invalid

NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def names(name: str) -> dict[str, str]:
    """The names derived from ``acme-showings``: distribution, package, entry point, verb."""
    if not NAME.fullmatch(name) or len(name) > 40:
        raise invalid(
            "NAME", "use lower-case letters and digits, words joined by '-', e.g. acme-showings"
        )
    entry = name.replace("-", "_")
    major, minor, *_ = __version__.split(".")
    return {
        "dist": f"kith-{name}",
        "package": f"kith_{entry}",
        "entry": entry,
        "verb": name.replace("-", ""),
        "title": name.replace("-", " ").capitalize(),
        "kith_version": f"{major}.{minor}",
        "kith_next": f"{major}.{int(minor) + 1}",
        "migration_id": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S:%f"),
    }


def _target(relative: str, values: dict[str, str]) -> str:
    path = relative.removesuffix(".tmpl").replace("src_pkg", f"src/{values['package']}")
    if path.endswith("piccolo_migrations/0001_initial.py"):
        path = path.replace("0001_initial.py", f"{values['entry']}_0001_initial.py")
    return path


def render(name: str) -> dict[str, str]:
    """Relative path → content of every file of the new package."""
    values = names(name)
    root = resources.files("kith") / "scaffold_templates"
    files: dict[str, str] = {}

    def walk(node: object, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):  # type: ignore[attr-defined]
            relative = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, relative + "/")
            elif child.name.endswith(".tmpl"):
                text = Template(child.read_text(encoding="utf-8")).substitute(values)
                files[_target(relative, values)] = text

    walk(root, "")
    return files


def create(name: str, parent: Path) -> Path:
    """Write the package into ``parent/kith-<name>``; refuses to overwrite anything."""
    files = render(name)
    target = parent / names(name)["dist"]
    if target.exists():
        raise invalid("NAME", f"{target} already exists: choose another name or folder")
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
