"""The MCP server (the SDK's low-level ``Server``): tools, resource templates, resources.

The low-level server is used rather than ``MCPServer``'s decorators because what a client
sees depends on who it is: ``tools/list`` is computed per request from the actor's role and
token scopes, and every call runs as that actor. The actor comes from the HTTP request
(its bearer token, see :mod:`kith.channels.mcp.http`) or, over stdio, is the one the process
was started as (see :mod:`kith.channels.mcp.stdio`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mcp_types as types
from kith import Actor, Kith, KithError, __version__
from mcp.server import Server, ServerRequestContext

from . import resources, tools

ACTOR_KEY = "kith_actor"
INSTRUCTIONS = (
    "Kith is a CRM. Every Kith command is a tool named <noun>.<verb> (contact.create, "
    "deal.move, ticket.reply…); its input schema and description say what it takes. Records "
    "are resources: kith://contacts/{id}, kith://deals/{id}, kith://tickets/{id} and their "
    "…/timeline. A tool error names each field at fault and why; fix those fields and retry."
)

ActorResolver = Callable[[ServerRequestContext[Any, Any]], Actor]


def actor_from_request(ctx: ServerRequestContext[Any, Any]) -> Actor:
    """The actor the HTTP layer authenticated for this request (never a default)."""
    request = ctx.request
    scope = getattr(request, "scope", None)
    actor = scope.get(ACTOR_KEY) if isinstance(scope, dict) else None
    if not isinstance(actor, Actor):
        raise KithError("unauthorized", "This MCP request is not authenticated.", status=401)
    return actor


def build_server(kith: Kith, resolve_actor: ActorResolver) -> Server[Any]:
    """An MCP server exposing ``kith``'s commands and records to the resolved actor."""

    async def list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools.tools_for(kith, resolve_actor(ctx)))

    async def call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        return await tools.call_tool(kith, resolve_actor(ctx), params.name, params.arguments)

    async def list_resources(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        # records are reached through the templates; there are too many to list
        return types.ListResourcesResult(resources=[])

    async def list_templates(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=resources.templates_for(kith, resolve_actor(ctx))
        )

    async def read_resource(
        ctx: ServerRequestContext[Any, Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        return await resources.read(kith, resolve_actor(ctx), str(params.uri))

    return Server(
        "kith",
        version=__version__,
        title="Kith",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
    )
