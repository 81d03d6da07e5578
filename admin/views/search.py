"""The global search box: ``find`` across records, linked to their pages."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.params import FromQuery

from ..web import Pages, guarded

PAGES = {
    "contact": "contacts",
    "organization": "organizations",
    "deal": "deals",
    "lead": "leads",
    "ticket": "tickets",
}


def routes(pages: Pages) -> list[Any]:
    @get("/search", include_in_schema=False)
    async def search_page(request: Request[Any, Any, Any], q: FromQuery[str] = "") -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            hits = []
            text = q.strip()[:200]
            if text:
                result = await pages.run(sess, "find", {"q": text, "limit": 30})
                hits = result.items
            return pages.render(
                "search.html", sess, section="search", q=text, hits=hits, links=PAGES
            )

        return await guarded(pages, request, render)

    return [search_page]
