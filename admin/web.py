"""The admin pages' router: sessions, CSRF, rendering, and the pages' routes.

Every page runs commands as the logged-in user (``Actor.via = "web:session:<id>"``), so the
role checks, record visibility, history and events are the same as on every other channel:
a viewer who forces a POST gets the command's 403. Every POST carries the session's CSRF
token (form field ``_csrf``, or header ``X-CSRF-Token`` from the pages' script); a POST
without it is refused before anything runs. Bodies are capped at 256 KiB; log-in posts at
``login_attempts_per_minute`` per client address.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

import kith
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from . import format as fmt
from .auth import WebSession, session_for
from .settings import admin_settings

PREFIX = "/admin"
COOKIE = "kith_session"
MAX_BODY = 256 * 1024
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
}


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the log-in page."""


class Pages:
    """What every page handler shares: the session, CSRF, commands and rendering."""

    def __init__(self, app: kith.Kith) -> None:
        self.kith = app
        self.env = Environment(
            loader=FileSystemLoader(Path(__file__).parent / "templates"),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        fmt.install(self.env)
        self._login_hits: dict[str, tuple[int, int]] = {}

    # ---- sessions and CSRF ------------------------------------------------------------
    async def session(self, request: Request[Any, Any, Any]) -> WebSession:
        found = await session_for(self.kith, request.cookies.get(COOKIE))
        if found is None:
            raise LoginRequired
        return found

    async def form(self, request: Request[Any, Any, Any], sess: WebSession) -> dict[str, Any]:
        """The posted form (or JSON) once its CSRF token checks out (its size is capped by
        the router's ``request_max_body_size``)."""
        if (request.headers.get("content-type") or "").startswith("application/json"):
            data = await request.json()
            data = data if isinstance(data, dict) else {}
        else:
            form = await request.form()
            data = {k: (form.getall(k) if k.endswith("[]") else form.get(k)) for k in form}
        given = request.headers.get("x-csrf-token") or str(data.pop("_csrf", "") or "")
        if not given or not hmac.compare_digest(given, sess.csrf):
            raise kith.KithError(
                "csrf", "This form expired or came from another site: reload the page.", status=403
            )
        return data

    def login_allowed(self, request: Request[Any, Any, Any]) -> bool:
        """A fixed one-minute window per client address."""
        limit = admin_settings(self.kith).login_attempts_per_minute
        client = request.client.host if request.client else "?"
        window = int(time.time() // 60)
        seen_window, count = self._login_hits.get(client, (window, 0))
        count = count + 1 if seen_window == window else 1
        if len(self._login_hits) > 10_000:
            self._login_hits.clear()
        self._login_hits[client] = (window, count)
        return count <= limit

    # ---- commands -----------------------------------------------------------------------
    async def run(self, sess: WebSession, name: str, payload: dict[str, Any]) -> Any:
        return await self.kith.run(name, payload, sess.actor)

    def can(self, sess: WebSession, name: str) -> bool:
        """Whether the user's role allows command ``name`` (pages hide what it does not)."""
        spec = self.kith.registry.get(name) if name in self.kith.registry else None
        if spec is None:
            return False
        try:
            sess.actor.require(spec.permission, name)
        except kith.KithError:
            return False
        return True

    # ---- rendering ----------------------------------------------------------------------
    def render(
        self,
        template: str,
        sess: WebSession | None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> Response[Any]:
        page = self.env.get_template(template).render(
            me=sess.actor if sess else None,
            csrf=sess.csrf if sess else "",
            can=(lambda name: self.can(sess, name)) if sess else (lambda name: False),
            now=self.kith.clock.now(),
            plugins=[p.name for p in self.kith.plugins],
            **context,
        )
        return Response(
            page,
            status_code=status,
            media_type=MediaType.HTML,
            headers={**SECURITY_HEADERS, **(headers or {})},
        )

    def error_page(self, sess: WebSession | None, err: kith.KithError) -> Response[Any]:
        return self.render("error.html", sess, status=err.status, error=err)


async def guarded(
    pages: Pages, request: Request[Any, Any, Any], fn: Callable[[], Awaitable[Any]]
) -> Any:
    """Run a page: a missing session redirects to log-in (the script's JSON calls get 401),
    a :class:`kith.KithError` renders as an error page (or JSON for the script's calls)."""
    wants_json = "application/json" in (request.headers.get("accept") or "")
    try:
        return await fn()
    except LoginRequired:
        if wants_json:
            return Response({"message": "Log in again."}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"{PREFIX}/login?next={urlquote(target)}", status_code=303)
    except kith.KithError as err:
        if wants_json:
            return Response(err.as_dict(), status_code=err.status)
        sess = await session_for(pages.kith, request.cookies.get(COOKIE))
        return pages.error_page(sess, err)


def _safe_next(target: str | None) -> str:
    """Only a path inside the admin pages (never another site)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//"):
        return target
    return f"{PREFIX}/board"


def build_router(app: kith.Kith) -> Router:
    """``/admin/…``: every page of the admin, and its static files."""
    from .views import automations, board, dashboards, records, search, settings_pages, tickets

    pages = Pages(app)

    @get("/login", include_in_schema=False)
    async def login_form(
        request: Request[Any, Any, Any], next: FromQuery[str | None] = None
    ) -> Any:
        sess = await session_for(app, request.cookies.get(COOKIE))
        if sess is not None:
            return Redirect(_safe_next(next), status_code=303)
        return pages.render("login.html", None, next=_safe_next(next), error=None, email="")

    @post("/login", include_in_schema=False, request_max_body_size=16 * 1024)
    async def login(request: Request[Any, Any, Any]) -> Any:
        form = await request.form()
        email = str(form.get("email") or "").strip()
        target = _safe_next(str(form.get("next") or ""))
        if not pages.login_allowed(request):
            err = "Too many log-in attempts from here: wait a minute."
            return pages.render(
                "login.html", None, status=429, next=target, error=err, field="", email=email
            )
        try:
            result = await app.run(
                "session.open",
                {
                    "email": email or "-",
                    "password": str(form.get("password") or "") or "-",
                    "totp": str(form.get("totp") or "").strip() or None,
                    "user_agent": (request.headers.get("user-agent") or "")[:300],
                },
                kith.SYSTEM,
            )
        except kith.KithError as err:
            return pages.render(
                "login.html", None, status=400, next=target, error=err.message, email=email
            )
        if not result.ok:
            return pages.render(
                "login.html",
                None,
                status=401,
                next=target,
                error=result.reason,
                field=result.field,
                email=email,
            )
        response = Redirect(target, status_code=303)
        response.set_cookie(
            COOKIE,
            result.token,
            path=PREFIX,
            httponly=True,
            samesite="lax",
            secure=admin_settings(app).secure_cookies,
            max_age=int(admin_settings(app).session_hours * 3600),
        )
        return response

    @post("/logout", include_in_schema=False)
    async def logout(request: Request[Any, Any, Any]) -> Any:
        sess = await session_for(app, request.cookies.get(COOKIE))
        if sess is not None:
            await pages.form(request, sess)
            await app.run("session.close", {"token": sess.token}, kith.SYSTEM)
        response = Redirect(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    @get("/", include_in_schema=False)
    async def home() -> Any:
        return Redirect(f"{PREFIX}/board", status_code=303)

    @get("/static/{name:str}", include_in_schema=False, sync_to_thread=False)
    def static(name: FromPath[str]) -> Any:
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            return Response("not found", status_code=404, media_type=MediaType.TEXT)
        kind = {"css": "text/css", "js": "text/javascript", "svg": "image/svg+xml"}.get(
            name.rsplit(".", 1)[-1], "application/octet-stream"
        )
        return Response(
            path.read_bytes(),
            media_type=kind,
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    handlers: list[Any] = [login_form, login, logout, home, static]
    for module in (board, tickets, records, dashboards, automations, settings_pages, search):
        handlers += module.routes(pages)
    return Router(path=PREFIX, route_handlers=handlers, request_max_body_size=MAX_BODY)
