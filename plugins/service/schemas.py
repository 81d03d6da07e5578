"""What the service commands return."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["new", "open", "pending", "solved", "closed"]
Channel = Literal["email", "slack", "api", "web", "phone", "cli"]
Body = Field(min_length=1, max_length=200_000)


class TicketView(BaseModel):
    """A ticket as the service sees it."""

    id: int
    subject: str
    status: str
    priority: str
    type: str | None = None
    requester_id: int | None
    organization_id: int | None
    assignee_id: int | None
    team_id: int | None
    channel: str
    custom: dict[str, Any] = {}
    created_at: datetime
    updated_at: datetime
    merged_into: int | None = None


class MessageOut(BaseModel):
    id: int
    ticket_id: int
    kind: str
    public: bool
    author_user_id: int | None
    author_contact_id: int | None
    body: str
    cc: list[str] = []
    channel: str
    created_at: datetime


class MessageResult(BaseModel):
    """A message added to a ticket; ``notice`` says when it went elsewhere than asked
    (a merged ticket's survivor, a closed ticket's follow-up)."""

    ticket: TicketView
    message: MessageOut
    notice: str | None = None
    duplicate: bool = False


class TicketResult(BaseModel):
    ticket: TicketView
    changed: bool = True
    notice: str | None = None


def ticket_view(ticket: dict[str, Any], state: dict[str, Any] | None = None) -> TicketView:
    merged = state.get("merged_into_id") if state else None
    return TicketView.model_validate({**ticket, "merged_into": merged})
