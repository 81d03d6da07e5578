"""Kith records and their timelines as MCP resources.

Every entity the REST API serves with a ``get`` command is a resource template
``kith://<plural>/{id}`` (``kith://contacts/{id}``, ``kith://deals/{id}``,
``kith://tickets/{id}``), and with a ``timeline`` command also
``kith://<plural>/{id}/timeline``. Reading one runs that read-only command as the
connection's actor, so roles, record visibility and token scopes apply exactly as on
``GET /api/v1/<plural>/{id}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import mcp_types as types
from kith import Actor, CommandSpec, Kith, KithError
from kith.channels.api.resources import discover
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INTERNAL_ERROR, INVALID_PARAMS

from .tools import allowed, to_json

SCHEME = "kith://"
URI = re.compile(r"^kith://([a-z0-9-]{1,60})/([^/?#]{1,200})(/timeline)?$")
# JSON-RPC code for an unknown resource (the MCP specification's "Resource not found")
RESOURCE_NOT_FOUND = -32002


@dataclass(frozen=True)
class Template:
    """One resource template and the read-only command that reads it."""

    uri_template: str
    entity: str
    spec: CommandSpec

    def describe(self) -> types.ResourceTemplate:
        what = "timeline of a" if self.uri_template.endswith("/timeline") else "one"
        return types.ResourceTemplate(
            name=self.spec.name,
            uri_template=self.uri_template,
            title=f"The {what} {self.entity.replace('_', ' ')}",
            description=self.spec.description,
            mime_type="application/json",
        )


def templates(kith: Kith) -> dict[tuple[str, bool], Template]:
    """(plural path, is timeline) → template, for this Kith's registry."""
    out: dict[tuple[str, bool], Template] = {}
    for res in discover(kith):
        get = res.commands.get("get")
        if get is not None and get.read_only:
            out[(res.path, False)] = Template(f"{SCHEME}{res.path}/{{id}}", res.entity, get)
        timeline = res.commands.get("timeline")
        if timeline is not None and timeline.read_only:
            out[(res.path, True)] = Template(
                f"{SCHEME}{res.path}/{{id}}/timeline", res.entity, timeline
            )
    return out


def templates_for(kith: Kith, actor: Actor) -> list[types.ResourceTemplate]:
    """The templates ``actor`` may read."""
    return [t.describe() for t in templates(kith).values() if allowed(t.spec, actor)]


async def read(kith: Kith, actor: Actor, uri: str) -> types.ReadResourceResult:
    """Read ``uri`` as ``actor``; an unknown URI or a refused read is an MCP error."""
    m = URI.match(uri)
    template = templates(kith).get((m.group(1), bool(m.group(3)))) if m else None
    if m is None or template is None:
        raise MCPError(
            RESOURCE_NOT_FOUND,
            f"There is no resource {uri}; see resources/templates/list for what there is.",
            {"uri": uri},
        )
    try:
        result = await kith.run(template.spec.name, {template.entity: m.group(2)}, actor)
    except KithError as err:
        code = RESOURCE_NOT_FOUND if err.status == 404 else INVALID_PARAMS
        if err.status >= 500:
            code = INTERNAL_ERROR
        raise MCPError(code, err.message, {"uri": uri, **err.as_dict()}) from None
    return types.ReadResourceResult(
        contents=[
            types.TextResourceContents(uri=uri, mime_type="application/json", text=to_json(result))
        ]
    )
