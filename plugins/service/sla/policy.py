"""SLA policies as values: targets per priority, the warning share, escalation steps.

Stored as JSON on the policy row; validated here so a bad policy is refused when it is
saved, never discovered when a ticket breaches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .clocks import METRICS

PRIORITIES = ("low", "normal", "high", "urgent")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


def parse_minutes(value: int | str) -> int:
    """Minutes from ``90``, ``"90m"``, ``"4h"`` or ``"1h30m"`` (business minutes)."""
    if isinstance(value, bool):
        raise ValueError("give minutes or a duration like 4h, 1h30m")
    if isinstance(value, int):
        minutes = value
    else:
        text = value.strip().lower()
        if text.isdigit():
            minutes = int(text)
        else:
            m = _DURATION.match(text)
            if not m or not any(m.groups()):
                raise ValueError(f"{value!r} is not a duration (e.g. 30m, 4h, 1h30m)")
            minutes = int(m.group(1) or 0) * 60 + int(m.group(2) or 0)
    if minutes <= 0:
        raise ValueError("must be more than zero minutes")
    return minutes


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Targets(_Strict):
    """Targets of one priority, in business minutes (or ``"4h"``-style durations)."""

    first_response: int | None = None
    next_response: int | None = None
    resolution: int | None = None

    @field_validator("first_response", "next_response", "resolution", mode="before")
    @classmethod
    def _minutes(cls, value: Any) -> int | None:
        return None if value is None else parse_minutes(value)


ActionKind = Literal["assign_lead", "raise_priority", "notify_slack", "email"]


class EscalationAction(_Strict):
    """``assign_lead``: give the ticket to its team's lead; ``raise_priority``: one step up;
    ``notify_slack``: post in ``channel``; ``email``: mail ``to``."""

    type: ActionKind
    channel: str | None = Field(None, max_length=80)
    to: str | None = Field(None, max_length=320)

    @model_validator(mode="after")
    def _needs(self) -> EscalationAction:
        if self.type == "notify_slack" and not self.channel:
            raise ValueError("notify_slack needs a channel, e.g. #support-escalations")
        if self.type == "email" and (not self.to or "@" not in self.to):
            raise ValueError("email needs 'to', an email address")
        return self


class EscalationStep(_Strict):
    """One level of an escalation chain: ``after`` business minutes past the warning or
    breach that started the chain, do ``actions``."""

    on: Literal["warning", "breach"]
    after: int = 0
    actions: list[EscalationAction] = Field(min_length=1, max_length=10)

    @field_validator("after", mode="before")
    @classmethod
    def _after(cls, value: Any) -> int:
        if value in (0, "0", None):
            return 0
        return parse_minutes(value)


class PolicyRules(_Strict):
    """What a policy row holds besides its name and matching."""

    targets: dict[Literal["low", "normal", "high", "urgent"], Targets]
    warn_at: float = Field(0.75, gt=0, lt=1, description="Share of a target that warns")
    escalation: list[EscalationStep] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _some_target(self) -> PolicyRules:
        if not any(getattr(t, m) is not None for t in self.targets.values() for m in METRICS):
            raise ValueError("a policy needs at least one target")
        return self


@dataclass(frozen=True)
class Policy:
    """A loaded policy, ready to answer "what is the target for this clock?"."""

    id: int | None
    name: str
    rules: PolicyRules

    def target(self, priority: str, metric: str) -> timedelta | None:
        targets = self.rules.targets.get(priority)  # type: ignore[call-overload]
        minutes = getattr(targets, metric) if targets is not None else None
        return timedelta(minutes=minutes) if minutes is not None else None

    @property
    def warn_share(self) -> float:
        return self.rules.warn_at

    def steps(self, trigger: str) -> list[EscalationStep]:
        """The steps of ``trigger``'s chain in level order (L1 first)."""
        return sorted((s for s in self.rules.escalation if s.on == trigger), key=lambda s: s.after)


NO_POLICY = Policy(None, "none", PolicyRules.model_construct(targets={}, escalation=[]))


def raised(priority: str) -> str:
    """One priority step up (urgent stays urgent)."""
    i = PRIORITIES.index(priority) if priority in PRIORITIES else 1
    return PRIORITIES[min(i + 1, len(PRIORITIES) - 1)]
