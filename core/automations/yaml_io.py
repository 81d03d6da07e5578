"""Automations as readable YAML: ``kith automations import FILE.yaml`` and ``export``.

Only ``yaml.safe_load`` is used (no Python objects from a file). A file holds one automation,
several separated by ``---``, or a list of them. Export writes small mappings in flow style
(``{field: stage, equals: Discovery}``) so the file reads like the one a person wrote.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import FieldError, KithError

MAX_YAML_BYTES = 1_000_000


def _yaml_error(exc: yaml.YAMLError, source: str) -> KithError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "the file"
    problem = getattr(exc, "problem", None) or str(exc)
    message = f"{source}: not valid YAML at {where}: {problem}"
    return KithError("invalid_input", message, [FieldError("yaml", message, "invalid_yaml")])


def load_documents(text: str, source: str = "yaml") -> list[dict[str, Any]]:
    """Every automation in ``text`` (safe_load only)."""
    if len(text.encode("utf-8")) > MAX_YAML_BYTES:
        raise KithError("invalid_input", f"{source} is larger than 1 MB")
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    out: list[dict[str, Any]] = []
    for i, doc in enumerate(docs):
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            if not isinstance(item, dict):
                raise KithError(
                    "invalid_input",
                    f"{source}: document {i + 1} is not an automation (a mapping with name, "
                    "when, if, then)",
                    [FieldError("yaml", "each automation is a mapping", "invalid_yaml")],
                )
            out.append(item)
    if not out:
        raise KithError("invalid_input", f"{source} holds no automation")
    return out


def load_one(text: str, field: str = "definition") -> dict[str, Any]:
    docs = load_documents(text, field)
    if len(docs) != 1:
        raise KithError(
            "invalid_input",
            f"{field}: give one automation here (import takes several)",
            [FieldError(field, "holds several automations")],
        )
    return docs[0]


class _Dumper(yaml.SafeDumper):
    pass


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    flow = bool(data) and len(data) <= 6 and all(_is_scalar(v) for v in data.values())
    if flow and sum(len(str(k)) + len(str(v)) + 4 for k, v in data.items()) > 90:
        flow = False
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flow = bool(data) and all(_is_scalar(v) for v in data) and len(data) <= 8
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def dump(definitions: list[dict[str, Any]]) -> str:
    """YAML for ``definitions`` (one document each, separated by ``---``)."""
    return yaml.dump_all(
        definitions,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        explicit_start=len(definitions) > 1,
    )


def default_automations() -> str:
    """The automations Kith ships (disabled), as one YAML text."""
    from importlib.resources import files

    folder = files("kith.automations").joinpath("defaults")
    texts = [
        item.read_text(encoding="utf-8")
        for item in sorted(folder.iterdir(), key=lambda i: i.name)
        if item.name.endswith(".yaml")
    ]
    return "\n---\n".join(texts)
