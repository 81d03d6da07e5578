"""Templates in action settings (``"Book a demo for {{ deal.title }}"``), rendered in jinja2's
immutable sandbox: no attribute tricks, no mutation, no access to Python internals.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_OUTPUT = 20_000
MAX_REPEAT = 10_000


class _Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus limits on ``*`` and ``**`` (``'x' * 10**9`` would
    otherwise build a gigabyte before the output cap could refuse it)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 100:
                raise SecurityError("exponent too large")
            return left**right
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(count, int):
                if count * max(len(seq), 1) > MAX_REPEAT:
                    raise SecurityError("repetition too large")
        return left * right


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


@lru_cache(maxsize=2048)
def _compile(source: str):  # type: ignore[no-untyped-def]
    return _ENV.from_string(source)


def check(source: str) -> None:
    """Raise ``ValueError`` when ``source`` is not a valid template."""
    try:
        _compile(source)
    except TemplateError as exc:
        raise ValueError(f"template error: {exc}") from None


def check_all(value: Any, where: str, problems: Any) -> None:
    """Syntax-check every template inside ``value`` (a config: dicts, lists, strings)."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_all(v, f"{where}.{k}", problems)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_all(v, f"{where}.{i}", problems)
    elif is_template(value):
        try:
            check(value)
        except ValueError as exc:
            problems.add(where, str(exc))


def names_used(value: Any, variables: tuple[str, ...]) -> set[str] | None:
    """The attributes templates in ``value`` read from ``variables`` (``{{ deal.owner }}`` →
    ``{"owner"}``), or ``None`` when a template uses one of them some other way (then every
    attribute may be needed)."""
    sources: list[str] = []

    def collect(v: Any) -> None:
        if isinstance(v, dict):
            for item in v.values():
                collect(item)
        elif isinstance(v, list):
            for item in v:
                collect(item)
        elif is_template(v):
            sources.append(v)

    collect(value)
    names: set[str] = set()
    for source in sources:
        for variable in variables:
            for m in re.finditer(rf"\b{re.escape(variable)}\b(\.(\w+))?", source):
                if m.group(2) is None:
                    return None
                names.add(m.group(2))
    return names


class RenderError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


def render(value: Any, variables: dict[str, Any], where: str = "") -> Any:
    """Render every template string inside ``value``; other values pass through."""
    if isinstance(value, dict):
        return {k: render(v, variables, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, variables, f"{where}.{i}") for i, v in enumerate(value)]
    if not is_template(value):
        return value
    try:
        parts: list[str] = []
        size = 0
        for chunk in _compile(value).generate(variables):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise RenderError(where, f"the text is longer than {MAX_OUTPUT} characters")
            parts.append(chunk)
        out = "".join(parts)
    except RenderError:
        raise
    except TemplateError as exc:
        raise RenderError(where, f"template error: {exc}") from None
    except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
        raise RenderError(where, f"template error: {type(exc).__name__}: {exc}") from None
    return out
