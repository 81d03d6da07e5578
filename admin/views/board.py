"""The pipeline board: stages as columns of deal cards, drag a card to move the deal."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import kith
from litestar import MediaType, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from ..settings import admin_settings
from ..web import Pages, guarded
from .common import clean, options


class BoardFilters:
    """The board's filters from the query string: the ``deal.board`` payload they make, and
    the query string again for the "more" links."""

    def __init__(self, **given: str | None) -> None:
        self.given = given

    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        for key in ("pipeline", "owner", "team"):
            value = self.given.get(key)
            if value not in (None, ""):
                payload[key] = int(value) if str(value).isdigit() else value
        field, value = self.given.get("field"), self.given.get("value")
        if field and value not in (None, ""):
            payload["filter"] = {f"custom.{field}": value}
        return payload

    def query(self) -> str:
        return urlencode(clean(self.given))


def routes(pages: Pages) -> list[Any]:
    @get("/board", include_in_schema=False)
    async def board_page(
        request: Request[Any, Any, Any],
        pipeline: FromQuery[str | None] = None,
        owner: FromQuery[str | None] = None,
        team: FromQuery[str | None] = None,
        field: FromQuery[str | None] = None,
        value: FromQuery[str | None] = None,
    ) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            filters = BoardFilters(
                pipeline=pipeline, owner=owner, team=team, field=field, value=value
            )
            per_column = admin_settings(pages.kith).board_cards_per_column
            board = await pages.run(
                sess, "deal.board", {**filters.payload(), "per_column": per_column}
            )
            return pages.render(
                "board.html",
                sess,
                section="board",
                board=board,
                query=filters.query(),
                filters=filters.given,
                pipelines=await options(pages, sess, "pipeline.list"),
                users=await options(pages, sess, "user.list"),
                teams=await options(pages, sess, "team.list"),
                fields=(await pages.run(sess, "custom_field.list", {"entity": "deal"})).items
                if pages.can(sess, "custom_field.list")
                else [],
                reasons=["price", "timing", "competitor", "no budget", "no decision", "other"],
            )

        return await guarded(pages, request, render)

    @get("/board/column", include_in_schema=False)
    async def board_column(
        request: Request[Any, Any, Any],
        stage: FromQuery[int],
        offset: FromQuery[int] = 0,
        pipeline: FromQuery[str | None] = None,
        owner: FromQuery[str | None] = None,
        team: FromQuery[str | None] = None,
        field: FromQuery[str | None] = None,
        value: FromQuery[str | None] = None,
    ) -> Any:
        async def render() -> Any:
            sess = await pages.session(request)
            filters = BoardFilters(
                pipeline=pipeline, owner=owner, team=team, field=field, value=value
            )
            per_column = admin_settings(pages.kith).board_cards_per_column
            board = await pages.run(
                sess,
                "deal.board",
                {**filters.payload(), "stage": stage, "offset": offset, "per_column": per_column},
            )
            return pages.render(
                "board_cards.html",
                sess,
                column=board.columns[0],
                offset=offset,
                per_column=per_column,
                query=filters.query(),
            )

        return await guarded(pages, request, render)

    @post("/deals/{deal_id:int}/move", include_in_schema=False)
    async def move(request: Request[Any, Any, Any], deal_id: FromPath[int]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            stage = form.get("stage")
            if not str(stage or "").isdigit():
                raise kith.invalid("stage", "say which stage to move the deal to")
            deal = await pages.run(sess, "deal.move", {"deal": deal_id, "stage": int(stage)})
            board = await pages.run(
                sess, "deal.board", {"pipeline": deal.pipeline_id, "per_column": 1}
            )
            env = pages.env
            columns = {
                str(c.stage_id): env.get_template("board_totals.html").render(column=c)
                for c in board.columns
            }
            return Response(
                {"deal": deal_id, "stage": deal.stage_id, "columns": columns},
                status_code=200,
                media_type=MediaType.JSON,
            )

        return await guarded(pages, request, act)

    @post("/deals/{deal_id:int}/close", include_in_schema=False)
    async def close(request: Request[Any, Any, Any], deal_id: FromPath[int]) -> Any:
        async def act() -> Any:
            sess = await pages.session(request)
            form = await pages.form(request, sess)
            outcome = form.get("outcome")
            if outcome not in ("won", "lost"):
                raise kith.invalid("outcome", "choose won or lost")
            reason = str(form.get("reason") or "").strip()
            if outcome == "lost" and not reason:
                raise kith.invalid("reason", "say why the deal was lost")
            payload: dict[str, Any] = {"deal": deal_id}
            if reason:
                payload["reason"] = reason
            detail = str(form.get("detail") or "").strip()
            if detail:
                payload["detail"] = detail
            await pages.run(sess, f"deal.{outcome}", payload)
            back = str(form.get("back") or "")
            from litestar.response import Redirect

            target = back if back.startswith("/admin/") else "/admin/board"
            return Redirect(target, status_code=303)

        return await guarded(pages, request, act)

    return [board_page, board_column, move, close]
