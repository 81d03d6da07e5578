"""Kith commands as MCP tools: their schema, annotations, and running one as an actor.

A command's input model is the tool's input schema, its docstring the description, and its
flags the MCP annotations (``readOnlyHint``, ``destructiveHint``, ``idempotentHint``). The
tools an actor is shown are the commands their role and their token's scopes allow, so a
``read`` token sees only read-only tools. Running a tool is ``kith.run(name, arguments,
actor)``, exactly what the REST API does; a :class:`kith.KithError` comes back as a tool
result with ``isError`` whose text names each field at fault and why.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp_types as types
from kith import Actor, CommandSpec, Kith, KithError
from pydantic import BaseModel

log = logging.getLogger("kith.mcp")


def allowed(spec: CommandSpec, actor: Actor) -> bool:
    """Whether ``actor`` may run ``spec``: their role, then their token's scopes (the same
    checks :meth:`kith.Kith.run` makes)."""
    try:
        actor.require(spec.permission, spec.name)
        actor.require_scope(spec.name, spec.read_only)
    except KithError:
        return False
    return True


def tool_for(spec: CommandSpec) -> types.Tool:
    """The MCP tool describing command ``spec``."""
    return types.Tool(
        name=spec.name,
        title=spec.summary or spec.name,
        description=spec.description,
        input_schema=spec.input.model_json_schema(),
        annotations=types.ToolAnnotations(
            title=spec.summary or spec.name,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive if not spec.read_only else False,
            idempotent_hint=spec.idempotent,
            open_world_hint=False,
        ),
    )


def tools_for(kith: Kith, actor: Actor) -> list[types.Tool]:
    """Every tool ``actor`` may call, sorted by name."""
    return [tool_for(spec) for spec in kith.registry if allowed(spec, actor)]


def to_json(result: Any) -> str:
    """A command's result as JSON text."""
    if isinstance(result, BaseModel):
        return result.model_dump_json()
    return json.dumps(result, default=str, ensure_ascii=False)


def error_text(err: KithError) -> str:
    """An error as an MCP client (and the model behind it) reads it: the message, then one
    line per field at fault (``field: reason (code)``), then the error as JSON."""
    lines = [f"{err.code}: {err.message}"]
    lines += [f"{f.field}: {f.message} ({f.code})" for f in err.fields]
    lines += [f"candidate: #{c.get('id')} {c.get('label', '')}".rstrip() for c in err.candidates]
    lines.append(json.dumps(err.as_dict(), default=str, ensure_ascii=False))
    return "\n".join(lines)


def error_result(err: KithError) -> types.CallToolResult:
    """``err`` as a tool result the client's model can read (``isError``)."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=error_text(err))], is_error=True
    )


async def call_tool(
    kith: Kith, actor: Actor, name: str, arguments: dict[str, Any] | None
) -> types.CallToolResult:
    """Run command ``name`` as ``actor``; failures become an ``isError`` result."""
    try:
        spec = kith.registry.get(name)
        # refused before the input is parsed, as Kith.run would refuse it after
        actor.require(spec.permission, name)
        actor.require_scope(name, spec.read_only)
        result = await kith.run(name, arguments or {}, actor)
    except KithError as err:
        return error_result(err)
    except Exception:
        log.exception("MCP tool %s failed", name)
        return error_result(
            KithError("internal_error", "Something went wrong; it was logged.", status=500)
        )
    text = to_json(result)
    structured = json.loads(text)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=structured if isinstance(structured, dict) else None,
    )
