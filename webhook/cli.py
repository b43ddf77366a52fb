"""Console entry point `egress-webhook`: serve, check, certs."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from webhook import __version__

#: Exit codes a CI pipeline can rely on.
EXIT_OK = 0
EXIT_DENIED = 1
EXIT_USAGE = 2

_DESCRIPTION = """\
Keeps Istio egress honest: every ServiceEntry and VirtualService must open only
allowlisted external hosts, and mesh traffic to them must leave through the egress
gateway. The same policy engine runs in the admission server and in the offline
checker, so a verdict in CI is the verdict the cluster gives.
"""

_EPILOG = """\
examples:
  egress-webhook serve --policy policy.yaml --tls-cert certs/tls.crt --tls-key certs/tls.key
  helm template ./mychart | egress-webhook check --policy policy.yaml -f -
  egress-webhook check --policy policy.yaml -f manifests/ -o json
  egress-webhook certs --service egress-webhook --namespace egress-webhook --out-dir certs/

exit codes of check: 0 every object allowed, 1 any object denied,
  2 usage error, unreadable or malformed input, or invalid policy.
"""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"EGRESS_WEBHOOK_{name}", default)


#: The serve flags that protect the server from slow or abusive clients: (Settings
#: field, type, help). Each is --field-name and EGRESS_WEBHOOK_FIELD_NAME; the defaults
#: are Settings' (documented there and in the README).
_LIMITS: tuple[tuple[str, type, str], ...] = (
    ("header_timeout", float, "seconds to finish TLS and send a request's headers"),
    ("body_timeout", float, "seconds for a request body to arrive once its headers are in"),
    ("idle_timeout", float, "seconds a kept-alive connection may wait for its next request"),
    ("max_connections", int, "client connections open at once, TLS handshakes included"),
    (
        "discard_bytes",
        int,
        "bytes of a refused body read and thrown away so a write-first client sees the answer",
    ),
    ("discard_timeout", float, "seconds spent at most on discarding a refused body"),
)


def _setting_default(name: str) -> str:
    """A Settings default as the flag's default text (a string goes through type=, so a
    bad env var is a usage error)."""
    from webhook.settings import Settings

    default = Settings.model_fields[name].default
    return f"{default:g}" if isinstance(default, float) else str(default)


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface (also what `--help` prints)."""
    parser = argparse.ArgumentParser(
        prog="egress-webhook",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    for name, kind, what in _LIMITS:
        env = f"EGRESS_WEBHOOK_{name.upper()}"
        serve.add_argument(
            "--" + name.replace("_", "-"),
            type=kind,
            default=_env(name.upper(), _setting_default(name)),
            help=f"{what} (env {env}, default %(default)s)",
        )
    serve.set_defaults(handler=_serve)

    check = sub.add_parser(
        "check",
        help="check manifests offline against a policy (for CI)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Check ServiceEntry and VirtualService objects in files, folders (recursively:\n"
            "*.yaml, *.yml, *.json) or stdin (-f -) with the same engine as the server.\n"
            "Multi-document YAML, JSON streams and List objects are read as kubectl reads\n"
            "them; input kubectl would refuse (duplicate keys, bad YAML) is refused here\n"
            "too. Other kinds are skipped."
        ),
        epilog=(
            "exit codes:\n"
            "  0  every object allowed\n"
            "  1  at least one object denied\n"
            "  2  usage error, unreadable or malformed input, or invalid policy\n"
            "     (each problem on stderr as file:line: what)\n"
            "\n"
            "examples:\n"
            "  egress-webhook check --policy policy.yaml -f manifests/\n"
            "  helm template ./chart | egress-webhook check --policy policy.yaml -f - -o json"
        ),
    )
    check.add_argument("--policy", type=Path, required=True, help="policy file")
    check.add_argument(
        "-f",
        "--filename",
        dest="paths",
        action="append",
        required=True,
        metavar="PATH",
        help="file, folder or - for stdin; repeatable; YAML (multi-document) or JSON",
    )
    check.add_argument(
        "-n",
        "--namespace",
        default="default",
        help="namespace for objects that do not name one, as kubectl does (default %(default)s)",
    )
    check.add_argument(
        "-o",
        "--output",
        choices=["text", "json"],
        default="text",
        help="text for people, json for machines (default %(default)s)",
    )
    check.set_defaults(handler=_check)

    certs = sub.add_parser(
        "certs",
        help="generate a CA and a serving certificate for the webhook",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Write ca.crt, tls.crt and tls.key (mode 0600) for the webhook Service: DNS names\n"
            "<service>, <service>.<namespace>, <service>.<namespace>.svc and\n"
            "<service>.<namespace>.svc.<cluster-domain>, plus any --dns/--ip. The CA key is\n"
            "not kept. Prints the base64 caBundle for the ValidatingWebhookConfiguration on\n"
            "stdout (and nothing else), what it wrote on stderr. See certs/README.md."
        ),
        epilog=(
            "exit codes: 0 written, 2 invalid name or address, files exist without --force,\n"
            "or the folder cannot be written.\n"
            "\n"
            "example:\n"
            "  CA_BUNDLE=$(egress-webhook certs --out-dir certs --dns localhost --ip 127.0.0.1)"
        ),
    )
    certs.add_argument(
        "--service", default="egress-webhook", help="Service name (default %(default)s)"
    )
    certs.add_argument(
        "--namespace", default="egress-webhook", help="Service namespace (default %(default)s)"
    )
    certs.add_argument(
        "--cluster-domain",
        default="cluster.local",
        help="cluster DNS domain for the fully qualified name (default %(default)s)",
    )
    certs.add_argument(
        "--dns", action="append", default=[], metavar="NAME", help="extra DNS SAN; repeatable"
    )
    certs.add_argument(
        "--ip", action="append", default=[], metavar="ADDRESS", help="extra IP SAN; repeatable"
    )
    certs.add_argument(
        "--days", type=int, default=365, help="validity in days, 1 to 3650 (default %(default)s)"
    )
    certs.add_argument(
        "--key-type",
        choices=["ecdsa", "rsa"],
        default="ecdsa",
        help="ecdsa (P-256) or rsa (2048 bits) keys (default %(default)s)",
    )
    certs.add_argument(
        "--out-dir", type=Path, default=Path("certs"), help="output folder (default %(default)s)"
    )
    certs.add_argument("--force", action="store_true", help="replace existing files in --out-dir")
    certs.set_defaults(handler=_certs)
    return parser


def _serve(args: argparse.Namespace) -> int:
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
            **{name: getattr(args, name) for name, _, _ in _LIMITS},
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = "--" + ".".join(str(p) for p in error["loc"]).replace("_", "-")
            print(f"egress-webhook serve: {field}: {error['msg']}", file=sys.stderr)
        return EXIT_USAGE
    return serve(settings)


def _check(args: argparse.Namespace) -> int:
    from webhook.check import run_check

    return run_check(
        policy_path=args.policy,
        paths=args.paths,
        namespace=args.namespace,
        output=args.output,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )


def _certs(args: argparse.Namespace) -> int:
    from webhook.certs import run_certs

    return run_certs(args, stdout=sys.stdout, stderr=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code."""
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
