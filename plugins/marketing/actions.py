"""The automation action ``enroll_in_sequence`` (``then: - enroll_in_sequence: {sequence:
Welcome}``), for automations whose trigger is about a contact (``form.submitted``,
``contact.created``, ``consent.granted``…)."""

from __future__ import annotations

from typing import Any

import kith
from pydantic import Field


class EnrollConfig(kith.ActionConfig):
    sequence: str = Field(min_length=1, max_length=200, description="The sequence's name")


@kith.automation_action(
    "enroll_in_sequence",
    config=EnrollConfig,
    emits=["sequence.enrolled"],
    entities=["contact"],
    commands=["sequence.enroll"],
)
async def enroll_in_sequence(actx: kith.ActionContext, config: EnrollConfig) -> dict[str, Any]:
    """Enroll the contact in a marketing sequence (its emails still need consent)."""
    if actx.record_id is None:
        raise kith.invalid("sequence", "this trigger is about no contact")
    enrollment = await actx.command(
        "sequence.enroll", {"sequence": config.sequence, "contact": actx.record_id}
    )
    return {"enrollment": enrollment.id}


ACTIONS = [enroll_in_sequence]
