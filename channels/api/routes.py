"""The ``/api/v1`` router: one litestar handler per operation, each running one command.

Operations come from :func:`kith.channels.api.resources.discover` (the command registry), so
a plugin's entity gets its routes like a core one. A handler turns the request into a payload
(JSON body, query parameters, the record from the path), runs ``kith.run(command, payload,
actor)`` and renders the result — or the error as problem+json. No handler touches a table.
"""

from __future__ import annotations

import json
import logging
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kith import Actor, CommandSpec, FieldError, Kith, KithError
from litestar import Request, Response, Router, route
from litestar.datastructures import MultiDict
from pydantic import BaseModel

from .auth import actor_of, make_guard, rate_limit_config
from .problems import EXCEPTION_HANDLERS, problem_body, problem_response
from .resources import PREFIX, Resource, discover
from .settings import ApiSettings

log = logging.getLogger("kith.api")

JSON_MEDIA = "application/json"
FILTER_KEY = re.compile(r"^filter\[([^\[\]]{1,100})\](?:\[([a-z_]{1,20})\])?$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass
class Operation:
    """One HTTP operation: a method and path, and the command it runs."""

    method: str
    path: str  # relative to /api/v1, litestar syntax: /contacts/{ref:str}
    kind: str  # list get create update archive restore timeline action batch command
    spec: CommandSpec | None = None
    resource: Resource | None = None
    update: CommandSpec | None = None  # batch: the update command
    status: int = 200

    @property
    def key(self) -> tuple[str, str, str]:
        """(method, first path segment, the rest with {ref}): the dispatch table's key."""
        head, _, rest = self.path.strip("/").partition("/")
        rest = re.sub(r"\{(\w+):\w+\}", r"{\1}", rest)
        return (self.method, head, rest)

    @property
    def doc_path(self) -> str:
        return PREFIX + re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)

    @property
    def operation_id(self) -> str:
        if self.kind == "command":
            return f"command-{self.method.lower()}"
        assert self.resource is not None
        if self.kind == "action":
            assert self.spec is not None
            return self.spec.name
        if self.kind == "batch":
            return f"{self.resource.entity}.batch"
        if self.kind == "archive" and self.method == "DELETE":
            return f"{self.resource.entity}.delete"
        assert self.spec is not None
        return self.spec.name if self.kind != "create" else f"{self.resource.entity}.create"


def operations(kith: Kith) -> list[Operation]:
    """Every operation of the API, in a stable order."""
    ops: list[Operation] = []
    for res in discover(kith):
        base = f"/{res.path}"
        one = f"{base}/{{ref:str}}"
        c = res.commands
        if "list" in c:
            ops.append(Operation("GET", base, "list", c["list"], res))
        if res.create is not None:
            ops.append(Operation("POST", base, "create", res.create, res, status=201))
        if res.create is not None or "update" in c:
            ops.append(
                Operation("POST", f"{base}/batch", "batch", res.create, res, c.get("update"))
            )
        if "get" in c:
            ops.append(Operation("GET", one, "get", c["get"], res))
        if "update" in c:
            ops.append(Operation("PATCH", one, "update", c["update"], res))
        if "archive" in c:
            ops.append(Operation("DELETE", one, "archive", c["archive"], res))
            ops.append(Operation("POST", f"{one}/archive", "archive", c["archive"], res))
        if "restore" in c:
            ops.append(Operation("POST", f"{one}/restore", "restore", c["restore"], res))
        if "timeline" in c:
            ops.append(Operation("GET", f"{one}/timeline", "timeline", c["timeline"], res))
        for verb, spec in sorted(res.actions.items()):
            method = "GET" if spec.read_only else "POST"
            ops.append(Operation(method, f"{one}/{verb}", "action", spec, res))
    ops.append(Operation("POST", "/commands/{name:str}", "command"))
    ops.append(Operation("GET", "/commands/{name:str}", "command"))
    return ops


# ---- request → payload ---------------------------------------------------------------------------


def bad(field: str, message: str, code: str = "invalid", command: str | None = None) -> KithError:
    return KithError(
        "invalid_input", f"{field}: {message}", [FieldError(field, message, code)], command=command
    )


async def read_json(request: Request[Any, Any, Any], command: str | None) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad("body", f"is not valid JSON ({exc})", "invalid_json", command) from None
    if not isinstance(data, dict):
        raise bad("body", "must be a JSON object of fields", "type_error", command)
    return data


def _is_sequence(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin is typing.Annotated:
        return _is_sequence(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(a) for a in typing.get_args(annotation))
    return False


def _is_plain_str(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation is str


def _value(annotation: Any, values: list[str]) -> Any:
    decoded: list[Any] = []
    for v in values:
        if v[:1] in "{[" and not _is_plain_str(annotation):
            try:
                decoded.append(json.loads(v))
                continue
            except ValueError:
                pass
        decoded.append(v)
    if _is_sequence(annotation):
        if len(decoded) == 1 and isinstance(decoded[0], list):
            return decoded[0]
        return decoded
    return decoded[-1]


class Api:
    """The handlers' shared state: the Kith, the settings and the operations."""

    def __init__(self, kith: Kith, settings: ApiSettings) -> None:
        self.kith = kith
        self.settings = settings
        self.operations = operations(kith)
        self.table = {op.key: op for op in self.operations}
        self.resources = {op.key[1] for op in self.operations}

    def find(self, request: Request[Any, Any, Any], shape: str) -> Operation:
        """The operation for this request's method, resource and shape, or a 404/405."""
        resource = request.path_params.get("resource", "commands")
        op = self.table.get((request.method, resource, shape))
        if op is not None:
            return op
        if resource not in self.resources:
            raise KithError(
                "not_found",
                f"There is no resource {resource!r} here; see {PREFIX}/docs for what there is.",
                status=404,
            )
        allowed = sorted(m for (m, r, sh) in self.table if r == resource and sh == shape)
        if not allowed:
            what = shape.replace("{ref}/", "") if shape.startswith("{ref}/") else shape
            raise KithError(
                "not_found", f"{resource} have no {what!r}; see {PREFIX}/docs.", status=404
            )
        raise KithError(
            "method_not_allowed",
            f"{request.method} is not allowed here; use {' or '.join(allowed)}.",
            status=405,
        )

    # ---- payloads ---------------------------------------------------------------------------
    def query_payload(
        self, spec: CommandSpec, query: MultiDict[Any], skip: str | None = None
    ) -> dict[str, Any]:
        """Query parameters → input fields (``filter[field]=value`` → ``filter``)."""
        fields = spec.input.model_fields
        payload: dict[str, Any] = {}
        filters: dict[str, Any] = {}
        for key in dict.fromkeys(query.keys()):
            values = [str(v) for v in query.getall(key)]
            m = FILTER_KEY.match(key)
            if m and "filter" in fields:
                value: Any = values[0] if len(values) == 1 else values
                field_name, operator = m.group(1), m.group(2)
                if operator is None:
                    filters[field_name] = value
                else:  # filter[created_at][gte]=2026-01-01 → {"created_at": {"gte": ...}}
                    ops = filters.setdefault(field_name, {})
                    if not isinstance(ops, dict):
                        raise bad(key, "mixes a value and operators for one field", "invalid")
                    ops[operator] = value
                continue
            if key == skip or key not in fields:
                raise bad(key, f"is not a parameter of {spec.name}", "unknown_field", spec.name)
            payload[key] = _value(fields[key].annotation, values)
        if filters:
            given = payload.get("filter")
            payload["filter"] = {**(given if isinstance(given, dict) else {}), **filters}
        if "limit" in fields:
            self._page_size(spec, payload)
        return payload

    def _page_size(self, spec: CommandSpec, payload: dict[str, Any]) -> None:
        cap = self.settings.max_page_size
        if "limit" not in payload:
            payload["limit"] = min(self.settings.page_size, cap)
            return
        raw = payload["limit"]
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            raise bad("limit", "must be a whole number", "int_parsing", spec.name) from None
        if not 1 <= limit <= cap:
            raise bad(
                "limit", f"must be between 1 and {cap} (the page size cap)", "page_size", spec.name
            )
        payload["limit"] = limit

    async def body_payload(
        self, request: Request[Any, Any, Any], spec: CommandSpec, record_key: str | None
    ) -> dict[str, Any]:
        payload = await read_json(request, spec.name)
        if record_key is not None:
            if record_key in payload:
                raise bad(
                    record_key,
                    f"give the {record_key} in the path, not in the body",
                    "unknown_field",
                    spec.name,
                )
            payload[record_key] = request.path_params["ref"]
        return payload

    def idempotency_key(self, request: Request[Any, Any, Any], actor: Actor) -> str | None:
        key = request.headers.get("idempotency-key")
        if key is None:
            return None
        key = key.strip()
        if not IDEMPOTENCY_KEY.match(key):
            raise bad("Idempotency-Key", "must be 1 to 200 visible ASCII characters")
        return f"{actor.via}:{key}"

    # ---- responses --------------------------------------------------------------------------
    @staticmethod
    def dump(result: Any) -> bytes:
        if isinstance(result, BaseModel):
            return result.model_dump_json().encode()
        return json.dumps(result, default=str, ensure_ascii=False).encode()

    def respond(
        self, op: Operation, request: Request[Any, Any, Any], result: Any
    ) -> Response[bytes]:
        headers: dict[str, str] = {}
        if op.kind == "create" and op.resource is not None:
            record_id = getattr(result, "id", None)
            if record_id is not None:
                headers["Location"] = f"{op.resource.base}/{record_id}"
        next_cursor = getattr(result, "next_cursor", None)
        if next_cursor is None and isinstance(result, dict):
            next_cursor = result.get("next_cursor")
        if next_cursor and request.method == "GET":
            pairs = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
            pairs.append(("cursor", str(next_cursor)))
            headers["Link"] = f'<{request.url.path}?{urlencode(pairs)}>; rel="next"'
        return Response(
            content=self.dump(result), status_code=op.status, media_type=JSON_MEDIA, headers=headers
        )

    # ---- handling ---------------------------------------------------------------------------
    async def dispatch(self, request: Request[Any, Any, Any], shape: str) -> Response[bytes]:
        try:
            op = self.find(request, shape)
        except KithError as err:
            return problem_response(err, request, self._allow(err, request, shape))
        return await self.handle(op, request)

    def _allow(
        self, err: KithError, request: Request[Any, Any, Any], shape: str
    ) -> dict[str, str] | None:
        if err.status != 405:
            return None
        resource = request.path_params.get("resource", "commands")
        methods = sorted(m for (m, r, sh) in self.table if r == resource and sh == shape)
        return {"Allow": ", ".join(methods)}

    async def handle(self, op: Operation, request: Request[Any, Any, Any]) -> Response[bytes]:
        actor = actor_of(request)
        try:
            if op.kind == "batch":
                return await self.batch(op, request, actor)
            spec = op.spec
            if op.kind == "command":
                spec = self.kith.registry.get(request.path_params["name"])
                if request.method == "GET" and not spec.read_only:
                    raise KithError(
                        "method_not_allowed",
                        f"{spec.name} changes data: call it with POST.",
                        status=405,
                        command=spec.name,
                    )
            assert spec is not None
            entity = op.resource.entity if op.resource is not None else None
            key = None
            if request.method == "GET":
                payload = self.query_payload(spec, request.query_params, skip=entity)
                if op.kind in ("get", "timeline", "action"):
                    payload[entity] = request.path_params["ref"]  # type: ignore[index]
            elif op.kind in ("archive", "restore"):
                payload = {entity: request.path_params["ref"]}  # type: ignore[dict-item]
            else:
                record_key = entity if op.kind in ("update", "action") else None
                payload = await self.body_payload(request, spec, record_key)
                if request.method == "POST":
                    key = self.idempotency_key(request, actor)
            result = await self.kith.run(spec.name, payload, actor, idempotency_key=key)
        except KithError as err:
            headers = {"Allow": "POST"} if err.status == 405 else None
            return problem_response(err, request, headers)
        return self.respond(op, request, result)

    async def batch(
        self, op: Operation, request: Request[Any, Any, Any], actor: Actor
    ) -> Response[bytes]:
        """Create and/or update up to ``max_batch`` records, each in its own command: one
        result per record, in order (creates first), whatever the others did."""
        res = op.resource
        assert res is not None
        body = await read_json(request, None)
        for name in body:
            if name not in ("create", "update"):
                raise bad(name, "is not a batch field (use create and update)", "unknown_field")
        groups: list[tuple[str, CommandSpec | None, Any]] = [
            ("create", op.spec, body.get("create", [])),
            ("update", op.update, body.get("update", [])),
        ]
        total = 0
        for name, spec, items in groups:
            if not isinstance(items, list):
                raise bad(name, "must be a list of records", "list_type")
            if items and spec is None:
                raise bad(name, f"{res.path} cannot be {name}d", "not_supported")
            total += len(items)
        cap = self.settings.max_batch
        if total > cap:
            raise bad("body", f"at most {cap} records per batch call (got {total})", "too_many")
        key = self.idempotency_key(request, actor)
        results: list[dict[str, Any]] = []
        failed = 0
        for name, spec, items in groups:
            for i, item in enumerate(items):
                entry: dict[str, Any] = {"index": i, "op": name}
                try:
                    assert spec is not None
                    if not isinstance(item, dict):
                        raise bad(f"{name}.{i}", "must be a JSON object", "type_error", spec.name)
                    if name == "update" and res.entity not in item:
                        raise bad(f"{name}.{i}.{res.entity}", "is required", "missing", spec.name)
                    record = await self.kith.run(
                        spec.name,
                        item,
                        actor,
                        idempotency_key=f"{key}:{name}:{i}" if key else None,
                    )
                    entry["status"] = 201 if name == "create" else 200
                    entry["record"] = (
                        record.model_dump(mode="json") if isinstance(record, BaseModel) else record
                    )
                except KithError as err:
                    failed += 1
                    entry["status"] = err.status
                    entry["error"] = problem_body(err)
                except Exception:
                    log.exception("batch %s %s.%d failed", res.path, name, i)
                    failed += 1
                    entry["status"] = 500
                    entry["error"] = problem_body(
                        KithError(
                            "internal_error", "Something went wrong; it was logged.", status=500
                        )
                    )
                results.append(entry)
        out = {"results": results, "succeeded": len(results) - failed, "failed": failed}
        return Response(
            content=json.dumps(out, default=str, ensure_ascii=False).encode(),
            status_code=200,
            media_type=JSON_MEDIA,
        )


def _handlers(api: Api) -> list[Any]:
    """A few litestar handlers with path parameters; each looks its operation up in
    ``api.table`` (built from the registry), so startup stays fast however many commands."""

    def make(path: str, methods: list[str], shape: Callable[[dict[str, Any]], str]) -> Any:
        async def handler(request: Request[Any, Any, Any]) -> Response[bytes]:
            return await api.dispatch(request, shape(request.path_params))

        name = "api_" + re.sub(r"\W+", "_", path).strip("_")
        handler.__name__ = handler.__qualname__ = name
        return route(
            path, http_method=methods, status_code=200, name=name, include_in_schema=False
        )(handler)

    return [
        make("/{resource:str}", ["GET", "POST"], lambda p: ""),
        make("/{resource:str}/batch", ["POST"], lambda p: "batch"),
        make("/{resource:str}/{ref:str}", ["GET", "PATCH", "DELETE"], lambda p: "{ref}"),
        make(
            "/{resource:str}/{ref:str}/{verb:str}",
            ["GET", "POST"],
            lambda p: "{ref}/" + p["verb"],
        ),
        make("/commands/{name:str}", ["GET", "POST"], lambda p: "{name}"),
    ]


def build_router(kith: Kith, settings: ApiSettings) -> Router:
    """The ``/api/v1`` router for ``kith``: resources, commands, OpenAPI and docs."""
    from .openapi import docs_handlers

    api = Api(kith, settings)
    handlers: list[Any] = _handlers(api)
    handlers.extend(docs_handlers(api))
    return Router(
        path=PREFIX,
        route_handlers=handlers,
        guards=[make_guard(kith)],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[rate_limit_config(settings).middleware],
        request_max_body_size=settings.max_body_bytes,
    )
