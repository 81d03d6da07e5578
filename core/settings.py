"""Settings from ``KITH_*`` environment variables, and ``plugins.toml``.

Environment variables configure the process (where the database is, which port to serve);
``plugins.toml`` says which plugins are on and passes each its settings.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import FieldError, KithError

ENV_PREFIX = "KITH_"


class Settings(BaseModel):
    """Process settings. Each field ``name`` is read from ``KITH_<NAME>``."""

    model_config = ConfigDict(extra="ignore")

    database_url: str = Field("sqlite:///kith.db", description="sqlite:///path or postgresql://…")
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=1, le=65535)
    plugins_file: str = Field("plugins.toml", description="Path of plugins.toml")
    secret_key: str | None = Field(None, description="Key for secrets stored encrypted")
    load_entry_points: bool = Field(
        default_factory=lambda: (
            os.environ.get(ENV_PREFIX + "LOAD_ENTRY_POINTS", "1").lower()
            not in ("0", "false", "no", "off")
        ),
        description="Load installed plugins (the kith.plugins entry point group)",
    )
    secret_key_file: str = ".kith-secret-key"  # noqa: S105 - a file name, not a secret
    log_level: str = "info"
    trace_plugins: bool = False
    sqlite_readers: int = Field(2, ge=1, le=16)
    pg_pool_max: int = Field(10, ge=1, le=200)
    # ---- jobs and events (docs/operations.md) ----
    broker_url: str | None = Field(
        None, description="redis://… or amqp://…: run jobs in `kith worker` processes"
    )
    broker_queue: str = Field("kith", description="Broker queue that carries job ids")
    job_poll_s: float = Field(1.0, gt=0, le=60, description="Idle look for due jobs")
    job_resend_s: float = Field(
        60.0, gt=0, description="Send a job id again when no worker claimed it by then"
    )
    job_max_in_flight: int = Field(1000, ge=1, description="Job ids waiting in the broker")
    event_lease_s: float = Field(
        60.0, gt=0, description="Deliver events again when undelivered this long after claim"
    )
    worker_threads: int = Field(8, ge=1, le=256, description="Jobs at once per kith worker")
    # data in and out (docs/data-io.md)
    import_max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest CSV import")
    import_batch_rows: int = Field(500, ge=1, le=50_000, description="Rows per transaction")
    import_record_events: bool = Field(False, description="Per-record events during imports")
    import_dir: str = Field("imports", description="Where uploaded CSVs and rejects files go")
    backup_dir: str = Field("backups", description="Where backup.create writes backups")
    webhooks_allow_private: bool = Field(
        False, description="Let webhooks and automations call private addresses (development)"
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``KITH_*`` variables; ``overrides`` win over the environment."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            fields = [
                FieldError(ENV_PREFIX + str(e["loc"][0]).upper(), e["msg"]) for e in exc.errors()
            ]
            raise KithError(
                "invalid_settings", "Invalid KITH_* environment settings", fields
            ) from exc


class PluginsFile(BaseModel):
    """The parsed ``plugins.toml``: which plugins are on, and their settings."""

    enabled: dict[str, bool] = {}
    settings: dict[str, dict[str, Any]] = {}

    def is_enabled(self, name: str, default: bool = True) -> bool:
        return self.enabled.get(name, default)


def load_plugins_file(path: str | Path) -> PluginsFile:
    """Read ``plugins.toml``. Layout::

        [plugins.sales]
        enabled = true
        currency = "EUR"      # every other key is a setting of the plugin

    A missing file means "defaults for everything".
    """
    p = Path(path)
    if not p.exists():
        return PluginsFile()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise KithError("invalid_settings", f"{p}: not valid TOML ({exc})") from exc
    section = raw.get("plugins", {})
    if not isinstance(section, dict):
        raise KithError("invalid_settings", f"{p}: [plugins] must be a table")
    out = PluginsFile()
    for name, conf in section.items():
        if not isinstance(conf, dict):
            raise KithError(
                "invalid_settings",
                f"{p}: [plugins.{name}] must be a table",
                [FieldError(f"plugins.{name}", "must be a table")],
            )
        conf = dict(conf)
        enabled = conf.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise KithError(
                "invalid_settings",
                f"{p}: plugins.{name}.enabled must be true or false",
                [FieldError(f"plugins.{name}.enabled", "must be true or false")],
            )
        out.enabled[name] = enabled
        out.settings[name] = conf
    return out
