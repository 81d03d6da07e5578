"""Record pages for contacts, organizations, deals and leads: fields (custom ones included,
editable inline with the command's validation messages), one timeline, related records."""

from __future__ import annotations

from typing import Any

import kith
from litestar import Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect

from ..web import Pages, guarded

# plural in the URL → entity, the fields shown (and editable with <entity>.update)
ENTITIES: dict[str, tuple[str, list[str]]] = {
    "contacts": ("contact", ["name", "email", "phone", "title", "lifecycle_stage"]),
    "organizations": ("organization", ["name", "domain", "industry", "size", "country"]),
    "deals": ("deal", ["title", "value", "currency", "expected_close"]),
    "leads": ("lead", ["name", "email", "company", "phone", "source"]),
}
RELATED: dict[str, list[tuple[str, str, str]]] = {  # entity → (list command, filter key, title)
    "contact": [("deal.list", "contact_id", "Deals"), ("ticket.list", "requester_id", "Tickets")],
    "organization": [
        ("contact.list", "organization_id", "People"),
        ("deal.list", "organization_id", "Deals"),
    ],
    "deal": [],
    "lead": [],
}
LINKS = {
    "contact": "contacts",
    "deal": "deals",
    "ticket": "tickets",
    "organization": "organizations",
}


def _custom_value(kind: str, raw: str) -> Any:
    """A form's text for a custom field: the command coerces and checks it per type (numbers,
    dates, yes/no…); only a multi-choice list is split here, on commas."""
    raw = raw.strip()
    if raw == "":
        return None
    if kind == "multi-choice":
        return [v.strip() for v in raw.split(",") if v.strip()]
    return raw


async def render_record(
    pages: Pages,
    sess: Any,
    plural: str,
    record_id: int,
    *,
    status: int = 200,
    saved: str | None = None,
    errors: dict[str, str] | None = None,
    attempted: dict[str, str] | None = None,
) -> Any:
    """A record's page: its fields (custom ones too), timeline and related records; after a
    refused edit, with the field's message and what the person typed."""
    entity, shown = ENTITIES[plural]
    record = await pages.run(sess, f"{entity}.get", {entity: record_id})
    defs = []
    if pages.can(sess, "custom_field.list"):
        defs = (await pages.run(sess, "custom_field.list", {"entity": entity})).items
    timeline = await pages.run(sess, f"{entity}.timeline", {entity: record_id, "limit": 50})
    related = []
    for command, key, title in RELATED[entity]:
        if pages.can(sess, command):
            found = await pages.run(sess, command, {"filter": {key: record_id}, "limit": 20})
            related.append((title, LINKS.get(command.split(".")[0], ""), found.items))
    return pages.render(
        "record.html",
        sess,
        status=status,
        section="records",
        entity=entity,
        plural=plural,
        record=record,
        shown=shown,
        defs=defs,
        timeline=timeline.items,
        related=related,
        can_edit=pages.can(sess, f"{entity}.update"),
        errors=errors or {},
        attempted=attempted or {},
        saved=saved,
    )


def _page_of(plural: str) -> None:
    if plural not in ENTITIES:
        raise kith.KithError("not_found", f"There is no page for {plural}.", status=404)


def routes(pages: Pages) -> list[Any]:
    @get([f"/{p}/{{record_id:int}}" for p in ENTITIES], include_in_schema=False)
    async def record_page(request: Request[Any, Any, Any], record_id: FromPath[int]) -> Any:
        plural = request.url.path.rstrip("/").split("/")[-2]

        async def render() -> Any:
            sess = await pages.session(request)
            _page_of(plural)
            saved = request.query_params.get("saved")
            return await render_record(pages, sess, plural, record_id, saved=saved)

        return await guarded(pages, request, render)

    @post([f"/{p}/{{record_id:int}}/edit" for p in ENTITIES], include_in_schema=False)
    async def edit(request: Request[Any, Any, Any], record_id: FromPath[int]) -> Any:
        plural = request.url.path.rstrip("/").split("/")[-3]

        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            _page_of(plural)
            entity, shown = ENTITIES[plural]
            field = str(form.get("field") or "")
            raw = str(form.get("value") or "")
            payload: dict[str, Any] = {entity: record_id}
            if field.startswith("custom."):
                key = field.removeprefix("custom.")
                defs = (await pages.run(sess, "custom_field.list", {"entity": entity})).items
                kinds = {d.key: d.type for d in defs}
                if key not in kinds:
                    raise kith.invalid(field, "is not a custom field of this record")
                payload["custom"] = {key: _custom_value(kinds[key], raw)}
            elif field in shown:
                payload[field] = raw.strip() or None
            else:
                raise kith.invalid("field", f"{field or 'this field'} cannot be edited here")
            try:
                await pages.run(sess, f"{entity}.update", payload)
            except kith.KithError as err:
                if err.status == 403:
                    raise
                message = "; ".join(f.message for f in err.fields) or err.message
                return await render_record(
                    pages,
                    sess,
                    plural,
                    record_id,
                    status=400,
                    errors={field: message},
                    attempted={field: raw},
                )
            return Redirect(f"/admin/{plural}/{record_id}?saved={field}", status_code=303)

        return await guarded(pages, request, act)

    return [record_page, edit]
