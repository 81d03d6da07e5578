"""The REST API registered as a plugin: its settings model and its routes.

Kept light: litestar and the route builder are imported only when the web app is built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import kith

from .settings import ApiSettings

if TYPE_CHECKING:
    from kith import Kith

NAME = "api"


@kith.hookimpl
def kith_settings_model() -> type[ApiSettings]:
    """``[plugins.api]`` settings: rate limit, body size, page sizes, batch size."""
    return ApiSettings


@kith.hookimpl
def kith_routes(kith: Kith) -> list[Any]:
    """Mount ``/api/v1``: resources, commands, OpenAPI document and docs page."""
    from .routes import build_router

    return [build_router(kith, kith.plugin_settings(NAME))]
