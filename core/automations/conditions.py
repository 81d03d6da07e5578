"""Conditions: a safe expression tree, parsed and evaluated here — never ``eval``.

A condition is ``{field: <path>, <comparison>: <value>}``, or ``all:`` / ``any:`` (lists of
conditions), or ``not:`` (one condition); a list means ``all``. Paths name a field of the
record (``stage``, ``value``, ``custom.tier``), of a related record (``owner.email``), or of
the event (``event.actor``, ``event.changes``). Every leaf records what it compared, so a
run's log shows each condition with its values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import FieldError
from .fields import CATALOG, FieldPath, Loader, RefValue
from .timeexpr import Duration, When, parse_duration, parse_when

ORDER_OPS = ("greater_than", "less_than", "at_least", "at_most")
SET_OPS = ("in", "not_in")
CHANGE_OPS = ("changed", "changed_from", "changed_to")
DATE_OPS = ("older_than", "newer_than", "before", "after")
OPS = (
    "equals",
    "not_equals",
    *ORDER_OPS,
    *SET_OPS,
    "contains",
    "starts_with",
    "empty",
    *CHANGE_OPS,
    *DATE_OPS,
)
ALLOWED = {
    "text": {"equals", "not_equals", "in", "not_in", "contains", "starts_with", "empty"},
    "number": {"equals", "not_equals", *ORDER_OPS, *SET_OPS, "empty"},
    "money": {"equals", "not_equals", *ORDER_OPS, *SET_OPS, "empty"},
    "datetime": {"empty", *DATE_OPS},
    "date": {"equals", "not_equals", "empty", *DATE_OPS},
    "bool": {"equals", "not_equals", "empty"},
    "ref": {"equals", "not_equals", *SET_OPS, "empty"},
    "json": {"equals", "not_equals", "contains", "empty"},
    "list": {"contains", "empty", "equals"},
    "any": set(OPS) - set(CHANGE_OPS),
}


class Problems:
    """Field errors collected while parsing a definition (all of them, not just the first)."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, where: str, message: str, code: str = "invalid") -> None:
        self.errors.append(FieldError(where, message, code))

    def __bool__(self) -> bool:
        return bool(self.errors)


@dataclass
class Scope:
    """What a condition may talk about: the trigger's entity, and whether an event exists."""

    entity: str | None
    has_event: bool
    custom_defs: dict[tuple[str, str], str] | None = None


@dataclass
class Leaf:
    where: str
    text: str
    op: str
    expected: Any
    raw: Any
    path: FieldPath | None = None  # None: an event path
    event_path: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.text} {self.op.replace('_', ' ')} {_show(self.raw)}"


@dataclass
class Group:
    where: str
    kind: str  # all | any | not
    items: list[Node] = field(default_factory=list)


Node = Leaf | Group


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)


def parse(raw: Any, where: str, scope: Scope, problems: Problems) -> Node | None:
    """Parse a condition tree; errors go to ``problems`` with their path."""
    if isinstance(raw, list):
        return Group(where, "all", _items(raw, where, scope, problems))
    if not isinstance(raw, dict) or not raw:
        problems.add(where, "a condition is {field: ..., equals: ...}, or all:/any:/not:")
        return None
    groups = [k for k in ("all", "any", "not") if k in raw]
    if groups:
        if len(raw) != 1:
            extra = ", ".join(sorted(k for k in raw if k not in groups))
            problems.add(where, f"{groups[0]}: stands alone; move {extra} into it")
            return None
        kind = groups[0]
        inner = raw[kind]
        if kind == "not":
            node = parse(inner, f"{where}.not", scope, problems)
            return Group(where, "not", [node] if node else [])
        if not isinstance(inner, list) or not inner:
            problems.add(f"{where}.{kind}", "give a list of conditions")
            return None
        return Group(where, kind, _items(inner, f"{where}.{kind}", scope, problems))
    return _leaf(raw, where, scope, problems)


def _items(raw: list[Any], where: str, scope: Scope, problems: Problems) -> list[Node]:
    out = []
    for i, item in enumerate(raw):
        node = parse(item, f"{where}.{i}", scope, problems)
        if node is not None:
            out.append(node)
    return out


def _leaf(raw: dict[str, Any], where: str, scope: Scope, problems: Problems) -> Leaf | None:
    text = raw.get("field")
    if not isinstance(text, str) or not text.strip():
        problems.add(f"{where}.field", "say which field to compare (field: stage)")
        return None
    ops = [k for k in raw if k != "field"]
    unknown = [k for k in ops if k not in OPS]
    if unknown:
        problems.add(
            f"{where}.{unknown[0]}",
            f"{unknown[0]!r} is not a comparison. Use one of: {', '.join(OPS)}",
            "unknown_field",
        )
        return None
    if len(ops) != 1:
        problems.add(where, "give exactly one comparison per condition (combine several with all:)")
        return None
    op = ops[0]
    value = raw[op]
    here = f"{where}.{op}"
    text = text.strip()
    if text == "event" or text.startswith("event."):
        if not scope.has_event:
            problems.add(f"{where}.field", "this trigger has no event to read from")
            return None
        parts = tuple(text.split(".")[1:])
        if op in CHANGE_OPS:
            problems.add(here, f"{op} applies to a record field, not to the event")
            return None
        expected = _expected("any", op, value, here, problems)
        return Leaf(where, text, op, expected, value, None, parts)
    if scope.entity is None:
        problems.add(
            f"{where}.field", "this trigger has no record: only event.* fields can be compared"
        )
        return None
    try:
        path = CATALOG.resolve(scope.entity, text, scope.custom_defs)
    except ValueError as exc:
        problems.add(f"{where}.field", str(exc), "unknown_field")
        return None
    kind = path.kind
    if op in CHANGE_OPS:
        if not scope.has_event:
            problems.add(here, f"{op} needs an event trigger (it reads the event's changes)")
            return None
        if not path.direct:
            problems.add(here, f"{op} applies to a field of the record itself, not {text}")
            return None
        if op == "changed":
            if not isinstance(value, bool):
                problems.add(here, "write changed: true or changed: false")
                return None
            return Leaf(where, text, op, value, value, path)
        expected = _expected(kind if kind != "datetime" else "any", "equals", value, here, problems)
        return Leaf(where, text, op, expected, value, path)
    if op not in ALLOWED.get(kind, set()):
        allowed = sorted(ALLOWED.get(kind, set()) | set(CHANGE_OPS))
        problems.add(
            here,
            f"{text} is {_kind_name(kind)}: {op} does not apply (use {', '.join(allowed)})",
            "wrong_type",
        )
        return None
    expected = _expected(kind, op, value, here, problems)
    if expected is _BAD:
        return None
    return Leaf(where, text, op, expected, value, path)


_BAD = object()


def _kind_name(kind: str) -> str:
    return {
        "text": "text",
        "number": "a number",
        "money": "money",
        "datetime": "a date and time",
        "date": "a date",
        "bool": "true/false",
        "ref": "a related record",
        "json": "structured data",
        "list": "a list",
        "any": "any value",
    }.get(kind, kind)


def _number(value: Any, here: str, problems: Problems) -> Decimal | object:
    if isinstance(value, bool) or value is None:
        problems.add(here, f"needs a number, not {value!r}", "wrong_type")
        return _BAD
    try:
        number = Decimal(str(value).strip().replace("_", "").replace(",", ""))
    except InvalidOperation:
        problems.add(here, f"needs a number, not {value!r}", "wrong_type")
        return _BAD
    if not number.is_finite():
        problems.add(here, "needs a finite number", "wrong_type")
        return _BAD
    return number


def _expected(kind: str, op: str, value: Any, here: str, problems: Problems) -> Any:
    """Check and normalise the value a leaf compares with."""
    if op == "empty":
        if not isinstance(value, bool):
            problems.add(here, "write empty: true or empty: false", "wrong_type")
            return _BAD
        return value
    if op in ("older_than", "newer_than"):
        try:
            return parse_duration(value)
        except ValueError as exc:
            problems.add(here, str(exc), "wrong_type")
            return _BAD
    if op in ("before", "after"):
        try:
            return parse_when(value)
        except ValueError as exc:
            problems.add(here, str(exc), "wrong_type")
            return _BAD
    if op in SET_OPS:
        if not isinstance(value, list) or not value:
            problems.add(here, "give a list of values, e.g. [Discovery, Proposal]", "wrong_type")
            return _BAD
        items = [_expected(kind, "equals", v, f"{here}.{i}", problems) for i, v in enumerate(value)]
        return _BAD if any(i is _BAD for i in items) else items
    if isinstance(value, dict | list) and kind not in ("json", "any", "list"):
        problems.add(here, f"needs a single value, not {type(value).__name__}", "wrong_type")
        return _BAD
    if kind in ("number", "money"):
        if value is None and op in ("equals", "not_equals"):
            return None
        return _number(value, here, problems)
    if kind in ("text",) and op in ("contains", "starts_with"):
        if not isinstance(value, str | int) or isinstance(value, bool):
            problems.add(here, "needs text", "wrong_type")
            return _BAD
        return str(value)
    if kind == "bool":
        if not isinstance(value, bool):
            problems.add(here, f"needs true or false, not {value!r}", "wrong_type")
            return _BAD
        return value
    if kind == "date":
        try:
            return parse_when(value)
        except ValueError as exc:
            problems.add(here, str(exc), "wrong_type")
            return _BAD
    if kind == "ref":
        if value is None or isinstance(value, bool) or not isinstance(value, str | int):
            if value is None and op in ("equals", "not_equals"):
                return None
            problems.add(here, "needs a name, email or id", "wrong_type")
            return _BAD
        return value
    if op in ORDER_OPS:
        return _number(value, here, problems)
    return value


# ---- evaluation -------------------------------------------------------------------------------


@dataclass
class Env:
    """What a condition is evaluated against."""

    loader: Loader
    entity: str | None
    row: dict[str, Any] | None
    event: dict[str, Any] | None  # Event.as_dict() shape
    now: datetime
    tz: ZoneInfo
    steps: list[tuple[Leaf, Any, bool]] = field(default_factory=list)

    @property
    def trace(self) -> list[dict[str, Any]]:
        """Each leaf evaluated, as the run log shows it (built only when someone asks)."""
        return trace_of(self.steps)


def trace_of(steps: list[tuple[Leaf, Any, bool]]) -> list[dict[str, Any]]:
    return [
        {
            "condition": leaf.where,
            "field": leaf.text,
            "op": leaf.op,
            "expected": _jsonable(leaf.raw),
            "actual": _jsonable(actual),
            "result": result,
        }
        for leaf, actual, result in steps
    ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, RefValue):
        return value.jsonable()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Duration | When):
        return str(value)
    return value


async def evaluate(node: Node | None, env: Env) -> bool:
    """Evaluate ``node``; each leaf evaluated is recorded in ``env.steps``."""
    if node is None:
        return True
    if isinstance(node, Group):
        if node.kind == "all":
            for item in node.items:
                if not await evaluate(item, env):
                    return False
            return True
        if node.kind == "any":
            for item in node.items:
                if await evaluate(item, env):
                    return True
            return False
        return not await evaluate(node.items[0], env) if node.items else True
    actual, result = await _leaf_result(node, env)
    env.steps.append((node, actual, result))
    return result


async def _leaf_result(leaf: Leaf, env: Env) -> tuple[Any, bool]:
    if leaf.path is None:
        actual = _event_value(env.event, leaf.event_path)
        return actual, _compare("any", leaf.op, actual, leaf.expected, env)
    if leaf.op in CHANGE_OPS:
        return await _changed(leaf, env)
    if leaf.op == "empty":
        empty = await env.loader.is_empty(leaf.path, env.row)
        if empty is not None:
            return None if empty else "(set)", empty is leaf.expected
    actual = await env.loader.value(leaf.path, env.row)
    return actual, _compare(leaf.path.kind, leaf.op, actual, leaf.expected, env)


def _event_value(event: dict[str, Any] | None, parts: tuple[str, ...]) -> Any:
    if event is None:
        return None
    if not parts:
        return event.get("name")
    if parts[0] in ("name", "entity", "entity_id", "actor", "at", "id"):
        value: Any = event.get(parts[0])
        rest = parts[1:]
    else:
        value, rest = event.get("data") or {}, parts
    for part in rest:
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


async def _changed(leaf: Leaf, env: Env) -> tuple[Any, bool]:
    assert leaf.path is not None
    changes = ((env.event or {}).get("data") or {}).get("changes") or {}
    field_def = leaf.path.last
    pair = changes.get(field_def.column or "") or changes.get(field_def.name)
    if leaf.path.custom_key is not None:
        pair = changes.get("custom")
        if isinstance(pair, list) and len(pair) == 2:
            pair = [
                (pair[0] or {}).get(leaf.path.custom_key),
                (pair[1] or {}).get(leaf.path.custom_key),
            ]
            if pair[0] == pair[1]:
                pair = None
    if not isinstance(pair, list | tuple) or len(pair) != 2:
        return None, leaf.op == "changed" and leaf.expected is False
    if leaf.op == "changed":
        return list(pair), leaf.expected is True
    before, after = pair
    if leaf.path.custom_key is None and env.entity is not None:
        before = await env.loader.convert(env.entity, field_def, before, env.row)
        after = await env.loader.convert(env.entity, field_def, after, env.row)
    kind = leaf.path.kind if leaf.path.kind != "datetime" else "any"
    target = before if leaf.op == "changed_from" else after
    return [_jsonable(before), _jsonable(after)], _compare(
        kind, "equals", target, leaf.expected, env
    )


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _equal(kind: str, actual: Any, expected: Any, env: Env) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, RefValue):
        return actual.matches(expected)
    if kind == "date" and isinstance(expected, When):
        day = expected.resolve(env.now, env.tz).astimezone(env.tz).date()
        actual_day = actual.astimezone(env.tz).date() if isinstance(actual, datetime) else actual
        return actual_day == day
    if kind in ("number", "money") or (
        isinstance(expected, Decimal) or isinstance(actual, int | float | Decimal)
    ):
        a, e = _as_number(actual), _as_number(expected)
        if a is not None and e is not None:
            return a == e
    if isinstance(actual, str) and isinstance(expected, str | int):
        return actual.casefold() == str(expected).casefold()
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return actual == expected


def _as_time(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time(), tzinfo=tz)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return None


def _compare(kind: str, op: str, actual: Any, expected: Any, env: Env) -> bool:
    if op == "empty":
        return _is_empty(actual) is expected
    if op == "equals":
        return _equal(kind, actual, expected, env)
    if op == "not_equals":
        return not _equal(kind, actual, expected, env)
    if op == "in":
        return any(_equal(kind, actual, e, env) for e in expected)
    if op == "not_in":
        return not any(_equal(kind, actual, e, env) for e in expected)
    if op in ORDER_OPS:
        a, e = _as_number(actual), _as_number(expected)
        if a is None or e is None:
            return False
        return {
            "greater_than": a > e,
            "less_than": a < e,
            "at_least": a >= e,
            "at_most": a <= e,
        }[op]
    if op == "contains":
        if actual is None:
            return False
        if isinstance(actual, list | tuple | set):
            return any(_equal("any", item, expected, env) for item in actual)
        if isinstance(actual, dict):
            return str(expected) in actual
        return str(expected).casefold() in str(actual).casefold()
    if op == "starts_with":
        return actual is not None and str(actual).casefold().startswith(str(expected).casefold())
    if op in DATE_OPS:
        moment = _as_time(actual, env.tz)
        if moment is None:
            return False
        if op == "older_than":
            return moment < expected.after(env.now, env.tz, -1)
        if op == "newer_than":
            return moment > expected.after(env.now, env.tz, -1)
        limit = expected.resolve(env.now, env.tz)
        return moment < limit if op == "before" else moment > limit
    return False


def fields_used(node: Node | None) -> list[Leaf]:
    """Every leaf of ``node``."""
    if node is None:
        return []
    if isinstance(node, Leaf):
        return [node]
    return [leaf for item in node.items for leaf in fields_used(item)]


def needs_record(node: Node | None) -> bool:
    """Whether evaluating ``node`` reads the record (not only the event)."""
    return any(leaf.path is not None for leaf in fields_used(node))
