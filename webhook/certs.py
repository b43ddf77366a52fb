"""CA and serving-certificate generation for the webhook (cryptography), and `egress-webhook certs`.

The API server calls the webhook over HTTPS and trusts only the CA in the
ValidatingWebhookConfiguration's ``caBundle``. This module makes that CA and a
serving certificate for the webhook Service, in the shape Go's crypto/x509 (which
the API server uses) accepts: names only in subjectAltName, serverAuth EKU, SHA-256.

For tests and tooling::

    bundle = write_bundle(tmp_path, dns_names=["localhost"], ip_addresses=["127.0.0.1"])
    # bundle.cert_path, bundle.key_path -> serve --tls-cert/--tls-key
    # bundle.ca_path -> the client's trust store; bundle.ca_bundle -> caBundle

The CA's private key is never written: it signs the serving certificate and is
discarded, so a stolen ``certs/`` folder cannot mint more certificates. Rotation is
therefore "issue a new bundle" (see certs/README.md); in-process callers that need
several leaves from one CA keep the `Authority` and call `issue_serving_certificate`.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from webhook.errors import CertificateError

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
KeyType = Literal["ecdsa", "rsa"]

#: File names inside --out-dir; the same keys a kubernetes.io/tls Secret uses.
CA_FILE = "ca.crt"
CERT_FILE = "tls.crt"
KEY_FILE = "tls.key"

#: Default validity. Short enough that a forgotten certificate expires, long enough
#: for a demo cluster; the server exports the expiry as a metric to alert on.
DEFAULT_DAYS = 365
#: 10 years: a certificate meant to outlive that will never be rotated by anyone,
#: so a larger value is more likely a typo (days given as hours, say) than a wish.
MAX_DAYS = 3650
#: Backdate notBefore so a node whose clock is a little behind this machine's
#: accepts the certificate at once (kubeadm backdates by the same 5 minutes).
CLOCK_SKEW = dt.timedelta(minutes=5)
#: The Kubernetes cluster domain (kubelet --cluster-domain); almost always this.
CLUSTER_DOMAIN = "cluster.local"
#: RSA keys: 2048 bits is the smallest size current policies accept, and 65537 is
#: the public exponent every library expects (anything else is refused by some).
RSA_KEY_SIZE = 2048
RSA_PUBLIC_EXPONENT = 65537
#: Organization in both subjects, so `openssl x509 -text` says who made them.
ORGANIZATION = "istio-egress-webhook"

# An RFC 1123 label (Service names and namespaces are labels).
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A DNS name a certificate may carry: labels, optionally a leading "*." wildcard.
_DNS_NAME = re.compile(
    r"(\*\.)?([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*"
)


@dataclass(frozen=True, slots=True)
class Authority:
    """A CA: its certificate and private key (kept in memory only)."""

    cert: x509.Certificate
    key: PrivateKey


@dataclass(frozen=True, slots=True)
class WrittenBundle:
    """What `write_bundle` wrote, and the CA that signed it."""

    ca_path: Path
    cert_path: Path
    key_path: Path
    ca: Authority
    cert: x509.Certificate

    @property
    def ca_bundle(self) -> str:
        """The base64 PEM CA for ``clientConfig.caBundle``."""
        return ca_bundle(self.ca.cert)


def generate_key(key_type: KeyType = "ecdsa") -> PrivateKey:
    """A new private key: ECDSA P-256 (small, fast, accepted everywhere) or RSA 2048."""
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_SIZE)
    raise CertificateError(f"unknown key type {key_type!r} (allowed: ecdsa, rsa)")


def generate_ca(
    common_name: str = "istio-egress-webhook CA",
    days: int = DEFAULT_DAYS,
    *,
    key_type: KeyType = "ecdsa",
) -> tuple[x509.Certificate, PrivateKey]:
    """A self-signed CA certificate and its key, valid for `days` days."""
    _check_days(days)
    key = generate_key(key_type)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    not_before, not_after = _validity(days)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        # path_length=0: this CA signs serving certificates only, never another CA.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        # RFC 5280 4.2.1.1: a self-signed CA may carry its own key identifier as AKI.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_serving_certificate(
    ca: Authority | tuple[x509.Certificate, PrivateKey],
    dns_names: Sequence[str] = (),
    ip_addresses: Sequence[str] = (),
    days: int = DEFAULT_DAYS,
    *,
    key_type: KeyType = "ecdsa",
) -> tuple[x509.Certificate, PrivateKey]:
    """A TLS server certificate for `dns_names` and `ip_addresses`, signed by `ca`.

    Clients verify the name they dialled against the subjectAltName only (Go ignores
    the common name), so at least one name or address is required. The certificate
    never outlives its CA.
    """
    ca_cert, ca_key = (ca.cert, ca.key) if isinstance(ca, Authority) else ca
    _check_days(days)
    names = [_dns_name(n) for n in dns_names]
    addresses = [_ip_address(a) for a in ip_addresses]
    if not names and not addresses:
        raise CertificateError("a serving certificate needs at least one DNS name or IP address")
    key = generate_key(key_type)
    not_before, not_after = _validity(days)
    not_after = min(not_after, ca_cert.not_valid_after_utc)
    common_name = names[0] if names else str(addresses[0])
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [
                    x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
                    # Only informative: at most 64 characters (RFC 5280 ub-common-name).
                    x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                ]
            )
        )
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_server_key_usage(key), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in names] + [x509.IPAddress(a) for a in addresses]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )
    cert = builder.sign(ca_key, hashes.SHA256())
    return cert, key


def _server_key_usage(key: PrivateKey) -> x509.KeyUsage:
    """The KeyUsage a TLS server key needs.

    Every key signs the handshake (digitalSignature); an RSA key may also be used for
    TLS 1.2 RSA key exchange (keyEncipherment). Marking an ECDSA key for encipherment
    would be wrong.
    """
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=isinstance(key, rsa.RSAPrivateKey),
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def service_dns_names(
    service: str, namespace: str, cluster_domain: str = CLUSTER_DOMAIN
) -> list[str]:
    """The names the API server may use for a Service: ``svc``, ``svc.ns``, ``svc.ns.svc``, ...

    The API server dials ``<service>.<namespace>.svc``; the other forms cover clients
    inside the cluster that use the short names or the fully qualified one.
    """
    for what, value in (("service", service), ("namespace", namespace)):
        if not _LABEL.fullmatch(value):
            raise CertificateError(
                f"{what} {value!r} is not a valid Kubernetes name "
                "(lowercase letters, digits and '-', at most 63 characters)"
            )
    return [
        service,
        f"{service}.{namespace}",
        f"{service}.{namespace}.svc",
        f"{service}.{namespace}.svc.{_dns_name(cluster_domain)}",
    ]


def certificate_pem(cert: x509.Certificate) -> bytes:
    """`cert` as a PEM block."""
    return cert.public_bytes(serialization.Encoding.PEM)


def private_key_pem(key: PrivateKey) -> bytes:
    """`key` as an unencrypted PKCS#8 PEM block (what Go's tls.LoadX509KeyPair reads)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ca_bundle(*ca_certs: x509.Certificate) -> str:
    """The base64 of the PEM CA certificate(s): the value of ``clientConfig.caBundle``.

    Several CAs may be given (concatenated PEM), which is how a rotation to a new CA
    is done without a window where the API server trusts neither.
    """
    return base64.b64encode(b"".join(certificate_pem(c) for c in ca_certs)).decode("ascii")


def write_bundle(
    out_dir: Path | str,
    *,
    dns_names: Sequence[str] = ("localhost",),
    ip_addresses: Sequence[str] = ("127.0.0.1",),
    days: int = DEFAULT_DAYS,
    ca: Authority | None = None,
    key_type: KeyType = "ecdsa",
    force: bool = False,
) -> WrittenBundle:
    """Write ``ca.crt``, ``tls.crt`` (mode 0644) and ``tls.key`` (mode 0600) into `out_dir`.

    Makes a new CA unless `ca` is given (give one to re-issue the serving certificate
    under a CA clients already trust). Refuses to overwrite existing files unless
    `force`; each file is replaced atomically, so a server watching them never reads
    half a file. The defaults suit a server on this machine (localhost, 127.0.0.1).
    """
    out = Path(out_dir)
    paths = (out / CA_FILE, out / CERT_FILE, out / KEY_FILE)
    if not force:
        existing = [str(p) for p in paths if p.exists() or p.is_symlink()]
        if existing:
            raise CertificateError(
                f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; "
                "pass --force to replace them"
            )
    if ca is None:
        ca = Authority(*generate_ca(days=days, key_type=key_type))
    cert, key = issue_serving_certificate(ca, dns_names, ip_addresses, days=days, key_type=key_type)
    try:
        out.mkdir(parents=True, exist_ok=True)
        # Key first: a server reloading in between sees an old certificate with a new
        # key, fails to pair them and keeps serving with what it has.
        _write_atomically(paths[2], private_key_pem(key), mode=0o600)
        _write_atomically(paths[0], certificate_pem(ca.cert), mode=0o644)
        _write_atomically(paths[1], certificate_pem(cert), mode=0o644)
    except OSError as exc:
        raise CertificateError(f"cannot write to {out}: {exc.strerror or exc}") from None
    return WrittenBundle(paths[0], paths[1], paths[2], ca, cert)


# -- helpers --------------------------------------------------------------------------


def _validity(days: int) -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(dt.UTC)
    return now - CLOCK_SKEW, now + dt.timedelta(days=days)


def _check_days(days: int) -> None:
    if not 1 <= days <= MAX_DAYS:
        raise CertificateError(
            f"validity of {days} days is out of range (allowed: 1 to {MAX_DAYS})"
        )


def _dns_name(name: str) -> str:
    candidate = name.strip().lower()
    if not candidate.isascii():
        raise CertificateError(
            f"DNS name {name!r} is not ASCII; write it in its xn-- (punycode) form"
        )
    if len(candidate) > 253 or not _DNS_NAME.fullmatch(candidate):
        raise CertificateError(
            f"{name!r} is not a valid DNS name (letters, digits, '-' and '.', "
            "optionally starting with '*.'); use --ip for IP addresses"
        )
    return candidate


def _ip_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        raise CertificateError(f"{address!r} is not an IP address") from None


def unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _write_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Write `data` to a temporary file beside `path`, then rename it over `path`."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)  # mkstemp creates 0600; certificates are meant to be readable
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
