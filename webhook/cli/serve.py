"""`egress-webhook serve`: every Settings field is a flag with an env mirror -> the server.

The flags are derived from webhook.settings.Settings, the one place a setting's default,
range and description live: `--reload-interval` is `reload_interval`, mirrored by
EGRESS_WEBHOOK_RELOAD_INTERVAL, its help the field's description.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from webhook.cli.options import ENV_PREFIX, add_cluster_flags, env
from webhook.errors import CertificateError, ClusterAccessError, ExitCode, PolicyInvalidError
from webhook.settings import Settings

#: Fields the generic loop does not render: required files, choices, switches.
_SPECIAL = frozenset(
    {"policy", "tls_cert", "tls_key", "log_level", "kubeconfig", "in_cluster", "reports"}
)
_REQUIRED_FILES = ("policy", "tls_cert", "tls_key")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


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
    for name in _REQUIRED_FILES:
        serve.add_argument(
            _flag(name),
            type=Path,
            default=env(name.upper()),
            required=env(name.upper()) is None,
            help=_help(name, Settings.model_fields[name], shown_default=False),
        )
    serve.add_argument(
        "--log-level",
        default=env("LOG_LEVEL", "INFO"),
        choices=_LOG_LEVELS,
        help=_help("log_level", Settings.model_fields["log_level"]),
    )
    for name, info in Settings.model_fields.items():
        if name not in _SPECIAL:
            serve.add_argument(_flag(name), **_valued(name, info))
    add_cluster_flags(serve)
    serve.add_argument(
        "--reports",
        action=argparse.BooleanOptionalAction,
        default=env("REPORTS", "true") == "true",
        help=_help("reports", Settings.model_fields["reports"], shown_default=False)
        + " (true|false, default on)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=int(env("WORKERS") or 0),
        help="Server processes sharing the port (SO_REUSEPORT), each deciding reviews on "
        "its own core; 0: the CPUs this container may use (affinity, cgroup cpu.max) "
        f"(env {ENV_PREFIX}WORKERS, default 0)",
    )
    serve.set_defaults(handler=run)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _valued(name: str, info: FieldInfo) -> dict[str, Any]:
    """argparse options for a valued setting; a default goes through type=, so a bad env
    value is a usage error naming the flag."""
    default = info.default
    text = f"{default:g}" if isinstance(default, float) else str(default)
    if name == "lease_namespace":  # the pod's own namespace, from the downward API
        text = os.environ.get("POD_NAMESPACE") or text
    kind = info.annotation if info.annotation in (int, float) else str
    return {"type": kind, "default": env(name.upper(), text), "help": _help(name, info)}


def _help(name: str, info: FieldInfo, *, shown_default: bool = True) -> str:
    what = (info.description or name).rstrip(".")
    default = ", default %(default)s" if shown_default else ""
    return f"{what} (env {ENV_PREFIX}{name.upper()}{default})"


def run(args: argparse.Namespace) -> ExitCode:
    """Validate the settings, then serve until SIGTERM; problems go to stderr."""
    from webhook.server.app import serve
    from webhook.server.workers import available_cpus, supervise

    try:
        settings = Settings(**{name: getattr(args, name) for name in Settings.model_fields})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "--" + ".".join(str(p) for p in error["loc"]).replace("_", "-")
            print(f"egress-webhook serve: {field}: {error['msg']}", file=sys.stderr)
        return ExitCode.ERROR
    workers = args.workers or available_cpus()
    if workers < 0:
        print("egress-webhook serve: --workers: must be 0 (derived) or more", file=sys.stderr)
        return ExitCode.ERROR
    try:
        if workers > 1:
            return supervise(settings, workers)
        return serve(settings)
    except (PolicyInvalidError, CertificateError, ClusterAccessError) as exc:
        print(f"egress-webhook: {exc}", file=sys.stderr)
        return ExitCode.ERROR
