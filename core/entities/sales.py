"""Pipelines, stages, deals and leads: the core records of selling.

Behaviour (moving deals, converting leads, routing) belongs to the sales plugin; the core
keeps the records and their generic commands.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from ..context import Context
from ..errors import FieldError, KithError, invalid
from ..money import check_currency, to_major, to_minor
from ..refs import ambiguous, as_id, by_text
from ..tables import Deal, Lead, Pipeline, Stage
from ._common import (
    Custom,
    Email,
    Entity,
    Input,
    Name,
    Record,
    Ref,
    crud,
    merge_custom,
    set_fields,
)
from .people import resolve_contact, resolve_organization
from .users import resolve_user

StageKind = Literal["open", "won", "lost"]


class StageIn(Input):
    name: Name
    probability: int = Field(0, ge=0, le=100, description="Win probability in percent")
    rotting_days: int | None = Field(None, ge=1, le=3650)
    kind: StageKind = "open"


class PipelineCreate(Input):
    name: Name
    is_default: bool = False
    stages: list[StageIn] = Field(default_factory=list, max_length=50)


class PipelineUpdate(Input):
    pipeline: Ref
    name: Name | None = None
    is_default: bool | None = None


class StageOut(Record):
    pipeline_id: int
    name: str
    position: int
    probability: int
    rotting_days: int | None
    kind: str


class PipelineOut(Record):
    name: str
    is_default: bool
    stages: list[StageOut] = []


async def resolve_pipeline(ctx: Context, ref: Any, field: str = "pipeline") -> dict[str, Any]:
    """A pipeline by id or name; ``default`` is the default pipeline."""
    if isinstance(ref, str) and ref.strip().lower() == "default":
        row = await default_pipeline(ctx)
        if row is None:
            raise invalid(field, "there is no default pipeline yet")
        return row
    from ..refs import resolve

    return await resolve(ctx, Pipeline, ref, field=field, entity="pipeline")


async def default_pipeline(ctx: Context) -> dict[str, Any] | None:
    rows = await ctx.select(Pipeline, is_default=True, limit=1)
    if rows and rows[0]["archived_at"] is None:
        return rows[0]
    rows = [r for r in await ctx.select(Pipeline, order_by="id") if r["archived_at"] is None]
    return rows[0] if rows else None


async def pipeline_stages(ctx: Context, pipeline_id: int) -> list[dict[str, Any]]:
    rows = await ctx.select(Stage, pipeline_id=pipeline_id, order_by="position")
    return [r for r in rows if r["archived_at"] is None]


async def resolve_stage(
    ctx: Context, pipeline_id: int, ref: Any, field: str = "stage"
) -> dict[str, Any]:
    """A stage of ``pipeline_id`` by id, name (case-insensitive) or unique name prefix."""
    stages = await pipeline_stages(ctx, pipeline_id)
    record_id = as_id(ref)
    if record_id is not None:
        for s in stages:
            if s["id"] == record_id:
                return s
        raise KithError(
            "not_found",
            f"Stage {record_id} is not a stage of this pipeline.",
            [FieldError(field, "is not a stage of the deal's pipeline", "not_found")],
            status=404,
        )
    text = str(ref).strip().lower()
    exact = [s for s in stages if s["name"].lower() == text]
    if exact:
        return exact[0]
    prefix = [s for s in stages if s["name"].lower().startswith(text)]
    if len(prefix) == 1:
        return prefix[0]
    if len(prefix) > 1:
        raise ambiguous("stage", ref, field, prefix, "name")
    names = ", ".join(s["name"] for s in stages)
    message = f"No stage {ref!r} in this pipeline. Stages: {names}."
    raise KithError("not_found", message, [FieldError(field, message, "not_found")], status=404)


async def _prepare_pipeline(
    ctx: Context, data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    values = (
        {"name": data.name, "is_default": data.is_default}
        if existing is None
        else set_fields(data, "name", "is_default")
    )
    for key in ("name", "is_default"):
        if key in values and values[key] is None:
            raise invalid(key, "cannot be empty")
    if "name" in values:
        rows = await by_text(ctx, Pipeline, "name", values["name"])
        clash = [
            r
            for r in rows
            if r["name"].lower() == values["name"].lower()
            and (existing is None or r["id"] != existing["id"])
        ]
        if clash:
            raise KithError(
                "conflict",
                f"name: there is already a pipeline called {clash[0]['name']!r}",
                [FieldError("name", "is taken by another pipeline", "duplicate")],
                status=409,
            )
    if values.get("is_default") or (existing is None and await default_pipeline(ctx) is None):
        values["is_default"] = True
        for other in await ctx.select(Pipeline, is_default=True):
            if existing is None or other["id"] != existing["id"]:
                await ctx.update(Pipeline, other, {"is_default": False})
    return values


async def _write_stages(
    ctx: Context, row: dict[str, Any], data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if existing is not None:
        return {}
    seen: set[str] = set()
    for i, stage in enumerate(data.stages):
        if stage.name.lower() in seen:
            raise invalid(f"stages.{i}.name", f"{stage.name!r} appears twice")
        seen.add(stage.name.lower())
        await ctx.insert(Stage, {**stage.model_dump(), "pipeline_id": row["id"], "position": i})
    return {}


async def _present_pipeline(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "stages": await pipeline_stages(ctx, row["id"])}


PIPELINE = Entity(
    name="pipeline",
    table=Pipeline,
    area="pipelines",
    create_input=PipelineCreate,
    update_input=PipelineUpdate,
    output=PipelineOut,
    prepare=_prepare_pipeline,
    after_write=_write_stages,
    present=_present_pipeline,
    write_level="manage",
    resolver=resolve_pipeline,
)


class StageCreate(StageIn):
    pipeline: Ref
    position: int | None = Field(None, ge=0, description="0-based; default: after the last")


class StageUpdate(Input):
    stage: int
    name: Name | None = None
    probability: int | None = Field(None, ge=0, le=100)
    rotting_days: int | None = Field(None, ge=1, le=3650)
    kind: StageKind | None = None


async def _prepare_stage(
    ctx: Context, data: Any, existing: dict[str, Any] | None
) -> dict[str, Any]:
    if existing is None:
        pipeline = await resolve_pipeline(ctx, data.pipeline)
        stages = await pipeline_stages(ctx, pipeline["id"])
        if any(s["name"].lower() == data.name.lower() for s in stages):
            raise invalid("name", f"pipeline {pipeline['name']} already has a stage {data.name!r}")
        position = len(stages) if data.position is None else min(data.position, len(stages))
        for s in stages[position:]:
            await ctx.update(Stage, s, {"position": s["position"] + 1}, record_history=False)
        return {
            "pipeline_id": pipeline["id"],
            "name": data.name,
            "probability": data.probability,
            "rotting_days": data.rotting_days,
            "kind": data.kind,
            "position": position,
        }
    values = set_fields(data, "name", "probability", "rotting_days", "kind")
    for key in ("name", "probability", "kind"):
        if key in values and values[key] is None:
            raise invalid(key, "cannot be empty")
    if values.get("name"):
        siblings = await pipeline_stages(ctx, existing["pipeline_id"])
        if any(
            s["name"].lower() == values["name"].lower() and s["id"] != existing["id"]
            for s in siblings
        ):
            raise invalid("name", f"this pipeline already has a stage {values['name']!r}")
    return values


STAGE = Entity(
    name="stage",
    table=Stage,
    area="pipelines",
    create_input=StageCreate,
    update_input=StageUpdate,
    output=StageOut,
    prepare=_prepare_stage,
    write_level="manage",
)


# ---- deals --------------------------------------------------------------------------------------


class DealCreate(Input):
    title: Name
    value: str | int = Field("0", description="Major units as a decimal string, e.g. '24000.00'")
    currency: str = "EUR"
    pipeline: Ref | None = Field(None, description="Default: the default pipeline")
    stage: Ref | None = Field(None, description="Default: the pipeline's first stage")
    owner: Ref | None = None
    contact: Ref | None = None
    organization: Ref | None = None
    expected_close: date | None = None
    custom: Custom = {}


class DealUpdate(Input):
    deal: Ref
    title: Name | None = None
    value: str | int | None = None
    currency: str | None = None
    owner: Ref | None = None
    contact: Ref | None = None
    organization: Ref | None = None
    expected_close: date | None = None
    custom: Custom | None = None


class DealOut(Record):
    title: str
    value: str
    currency: str
    value_minor: int
    pipeline_id: int
    stage_id: int
    status: str
    owner_id: int | None
    contact_id: int | None
    organization_id: int | None
    expected_close: date | None
    close_reason: str | None
    custom: dict[str, Any] = {}


async def _links(
    ctx: Context, data: Any, existing: dict[str, Any] | None, values: dict[str, Any]
) -> None:
    """Resolve owner/contact/organization references that were given."""
    given = data.model_fields_set
    if "owner" in given:
        values["owner_id"] = (
            (await resolve_user(ctx, data.owner, "owner"))["id"] if data.owner is not None else None
        )
    elif existing is None:
        values["owner_id"] = ctx.actor.user_id
    if "contact" in given:
        values["contact_id"] = (
            (await resolve_contact(ctx, data.contact))["id"] if data.contact is not None else None
        )
    if "organization" in given:
        org = data.organization
        values["organization_id"] = (
            (await resolve_organization(ctx, org))["id"] if org is not None else None
        )


async def _prepare_deal(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    fields = ("title", "expected_close", "custom")
    values = (
        {k: getattr(data, k) for k in fields} if existing is None else set_fields(data, *fields)
    )
    if existing is not None:
        if "title" in values and values["title"] is None:
            raise invalid("title", "cannot be empty")
        merge_custom(values, existing)
    await _links(ctx, data, existing, values)
    if existing is None:
        currency = check_currency(data.currency)
        values["currency"] = currency
        values["value_minor"] = to_minor(data.value, currency)
        pipeline = (
            await resolve_pipeline(ctx, data.pipeline)
            if data.pipeline is not None
            else await default_pipeline(ctx)
        )
        if pipeline is None:
            raise invalid("pipeline", "no pipeline exists yet: create one with pipeline.create")
        stages = await pipeline_stages(ctx, pipeline["id"])
        if data.stage is not None:
            stage = await resolve_stage(ctx, pipeline["id"], data.stage)
        else:
            open_stages = [s for s in stages if s["kind"] == "open"]
            if not open_stages:
                raise invalid("stage", f"pipeline {pipeline['name']} has no open stage")
            stage = open_stages[0]
        values.update(
            pipeline_id=pipeline["id"],
            stage_id=stage["id"],
            status=stage["kind"],
            stage_changed_at=ctx.now(),
        )
    elif "value" in data.model_fields_set or "currency" in data.model_fields_set:
        currency = check_currency(data.currency) if data.currency else existing["currency"]
        value = (
            data.value
            if data.value is not None
            else to_major(existing["value_minor"], existing["currency"])
        )
        values["currency"] = currency
        values["value_minor"] = to_minor(value, currency)
    return values


async def _present_deal(ctx: Context, row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "value": to_major(row["value_minor"], row["currency"])}


DEAL = Entity(
    name="deal",
    table=Deal,
    area="deals",
    create_input=DealCreate,
    update_input=DealUpdate,
    output=DealOut,
    prepare=_prepare_deal,
    present=_present_deal,
    text_columns=("title",),
    label="title",
)


# ---- leads --------------------------------------------------------------------------------------


class LeadCreate(Input):
    name: Name
    email: Email | None = None
    company: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=100)
    owner: Ref | None = None
    contact: Ref | None = None
    organization: Ref | None = None
    score: int = Field(0, ge=-100_000, le=100_000)
    custom: Custom = {}


class LeadUpdate(Input):
    lead: Ref
    name: Name | None = None
    email: Email | None = None
    company: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=50)
    source: str | None = Field(None, max_length=100)
    owner: Ref | None = None
    contact: Ref | None = None
    organization: Ref | None = None
    score: int | None = Field(None, ge=-100_000, le=100_000)
    custom: Custom | None = None


class LeadOut(Record):
    name: str
    email: str | None
    company: str | None
    phone: str | None
    source: str | None
    status: str
    disqualify_reason: str | None
    owner_id: int | None
    score: int
    contact_id: int | None
    organization_id: int | None
    custom: dict[str, Any] = {}


async def _prepare_lead(ctx: Context, data: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    fields = ("name", "email", "company", "phone", "source", "score", "custom")
    values = (
        {k: getattr(data, k) for k in fields} if existing is None else set_fields(data, *fields)
    )
    if existing is not None:
        for key in ("name", "score"):
            if key in values and values[key] is None:
                raise invalid(key, "cannot be empty")
        merge_custom(values, existing)
    await _links(ctx, data, existing, values)
    return values


LEAD = Entity(
    name="lead",
    table=Lead,
    area="leads",
    create_input=LeadCreate,
    update_input=LeadUpdate,
    output=LeadOut,
    prepare=_prepare_lead,
    text_columns=("email", "name"),
)

COMMANDS = crud(PIPELINE) + crud(STAGE) + crud(DEAL) + crud(LEAD)
