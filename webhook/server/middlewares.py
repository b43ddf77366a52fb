"""Request checks before a review is decided (type, size, JSON, shape), error mapping, request logs.

Outcomes are mapped here and nowhere else: a malformed review is HTTP 400 with a
message saying what is wrong, a body slower than body_timeout 408, a body over the cap
413, a body that is not JSON by its Content-Type 415, and a bug 500 with its traceback
in the log. A client that goes away mid-request is a client event (logged at INFO,
counted in egress_webhook_client_disconnects_total), never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from webhook.errors import ReviewInvalidError
from webhook.review import AdmissionReview, parse_review
from webhook.server.connections import ClientConnection
from webhook.server.state import IN_FLIGHT, METRICS, SETTINGS

log = logging.getLogger("webhook.server")

#: The route whose body is an AdmissionReview.
VALIDATE_ROUTE = "validate"

#: When the request arrived (time.perf_counter()), for latency.
STARTED = web.RequestKey("started", float)
#: The parsed AdmissionReview of a POST /validate.
REVIEW = web.RequestKey("review", AdmissionReview)
#: Set when the body did not arrive within body_timeout: nothing more is read from it.
BODY_TIMED_OUT = web.RequestKey("body_timed_out", bool)

#: The status logged (never sent: nobody is there) for a client that went away.
CLIENT_CLOSED_REQUEST = 499

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def problem(code: int, reason: str, message: str) -> web.Response:
    """A metav1.Status-shaped error body (what the API server logs when a call fails)."""
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
         "reason": reason, "message": message},
        status=code,
    )  # fmt: skip


def json_response(body: object, *, status: int = 200) -> web.Response:
    """`body` encoded by orjson (aiohttp's json_response uses the standard library)."""
    try:
        encoded = orjson.dumps(body)
    except TypeError:
        # a lone surrogate (echoed from a body the standard library decoded) is not UTF-8:
        # json.dumps escapes it, as the response always did
        encoded = json.dumps(body).encode()
    return web.Response(body=encoded, status=status, content_type="application/json")


@web.middleware
async def errors_and_logging(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: maps errors to responses, closes after an unread body, logs failed requests.

    Also tells the connection (when our listener accepted it) that a request is in
    progress, which suspends its header and idle deadlines.
    """
    request[STARTED] = time.perf_counter()
    in_flight = request.app[IN_FLIGHT]
    connection = ClientConnection.of_request(request)
    if connection is not None:
        connection.request_started()
    try:
        with in_flight.track():
            response = await _respond(request, handler)
            draining = in_flight.draining
            if not request.content.is_eof() and not await _read_small_body(
                request, response, draining=draining
            ):
                await _answer_then_discard(request, response, draining=draining)
    finally:
        if connection is not None:
            connection.request_finished()
    if in_flight.draining:
        # a keep-alive client must reconnect, to a replica that is not stopping
        response.force_close()
    return response


async def _respond(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's response, or the one its error maps to: 400, 500, or a client event."""
    validate = request.match_info.route.name == VALIDATE_ROUTE
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        # the router's own 404 and 405, as a plain response: the body may need discarding
        _log_request(request, exc.status, exc.reason)
        return web.Response(
            status=exc.status, reason=exc.reason, text=exc.text, headers=exc.headers
        )
    except ReviewInvalidError as exc:
        response = problem(400, "BadRequest", str(exc))
        _log_request(request, 400, str(exc))
    except Exception as exc:
        if _client_went_away(request, exc):
            return _client_disconnected(request, exc)
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
        if response.status != 200 or not validate:
            _log_request(request, response.status, response.reason)
    if response.status >= 400 and validate:
        request.app[METRICS].rejected_requests.labels(code=str(response.status)).inc()
    return response


def _client_went_away(request: web.Request, exc: Exception) -> bool:
    """True when `exc` says the connection is gone, not that we have a bug.

    A reset or closed connection surfaces from the body read as ConnectionResetError
    (aiohttp's ClientConnectionResetError is one too) or BrokenPipeError; a transport
    that failed otherwise (a TLS error, its own timeout) hands its OSError to the body
    read, and leaves the request without a transport.
    """
    if isinstance(exc, ConnectionError):
        return True
    return isinstance(exc, OSError) and request.transport is None


def _client_disconnected(request: web.Request, exc: Exception) -> web.StreamResponse:
    request.app[METRICS].client_disconnects.inc()
    elapsed = time.perf_counter() - request[STARTED]
    log.info(
        "client disconnected during %s %s: %s",
        request.method,
        request.path,
        _describe(exc),
        extra={
            "fields": {
                "event": "client_disconnected",
                "method": request.method,
                "path": request.path,
                "remote": request.remote,
                "error": _describe(exc),
                "latency_ms": round(elapsed * 1000, 3),
            }
        },
    )
    # Nobody will read it: 499 is nginx's "client closed request", for our own log.
    response = web.Response(status=CLIENT_CLOSED_REQUEST)
    response.force_close()
    return response


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def _answer_then_discard(
    request: web.Request, response: web.StreamResponse, *, draining: bool
) -> None:
    """The body was refused or not needed, and some of it may still be on its way.

    The connection cannot be kept (the rest of the body would be read as the next
    request), so the response says `Connection: close`. A client that writes its whole
    body before reading (Python's http.client, anything without Expect: 100-continue)
    would get a reset instead of the answer if the socket closed with its data unread;
    so, as Go's net/http and nginx's lingering close do, the answer is sent first and
    then up to discard_bytes of the body are read and thrown away, for at most
    discard_timeout seconds. Not while draining for shutdown, and not for a client that
    already ran out of time.
    """
    response.force_close()
    settings = request.app[SETTINGS]
    if draining or request.get(BODY_TIMED_OUT, False) or response.status == CLIENT_CLOSED_REQUEST:
        return
    discarded = 0
    try:
        async with asyncio.timeout(settings.discard_timeout):
            await response.prepare(request)
            await response.write_eof()
            while discarded < settings.discard_bytes:
                chunk = await request.content.readany()
                if not chunk:
                    break
                discarded += len(chunk)
    except (TimeoutError, OSError, HttpProcessingError):
        # out of time, or the client is gone or sent a broken body: close either way
        pass
    log.debug(
        "discarded %d bytes of a refused body before closing",
        discarded,
        extra={"fields": {"event": "body_discarded", "bytes": discarded}},
    )


@web.middleware
async def admission_body(request: web.Request, handler: Handler) -> web.StreamResponse:
    """For POST /validate: check the body's type and size, decode it once and parse the review."""
    if request.match_info.route.name != VALIDATE_ROUTE:
        return await handler(request)
    given = request.headers.get("Content-Type")
    settings = request.app[SETTINGS]
    if request.content_type != "application/json":
        return problem(
            415,
            "UnsupportedMediaType",
            f"Content-Type must be application/json, got {given or 'none'}",
        )
    cap = settings.max_body_bytes
    length = request.content_length
    if length is not None and length > cap:
        return _too_large(cap, length)
    try:
        if request.content.is_eof():
            # all of it arrived with the headers (almost every review): nothing to wait for
            body = await request.read()
        else:
            async with asyncio.timeout(settings.body_timeout) as deadline:
                body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _too_large(cap, None)
    except TimeoutError:
        if not deadline.expired():
            raise
        return _body_too_slow(request, settings.body_timeout)
    except HttpProcessingError as exc:
        # a broken chunked encoding, say: the body is not a body
        raise ReviewInvalidError(f"the body is not valid HTTP: {exc.message}") from None
    request[REVIEW] = parse_review(_decode(body))
    return await handler(request)


#: A refused body up to this long (by its Content-Length) is read before the answer, so
#: the connection stays usable: reading it costs less than the client's reconnection.
SMALL_REFUSED_BODY = 64 * 1024


async def _read_small_body(
    request: web.Request, response: web.StreamResponse, *, draining: bool
) -> bool:
    """Read (and drop) what is left of a small refused body; True when it is all read, so
    the connection stays usable.

    Whether a body had arrived by the time its headers were handled depends on how the
    client wrote it and how the event loop read it; without this, a client that sent its
    headers and body in two writes lost its connection for a wrong Content-Type, and one
    that sent them in one write did not. A larger body, one without a length, one that
    ran out of time already or does not arrive within body_timeout, a client that is
    gone, and a server draining for shutdown are left to _answer_then_discard (and the
    connection closed).
    """
    length = request.content_length
    if (
        length is None
        or length > SMALL_REFUSED_BODY
        or draining
        or request.get(BODY_TIMED_OUT, False)
        or response.status == CLIENT_CLOSED_REQUEST
    ):
        return False
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_timeout):
            while await request.content.readany():
                pass
    except (TimeoutError, OSError, HttpProcessingError):
        return False
    return request.content.is_eof()


def _body_too_slow(request: web.Request, seconds: float) -> web.Response:
    request[BODY_TIMED_OUT] = True
    connection = ClientConnection.of_request(request)
    if connection is not None:
        connection.table.closed("body_timeout")
    return problem(
        408,
        "RequestTimeout",
        f"the body did not arrive within {seconds:g} s of the request's headers",
    )


def _too_large(cap: int, length: int | None) -> web.Response:
    size = f"{length} bytes" if length is not None else "more than that"
    return problem(
        413,
        "RequestEntityTooLarge",
        f"the AdmissionReview is too large: the limit is {cap} bytes, the body is {size}",
    )


#: A run of digits this long may be an integer beyond 64 bits, which orjson would turn
#: into a float; such a body takes the standard library's path, which keeps it exact.
#: Found by mapping every digit to "0" and searching for the run (bytes.translate and
#: `in` run at memory speed; a regular expression tried every position, 10 µs a review).
_LONG_DIGITS = b"0" * 19
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _decode(body: bytes) -> object:
    """The body as JSON: orjson for the common case, the standard library for the rest.

    Both refuse invalid UTF-8, NaN and Infinity, keep the last of duplicate keys and
    parse floats the same way. Whatever orjson refuses (or could represent differently:
    an integer beyond 64 bits, a lone surrogate escape) is decoded again by the standard
    library, so what is accepted, and the message of what is refused, stay exactly those
    of json.loads; only the valid bodies of every day are parsed fast.
    """
    if _LONG_DIGITS not in body.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return _decode_strictly(body)


def _decode_strictly(body: bytes) -> object:
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
