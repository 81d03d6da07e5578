"""Settings of the REST API, from ``[plugins.api]`` in ``plugins.toml``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ApiSettings(BaseModel):
    """``[plugins.api]`` keys (all optional)::

    [plugins.api]
    rate_limit = 600            # requests per token ...
    rate_limit_per = "minute"   # ... per second, minute, hour or day
    max_body_bytes = 1048576    # larger request bodies get 413
    page_size = 50              # default page size of lists
    max_page_size = 100         # a larger ?limit= gets 400
    max_batch = 100             # records per batch call
    """

    model_config = ConfigDict(extra="forbid")

    rate_limit: int = Field(600, ge=1, description="Requests per token per rate_limit_per")
    rate_limit_per: Literal["second", "minute", "hour", "day"] = "minute"
    max_body_bytes: int = Field(1_048_576, ge=1024, le=64 * 1_048_576)
    page_size: int = Field(50, ge=1, le=1000)
    max_page_size: int = Field(100, ge=1, le=1000)
    max_batch: int = Field(100, ge=1, le=1000)
