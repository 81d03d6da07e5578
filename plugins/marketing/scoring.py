"""Lead scoring: points from what a lead is and from what its person does, decaying with
time; crossing the threshold makes the lead marketing-qualified (``lead.mql``), which the
sales plugin routes.

* **Field rules** ``{"name": "Software", "filter": {"custom.industry": "Software"},
  "points": 10}`` use the filter language of ``lead.list``; a lead gets the points while it
  matches.
* **Event rules** ``{"name": "Form", "event": "form.submitted", "points": 15}`` add points
  each time the event happens to the lead, or to its contact's open leads.
* Event points halve every ``half_life_days`` (a daily job); field points do not decay.

A lead's score (``leads.score``) is changed through ``lead.update``, so it has history.
``scoring.explain`` says where a lead's points come from.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import kith
from pydantic import BaseModel, Field, model_validator

from .tables import MarketingLeadScore, MarketingScoring

DECAY_JOB = "marketing.scores_decay"
CLOSED = ("converted", "disqualified")


class Rule(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    points: int = Field(ge=-1000, le=1000)
    filter: dict[str, Any] | None = Field(None, max_length=20, description="Field rule")
    event: str | None = Field(None, max_length=100, description="Event rule")

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if (self.filter is None) == (self.event is None):
            raise ValueError("a rule has either a filter (fields) or an event")
        return self


class Configure(kith.Input):
    rules: list[Rule] = Field(max_length=100)
    mql_threshold: int = Field(50, ge=1, le=100_000)
    half_life_days: int = Field(30, ge=1, le=3650)


class ScoringOut(BaseModel):
    rules: list[Rule]
    mql_threshold: int
    half_life_days: int
    leads_rescored: int = 0


class LeadRef(kith.Input):
    lead: int


class Explained(BaseModel):
    lead: int
    score: int
    field_points: dict[str, int]
    event_points: float
    events: dict[str, float]
    mql: bool


class Done(BaseModel):
    ok: bool = True


class EventIn(kith.Input):
    event: str = Field(max_length=100)
    entity: str | None = Field(None, max_length=50)
    entity_id: int | None = None
    contact: int | None = Field(None, description="The contact the record is about")
    lead: int | None = Field(None, description="The lead the record is about")


async def _config(app: kith.Kith, fetch: Any) -> dict[str, Any] | None:
    rows = await fetch('SELECT * FROM "marketing_scoring" ORDER BY "id" LIMIT 1', [])
    if not rows:
        return None
    row = dict(rows[0])
    rules = row["rules"]
    if isinstance(rules, str):
        import json

        rules = json.loads(rules)
    row["rules"] = rules
    return row


CONFIG = kith.KithCache("marketing.scoring", _config)


async def _field_points(
    ctx: kith.Context, rules: list[dict[str, Any]], lead_id: int | None
) -> dict[int, dict[str, int]]:
    """lead id → {rule name: points} for the field rules the lead matches."""
    out: dict[int, dict[str, int]] = {}
    for rule in rules:
        if rule.get("filter") is None:
            continue
        where = dict(rule["filter"])
        if lead_id is not None:
            where["id"] = lead_id
        for match in await kith.matching_ids(ctx, "lead", where):
            out.setdefault(match, {})[rule["name"]] = rule["points"]
    return out


async def _apply(
    ctx: kith.Context, config: dict[str, Any], lead_id: int, state: dict[str, Any]
) -> None:
    """Write the lead's score from its state; announce it once when it crosses the line."""
    lead = await ctx.find_one(kith.Lead, id=lead_id)
    if lead is None or lead.get("archived_at") is not None:
        return
    score = round(state["field_points"] + state["event_centipoints"] / 100)
    if score != lead["score"]:
        await ctx.run("lead.update", {"lead": lead_id, "score": score})
    if (
        score >= config["mql_threshold"]
        and state["mql_at"] is None
        and lead["status"] not in CLOSED
    ):
        row = await ctx.find_one(MarketingLeadScore, lead_id=lead_id)
        if row is not None:
            await ctx.update(MarketingLeadScore, row, {"mql_at": ctx.now()}, record_history=False)
        ctx.record_history("lead", lead_id, "marketing_qualified", {"score": [None, score]})
        ctx.emit("lead.mql", "lead", lead_id, score=score, threshold=config["mql_threshold"])


async def _state(ctx: kith.Context, lead_id: int) -> dict[str, Any]:
    row = await ctx.find_one(MarketingLeadScore, lead_id=lead_id)
    if row is None:
        row = await ctx.insert(
            MarketingLeadScore,
            {"lead_id": lead_id, "field_points": 0, "event_centipoints": 0, "reasons": {}},
            record_history=False,
        )
    return row


async def rescore(ctx: kith.Context, config: dict[str, Any], lead_id: int | None) -> int:
    """Recompute field points (of one lead, or of all) and apply; how many changed."""
    points = await _field_points(ctx, config["rules"], lead_id)
    targets = (
        [lead_id]
        if lead_id is not None
        else sorted(set(points) | {r["lead_id"] for r in await ctx.select(MarketingLeadScore)})
    )
    changed = 0
    for target in targets:
        state = await _state(ctx, target)
        total = sum(points.get(target, {}).values())
        if total != state["field_points"]:
            state, _ = await ctx.update(
                MarketingLeadScore, state, {"field_points": total}, record_history=False
            )
            changed += 1
        await _apply(ctx, config, target, state)
    return changed


@kith.command("scoring.configure", input=Configure, output=ScoringOut, permission="scoring.manage")
async def configure(ctx: kith.Context, data: Configure) -> ScoringOut:
    """Set the scoring rules, the MQL threshold and the decay; every lead is rescored."""
    known = set(kith.known_events(ctx.kith))
    for i, rule in enumerate(data.rules):
        if rule.event is not None and rule.event not in known:
            raise kith.invalid(f"rules.{i}.event", f"no event is called {rule.event!r}")
        if rule.filter is not None:
            try:
                await kith.matching_ids(ctx, "lead", {**rule.filter, "id": 0})
            except kith.KithError as err:
                field = err.fields[0].field if err.fields else "filter"
                raise kith.invalid(
                    f"rules.{i}.{field}", err.fields[0].message if err.fields else err.message
                ) from None
    values = data.model_dump(mode="json")
    existing = await ctx.select(MarketingScoring, limit=1)
    if existing:
        await ctx.update(MarketingScoring, existing[0], values)
    else:
        await ctx.insert(MarketingScoring, values)
    CONFIG.invalidate(ctx)
    await ctx.schedule(DECAY_JOB, {}, at=_next_night(ctx.now()), key=DECAY_JOB)
    changed = await rescore(ctx, values, None)
    return ScoringOut(**values, leads_rescored=changed)


@kith.command(
    "scoring.get", input=kith.Input, output=ScoringOut, permission="scoring.read", read_only=True
)
async def get(ctx: kith.Context, data: kith.Input) -> ScoringOut:
    """The scoring rules, threshold and decay."""
    config = await CONFIG.get(ctx)
    if config is None:
        return ScoringOut(rules=[], mql_threshold=50, half_life_days=30)
    return ScoringOut(
        rules=config["rules"],
        mql_threshold=config["mql_threshold"],
        half_life_days=config["half_life_days"],
    )


@kith.command(
    "scoring.explain", input=LeadRef, output=Explained, permission="scoring.read", read_only=True
)
async def explain(ctx: kith.Context, data: LeadRef) -> Explained:
    """Where a lead's score comes from: each field rule it matches, and its event points."""
    lead = await ctx.find_one(kith.Lead, id=data.lead)
    if lead is None:
        raise kith.not_found("lead", data.lead, "lead")
    config = await CONFIG.get(ctx) or {"rules": []}
    fields = (await _field_points(ctx, config["rules"], data.lead)).get(data.lead, {})
    state = await ctx.find_one(MarketingLeadScore, lead_id=data.lead)
    return Explained(
        lead=data.lead,
        score=lead["score"],
        field_points=fields,
        event_points=(state["event_centipoints"] / 100) if state else 0.0,
        events={k: v / 100 for k, v in ((state or {}).get("reasons") or {}).items()},
        mql=bool(state and state["mql_at"]),
    )


async def _leads_of(ctx: kith.Context, data: EventIn) -> list[int]:
    """The lead an event is about, or its contact's open leads."""
    lead = data.entity_id if data.entity == "lead" else data.lead
    if lead is not None:
        return [lead]
    contact = data.entity_id if data.entity == "contact" else data.contact
    if contact is None:
        return []
    rows = await ctx.select(kith.Lead, contact_id=contact)
    return [r["id"] for r in rows if r["archived_at"] is None and r["status"] not in CLOSED]


@kith.command("scoring.record_event", input=EventIn, output=Done, permission="scoring.manage")
async def record_event(ctx: kith.Context, data: EventIn) -> Done:
    """Add the points of the event rules an event matches to the leads it concerns (the
    plugin runs this for each event some rule names)."""
    config = await CONFIG.get(ctx)
    if config is None:
        return Done()
    rules = [r for r in config["rules"] if r.get("event") == data.event]
    for lead_id in await _leads_of(ctx, data):
        state = await _state(ctx, lead_id)
        reasons = dict(state["reasons"] or {})
        added = 0
        for rule in rules:
            added += rule["points"] * 100
            reasons[rule["name"]] = reasons.get(rule["name"], 0) + rule["points"] * 100
        state, _ = await ctx.update(
            MarketingLeadScore,
            state,
            {"event_centipoints": state["event_centipoints"] + added, "reasons": reasons},
            record_history=False,
        )
        await _apply(ctx, config, lead_id, state)
    return Done()


def _next_night(now: datetime) -> datetime:
    run = datetime.combine(now.date(), time(3, 30), tzinfo=UTC)
    return run if run > now else run + timedelta(days=1)


@kith.job(DECAY_JOB, max_attempts=2)
async def decay_job(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Halve event points every ``half_life_days`` (a step each night at 03:30 UTC)."""
    config = await CONFIG.get(ctx)
    if config is None:
        return
    await ctx.schedule(DECAY_JOB, {}, at=_next_night(ctx.now()), key=DECAY_JOB)
    factor = 0.5 ** (1 / config["half_life_days"])
    for state in await ctx.select(MarketingLeadScore):
        if not state["event_centipoints"]:
            continue
        decayed = int(state["event_centipoints"] * factor)
        reasons = {k: int(v * factor) for k, v in (state["reasons"] or {}).items()}
        state, _ = await ctx.update(
            MarketingLeadScore,
            state,
            {"event_centipoints": decayed, "reasons": reasons},
            record_history=False,
        )
        await _apply(ctx, config, state["lead_id"], state)


async def on_event(app: kith.Kith, event: kith.Event) -> None:
    """Score events some rule names; rescore a new or changed lead's field points."""
    config = await CONFIG.get_committed(app)
    if config is None:
        return
    if event.name in {r.get("event") for r in config["rules"]}:
        record = (event.data or {}).get("record") or {}
        await app.run(
            "scoring.record_event",
            {
                "event": event.name,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "contact": record.get("contact_id"),
                "lead": record.get("lead_id"),
            },
            kith.SYSTEM,
        )
    if event.name in ("lead.created", "lead.updated") and event.entity_id is not None:
        changes = (event.data or {}).get("changes") or {}
        if event.name == "lead.updated" and set(changes) <= {"score", "updated_at"}:
            return  # our own score write
        await app.run("scoring.rescore", {"lead": event.entity_id}, kith.SYSTEM)


@kith.command("scoring.rescore", input=LeadRef, output=Done, permission="scoring.manage")
async def rescore_lead(ctx: kith.Context, data: LeadRef) -> Done:
    """Recompute one lead's field points (after it changed)."""
    config = await CONFIG.get(ctx)
    if config is not None:
        await rescore(ctx, config, data.lead)
    return Done()


JOBS = [decay_job]
