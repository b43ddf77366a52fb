"""Request checks before a review is decided (type, size, JSON, shape), error mapping, request logs.

Outcomes are mapped here and nowhere else: a malformed review is HTTP 400 with a
message saying what is wrong, a body over the cap 413, a body that is not JSON by its
Content-Type 415, and a bug 500 with its traceback in the log.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from webhook.errors import ReviewInvalidError
from webhook.review import AdmissionReview, parse_review
from webhook.server.state import IN_FLIGHT, METRICS, SETTINGS

log = logging.getLogger("webhook.server")

#: The route whose body is an AdmissionReview.
VALIDATE_ROUTE = "validate"

#: When the request arrived (time.perf_counter()), for latency.
STARTED = web.RequestKey("started", float)
#: The parsed AdmissionReview of a POST /validate.
REVIEW = web.RequestKey("review", AdmissionReview)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(code: int, reason: str, message: str) -> web.Response:
    """A metav1.Status-shaped error body (what the API server logs when a call fails)."""
    return web.json_response(
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
         "reason": reason, "message": message},
        status=code,
    )  # fmt: skip


@web.middleware
async def errors_and_logging(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: maps ReviewInvalidError to 400 and any bug to 500; logs failed requests."""
    request[STARTED] = time.perf_counter()
    in_flight = request.app[IN_FLIGHT]
    try:
        with in_flight.track():
            response = await handler(request)
    except web.HTTPException as exc:
        # the router's own 404 and 405
        _log_request(request, exc.status, exc.reason)
        raise
    except ReviewInvalidError as exc:
        response = problem(400, "BadRequest", str(exc))
        _log_request(request, 400, str(exc))
    except Exception:
        log.exception(
            "bug while handling %s %s",
            request.method,
            request.path,
            extra={"fields": {"event": "internal_error", "path": request.path}},
        )
        response = problem(
            500, "InternalError", "internal error in the egress webhook; its log has the traceback"
        )
    else:
        if response.status != 200 or request.match_info.route.name != VALIDATE_ROUTE:
            _log_request(request, response.status, response.reason)
    if response.status >= 400 and request.match_info.route.name == VALIDATE_ROUTE:
        request.app[METRICS].rejected_requests.labels(code=str(response.status)).inc()
    if in_flight.draining:
        # a keep-alive client must reconnect, to a replica that is not stopping
        response.force_close()
    return response


@web.middleware
async def admission_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For POST /validate: check the body's type and size, decode it once and parse the review."""
    if request.match_info.route.name != VALIDATE_ROUTE:
        return await handler(request)
    given = request.headers.get("Content-Type")
    if request.content_type != "application/json":
        return problem(
            415,
            "UnsupportedMediaType",
            f"Content-Type must be application/json, got {given or 'none'}",
        )
    cap = request.app[SETTINGS].max_body_bytes
    length = request.content_length
    if length is not None and length > cap:
        return _too_large(cap, length)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large(cap, None)
    request[REVIEW] = parse_review(_decode(body))
    return await handler(request)


def _too_large(cap: int, length: int | None) -> web.Response:
    size = f"{length} bytes" if length is not None else "more than that"
    response = problem(
        413,
        "RequestEntityTooLarge",
        f"the AdmissionReview is too large: the limit is {cap} bytes, the body is {size}",
    )
    response.force_close()
    return response


def _decode(body: bytes) -> object:
    if not body.strip():
        raise ReviewInvalidError("the body is empty; expected an AdmissionReview in JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReviewInvalidError(f"the body is not UTF-8 text: {exc}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ReviewInvalidError("the body is not usable JSON: nested too deeply") from None
    except ValueError as exc:
        # JSONDecodeError says where (line, column); a giant integer says why
        raise ReviewInvalidError(f"the body is not valid JSON: {exc}") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


def _log_request(request: web.Request, status: int, detail: str) -> None:
    elapsed = time.perf_counter() - request.get(STARTED, time.perf_counter())
    level = logging.DEBUG if status < 400 else logging.WARNING
    log.log(
        level,
        "%s %s -> %d",
        request.method,
        request.path,
        status,
        extra={
            "fields": {
                "event": "request",
                "method": request.method,
                "path": request.path,
                "status": status,
                "detail": detail,
                "remote": request.remote,
                "latency_ms": round(elapsed * 1000, 3),
            }
        },
    )
