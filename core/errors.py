"""Errors a person can act on: a code, a message and the fields at fault.

Every failure that reaches a channel is a :class:`KithError`. Channels render it in their own
medium (CLI exit code 2 and one line per field, HTTP problem+json, a Slack ephemeral message,
an email reply); none of them ever shows a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one field of the input."""

    field: str
    message: str
    code: str = "invalid"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "code": self.code}


@dataclass
class KithError(Exception):
    """A failure explained for the person who caused it.

    ``code`` is stable and machine-readable (``invalid_input``, ``not_found``, ``forbidden``,
    ``conflict``, ``archived``...); ``message`` is one sentence for a person; ``fields`` lists
    per-field reasons. ``status`` is the HTTP status a web channel should answer with.
    """

    code: str
    message: str
    fields: list[FieldError] = field(default_factory=list)
    status: int = 400
    command: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.fields:
            return self.message
        details = "; ".join(f"{f.field}: {f.message}" for f in self.fields)
        return f"{self.message} ({details})"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.command:
            out["command"] = self.command
        if self.fields:
            out["fields"] = [f.as_dict() for f in self.fields]
        if self.candidates:
            out["candidates"] = self.candidates
        return out


def invalid(field_name: str, message: str, code: str = "invalid") -> KithError:
    """Shortcut for the most common error: one field with one reason."""
    return KithError(
        "invalid_input",
        f"{field_name}: {message}",
        [FieldError(field_name, message, code)],
    )


def not_found(entity: str, ref: object, field_name: str | None = None) -> KithError:
    """A reference that matched nothing."""
    message = f"No {entity} matches {ref!r}."
    return KithError(
        "not_found", message, [FieldError(field_name or entity, message, "not_found")], status=404
    )


def forbidden(message: str) -> KithError:
    return KithError("forbidden", message, status=403)


def from_validation_error(exc: ValidationError, prefix: str = "") -> KithError:
    """Turn pydantic's report into field errors named the way people typed them."""
    fields: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "__root__")
        if prefix:
            loc = f"{prefix}.{loc}" if loc else prefix
        kind = err.get("type", "invalid")
        message = err.get("msg", "is invalid")
        if kind == "extra_forbidden":
            message = "is not a known field"
            kind = "unknown_field"
        elif kind == "missing":
            message = "is required"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        fields.append(FieldError(loc or "input", message, kind))
    summary = "; ".join(f"{f.field}: {f.message}" for f in fields[:3])
    return KithError("invalid_input", f"Invalid input — {summary}", fields)
