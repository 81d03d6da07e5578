"""Errors as ``application/problem+json`` (RFC 9457), never a stack trace.

Every error names what went wrong in a way a program can act on::

    {"type": "urn:kith:problem:invalid_input", "title": "Bad Request", "status": 400,
     "detail": "Invalid input — email: 'ada@' is not a valid email address…",
     "code": "invalid_input", "command": "contact.create",
     "fields": [{"field": "email", "message": "…", "code": "value_error"}],
     "instance": "/api/v1/contacts"}

``candidates`` lists the records an ambiguous reference could mean.
"""

from __future__ import annotations

import json
import logging
import uuid
from http import HTTPStatus
from typing import Any

from kith import FieldError, KithError
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

log = logging.getLogger("kith.api")

PROBLEM = "application/problem+json"

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
}


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(err: KithError, instance: str | None = None) -> dict[str, Any]:
    """The problem document for ``err`` (also used per record in batch results)."""
    body: dict[str, Any] = {
        "type": f"urn:kith:problem:{err.code}",
        "title": _title(err.status),
        "status": err.status,
        "detail": err.message,
        **err.as_dict(),
    }
    body.pop("message", None)
    body.setdefault("fields", [])
    if instance:
        body["instance"] = instance
    return body


def problem_response(
    err: KithError, request: Request | None = None, headers: dict[str, str] | None = None
) -> Response[bytes]:
    body = problem_body(err, request.url.path if request is not None else None)
    hdrs = dict(headers or {})
    if err.status == 401:
        hdrs.setdefault("WWW-Authenticate", 'Bearer realm="kith"')
    return Response(
        content=json.dumps(body, ensure_ascii=False, default=str).encode(),
        status_code=err.status,
        media_type=PROBLEM,
        headers=hdrs,
    )


def on_kith_error(request: Request, exc: KithError) -> Response[bytes]:
    return problem_response(exc, request)


def _validation_fields(exc: ValidationException) -> list[FieldError]:
    fields: list[FieldError] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if isinstance(item, dict):
            name = str(item.get("key") or item.get("source") or "request")
            fields.append(FieldError(name, str(item.get("message", "is invalid")), "invalid"))
    return fields


def on_http_error(request: Request, exc: HTTPException) -> Response[bytes]:
    """litestar's own errors (404, 405, 413, 429, bad path/query values) as problems."""
    status = exc.status_code
    headers = dict(exc.headers or {})
    code = HTTP_CODES.get(status, "http_error")
    detail = exc.detail if exc.detail and exc.detail != _title(status) else ""
    fields: list[FieldError] = []
    if isinstance(exc, ValidationException):
        fields = _validation_fields(exc)
        code = "invalid_input"
    if status == 413:
        limit = request.route_handler.resolve_request_max_body_size() if request else None
        detail = f"The request body is larger than the limit of {limit} bytes." if limit else ""
        fields = [FieldError("body", "is too large", "too_large")]
    elif status == 429:
        reset = headers.get("RateLimit-Reset", "1")
        headers["Retry-After"] = str(max(1, int(reset))) if reset.isdigit() else "1"
        detail = f"Too many requests for this token; retry in {headers['Retry-After']} s."
    elif status == 405:
        detail = detail or f"{request.method} is not allowed on {request.url.path}."
    elif status == 404:
        detail = f"There is nothing at {request.url.path}."
    err = KithError(code, detail or _title(status), fields, status=status)
    return problem_response(err, request, headers)


def on_unexpected_error(request: Request, exc: Exception) -> Response[bytes]:
    """Anything else: logged with an id, answered 500 without a trace."""
    error_id = uuid.uuid4().hex[:12]
    log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    err = KithError(
        "internal_error",
        f"Something went wrong on our side (error id {error_id}); it was logged.",
        status=500,
    )
    return problem_response(err, request)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    KithError: on_kith_error,
    HTTPException: on_http_error,
    Exception: on_unexpected_error,
}
