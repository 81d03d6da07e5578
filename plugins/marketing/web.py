"""Public pages (mounted through ``kith_routes``): forms, opt-in and unsubscribe.

* ``GET /f/<slug>`` — the form as a page; ``GET /f/<slug>/embed`` — the ``<form>`` alone,
  to paste into a website; ``POST /f/<slug>`` — a submission, form-encoded or JSON. Bodies
  beyond ``form_max_bytes`` get 413, more than ``form_rate_per_minute`` posts a minute from
  one address 429 (per process), a filled honeypot (the hidden ``website`` field) 400.
  Answers are a page for browsers and JSON for JSON posts; errors name the fields.
* ``/m/confirm/<token>`` and ``/m/unsubscribe/<token>``: a GET only *shows* a button (mail
  scanners open every link); the POST acts. The unsubscribe POST is also RFC 8058's
  one-click target (``List-Unsubscribe=One-Click``).

The pages run marketing commands as a narrow web actor; the signed token or the form's
slug is all a visitor brings.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict, deque
from html import escape
from typing import Any
from urllib.parse import parse_qs

import kith

from .forms import ATTRIBUTION
from .settings import marketing_settings

HONEYPOT = "website"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;
padding:0 1rem;color:#1f2933}}label{{display:block;margin:.6rem 0 .2rem}}
input[type=text],input[type=email],input[type=tel],textarea{{width:100%;padding:.4rem;
box-sizing:border-box}}textarea{{min-height:6rem}}button{{margin-top:1rem;padding:.5rem 1.2rem}}
.kith-hp{{position:absolute;left:-10000px}}.error{{color:#b42318}}.muted{{color:#52606d}}
</style></head><body><h1>{title}</h1>{body}</body></html>"""


def _actor(what: str) -> kith.Actor:
    return kith.Actor(user_id=None, role="system", name=f"Web visitor ({what})", via=f"web:{what}")


def _page(title: str, body: str, status: int = 200) -> Any:
    from litestar import MediaType, Response

    return Response(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _json(payload: dict[str, Any], status: int) -> Any:
    from litestar import MediaType, Response

    return Response(payload, status_code=status, media_type=MediaType.JSON)


def form_html(form: Any, action: str, values: dict[str, str] | None = None) -> str:
    """The ``<form>`` of a form definition (also the embeddable snippet)."""
    values = values or {}
    parts = [f'<form method="post" action="{escape(action, quote=True)}" class="kith-form">']
    for field in form.fields:
        tag = (
            f'<textarea name="{field.key}" maxlength="5000"'
            f"{' required' if field.required else ''}>{escape(values.get(field.key, ''))}"
            "</textarea>"
            if field.kind == "textarea"
            else f'<input type="{field.kind}" name="{field.key}" maxlength="5000" '
            f'value="{escape(values.get(field.key, ""), quote=True)}"'
            f"{' required' if field.required or field.maps_to == 'contact.email' else ''}>"
        )
        parts.append(f"<label>{escape(field.label)}</label>{tag}")
    for purpose in form.purposes:
        parts.append(
            f'<label><input type="checkbox" name="consent" value="{escape(purpose, quote=True)}">'
            f" {escape(purpose.replace('_', ' ').capitalize())}</label>"
        )
    if form.consent_text:
        parts.append(f'<p class="muted">{escape(form.consent_text)}</p>')
    parts.append(
        f'<div class="kith-hp" aria-hidden="true"><label>Leave empty<input type="text" '
        f'name="{HONEYPOT}" tabindex="-1" autocomplete="off"></label></div>'
        '<button type="submit">Send</button></form>'
    )
    return "".join(parts)


class _RateLimit:
    """At most ``per_minute`` hits a minute per key, in this process."""

    def __init__(self) -> None:
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str, per_minute: int) -> bool:
        now = time.monotonic()
        hits = self.hits[key]
        while hits and now - hits[0] > 60:
            hits.popleft()
        if len(hits) >= per_minute:
            return False
        hits.append(now)
        if len(self.hits) > 10_000:  # forget idle addresses
            for idle in [k for k, v in self.hits.items() if not v or now - v[-1] > 60]:
                del self.hits[idle]
        return True


def _parse(body: bytes, content_type: str) -> dict[str, Any]:
    """Fields of a JSON or form-encoded body; check boxes ``consent`` become a list."""
    if "json" in content_type:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            raise kith.invalid("body", "is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise kith.invalid("body", "must be a JSON object")
        return parsed
    raw = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    out: dict[str, Any] = {k: v[0] for k, v in raw.items()}
    out["consent"] = raw.get("consent", [])
    return out


def build_router(app: kith.Kith) -> list[Any]:
    """The public form, opt-in and unsubscribe handlers."""
    from litestar import Request, Router, get, post

    settings = marketing_settings(app)
    limiter = _RateLimit()

    async def _form(slug: str) -> Any:
        return await app.run("form.get", {"slug": slug}, _actor("form"))

    @get("/{slug:str}")
    async def show_form(request: Request[Any, Any, Any]) -> Any:
        slug = request.path_params["slug"]
        try:
            form = await _form(slug)
        except kith.KithError as err:
            return _page("Form not found", f"<p>{escape(err.message)}</p>", 404)
        intro = f"<p>{escape(form.description)}</p>" if form.description else ""
        return _page(form.title, intro + form_html(form, f"/f/{slug}"))

    @get("/{slug:str}/embed")
    async def embed(request: Request[Any, Any, Any]) -> Any:
        slug = request.path_params["slug"]
        from litestar import MediaType, Response

        try:
            form = await _form(slug)
        except kith.KithError as err:
            return _page("Form not found", f"<p>{escape(err.message)}</p>", 404)
        return Response(
            form_html(form, form.url),
            media_type=MediaType.HTML,
            headers={"Cache-Control": "no-store"},
        )

    @post("/{slug:str}", request_max_body_size=settings.form_max_bytes, status_code=200)
    async def submit(request: Request[Any, Any, Any]) -> Any:
        slug = request.path_params["slug"]
        wants_json = "json" in request.headers.get("content-type", "")
        ip = request.client.host if request.client else ""

        def fail(err: kith.KithError, status: int) -> Any:
            if wants_json:
                fields = [{"field": f.field, "message": f.message} for f in err.fields]
                return _json({"error": err.code, "message": err.message, "fields": fields}, status)
            reasons = "".join(
                f"<li>{escape(f.field)}: {escape(f.message)}</li>" for f in err.fields
            )
            return _page(
                "Please check the form",
                f'<p class="error">{escape(err.message)}</p><ul>{reasons}</ul>',
                status,
            )

        if not limiter.allow(f"{ip}", settings.form_rate_per_minute):
            return fail(kith.KithError("rate_limited", "Too many submissions: wait a minute."), 429)
        try:
            fields = _parse(await request.body(), request.headers.get("content-type", ""))
        except kith.KithError as err:
            return fail(err, 400)
        if str(fields.pop(HONEYPOT, "") or "").strip():
            spam = kith.invalid(
                HONEYPOT, "a hidden field was filled in: this looks automated", "spam"
            )
            return fail(spam, 400)
        consents = fields.pop("consent", None) or fields.pop("consents", None) or []
        if isinstance(consents, str):
            consents = [consents]
        attribution = {k: str(fields.pop(k)) for k in ATTRIBUTION if k in fields}
        for key in ATTRIBUTION:
            if key in request.query_params and key not in attribution:
                attribution[key] = request.query_params[key]
        if "referrer" not in attribution and request.headers.get("referer"):
            attribution["referrer"] = request.headers["referer"]
        payload = {
            "slug": slug,
            "data": {str(k): str(v) for k, v in fields.items() if not isinstance(v, list)},
            "consents": [str(c) for c in consents],
            "ip": ip,
            "user_agent": request.headers.get("user-agent", "")[:500],
            "attribution": attribution,
        }
        try:
            done = await app.run("form.submit", payload, _actor("form"))
        except kith.KithError as err:
            return fail(err, 404 if err.code == "not_found" else 400)
        if wants_json:
            return _json({"ok": True, "message": done.message}, 200)
        return _page("Thank you", f"<p>{escape(done.message)}</p>")

    forms = Router(path="/f", route_handlers=[show_form, embed, submit])

    def _token_page(path: str, command: str, title: str, button: str, done: str) -> Router:
        @get("/{token:str}")
        async def show(request: Request[Any, Any, Any]) -> Any:
            token = request.path_params["token"]
            action = f"/m/{path}/{escape(token, quote=True)}"
            return _page(
                title,
                f'<form method="post" action="{action}"><button type="submit">'
                f"{escape(button)}</button></form>",
            )

        @post("/{token:str}", request_max_body_size=16_384, status_code=200)
        async def act(request: Request[Any, Any, Any]) -> Any:
            token = request.path_params["token"]
            try:
                await app.run(command, {"token": token}, _actor(path))
            except kith.KithError as err:
                status = 400 if err.code in ("invalid_token", "invalid_input", "not_found") else 500
                return _page("This link does not work", f"<p>{escape(err.message)}</p>", status)
            return _page(title, f"<p>{escape(done)}</p>")

        return Router(path=f"/m/{path}", route_handlers=[show, act])

    confirm = _token_page(
        "confirm",
        "consent.confirm",
        "Confirm your subscription",
        "Yes, subscribe me",
        "Thank you: your subscription is confirmed.",
    )
    unsubscribe = _token_page(
        "unsubscribe",
        "consent.unsubscribe",
        "Unsubscribe",
        "Unsubscribe me",
        "You are unsubscribed. You will get no more of these emails.",
    )
    return [forms, confirm, unsubscribe]
