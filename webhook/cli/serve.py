"""`egress-webhook serve`: flags and env mirrors -> Settings -> the admission server."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from webhook.cli.options import add_cluster_flags
from webhook.cli.options import env as _env
from webhook.errors import CertificateError, ClusterAccessError, ExitCode, PolicyInvalidError


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
    serve = sub.add_parser(
        "serve",
        help="run the HTTPS admission webhook server",
        description=(
            "Serve admission.k8s.io/v1 AdmissionReviews on POST /validate over TLS, with "
            "/healthz, /readyz and /metrics. The policy file and the certificate are "
            "reloaded when they change on disk; a policy that fails to load is refused "
            "and the last good one keeps serving. Every flag can also be set by the "
            "environment variable named in its help."
        ),
    )
    serve.add_argument(
        "--policy",
        type=Path,
        default=_env("POLICY"),
        required=_env("POLICY") is None,
        help="policy file (env EGRESS_WEBHOOK_POLICY)",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        default=_env("TLS_CERT"),
        required=_env("TLS_CERT") is None,
        help="PEM serving certificate (env EGRESS_WEBHOOK_TLS_CERT)",
    )
    serve.add_argument(
        "--tls-key",
        type=Path,
        default=_env("TLS_KEY"),
        required=_env("TLS_KEY") is None,
        help="PEM private key (env EGRESS_WEBHOOK_TLS_KEY)",
    )
    serve.add_argument(
        "--host",
        # In a pod the Service reaches the container on its pod IP: listen on every interface.
        default=_env("HOST", "0.0.0.0"),  # noqa: S104
        help="address to listen on (env EGRESS_WEBHOOK_HOST, default %(default)s)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=_env(
            "PORT", "8443"
        ),  # a string default goes through type=, so a bad env var is a usage error
        help="HTTPS port (env EGRESS_WEBHOOK_PORT, default %(default)s)",
    )
    serve.add_argument(
        "--log-level",
        default=_env("LOG_LEVEL", "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (env EGRESS_WEBHOOK_LOG_LEVEL, default %(default)s)",
    )
    serve.add_argument(
        "--reload-interval",
        type=float,
        default=_env("RELOAD_INTERVAL", "2"),
        help=(
            "seconds between checks of the policy and certificate files "
            "(env EGRESS_WEBHOOK_RELOAD_INTERVAL, default %(default)s)"
        ),
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=_env("SHUTDOWN_TIMEOUT", "25"),
        help=(
            "seconds SIGTERM waits for in-flight reviews; keep it below the pod's "
            "terminationGracePeriodSeconds (env EGRESS_WEBHOOK_SHUTDOWN_TIMEOUT, "
            "default %(default)s)"
        ),
    )
    add_cluster_flags(serve)
    serve.add_argument(
        "--view-stale-after",
        type=float,
        default=_env("VIEW_STALE_AFTER", "30"),
        help=(
            "seconds a cluster view watch may stay disconnected before checks that need the "
            "view fail closed (env EGRESS_WEBHOOK_VIEW_STALE_AFTER, default %(default)s)"
        ),
    )
    _add_report_flags(serve)
    serve.set_defaults(handler=run)


def _add_report_flags(serve: argparse.ArgumentParser) -> None:
    """--reports and the Lease: the continuous audit that writes PolicyReports."""
    serve.add_argument(
        "--reports",
        action=argparse.BooleanOptionalAction,
        default=_env("REPORTS", "true") == "true",
        help=(
            "with a cluster view, audit it continuously and write one PolicyReport "
            "(wgpolicyk8s.io/v1alpha2) per namespace; only the Lease holder writes "
            "(env EGRESS_WEBHOOK_REPORTS=true|false, default on)"
        ),
    )
    serve.add_argument(
        "--report-interval",
        type=float,
        default=_env("REPORT_INTERVAL", "300"),
        help="seconds between audits when nothing changes (env EGRESS_WEBHOOK_REPORT_INTERVAL, "
        "default %(default)s)",
    )
    serve.add_argument(
        "--report-debounce",
        type=float,
        default=_env("REPORT_DEBOUNCE", "2"),
        help="seconds without a change before an audit runs (env EGRESS_WEBHOOK_REPORT_DEBOUNCE, "
        "default %(default)s)",
    )
    serve.add_argument(
        "--report-max-results",
        type=int,
        default=_env("REPORT_MAX_RESULTS", "500"),
        help="results kept per PolicyReport, failures first "
        "(env EGRESS_WEBHOOK_REPORT_MAX_RESULTS, default %(default)s)",
    )
    serve.add_argument(
        "--lease-name",
        default=_env("LEASE_NAME", "egress-webhook-reports"),
        help="Lease electing the writer (env EGRESS_WEBHOOK_LEASE_NAME, default %(default)s)",
    )
    serve.add_argument(
        "--lease-namespace",
        default=_env("LEASE_NAMESPACE") or os.environ.get("POD_NAMESPACE") or "default",
        help="namespace of the Lease (env EGRESS_WEBHOOK_LEASE_NAMESPACE, else the pod's "
        "POD_NAMESPACE from the downward API, else %(default)s)",
    )
    serve.add_argument(
        "--lease-duration",
        type=float,
        default=_env("LEASE_DURATION", "15"),
        help="seconds a silent Lease holder keeps the Lease (env EGRESS_WEBHOOK_LEASE_DURATION, "
        "default %(default)s)",
    )


def run(args: argparse.Namespace) -> ExitCode:
    """Validate the settings, then serve until SIGTERM; problems go to stderr."""
    from webhook.server.app import serve
    from webhook.settings import Settings

    try:
        settings = Settings(
            policy=args.policy,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            reload_interval=args.reload_interval,
            shutdown_timeout=args.shutdown_timeout,
            kubeconfig=args.kubeconfig,
            in_cluster=args.in_cluster,
            view_stale_after=args.view_stale_after,
            reports=args.reports,
            report_interval=args.report_interval,
            report_debounce=args.report_debounce,
            report_max_results=args.report_max_results,
            lease_name=args.lease_name,
            lease_namespace=args.lease_namespace,
            lease_duration=args.lease_duration,
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "--" + ".".join(str(p) for p in error["loc"]).replace("_", "-")
            print(f"egress-webhook serve: {field}: {error['msg']}", file=sys.stderr)
        return ExitCode.ERROR
    try:
        return serve(settings)
    except (PolicyInvalidError, CertificateError, ClusterAccessError) as exc:
        print(f"egress-webhook: {exc}", file=sys.stderr)
        return ExitCode.ERROR
