"""Automations: the list (on/off), and an editor built as when / if / then.

The editor's parts are a trigger chosen from the event catalog, the conditions and the
actions in the definition language of ``docs/automations.md`` (YAML, read with
``yaml.safe_load``: data, never code). Saving runs ``automation.create`` or
``automation.update``; "Try it" runs ``automation.dry_run`` on recent events and shows what
the immediate steps would do. A refused definition comes back on the same page with each
problem next to its part.
"""

from __future__ import annotations

from typing import Any

import kith
import yaml
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from ..web import PREFIX, Pages, guarded

PARTS = ("name", "when", "if", "then", "time_zone")  # what a problem can be next to
FIELDS = ("name", "description", "time_zone", "when", "if", "then")  # the editor's inputs


def _dump(value: Any) -> str:
    if value in (None, "", [], {}):
        return ""
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=90).strip()


def parts_of(definition: dict[str, Any]) -> dict[str, str]:
    """A saved definition split into the editor's fields."""
    when = definition.get("when")
    return {
        "name": str(definition.get("name") or ""),
        "description": str(definition.get("description") or ""),
        "time_zone": str(definition.get("time_zone") or ""),
        "when": when if isinstance(when, str) else _dump(when),
        "if": _dump(definition.get("if")),
        "then": _dump(definition.get("then")),
    }


def definition_from(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The definition the form describes, and the parts that are not readable YAML."""
    errors: dict[str, str] = {}
    definition: dict[str, Any] = {"name": str(form.get("name") or "").strip()}
    for key in ("description", "time_zone"):
        if str(form.get(key) or "").strip():
            definition[key] = str(form[key]).strip()
    when = str(form.get("when") or "").strip()
    definition["when"] = when
    if "\n" in when or when.startswith("{"):
        definition["when"] = _load(when, "when", errors)
    for part in ("if", "then"):
        text = str(form.get(part) or "").strip()
        if text:
            definition[part] = _load(text, part, errors)
    return definition, errors


def _load(text: str, part: str, errors: dict[str, str]) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        errors[part] = f"not readable as YAML{where}: {getattr(exc, 'problem', exc)}"
        return None


def errors_of(err: kith.KithError) -> dict[str, str]:
    """A refusal's problems by editor part (``then.0.create_task.due`` → ``then``)."""
    out: dict[str, str] = {}
    for f in err.fields or []:
        path = f.field.removeprefix("definition.")
        head = path.replace("[", ".").split(".")[0]
        part = head if head in PARTS else ("if" if head in ("conditions", "all", "any") else "")
        text = f"{path}: {f.message}" if path != part else f.message
        out[part] = f"{out[part]}; {text}" if part in out else text
    if not out:
        out[""] = err.message
    return out


def routes(pages: Pages) -> list[Any]:
    def events(app: kith.Kith) -> list[tuple[str, str]]:
        catalog = kith.known_events(app)
        return sorted((name, getattr(spec, "description", "")) for name, spec in catalog.items())

    async def editor(
        request: Request[Any, Any, Any],
        sess: Any,
        automation: Any,
        values: dict[str, str],
        errors: dict[str, str] | None = None,
        trial: Any = None,
        status: int = 200,
    ) -> Any:
        runs = []
        if automation is not None and pages.can(sess, "automation.runs"):
            runs = (
                await pages.run(sess, "automation.runs", {"automation": automation.id, "limit": 10})
            ).runs
        return pages.render(
            "automation.html",
            sess,
            request_saved=request.query_params.get("saved") == "1",
            status=status,
            section="automations",
            automation=automation,
            values=values,
            errors=errors or {},
            trial=trial,
            runs=runs,
            events=events(pages.kith),
        )

    @get("/automations", include_in_schema=False)
    async def automations_page(request: Request[Any, Any, Any]) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            listed = await pages.run(sess, "automation.list", {})
            return pages.render(
                "automations.html", sess, section="automations", automations=listed.automations
            )

        return await guarded(pages, request, render)

    @get("/automations/new", include_in_schema=False)
    async def new_automation(request: Request[Any, Any, Any]) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            if not pages.can(sess, "automation.create"):
                raise kith.forbidden("Defining automations needs automations.manage.")
            blank = dict.fromkeys(FIELDS, "")
            return await editor(request, sess, None, blank)

        return await guarded(pages, request, render)

    @get("/automations/{automation_id:int}", include_in_schema=False)
    async def automation_page(request: Request[Any, Any, Any], automation_id: FromPath[int]) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            found = await pages.run(sess, "automation.get", {"automation": automation_id})
            return await editor(request, sess, found, parts_of(found.definition))

        return await guarded(pages, request, render)

    @post("/automations/save", include_in_schema=False, status_code=200)
    async def save_automation(request: Request[Any, Any, Any]) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            values = {k: str(form.get(k) or "") for k in FIELDS}
            existing = None
            if form.get("id"):
                existing = await pages.run(sess, "automation.get", {"automation": int(form["id"])})
            definition, errors = definition_from(form)
            trying = form.get("action") == "try"
            if not errors:
                try:
                    if trying:
                        trial = await pages.run(
                            sess, "automation.dry_run", {"definition": definition, "events": 5}
                        )
                        return await editor(request, sess, existing, values, trial=trial)
                    if existing is None:
                        saved = await pages.run(
                            sess, "automation.create", {"definition": definition}
                        )
                    else:
                        saved = await pages.run(
                            sess,
                            "automation.update",
                            {"automation": existing.id, "definition": definition},
                        )
                    return Redirect(f"{PREFIX}/automations/{saved.id}?saved=1", status_code=303)
                except kith.KithError as err:
                    if err.code in ("forbidden", "csrf"):
                        raise
                    errors = errors_of(err)
            return await editor(request, sess, existing, values, errors, status=400)

        return await guarded(pages, request, render)

    @post("/automations/{automation_id:int}/toggle", include_in_schema=False, status_code=200)
    async def toggle_automation(
        request: Request[Any, Any, Any], automation_id: FromPath[int]
    ) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            command = "automation.enable" if form.get("enable") == "1" else "automation.disable"
            await pages.run(sess, command, {"automation": automation_id})
            return Redirect(f"{PREFIX}/automations", status_code=303)

        return await guarded(pages, request, render)

    return [automations_page, new_automation, automation_page, save_automation, toggle_automation]
