"""The actions the core ships: they need nothing but the core's commands.

Plugins add theirs (move deal, assign by rule, send email template, enroll in sequence…)
through ``kith_automation_actions``. ``post_to_slack`` only *requests* the post: it emits
``automation.slack_post_requested`` (channel and rendered text), which the Slack channel
delivers once it is installed.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field, field_validator

from ..commands import CommandSpec
from ..errors import invalid
from ..net import check_url_syntax
from ..runtime import Kith
from .actions import ActionConfig, ActionContext, ActionSpec, automation_action
from .templates import is_template
from .timeexpr import parse_when

TASK_LINKS = ("contact", "organization", "deal", "lead", "ticket")
WEBHOOK_JOB = "automations.webhook"


def _when_or_template(value: str | None) -> str | None:
    if value is not None and not is_template(value):
        parse_when(value)
    return value


def _summary(result: Any) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        result = result.model_dump(mode="json")
    if isinstance(result, dict) and "id" in result:
        return {"id": result["id"]}
    return {}


# ---- create_task --------------------------------------------------------------------------------


class CreateTask(ActionConfig):
    title: str = Field(min_length=1, max_length=500)
    assignee: str | int = Field(
        "owner", description="owner, manager (the lead of the owner's team), or a user"
    )
    due: str | None = Field(
        None, description="'+2 business days', '+4 hours', '9am next business day' or ISO"
    )

    _due = field_validator("due")(_when_or_template)


def _needs_owner(config: Any, entity: str | None, kith: Any) -> None:
    ref = str(getattr(config, "assignee", "") or getattr(config, "owner", "") or "").lower()
    if ref in ("owner", "manager") and entity is None:
        raise invalid("assignee", f"'{ref}' needs a trigger about a record")


@automation_action(
    "create_task",
    config=CreateTask,
    emits=["task.created"],
    validate=_needs_owner,
    commands=["task.create"],
)
async def create_task(actx: ActionContext, config: CreateTask) -> dict[str, Any]:
    """Create a task linked to the record.

    For its owner, the owner's manager or anyone; ``due`` may be relative:
    '+2 business days', '9am next business day'."""
    payload: dict[str, Any] = {"title": config.title}
    assignee = await actx.user_id(config.assignee)
    if assignee is not None:
        payload["assignee"] = assignee
    if config.due:
        payload["due"] = actx.when(config.due).isoformat()
    if actx.entity in TASK_LINKS and actx.record_id is not None:
        payload[actx.entity] = actx.record_id
    task = await actx.command("task.create", payload)
    return {"task": task.id, "assignee": task.assignee_id, "due": payload.get("due")}


# ---- set_field ----------------------------------------------------------------------------------


class SetField(ActionConfig):
    field: str = Field(min_length=1, max_length=100)
    value: Any = None


def _update_spec(kith: Kith, entity: str | None) -> CommandSpec | None:
    name = f"{entity}.update"
    return kith.registry.get(name) if entity and name in kith.registry else None


def _check_set_field(config: SetField, entity: str | None, kith: Kith) -> None:
    if entity is None:
        raise invalid("field", "set_field needs a trigger about a record")
    spec = _update_spec(kith, entity)
    if spec is None:
        return  # the missing command is reported by the definition check
    settable = sorted(n for n in spec.input.model_fields if n != entity)
    if config.field not in settable:
        hint = (
            " (stages change with move_deal from the sales plugin)"
            if config.field == "stage"
            else ""
        )
        raise invalid(
            "field", f"{entity}.{config.field} cannot be set{hint}. Settable: {', '.join(settable)}"
        )
    if not is_template(config.value) and str(config.value).lower() not in ("owner", "manager"):
        from pydantic import ValidationError

        try:
            spec.input.model_validate({entity: 1, config.field: config.value})
        except ValidationError as exc:
            raise invalid("value", exc.errors(include_url=False)[0]["msg"]) from None


@automation_action(
    "set_field",
    config=SetField,
    emits=["{entity}.updated"],
    validate=_check_set_field,
    commands=lambda config, entity: [f"{entity}.update"] if entity else [],
)
async def set_field(actx: ActionContext, config: SetField) -> dict[str, Any]:
    """Set one field of the record.

    Through the record's update command; ``owner`` and ``manager`` work as values of
    user fields."""
    if actx.entity is None or actx.record_id is None:
        raise invalid("field", "there is no record to change")
    value = config.value
    if isinstance(value, str) and value.lower() in ("owner", "manager"):
        value = await actx.user_id(value, "value")
    await actx.command(f"{actx.entity}.update", {actx.entity: actx.record_id, config.field: value})
    return {"field": config.field, "value": value}


# ---- create_deal --------------------------------------------------------------------------------


class CreateDeal(ActionConfig):
    title: str = Field(min_length=1, max_length=300)
    value: str | int = "0"
    currency: str = "EUR"
    pipeline: str | int | None = None
    stage: str | int | None = None
    owner: str | int | None = Field("owner", description="owner, manager, or a user")


@automation_action(
    "create_deal", config=CreateDeal, emits=["deal.created"], commands=["deal.create"]
)
async def create_deal(actx: ActionContext, config: CreateDeal) -> dict[str, Any]:
    """Create a deal (linked to the contact, organization or lead it comes from)."""
    payload: dict[str, Any] = {
        "title": config.title,
        "value": str(config.value),
        "currency": config.currency,
    }
    for key in ("pipeline", "stage"):
        if getattr(config, key) is not None:
            payload[key] = getattr(config, key)
    if config.owner is not None and not (config.owner == "owner" and actx.record is None):
        owner = await actx.user_id(config.owner, "owner")
        if owner is not None:
            payload["owner"] = owner
    record = actx.record or {}
    if actx.entity == "contact":
        payload["contact"] = actx.record_id
    elif record.get("contact_id"):
        payload["contact"] = record["contact_id"]
    if actx.entity == "organization":
        payload["organization"] = actx.record_id
    elif record.get("organization_id"):
        payload["organization"] = record["organization_id"]
    deal = await actx.command("deal.create", payload)
    return {"deal": deal.id}


# ---- post_to_slack ------------------------------------------------------------------------------


class PostToSlack(ActionConfig):
    channel: str = Field(min_length=1, max_length=100, description="#channel, or a user")
    text: str = Field(min_length=1, max_length=4000)


@automation_action("post_to_slack", config=PostToSlack, emits=["automation.slack_post_requested"])
async def post_to_slack(actx: ActionContext, config: PostToSlack) -> dict[str, Any]:
    """Post a message to a Slack channel.

    The core emits ``automation.slack_post_requested`` (channel, text); the Slack channel
    delivers it."""
    actx.emit(
        "automation.slack_post_requested",
        channel=config.channel,
        text=config.text,
        automation=actx.automation["name"],
        automation_id=actx.automation["id"],
        run=actx.run_id,
    )
    return {"channel": config.channel, "text": config.text}


# ---- call_webhook -------------------------------------------------------------------------------


class CallWebhook(ActionConfig):
    url: str = Field(min_length=1, max_length=2000)
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(None, description="JSON body; default: the automation, event and record")
    timeout_s: float = Field(5.0, gt=0, le=30)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not is_template(value):
            try:
                check_url_syntax(value)
            except Exception as exc:
                raise ValueError(getattr(exc, "message", str(exc))) from None
        return value


@automation_action("call_webhook", config=CallWebhook)
async def call_webhook(actx: ActionContext, config: CallWebhook) -> dict[str, Any]:
    """Send a JSON request to a URL.

    As a job: retried with backoff, never to private addresses, no redirects, time and
    size capped."""
    try:
        check_url_syntax(config.url)
    except Exception as exc:
        raise invalid("url", getattr(exc, "message", str(exc))) from None
    body = config.body
    if body is None:
        body = {
            "automation": actx.automation["name"],
            "event": actx.event,
            "record": await actx.full_record(),
        }
    job = await actx.schedule(
        WEBHOOK_JOB,
        {
            "url": config.url,
            "method": config.method,
            "headers": config.headers,
            "body": body,
            "timeout_s": config.timeout_s,
            "run": actx.run_id,
            "step": actx.step,
            "delivery": uuid.uuid4().hex,
        },
    )
    return {"url": config.url, "job": job}


# ---- run_command --------------------------------------------------------------------------------


class RunCommand(ActionConfig):
    command: str = Field(min_length=3, max_length=100)
    input: dict[str, Any] = Field(default_factory=dict)


def _command_events(config: RunCommand, entity: str | None) -> list[str]:
    noun, _, verb = config.command.partition(".")
    past = {"create": "created", "update": "updated", "archive": "archived"}.get(verb)
    return [f"{noun}.{past}"] if past else []


@automation_action(
    "run_command",
    config=RunCommand,
    emits=_command_events,
    commands=lambda config, entity: [config.command],
)
async def run_command(actx: ActionContext, config: RunCommand) -> dict[str, Any]:
    """Run any command with the given input (values may be templates)."""
    result = await actx.command(config.command, config.input)
    return {"command": config.command, **_summary(result)}


CORE_ACTIONS: list[ActionSpec] = [
    create_task,
    set_field,
    create_deal,
    post_to_slack,
    call_webhook,
    run_command,
]
