"""The bare-transport baseline: aiohttp over the same TLS, parsing the JSON body, always allowing.

Everything our /validate pays that this does not is the cost of the webhook itself
(review validation, the engine, the response model, metrics, the decision log):

    python -m bench.bare --tls-cert tls.crt --tls-key tls.key --host 127.0.0.1 --port N
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import ssl
import sys
from pathlib import Path

from aiohttp import web

#: The same body cap as the production server's default (Settings.max_body_bytes).
MAX_BODY_BYTES = 8 * 1024 * 1024


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2+ with one certificate: the settings of webhook.server.tls."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


async def validate(request: web.Request) -> web.Response:
    """Parse the AdmissionReview JSON and allow it, echoing the uid."""
    review = json.loads(await request.read())
    return web.json_response(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": {"uid": review["request"]["uid"], "allowed": True},
        }
    )


async def healthz(request: web.Request) -> web.Response:
    """Readiness probe for the bench."""
    return web.json_response({"status": "ok"})


def create_bare_app() -> web.Application:
    """The baseline application: POST /validate and GET /healthz."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post("/validate", validate)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(host: str, port: int, context: ssl.SSLContext) -> None:
    """Listen until SIGTERM or SIGINT, with the production runner's options."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(create_bare_app(), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, ssl_context=context).start()
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Command line of the baseline server."""
    parser = argparse.ArgumentParser(prog="python -m bench.bare", description=__doc__)
    parser.add_argument("--tls-cert", required=True, type=Path)
    parser.add_argument("--tls-key", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", required=True, type=int)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, server_context(args.tls_cert, args.tls_key)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
