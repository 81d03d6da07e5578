"""Pipelines and stages: reorder, the guards that keep deals in valid stages, the default
pipeline.

Creating a pipeline with its stages, renaming and changing a stage are the core's generic
commands (``pipeline.create``, ``pipeline.update``, ``stage.create``, ``stage.update``,
``stage.archive``); this module adds ``stage.reorder`` and refuses, through ``kith_validate``,
what would strand deals: archiving a stage or a pipeline that still holds deals, and changing
the kind (open/won/lost) of a stage that holds deals.
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel, Field

from ..records import as_id, find_stage, resolve, stages_of

DEFAULT_PIPELINE = {
    "name": "Sales",
    "is_default": True,
    "stages": [
        {"name": "Qualification", "probability": 20, "rotting_days": 14},
        {"name": "Discovery", "probability": 30, "rotting_days": 14},
        {"name": "Demo", "probability": 40, "rotting_days": 14},
        {"name": "Proposal", "probability": 60, "rotting_days": 14},
        {"name": "Negotiation", "probability": 75, "rotting_days": 21},
        {"name": "Won", "probability": 100, "kind": "won"},
        {"name": "Lost", "probability": 0, "kind": "lost"},
    ],
}


async def ensure_default_pipeline(app: kith.Kith) -> bool:
    """Create the ``Sales`` pipeline when there is no pipeline at all (``kith init``).

    Idempotent: once any pipeline exists — even renamed or changed — nothing is touched."""
    if await app.db.fetch('SELECT "id" FROM "pipelines" LIMIT 1'):
        return False
    await app.run("pipeline.create", DEFAULT_PIPELINE, kith.SYSTEM)
    return True


class StageReorder(kith.Input):
    pipeline: kith.Ref = Field(description="The pipeline: id, name or 'default'")
    stages: list[kith.Ref] = Field(
        min_length=1, max_length=50, description="Every stage of the pipeline, in the new order"
    )


class StageOrder(BaseModel):
    pipeline_id: int
    stages: list[str]


async def _pipeline(ctx: kith.Context, ref: Any) -> dict[str, Any]:
    return await resolve(ctx, "pipeline", kith.Pipeline, ref, for_update=True)


@kith.command("stage.reorder", input=StageReorder, output=StageOrder, permission="pipelines.manage")
async def reorder_stages(ctx: kith.Context, data: StageReorder) -> StageOrder:
    """Put a pipeline's stages in a new order (name every stage once, by name or id)."""
    pipeline = await _pipeline(ctx, data.pipeline)
    current = await stages_of(ctx, pipeline["id"])
    wanted: list[dict[str, Any]] = []
    for i, ref in enumerate(data.stages):
        stage = await find_stage(ctx, pipeline, ref, field=f"stages.{i}")
        if any(s["id"] == stage["id"] for s in wanted):
            raise kith.invalid(f"stages.{i}", f"{stage['name']} is listed twice")
        wanted.append(stage)
    missing = [s["name"] for s in current if s["id"] not in {w["id"] for w in wanted}]
    if missing:
        raise kith.invalid(
            "stages", f"name every stage of {pipeline['name']}; missing: " + ", ".join(missing)
        )
    before = [s["name"] for s in current]
    for position, stage in enumerate(wanted):
        if stage["position"] != position:
            await ctx.update(kith.Stage, stage, {"position": position}, record_history=False)
    after = [s["name"] for s in wanted]
    if before != after:
        ctx.record_history(
            "pipeline", pipeline["id"], "stages_reordered", {"stages": [before, after]}
        )
        ctx.emit("pipeline.stages_reordered", "pipeline", pipeline["id"], stages=[before, after])
    return StageOrder(pipeline_id=pipeline["id"], stages=after)


# ---- guards (kith_validate) ----------------------------------------------------------------
# They run before the command's transaction, like every kith_validate hook: a deal moved into
# the stage in the same instant can slip past, which is harmless (it can be moved out again).


async def _count(app: kith.Kith, sql: str, params: list[Any]) -> int:
    rows = await app.db.fetch(sql, params)
    return int(rows[0]["n"]) if rows else 0


async def _id_for(app: kith.Kith, table: str, ref: Any) -> int | None:
    """The id a reference names, resolved like the core does (id, exact name, fragment);
    ``None`` when it names nothing or several (the command itself then says so)."""
    record_id = as_id(ref)
    if record_id is not None or not isinstance(ref, str):
        return record_id
    m = app.db.statements.placeholders(1)
    text = ref.strip().lower()
    if table == "pipelines" and text == "default":
        rows = await app.db.fetch(
            'SELECT "id" FROM "pipelines" WHERE "is_default" = TRUE AND "archived_at" IS NULL'
        )
        return rows[0]["id"] if len(rows) == 1 else None
    rows = await app.db.fetch(
        f'SELECT "id", lower("name") AS name FROM "{table}" '  # noqa: S608 - table is ours
        f'WHERE "archived_at" IS NULL AND instr(lower("name"), {m[0]}) > 0'
        if app.db.dialect == "sqlite"
        else f'SELECT "id", lower("name") AS name FROM "{table}" '  # noqa: S608
        f'WHERE "archived_at" IS NULL AND strpos(lower("name"), {m[0]}) > 0',
        [text],
    )
    exact = [r for r in rows if r["name"] == text]
    chosen = exact if len(exact) == 1 else rows
    return chosen[0]["id"] if len(chosen) == 1 else None


def _not_empty(field: str, code: str, message: str, count: int) -> kith.KithError:
    return kith.KithError(
        code,
        f"{field}: {message}",
        [kith.FieldError(field, f"holds {count} deal(s)", "not_empty")],
        status=409,
    )


async def guard(app: kith.Kith, command: str, data: Any) -> None:
    """Refuse changes that would leave deals in a stage that no longer makes sense."""
    m = app.db.statements.placeholders(1)[0]
    if command == "stage.archive":
        stage_id = await _id_for(app, "stages", data.stage)
        if stage_id is None:
            return
        n = await _count(
            app,
            f'SELECT COUNT(*) AS n FROM "deals" WHERE "stage_id" = {m} AND "archived_at" IS NULL',  # noqa: S608
            [stage_id],
        )
        if n:
            raise _not_empty(
                "stage",
                "stage_not_empty",
                f"{n} deal(s) are still in this stage; move them to another stage first "
                "(deal.move), then archive it",
                n,
            )
    elif command == "pipeline.archive":
        pipeline_id = await _id_for(app, "pipelines", data.pipeline)
        if pipeline_id is None:
            return
        n = await _count(
            app,
            f'SELECT COUNT(*) AS n FROM "deals" WHERE "pipeline_id" = {m} '  # noqa: S608
            'AND "status" = \'open\' AND "archived_at" IS NULL',
            [pipeline_id],
        )
        if n:
            raise _not_empty(
                "pipeline",
                "pipeline_not_empty",
                f"{n} open deal(s) are still in this pipeline; win, lose or archive them first",
                n,
            )
    elif command == "stage.update" and data.kind is not None:
        rows = await app.db.fetch(f'SELECT "kind" FROM "stages" WHERE "id" = {m}', [data.stage])  # noqa: S608
        if not rows or rows[0]["kind"] == data.kind:
            return
        n = await _count(
            app,
            f'SELECT COUNT(*) AS n FROM "deals" WHERE "stage_id" = {m} AND "archived_at" IS NULL',  # noqa: S608
            [data.stage],
        )
        if n:
            raise _not_empty(
                "kind",
                "stage_not_empty",
                f"{n} deal(s) are in this stage; making it {data.kind} instead of "
                f"{rows[0]['kind']} would change their status. Move them first, or add a "
                "new stage",
                n,
            )
