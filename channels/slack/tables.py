"""The Slack channel's tables: people's notification choices, and Slack event ids already
handled (Slack retries a delivery it thinks was lost; any Kith process may get the retry)."""

from __future__ import annotations

from piccolo.columns import Boolean, Integer, Timestamptz, Varchar
from piccolo.table import Table


class SlackPreference(Table, tablename="slack_preferences"):
    """What one user wants by DM (``/kith notify``). No row means the defaults: DMs on
    assignment and on mentions, no morning digest."""

    user_id = Integer(unique=True)
    assigned = Boolean(default=True)
    mentions = Boolean(default=True)
    digest_at = Varchar(length=5, null=True, default=None)  # "08:00" in the user's time zone
    created_at = Timestamptz(default=None)
    updated_at = Timestamptz(default=None)
    created_by = Integer(null=True, default=None)


class SlackEventSeen(Table, tablename="slack_events_seen"):
    """One row per Events API ``event_id`` handled; old rows are pruned daily."""

    event_id = Varchar(length=64, unique=True)
    seen_at = Timestamptz(default=None, index=True)


SLACK_TABLES = [SlackPreference, SlackEventSeen]
