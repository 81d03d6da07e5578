"""Routing by command: route a lead, manage territory rules and each member's availability.

Rules can also live in ``plugins.toml`` (``[[plugins.sales.routing.rules]]``); rules made here
are tried first, by position. See :mod:`..routing` for how a rule picks a member.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import kith
from pydantic import BaseModel, Field

from ..jobs import close_contact_task, contact_task
from ..records import OPEN_LEAD_STATUSES, as_id, resolve
from ..routing import Decision, decide, facts_for, open_lead_counts
from ..schemas import LeadOut, Routing
from ..settings import Strategy, settings_of
from ..tables import Assignment, RoutingMember, RoutingRule
from .leads import assign, lead_out

# ---- lead.route -----------------------------------------------------------------------------


class LeadRoute(kith.Input):
    lead: kith.Ref
    force: bool = Field(False, description="Route again even if the lead has an owner")
    only_if_new: bool = Field(False, description="Do nothing if the lead was routed before")


class RouteOut(BaseModel):
    lead: LeadOut
    routing: Routing | None
    message: str


@kith.command("lead.route", input=LeadRoute, output=RouteOut, permission="leads.write")
async def route_lead(ctx: kith.Context, data: LeadRoute) -> RouteOut:
    """Route a lead with the routing rules (organization owner, territory rules, team
    strategy) and give the owner a "Contact …" task. A lead with an owner keeps it unless
    force is set. Leads created with lead.create are routed this way automatically."""
    lead = await resolve(ctx, "lead", kith.Lead, data.lead, for_update=True)
    if data.only_if_new and await ctx.find_one(Assignment, lead_id=lead["id"]) is not None:
        return RouteOut(lead=lead_out(lead), routing=None, message="routed before: unchanged")
    if lead["status"] not in OPEN_LEAD_STATUSES:
        raise kith.invalid("lead", f"lead #{lead['id']} is {lead['status']}; only open leads route")
    if lead["owner_id"] is not None and not data.force:
        decision = Decision(lead["owner_id"], "owner set when the lead was created")
    else:
        org = (
            await ctx.get(kith.Organization, lead["organization_id"])
            if lead["organization_id"]
            else None
        )
        decision = await decide(ctx, settings_of(ctx), facts_for(lead, org, {}), org)
    before = lead["owner_id"]
    has_task = await contact_task(ctx, lead["id"]) is not None
    if decision.owner_id != before:
        await close_contact_task(ctx, lead["id"], done=False)
        has_task = False
        lead, _ = await ctx.update(
            kith.Lead, lead, {"owner_id": decision.owner_id}, record_history=False
        )
    routing = await assign(ctx, lead, decision, before, contact_task=not has_task)
    who = f"user #{routing.owner_id}" if routing.owner_id else "nobody"
    return RouteOut(
        lead=lead_out(lead), routing=routing, message=f"routed to {who} by {routing.rule}"
    )


# ---- rules ----------------------------------------------------------------------------------

Condition = str | int | float | bool | list[str | int | float] | dict[str, float]


class RuleSave(kith.Input):
    name: str = Field(min_length=1, max_length=100)
    when: dict[str, Condition] = Field(
        default_factory=dict,
        description="field → value, list of values, or {min, max}; custom fields as 'custom.<key>'",
    )
    team: kith.Ref | None = None
    users: list[kith.Ref] = Field(default_factory=list, max_length=200)
    strategy: Strategy | None = None
    position: int | None = Field(None, ge=0, le=10_000)
    active: bool = True


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    when: dict[str, Any]
    team_id: int | None
    user_ids: list[int]
    strategy: str | None
    active: bool


def rule_out(row: dict[str, Any]) -> RuleOut:
    return RuleOut.model_validate({**row, "when": row["conditions"] or {}})


def _check_conditions(when: dict[str, Any]) -> None:
    for key, expected in when.items():
        if not key.strip():
            raise kith.invalid("when", "a condition needs a field name")
        if isinstance(expected, dict):
            unknown = set(expected) - {"min", "max"}
            if unknown or not expected:
                raise kith.invalid(f"when.{key}", "a range is {min: x, max: y}")


@kith.command("routing_rule.save", input=RuleSave, output=RuleOut, permission="leads.manage")
async def save_rule(ctx: kith.Context, data: RuleSave) -> RuleOut:
    """Create or change (by name) a territory rule: when every condition matches a lead,
    route it within the team (or users) by the strategy."""
    if (data.team is None) == (not data.users):
        raise kith.invalid("team", "give either a team or users (one of the two)")
    _check_conditions(data.when)
    values: dict[str, Any] = {
        "name": data.name,
        "conditions": data.when,
        "team_id": None,
        "user_ids": [],
        "strategy": data.strategy,
        "active": data.active,
    }
    if data.team is not None:
        values["team_id"] = (await resolve(ctx, "team", kith.Team, data.team))["id"]
    for i, ref in enumerate(data.users):
        user = await resolve(ctx, "user", kith.User, ref, field=f"users.{i}")
        values["user_ids"].append(user["id"])
    existing = await ctx.find_one(RoutingRule, name=data.name)
    if data.position is not None:
        values["position"] = data.position
    elif existing is None:
        values["position"] = len(await ctx.select(RoutingRule))
    if existing is None:
        row = await ctx.insert(RoutingRule, values)
        ctx.emit(
            "routing_rule.created",
            "routing_rule",
            row["id"],
            record=rule_out(row).model_dump(mode="json"),
        )
        return rule_out(row)
    row, changes = await ctx.update(RoutingRule, existing, values)
    if changes:
        ctx.emit("routing_rule.updated", "routing_rule", row["id"], changes=changes)
    return rule_out(row)


class RuleRef(kith.Input):
    rule: kith.Ref = Field(description="The rule: id or name")


async def _rule(ctx: kith.Context, ref: Any) -> dict[str, Any]:
    record_id = as_id(ref)
    row = (
        await ctx.find_one(RoutingRule, id=record_id)
        if record_id is not None
        else await ctx.find_one(RoutingRule, name=str(ref).strip())
    )
    if row is None:
        raise kith.not_found("routing rule", ref, "rule")
    return row


@kith.command("routing_rule.delete", input=RuleRef, output=RuleOut, permission="leads.manage")
async def delete_rule(ctx: kith.Context, data: RuleRef) -> RuleOut:
    """Delete a territory rule made by command (rules in plugins.toml are edited there)."""
    row = await _rule(ctx, data.rule)
    await ctx.delete(RoutingRule, row["id"])
    ctx.record_history("routing_rule", row["id"], "deleted", {"name": [row["name"], None]})
    ctx.emit("routing_rule.deleted", "routing_rule", row["id"], rule=row["name"])
    return rule_out(row)


class NoInput(kith.Input):
    pass


class RulesOut(BaseModel):
    rules: list[RuleOut]
    settings_rules: list[dict[str, Any]]
    fallback_team: str | None
    strategy: str
    organization_owner_first: bool


@kith.command(
    "routing_rule.list", input=NoInput, output=RulesOut, permission="leads.read", read_only=True
)
async def list_rules(ctx: kith.Context, data: NoInput) -> RulesOut:
    """The routing rules in the order they are tried: these, then plugins.toml's, then the
    fallback team."""
    routing = settings_of(ctx).routing
    rows = sorted(await ctx.select(RoutingRule), key=lambda r: (r["position"], r["id"]))
    return RulesOut(
        rules=[rule_out(r) for r in rows],
        settings_rules=[r.model_dump() for r in routing.rules],
        fallback_team=routing.team,
        strategy=routing.strategy,
        organization_owner_first=routing.organization_owner_first,
    )


# ---- members --------------------------------------------------------------------------------


class MemberSet(kith.Input):
    user: kith.Ref = Field("me", description="Default: yourself")
    available: bool | None = None
    away_until: datetime | None = Field(None, description="Away until this time (with a zone)")
    opted_out: bool | None = Field(None, description="Take no new leads until opted back in")
    capacity: int | None = Field(None, ge=0, le=100_000, description="Open leads at most")


class MemberOut(BaseModel):
    user_id: int
    name: str
    available: bool
    away_until: datetime | None
    opted_out: bool
    capacity: int | None
    open_leads: int
    can_take_leads: bool


@kith.command("routing_member.set", input=MemberSet, output=MemberOut, permission="leads.write")
async def set_member(ctx: kith.Context, data: MemberSet) -> MemberOut:
    """Set a person's routing state: available, away until a time, opted out, capacity
    (most open leads). Anyone sets their own; a manager sets anyone's."""
    user = await resolve(ctx, "user", kith.User, data.user, field="user")
    if user["id"] != ctx.actor.user_id:
        ctx.actor.require("leads.manage", "routing_member.set for someone else")
    if data.away_until is not None and data.away_until.tzinfo is None:
        raise kith.invalid("away_until", "give a time zone (e.g. 2026-01-12T09:00:00+01:00)")
    given = {
        k: getattr(data, k)
        for k in ("available", "away_until", "opted_out", "capacity")
        if k in data.model_fields_set
    }
    for key in ("available", "opted_out"):
        if key in given and given[key] is None:
            raise kith.invalid(key, "must be true or false")
    state = await ctx.find_one(RoutingMember, user_id=user["id"])
    if state is None:
        state = await ctx.insert(RoutingMember, {"user_id": user["id"], **given})
        changes = {k: [None, v] for k, v in given.items()}
    else:
        state, changes = await ctx.update(RoutingMember, state, given)
    if changes:
        ctx.emit("routing_member.updated", "user", user["id"], changes=changes)
    return await _member_out(ctx, user, state)


async def _member_out(
    ctx: kith.Context, user: dict[str, Any], state: dict[str, Any] | None
) -> MemberOut:
    state = state or {"available": True, "away_until": None, "opted_out": False, "capacity": None}
    counts = await open_lead_counts(ctx, [user["id"]])
    capacity = state["capacity"]
    if capacity is None:
        capacity = settings_of(ctx).routing.default_capacity
    away = state["away_until"] is not None and state["away_until"] > ctx.now()
    open_leads = counts.get(user["id"], 0)
    return MemberOut(
        user_id=user["id"],
        name=user["name"],
        available=bool(state["available"]),
        away_until=state["away_until"],
        opted_out=bool(state["opted_out"]),
        capacity=capacity,
        open_leads=open_leads,
        can_take_leads=bool(state["available"])
        and not state["opted_out"]
        and not away
        and bool(user["active"])
        and (capacity is None or open_leads < capacity),
    )


class MemberList(kith.Input):
    team: kith.Ref | None = Field(None, description="Default: everyone with a routing state")


class MembersOut(BaseModel):
    members: list[MemberOut]


@kith.command(
    "routing_member.list",
    input=MemberList,
    output=MembersOut,
    permission="leads.read",
    read_only=True,
)
async def list_members(ctx: kith.Context, data: MemberList) -> MembersOut:
    """Who can take leads now: availability, capacity and open leads of each member."""
    states = {s["user_id"]: s for s in await ctx.select(RoutingMember)}
    if data.team is not None:
        team = await resolve(ctx, "team", kith.Team, data.team)
        user_ids = sorted(
            m["user_id"] for m in await ctx.select(kith.TeamMember, team_id=team["id"])
        )
    else:
        user_ids = sorted(states)
    out = []
    for user_id in user_ids:
        user = await ctx.get(kith.User, user_id)
        out.append(await _member_out(ctx, user, states.get(user_id)))
    return MembersOut(members=out)
