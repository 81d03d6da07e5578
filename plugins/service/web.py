"""The rating page customers reach from a CSAT email (mounted through ``kith_routes``).

``GET /plugins/service/csat/<token>?rating=good`` only *shows* a form (mail scanners open
every link, so a GET never records anything); the form POSTs to the same address and the
rating is recorded with ``csat.record``. The signed token is the customer's only credential:
the page runs the two CSAT commands as a narrow web actor and nothing else. Bodies are
capped at 16 KiB and each client address at 30 requests a minute (429 beyond).
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qs

import kith

PREFIX = "/plugins/service/csat"
MAX_BODY_BYTES = 16 * 1024
RATE_PER_MINUTE = 30  # requests per client address, both methods together
ACTOR = kith.Actor(user_id=None, role="system", name="Customer (rating link)", via="web:csat")

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;
padding:0 1rem;color:#1f2933}}label{{display:block;margin:.4rem 0}}
textarea{{width:100%;min-height:6rem}}button{{margin-top:1rem;padding:.4rem 1rem}}
.muted{{color:#52606d}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def _page(title: str, body: str, status: int = 200) -> Any:
    from litestar import MediaType, Response

    return Response(
        _PAGE.format(title=escape(title), body=body),
        status_code=status,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _problem_page(err: kith.KithError) -> Any:
    status = 400 if err.code in ("invalid_token", "invalid") else err.status
    return _page("This link does not work", f"<p>{escape(err.message)}</p>", status)


def _form(token: str, survey: Any, chosen: str | None) -> str:
    chosen = chosen if chosen in ("good", "bad") else survey.rating
    done = (
        f'<p class="muted">You rated this {escape(survey.rating)}; you can change it.</p>'
        if survey.rating
        else ""
    )
    radios = "".join(
        f'<label><input type="radio" name="rating" value="{value}"'
        f"{' checked' if chosen == value else ''} required> {label}</label>"
        for value, label in (("good", "Good, I'm satisfied"), ("bad", "Bad, I'm unsatisfied"))
    )
    return (
        f"<p>How would you rate the support you received on "
        f"<strong>#{survey.ticket} {escape(survey.subject)}</strong>?</p>{done}"
        f'<form method="post" action="{PREFIX}/{escape(token, quote=True)}">{radios}'
        f'<label>Anything to add? <textarea name="comment" maxlength="5000">'
        f"{escape(survey.comment or '')}</textarea></label>"
        f'<button type="submit">Send my rating</button></form>'
    )


def build_router(app: kith.Kith) -> Any:
    """The two handlers of the rating page, as a litestar router."""
    from litestar import Request, Router, get, post
    from litestar.middleware.rate_limit import RateLimitConfig

    @get("/{token:str}")
    async def show(request: Request[Any, Any, Any]) -> Any:
        token, rating = request.path_params["token"], request.query_params.get("rating")
        try:
            survey = await app.run("csat.show", {"token": token}, ACTOR)
        except kith.KithError as err:
            return _problem_page(err)
        return _page("Rate our support", _form(token, survey, rating))

    @post("/{token:str}", request_max_body_size=MAX_BODY_BYTES, status_code=200)
    async def record(request: Request[Any, Any, Any]) -> Any:
        token = request.path_params["token"]
        raw = (await request.body()).decode("utf-8", errors="replace")
        fields = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        payload: dict[str, Any] = {"token": token, "rating": fields.get("rating", "")}
        if fields.get("comment", "").strip():
            payload["comment"] = fields["comment"].strip()
        try:
            survey = await app.run("csat.record", payload, ACTOR)
        except kith.KithError as err:
            if err.code == "invalid_token":
                return _problem_page(err)
            reason = "; ".join(f"{f.field}: {f.message}" for f in err.fields) or err.message
            body = f'<p class="muted">{escape(reason)}</p>'
            try:
                shown = await app.run("csat.show", {"token": token}, ACTOR)
            except kith.KithError as again:
                return _problem_page(again)
            return _page("Rate our support", body + _form(token, shown, None), 400)
        return _page(
            "Thank you",
            f"<p>Your rating ({escape(survey.rating or '')}) of #{survey.ticket} is recorded. "
            "You can close this page.</p>",
        )

    limit = RateLimitConfig(rate_limit=("minute", RATE_PER_MINUTE), store="service_csat_rate")
    return Router(path=PREFIX, route_handlers=[show, record], middleware=[limit.middleware])
