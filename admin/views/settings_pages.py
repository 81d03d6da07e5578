"""Settings pages: users and teams, API tokens, pipelines and stages, custom fields, SLA
policies and calendars, channels
(Slack and email set-up), plugins, dead jobs (with retry), outgoing mail, webhook deliveries.

What a role may not list is not shown (the tab says so); retrying a job is an admin command."""

from __future__ import annotations

from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import kith
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from ..web import Pages, guarded
from .common import options

TABS = [
    ("people", "Users & teams"),
    ("pipelines", "Pipelines"),
    ("fields", "Custom fields"),
    ("sla", "SLA & calendars"),
    ("tokens", "API tokens"),
    ("channels", "Slack & email"),
    ("plugins", "Plugins"),
    ("jobs", "Dead jobs"),
    ("mail", "Outgoing mail"),
    ("webhooks", "Webhook log"),
]
ENTITIES = ["contact", "organization", "deal", "lead", "ticket", "activity", "task"]
FIELD_TYPES = ["text", "number", "money", "date", "bool", "choice", "multi-choice", "user", "url"]
# What the settings forms may run: command → (tab to go back to, fields it takes, how to read
# them). Anything else posted is refused; the command itself checks the role.
FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "user.create": ("people", {"email": "text", "name": "text", "role": "text"}),
    "user.update": ("people", {"user": "int", "role": "text", "active": "bool"}),
    "team.create": ("people", {"name": "text"}),
    "stage.create": (
        "pipelines",
        {"pipeline": "int", "name": "text", "probability": "int", "rotting_days": "int"},
    ),
    "custom_field.define": (
        "fields",
        {"entity": "text", "key": "text", "label": "text", "type": "text", "options": "list"},
    ),
    "token.create": ("tokens", {"user": "int", "name": "text", "expires": "text"}),
    "token.revoke": ("tokens", {"token": "int"}),
}


def _form_payload(fields: dict[str, str], form: dict[str, Any]) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name, kind in fields.items():
        raw = str(form.get(name) or "").strip()
        if raw == "":
            continue
        if kind == "int":
            payload[name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif kind == "bool":
            payload[name] = raw.lower() in ("1", "true", "yes", "on")
        elif kind == "list":
            payload[name] = [v.strip() for v in raw.split(",") if v.strip()]
        else:
            payload[name] = raw
    return payload


def _outgoing_mail(app: kith.Kith, limit: int = 30) -> list[dict[str, str]]:
    """The newest messages of the embedded outgoing maildir (when no relay is set)."""
    settings = app.plugin_settings("email") if any(p.name == "email" for p in app.plugins) else None
    folder = getattr(settings, "maildir", None)
    if not folder:
        return []
    root = Path(folder)
    files = [f for sub in ("new", "cur") for f in (root / sub).glob("*") if f.is_file()]
    files.sort(key=lambda f: f.stat().st_mtime, reverse=True)
    parser = BytesHeaderParser(policy=policy.default)
    out = []
    for f in files[:limit]:
        with f.open("rb") as fh:
            headers = parser.parse(fh)
        out.append({k: str(headers.get(k, "")) for k in ("Date", "From", "To", "Subject")})
    return out


async def _tab_data(pages: Pages, sess: Any, tab: str) -> dict[str, Any]:
    app = pages.kith
    if tab == "people":
        return {
            "users": await options(pages, sess, "user.list"),
            "teams": await options(pages, sess, "team.list"),
        }
    if tab == "pipelines":
        return {
            "pipelines": await options(pages, sess, "pipeline.list"),
            "stages": await options(pages, sess, "stage.list"),
        }
    if tab == "fields":
        found = []
        if pages.can(sess, "custom_field.list"):
            for entity in ENTITIES:
                result = await pages.run(sess, "custom_field.list", {"entity": entity})
                found += [(entity, d) for d in result.items]
        return {"fields": found}
    if tab == "sla":
        if not pages.can(sess, "sla_policy.list"):
            return {"denied": True}
        found = await pages.run(sess, "sla_policy.list", {})
        return {"policies": found.policies, "calendars": found.calendars}
    if tab == "tokens":
        if not pages.can(sess, "token.list"):
            return {"denied": True}
        return {"tokens": (await pages.run(sess, "token.list", {"include_revoked": True})).items}
    if tab == "channels":
        loaded = {p.name for p in app.plugins}
        slack = app.plugin_settings("slack") if "slack" in loaded else None
        email = app.plugin_settings("email") if "email" in loaded else None
        return {
            "slack_on": slack is not None,
            "slack_ready": bool(getattr(slack, "bot_token", None))
            and bool(getattr(slack, "signing_secret", None)),
            "email_on": email is not None,
            "email": {
                k: getattr(email, k, None)
                for k in ("smtp_host", "smtp_port", "domain", "relay_host", "maildir")
                if getattr(email, k, None) not in (None, "")
            },
        }
    if tab == "plugins":
        dead: dict[str, int] = {}
        if pages.can(sess, "job.list"):
            jobs = await pages.run(sess, "job.list", {"state": "dead", "limit": 500})
            for job in jobs.jobs:
                dead[job.name] = dead.get(job.name, 0) + 1
        disabled = sorted(n for n, on in app.plugins_file.enabled.items() if not on)
        return {"loaded": app.plugins, "disabled": disabled, "dead": dead}
    if tab == "jobs":
        if not pages.can(sess, "job.list"):
            return {"denied": True}
        return {"jobs": (await pages.run(sess, "job.list", {"state": "dead", "limit": 100})).jobs}
    if tab == "mail":
        if sess.actor.role != "admin":
            return {"denied": True}
        return {"mail": _outgoing_mail(app)}
    if tab == "webhooks":
        if not pages.can(sess, "webhook.deliveries"):
            return {"denied": True}
        result = await pages.run(sess, "webhook.deliveries", {"limit": 50})
        return {"deliveries": result.items}
    raise kith.invalid("tab", f"choose one of {', '.join(k for k, _ in TABS)}")


def routes(pages: Pages) -> list[Any]:
    async def render_tab(sess: Any, tab: str, status: int = 200, **extra: Any) -> Any:
        data = await _tab_data(pages, sess, tab)
        return pages.render(
            "settings.html",
            sess,
            status=status,
            section="settings",
            tabs=TABS,
            tab=tab,
            entities=ENTITIES,
            field_types=FIELD_TYPES,
            roles=kith.ROLES,
            **{"retried": None, "done": None, "error": None, "new_token": None, **extra},
            **data,
        )

    @get("/settings", include_in_schema=False)
    async def settings_page(request: Request[Any, Any, Any], tab: FromQuery[str] = "people") -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            return await render_tab(
                sess,
                tab,
                retried=request.query_params.get("retried"),
                done=request.query_params.get("done"),
            )

        return await guarded(pages, request, render)

    @post("/settings/run", include_in_schema=False)
    async def run_form(request: Request[Any, Any, Any]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            command = str(form.get("command") or "")
            if command not in FORMS:
                raise kith.invalid("command", "this form cannot run that")
            tab, fields = FORMS[command]
            try:
                result = await pages.run(sess, command, _form_payload(fields, form))
            except kith.KithError as err:
                if err.status == 403:
                    raise
                return await render_tab(sess, tab, status=400, error=err)
            if command == "token.create":  # the token is shown this once
                return await render_tab(sess, tab, new_token=result.token, done=command)
            return Redirect(f"/admin/settings?tab={tab}&done={command}", status_code=303)

        return await guarded(pages, request, act)

    @post("/settings/jobs/{job_id:int}/retry", include_in_schema=False)
    async def retry(request: Request[Any, Any, Any], job_id: FromPath[int]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            await pages.form(request, sess)
            await pages.run(sess, "job.retry", {"job": job_id})
            return Redirect(f"/admin/settings?tab=jobs&retried={job_id}", status_code=303)

        return await guarded(pages, request, act)

    return [settings_page, run_form, retry]
