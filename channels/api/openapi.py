"""The OpenAPI 3.1 document of ``/api/v1``, built from the commands' pydantic models, and a
browsable docs page that needs nothing from the internet.

Every command's input model is its request body (or its query parameters for GET), its
output model the success response; every error response is a ``Problem``. The document is
built once, on first request, from the same :class:`~kith.channels.api.routes.Operation`
list the router serves, so the two cannot drift apart.
"""

from __future__ import annotations

import copy
import html
import json
from typing import TYPE_CHECKING, Any

import kith as kith_pkg
from litestar import MediaType, Request, Response, get
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .auth import PUBLIC
from .problems import PROBLEM
from .resources import PREFIX

if TYPE_CHECKING:
    from kith import CommandSpec

    from .routes import Api, Operation

REF = "#/components/schemas/"
SCALARS = {"string", "integer", "number", "boolean", "null"}
RECORD_PATTERN = r"^[^/?#.][^/?#]{0,199}$"
ERRORS = {
    "400": "Invalid input: `fields` names each field at fault and why",
    "401": "No API token, or an unknown, expired or revoked one",
    "403": "The token's user role or its scopes do not allow this command",
    "404": "No such record or command",
    "409": "Conflicts with existing data (a duplicate, an archived record)",
    "413": "The request body is larger than the limit",
    "422": "The Idempotency-Key was used for a different request",
    "429": "Too many requests for this token: retry after `Retry-After` seconds",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "An error (RFC 9457 problem details) naming the field and the reason.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:kith:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for a person"},
        "code": {"type": "string", "description": "Stable machine-readable code"},
        "command": {"type": "string", "description": "The command that refused"},
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message", "code"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string", "description": "The reason"},
                    "code": {"type": "string"},
                },
            },
        },
        "candidates": {
            "type": "array",
            "description": "Records an ambiguous reference could mean",
            "items": {"type": "object"},
        },
        "instance": {"type": "string"},
    },
}


class _Builder:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.kith = api.kith
        models: dict[tuple[type[BaseModel], str], None] = {}
        for spec in self.kith.registry:
            models[(spec.input, "validation")] = None
            if spec.output is not None:
                models[(spec.output, "serialization")] = None
        self.refs, top = models_json_schema(list(models), ref_template=REF + "{model}")
        self.schemas: dict[str, Any] = dict(top.get("$defs", {}))
        self.schemas["Problem"] = PROBLEM_SCHEMA

    # ---- schemas ----------------------------------------------------------------------------
    def input_ref(self, spec: CommandSpec) -> dict[str, Any]:
        return dict(self.refs[(spec.input, "validation")])

    def output_schema(self, spec: CommandSpec | None) -> dict[str, Any]:
        if spec is None or spec.output is None:
            return {}
        return dict(self.refs[(spec.output, "serialization")])

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].removeprefix(REF)]
        return schema

    def input_schema(self, spec: CommandSpec) -> dict[str, Any]:
        return self.resolve(self.input_ref(spec))

    def body_without(self, spec: CommandSpec, key: str) -> dict[str, Any]:
        """The input schema of ``spec`` without ``key`` (it comes from the path)."""
        name = self.input_ref(spec)["$ref"].removeprefix(REF)
        body_name = f"{name}-Body"
        if body_name not in self.schemas:
            schema = copy.deepcopy(self.schemas[name])
            schema.get("properties", {}).pop(key, None)
            if key in schema.get("required", []):
                schema["required"] = [r for r in schema["required"] if r != key]
                if not schema["required"]:
                    del schema["required"]
            schema["title"] = f"{schema.get('title', name)} (body)"
            self.schemas[body_name] = schema
        return {"$ref": REF + body_name}

    def _types(self, schema: dict[str, Any]) -> set[str] | None:
        """The JSON types a property may take, or None when it is not expressible in a URL."""
        schema = self.resolve(schema)
        if "enum" in schema or "const" in schema:
            return {"string"}
        if "anyOf" in schema or "oneOf" in schema:
            out: set[str] = set()
            for sub in schema.get("anyOf", schema.get("oneOf", [])):
                t = self._types(sub)
                if t is None:
                    return None
                out |= t
            return out
        t = schema.get("type")
        if isinstance(t, str):
            return {t}
        if isinstance(t, list):
            return set(t)
        return None

    def query_parameters(self, spec: CommandSpec, skip: str | None) -> list[dict[str, Any]] | None:
        """Query parameters for a GET of ``spec``; None when an input field cannot be one."""
        schema = self.input_schema(spec)
        required = set(schema.get("required", []))
        params: list[dict[str, Any]] = []
        for name, prop in schema.get("properties", {}).items():
            if name == skip:
                continue
            types = self._types(prop)
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            if name == "limit":
                cap = self.api.settings.max_page_size
                param["schema"] = {"type": "integer", "minimum": 1, "maximum": cap}
                param["description"] = f"Page size, at most {cap}"
            elif name == "filter" and types and "object" in types:
                param.update(
                    style="deepObject",
                    explode=True,
                    schema={"type": "object", "additionalProperties": {"type": "string"}},
                    description="filter[field]=value; custom fields as filter[custom.key]",
                )
            elif types is not None and types <= SCALARS:
                param["schema"] = _query_scalar(self.resolve(prop) if "$ref" in prop else prop)
            elif types == {"array"} or (types and types <= SCALARS | {"array"}):
                items = self.resolve(prop).get("items") or next(
                    (s.get("items") for s in prop.get("anyOf", []) if s.get("type") == "array"),
                    {},
                )
                item_types = self._types(items or {}) if items else {"string"}
                if item_types is None or not item_types <= SCALARS:
                    return None
                param.update(
                    style="form",
                    explode=True,
                    schema={"type": "array", "items": _query_scalar(self.resolve(items or {}))},
                )
            else:
                return None
            if "description" in prop and "description" not in param:
                param["description"] = prop["description"]
            params.append(param)
        return params

    # ---- operations -------------------------------------------------------------------------
    def responses(
        self, status: int, schema: dict[str, Any], *, body: bool, headers: bool = False
    ) -> dict[str, Any]:
        ok: dict[str, Any] = {
            "description": "Success",
            "content": {"application/json": {"schema": schema}},
        }
        if headers:
            ok["headers"] = {
                "Location": {"schema": {"type": "string"}, "description": "The new record"}
            }
        out: dict[str, Any] = {str(status): ok}
        for code, text in ERRORS.items():
            if code == "413" and not body:
                continue
            resp: dict[str, Any] = {
                "description": text,
                "content": {PROBLEM: {"schema": {"$ref": REF + "Problem"}}},
            }
            if code == "429":
                resp["headers"] = {"Retry-After": {"schema": {"type": "integer"}}}
            out[code] = resp
        return out

    def describe(self, spec: CommandSpec) -> dict[str, Any]:
        flags = "read-only" if spec.read_only else "changes data"
        return {
            "summary": spec.summary or spec.name,
            "description": f"{spec.description}\n\nCommand `{spec.name}` ({flags}); "
            f"permission `{spec.permission}`.",
            "x-kith-command": spec.name,
            "x-kith-permission": spec.permission,
        }

    def record_param(self, entity: str) -> dict[str, Any]:
        return {
            "name": "ref",
            "in": "path",
            "required": True,
            "description": f"The {entity}: its id (42) or a name or email that names it",
            "schema": {"type": "string", "pattern": RECORD_PATTERN},
        }

    def operation(self, op: Operation) -> dict[str, Any] | None:
        res = op.resource
        assert res is not None
        spec = op.spec
        doc: dict[str, Any] = {"operationId": op.operation_id, "tags": [res.path]}
        params: list[dict[str, Any]] = []
        if "{ref}" in op.doc_path:
            params.append(self.record_param(res.entity))
        if op.kind == "batch":
            update = op.update
            props: dict[str, Any] = {}
            cap = self.api.settings.max_batch
            if spec is not None:
                props["create"] = {"type": "array", "maxItems": cap, "items": self.input_ref(spec)}
            if update is not None:
                props["update"] = {
                    "type": "array",
                    "maxItems": cap,
                    "items": self.input_ref(update),
                }
            doc.update(
                summary=f"Create or update up to {cap} {res.path} in one call",
                description="Each record runs as its own command (its own transaction): the "
                "response has one result per record, in order, creates first — a record's "
                "error does not undo the others.",
                requestBody={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "additionalProperties": False,
                                "properties": props,
                            }
                        }
                    },
                },
                responses=self.responses(200, {"$ref": REF + "BatchResult"}, body=True),
            )
            self.schemas.setdefault("BatchResult", BATCH_RESULT)
        else:
            assert spec is not None
            doc.update(self.describe(spec))
            if op.kind == "archive" and op.method == "DELETE":
                doc["summary"] = f"Archive a {res.entity} (soft delete: it can be restored)"
            if op.method == "GET":
                query = self.query_parameters(spec, res.entity)
                if query is None:
                    return None
                params.extend(query)
            elif op.kind in ("update", "action"):
                doc["requestBody"] = {
                    "required": True,
                    "content": {
                        "application/json": {"schema": self.body_without(spec, res.entity)}
                    },
                }
            elif op.kind == "create":
                doc["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": self.input_ref(spec)}},
                }
            has_body = op.method in ("POST", "PATCH") and op.kind not in ("archive", "restore")
            doc["responses"] = self.responses(
                op.status, self.output_schema(spec), body=has_body, headers=op.kind == "create"
            )
        if params:
            doc["parameters"] = params
        if op.method == "POST":
            doc.setdefault("parameters", []).append(IDEMPOTENCY_PARAM)
        return doc

    def command_operations(self, spec: CommandSpec) -> dict[str, Any]:
        tag = f"commands: {spec.plugin or 'core'}"
        out: dict[str, Any] = {}
        post = {
            "operationId": f"{spec.name}:post",
            "tags": [tag],
            **self.describe(spec),
            "parameters": [IDEMPOTENCY_PARAM],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": self.input_ref(spec)}},
            },
            "responses": self.responses(200, self.output_schema(spec), body=True),
        }
        out["post"] = post
        if spec.read_only:
            query = self.query_parameters(spec, None)
            if query is not None:
                out["get"] = {
                    "operationId": f"{spec.name}:get",
                    "tags": [tag],
                    **self.describe(spec),
                    "parameters": query,
                    "responses": self.responses(200, self.output_schema(spec), body=False),
                }
        return out

    def document(self) -> dict[str, Any]:
        paths: dict[str, dict[str, Any]] = {}
        for op in self.api.operations:
            if op.kind == "command":
                continue
            built = self.operation(op)
            if built is not None:
                paths.setdefault(op.doc_path, {})[op.method.lower()] = built
        for spec in self.kith.registry:
            paths[f"{PREFIX}/commands/{spec.name}"] = self.command_operations(spec)
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "Kith REST API",
                "version": kith_pkg.__version__,
                "description": INFO,
            },
            "servers": [{"url": "/"}],
            "security": [{"bearer": []}],
            "paths": paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {
                    "bearer": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "An API token: kith token create EMAIL",
                    }
                },
            },
        }


def _query_scalar(schema: dict[str, Any]) -> dict[str, Any]:
    keep = {
        k: v
        for k, v in schema.items()
        if k
        in (
            "type",
            "enum",
            "const",
            "anyOf",
            "format",
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
            "pattern",
            "default",
        )
    }
    return keep or {"type": "string"}


IDEMPOTENCY_PARAM = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying with the same key returns the first result and writes nothing "
    "twice (same token, same request).",
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,200}$"},
}

BATCH_RESULT: dict[str, Any] = {
    "type": "object",
    "title": "BatchResult",
    "required": ["results", "succeeded", "failed"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "op", "status"],
                "properties": {
                    "index": {"type": "integer", "description": "Position in its list"},
                    "op": {"type": "string", "enum": ["create", "update"]},
                    "status": {"type": "integer", "description": "201, 200 or the error's"},
                    "record": {"type": "object"},
                    "error": {"$ref": REF + "Problem"},
                },
            },
        },
        "succeeded": {"type": "integer"},
        "failed": {"type": "integer"},
    },
}

INFO = """Everything a person can do in Kith, over HTTP. Each operation runs one Kith command
with the same validation, permissions, history and events as Slack, email or the CLI.

Authenticate with `Authorization: Bearer <token>` (`kith token create EMAIL`). Errors are
`application/problem+json`. Lists are paged with `cursor` and `limit`; the next page's URL is
in the `Link` header and its cursor in `next_cursor`. `POST` requests accept an
`Idempotency-Key` header."""


def build_document(api: Api) -> dict[str, Any]:
    return _Builder(api).document()


# ---- docs page -----------------------------------------------------------------------------------

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Kith REST API</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font:15px/1.5 system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#1f2933}}code,pre{{background:#eef2f6;border-radius:4px}}code{{padding:.1rem .3rem}}
pre{{padding:.6rem;overflow:auto;font-size:13px}}h2{{margin-top:2rem;border-bottom:1px solid
#d9e2ec}}details{{margin:.3rem 0;border:1px solid #d9e2ec;border-radius:6px;padding:.3rem .6rem}}
summary{{cursor:pointer}}.m{{display:inline-block;min-width:4.2rem;font-weight:600;
font-family:monospace}}.GET{{color:#0b6e4f}}.POST{{color:#1d4ed8}}.PATCH{{color:#a16207}}
.DELETE{{color:#b91c1c}}.muted{{color:#52606d}}nav a{{margin-right:.6rem}}
</style></head><body>
<h1>Kith REST API <small class="muted">v{version}</small></h1>
<p>{info}</p>
<p>The machine-readable document: <a href="{prefix}/openapi.json">{prefix}/openapi.json</a>
(OpenAPI 3.1). A walk-through from token to first contact: <code>docs/api.md</code>.</p>
<pre>curl -H "Authorization: Bearer $KITH_TOKEN" {prefix}/contacts?q=ada</pre>
<nav>{nav}</nav>
{sections}
</body></html>"""


def _op_html(path: str, method: str, op: dict[str, Any]) -> str:
    esc = html.escape
    parts = [
        f'<details><summary><span class="m {method.upper()}">{method.upper()}</span> '
        f"<code>{esc(path)}</code> — {esc(op.get('summary', ''))}</summary>"
    ]
    if op.get("description"):
        parts.append(f"<p>{esc(op['description']).replace(chr(10) + chr(10), '<br><br>')}</p>")
    params = [p for p in op.get("parameters", []) if p["name"] != "Idempotency-Key"]
    if params:
        rows = "".join(
            f"<li><code>{esc(p['name'])}</code> ({p['in']}"
            f"{', required' if p.get('required') else ''}) {esc(p.get('description', ''))}</li>"
            for p in params
        )
        parts.append(f"<p>Parameters:</p><ul>{rows}</ul>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        parts.append(f"<p>Body:</p><pre>{esc(json.dumps(body, indent=1))}</pre>")
    ok = next((r for c, r in op.get("responses", {}).items() if c.startswith("2")), None)
    if ok:
        schema = ok.get("content", {}).get("application/json", {}).get("schema")
        parts.append(f"<p>Result:</p><pre>{esc(json.dumps(schema, indent=1))}</pre>")
    parts.append("</details>")
    return "".join(parts)


def render_docs(document: dict[str, Any]) -> str:
    groups: dict[str, list[str]] = {}
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            tag = (op.get("tags") or ["other"])[0]
            groups.setdefault(tag, []).append(_op_html(path, method, op))
    nav = " ".join(
        f'<a href="#{html.escape(t.replace(" ", "-"))}">{html.escape(t)}</a>' for t in groups
    )
    sections = "".join(
        f'<h2 id="{html.escape(t.replace(" ", "-"))}">{html.escape(t)}</h2>' + "".join(ops)
        for t, ops in groups.items()
    )
    schemas = document["components"]["schemas"]
    sections += "<h2 id='schemas'>Schemas</h2>" + "".join(
        f"<details><summary><code>{html.escape(name)}</code></summary>"
        f"<pre>{html.escape(json.dumps(s, indent=1))}</pre></details>"
        for name, s in sorted(schemas.items())
    )
    return PAGE.format(
        version=html.escape(document["info"]["version"]),
        info=html.escape(document["info"]["description"].split("\n\n")[0]),
        prefix=PREFIX,
        nav=nav,
        sections=sections,
    )


def docs_handlers(api: Api) -> list[Any]:
    cache: dict[str, bytes] = {}

    def document_bytes() -> bytes:
        if "json" not in cache:
            cache["json"] = json.dumps(build_document(api), ensure_ascii=False).encode()
        return cache["json"]

    @get("/openapi.json", opt={PUBLIC: True}, include_in_schema=False, sync_to_thread=False)
    def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
        """The OpenAPI 3.1 document of the REST API."""
        return Response(content=document_bytes(), media_type=MediaType.JSON)

    @get("/docs", opt={PUBLIC: True}, include_in_schema=False, sync_to_thread=False)
    def docs_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        """A browsable page of every operation (no scripts, nothing from the internet)."""
        if "html" not in cache:
            cache["html"] = render_docs(json.loads(document_bytes())).encode()
        return Response(content=cache["html"], media_type=MediaType.HTML)

    return [openapi_json, docs_page]
