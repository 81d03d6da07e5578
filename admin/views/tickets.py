"""The ticket queue (my open, unassigned, breaching soon, per team) and the ticket page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import kith
from litestar import Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from ..settings import admin_settings
from ..web import Pages, guarded
from .common import options

QUEUES = [
    ("mine", "My open"),
    ("unassigned", "Unassigned"),
    ("breaching_soon", "Breaching soon"),
    ("breached", "Breached"),
    ("open", "All open"),
]
STATUSES = ["open", "pending", "solved", "closed"]


async def _names(pages: Pages, sess: Any) -> dict[str, dict[int, str]]:
    users = {u.id: u.name for u in await options(pages, sess, "user.list")}
    teams = {t.id: t.name for t in await options(pages, sess, "team.list")}
    return {"users": users, "teams": teams}


def routes(pages: Pages) -> list[Any]:
    @get("/tickets", include_in_schema=False)
    async def queue_page(
        request: Request[Any, Any, Any],
        queue: FromQuery[str] = "mine",
        team: FromQuery[int | None] = None,
        page: FromQuery[int] = 1,
    ) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            if queue not in dict(QUEUES):
                raise kith.invalid("queue", f"choose one of {', '.join(dict(QUEUES))}")
            size = admin_settings(pages.kith).queue_page_size
            payload: dict[str, Any] = {
                "queue": queue,
                "limit": size,
                "offset": (max(1, page) - 1) * size,
            }
            if team is not None:
                payload["team"] = team
            result = await pages.run(sess, "ticket.queue", payload)
            counts = await pages.run(sess, "ticket.queues", {})
            names = await _names(pages, sess)
            requesters: dict[int, str] = {}
            ids = sorted({t.requester_id for t in result.tickets if t.requester_id})
            if ids and pages.can(sess, "contact.list"):
                found = await pages.run(
                    sess, "contact.list", {"filter": {"id": {"in": ids}}, "limit": len(ids)}
                )
                requesters = {c.id: c.name for c in found.items}
            base = {"queue": queue, **({"team": team} if team is not None else {})}
            return pages.render(
                "tickets.html",
                sess,
                section="tickets",
                queues=QUEUES,
                queue=queue,
                team=team,
                result=result,
                counts=counts,
                names=names,
                requesters=requesters,
                page=max(1, page),
                pages_total=max(1, -(-result.count // size)),
                base_query=urlencode(base),
                statuses=STATUSES,
                back=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            )

        return await guarded(pages, request, render)

    @post("/tickets/bulk", include_in_schema=False)
    async def bulk(request: Request[Any, Any, Any]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            ids = [int(i) for i in form.get("ticket[]") or [] if str(i).isdigit()]
            if not ids:
                raise kith.invalid("ticket", "select at least one ticket")
            if len(ids) > 200:
                raise kith.invalid("ticket", "select at most 200 tickets at a time")
            assignee = str(form.get("assignee") or "")
            status = str(form.get("status") or "")
            if not assignee and not status:
                raise kith.invalid("action", "choose an assignee or a status")
            for ticket_id in ids:
                if assignee:
                    target = None if assignee == "none" else int(assignee)
                    await pages.run(
                        sess, "ticket.assign", {"ticket": ticket_id, "assignee": target}
                    )
                if status:
                    await pages.run(
                        sess, "ticket.set_status", {"ticket": ticket_id, "status": status}
                    )
            back = str(form.get("back") or "")
            return Redirect(
                back if back.startswith("/admin/") else "/admin/tickets", status_code=303
            )

        return await guarded(pages, request, act)

    @get("/tickets/{ticket_id:int}", include_in_schema=False)
    async def ticket_page(request: Request[Any, Any, Any], ticket_id: FromPath[int]) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            thread = await pages.run(sess, "ticket.thread", {"ticket": ticket_id})
            ticket = await pages.run(sess, "ticket.get", {"ticket": ticket_id})
            requester = None
            if ticket.requester_id and pages.can(sess, "contact.get"):
                requester = await pages.run(sess, "contact.get", {"contact": ticket.requester_id})
            timeline = await pages.run(sess, "ticket.timeline", {"ticket": ticket_id, "limit": 30})
            return pages.render(
                "ticket.html",
                sess,
                section="tickets",
                ticket=ticket,
                thread=thread,
                requester=requester,
                timeline=timeline.items,
                names=await _names(pages, sess),
                statuses=STATUSES,
                sent=request.query_params.get("sent"),
            )

        return await guarded(pages, request, render)

    @post("/tickets/{ticket_id:int}/reply", include_in_schema=False)
    async def reply(request: Request[Any, Any, Any], ticket_id: FromPath[int]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            body = str(form.get("body") or "").strip()
            kind = str(form.get("kind") or "reply")
            if not body:
                raise kith.invalid("body", "write a message first")
            if kind == "comment":
                await pages.run(sess, "ticket.comment", {"ticket": ticket_id, "body": body})
            else:
                payload: dict[str, Any] = {"ticket": ticket_id, "body": body}
                status = str(form.get("status") or "")
                if status:
                    payload["status"] = status
                await pages.run(sess, "ticket.reply", payload)
            return Redirect(f"/admin/tickets/{ticket_id}?sent={kind}", status_code=303)

        return await guarded(pages, request, act)

    @post("/tickets/{ticket_id:int}/update", include_in_schema=False)
    async def update(request: Request[Any, Any, Any], ticket_id: FromPath[int]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            if form.get("status"):
                await pages.run(
                    sess, "ticket.set_status", {"ticket": ticket_id, "status": form["status"]}
                )
            if form.get("priority"):
                await pages.run(
                    sess, "ticket.set_priority", {"ticket": ticket_id, "priority": form["priority"]}
                )
            if form.get("assignee"):
                target = None if form["assignee"] == "none" else int(form["assignee"])
                await pages.run(sess, "ticket.assign", {"ticket": ticket_id, "assignee": target})
            return Redirect(f"/admin/tickets/{ticket_id}", status_code=303)

        return await guarded(pages, request, act)

    return [queue_page, bulk, ticket_page, reply, update]
