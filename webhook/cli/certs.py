"""`egress-webhook certs`: a CA and a serving certificate for the webhook Service."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, Any

from cryptography import x509

from webhook.certs import service_dns_names, unique, write_bundle
from webhook.errors import CertificateError, ExitCode


def add_to(sub: Any) -> None:
    """Register the command on the CLI's subparsers."""
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
    certs.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Write the bundle; only the caBundle goes to stdout (``CA=$(egress-webhook certs)``)."""
    return write_certificates(args, stdout=sys.stdout, stderr=sys.stderr)


def write_certificates(args: argparse.Namespace, stdout: IO[str], stderr: IO[str]) -> ExitCode:
    """Write the bundle, print the caBundle on stdout and what was done on stderr.

    Exit code ERROR on any problem (bad name or address, files exist without --force,
    unwritable folder).
    """
    try:
        dns_names = unique(
            service_dns_names(args.service, args.namespace, args.cluster_domain) + list(args.dns)
        )
        bundle = write_bundle(
            args.out_dir,
            dns_names=dns_names,
            ip_addresses=unique(args.ip),
            days=args.days,
            key_type=args.key_type,
            force=args.force,
        )
    except CertificateError as exc:
        print(f"error: {exc}", file=stderr)
        return ExitCode.ERROR
    sans = ", ".join(
        str(name.value)
        for name in bundle.cert.extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        ).value
    )
    print(
        f"wrote {bundle.ca_path}, {bundle.cert_path} and {bundle.key_path} (key mode 0600) "
        f"for {sans}; valid until {bundle.cert.not_valid_after_utc:%Y-%m-%d}",
        file=stderr,
    )
    print(
        "hint: put the caBundle printed on stdout into webhooks[].clientConfig.caBundle; run "
        f"egress-webhook serve --tls-cert {bundle.cert_path} --tls-key {bundle.key_path}",
        file=stderr,
    )
    print(bundle.ca_bundle, file=stdout)
    return ExitCode.OK
