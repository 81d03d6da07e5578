"""The renewals plugin's hooks — only the hooks any third-party plugin can use.

* ``kith_settings_model`` — ``[plugins.renewals]``;
* ``kith_tables`` — ``renewals_subscriptions``;
* ``kith_commands`` — ``subscription.create|list``, ``renewals.scan``;
* ``kith_jobs`` — ``renewals.daily``: the scan every morning at 06:00 UTC;
* ``kith_init`` — the organization custom field ``health_score``;
* ``kith_verbs`` — ``/kith renewals [days]`` in Slack;
* ``kith_events`` — what it emits, for other plugins, automations and webhooks.
"""

from __future__ import annotations

from typing import Any

import kith
from pydantic import BaseModel

from . import commands
from .settings import RenewalSettings

# Kith checks these at start: its version, and the plugins this one builds on (the sales
# plugin's pipelines and deals). Its hooks run after theirs.
KITH_REQUIRES = {"kith": ">=0.1,<0.2", "plugins": ["sales"]}


@kith.hookimpl
def kith_settings_model() -> type[BaseModel]:
    """``[plugins.renewals]`` in plugins.toml."""
    return RenewalSettings


@kith.hookimpl
def kith_tables() -> list[str]:
    """The subscriptions table."""
    return ["kith_renewals.piccolo_app"]


@kith.hookimpl
def kith_commands() -> list[kith.CommandSpec]:
    """Subscriptions and the renewal scan."""
    return kith.commands_in(commands)


@kith.job("renewals.daily", cron="0 6 * * *", max_attempts=3)
async def daily(ctx: kith.Context, payload: dict[str, Any]) -> None:
    """Open renewal deals and flag risks, every morning."""
    await ctx.run("renewals.scan", {})


@kith.hookimpl
def kith_jobs() -> list[kith.JobSpec]:
    """The morning scan."""
    return [daily]


@kith.hookimpl
async def kith_init(kith: kith.Kith) -> None:
    """Define the organizations' health score (0-100) once."""
    from kith import SYSTEM, KithError

    try:
        await kith.run(
            "custom_field.define",
            {
                "entity": "organization",
                "key": commands.HEALTH_FIELD,
                "label": "Health score",
                "type": "number",
            },
            SYSTEM,
        )
    except KithError as err:
        if "already" not in err.message.lower() and err.code != "conflict":
            raise


def _renewals(words: list[str], context: kith.VerbContext) -> kith.Invocation:
    days = 30
    if words:
        if not words[0].isdigit():
            raise kith.verb_error(RENEWALS, words[0], "give a number of days, e.g. 60")
        days = int(words[0])
    return kith.Invocation("subscription.list", {"ending_within_days": days}, show="list")


RENEWALS = kith.Verb(
    "renewals",
    ("renewals [DAYS]",),
    "Subscriptions ending in the next DAYS days (default 30)",
    _renewals,
    ("renewals", "renewals 90"),
)


@kith.hookimpl
def kith_verbs() -> list[kith.Verb]:
    """``renewals [DAYS]``."""
    return [RENEWALS]


@kith.hookimpl
def kith_events() -> list[kith.EventSpec]:
    """The events this plugin emits."""
    return [
        kith.EventSpec("subscription.created", "organization", "a subscription was recorded"),
        kith.EventSpec(
            "subscription.renewal_opened", "deal", "a renewal deal was opened (data.subscription)"
        ),
        kith.EventSpec(
            "subscription.at_risk", "organization", "a renewal is at risk (data.health_score)"
        ),
    ]
