"""Throwaway CA, serving and client certificates for the test API server (not the webhook's).

The webhook's own certificates come from the project's cert code (`egress-webhook certs`);
these only stand in for what envtest's tinyca gives kube-apiserver: a serving certificate
for 127.0.0.1, an admin client certificate in `system:masters`, and a service-account
signing key. They live in the session's temp dir and die with it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from webhook.certs import generate_ca

# One day is ample for a test session; backdating absorbs clock skew between processes.
_VALIDITY = dt.timedelta(days=1)
_BACKDATE = dt.timedelta(minutes=5)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class IssuedCertificate:
    """A PEM certificate and its PEM private key."""

    cert_pem: bytes
    key_pem: bytes

    def write(self, cert_path: Path, key_path: Path) -> None:
        """Write the pair; the key readable by the owner only."""
        cert_path.write_bytes(self.cert_pem)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key_pem)


class TestCA:
    """A self-signed CA that issues the API server's serving and client certificates."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self, common_name: str = "egress-webhook e2e apiserver CA") -> None:
        # The CA itself is the project's own; only the client certificate below is extra.
        self._cert, self._key = generate_ca(common_name, days=_VALIDITY.days)
        self._name = self._cert.subject

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM."""
        return self._cert.public_bytes(serialization.Encoding.PEM)

    def _issue(
        self,
        subject: x509.Name,
        usage: x509.ObjectIdentifier,
        sans: list[x509.GeneralName],
    ) -> IssuedCertificate:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))

    def serving(self, host: str = "127.0.0.1") -> IssuedCertificate:
        """A TLS server certificate for `host` (IP SAN) and localhost (DNS SAN)."""
        return self._issue(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
            ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")],
        )

    def client(self, user: str, groups: tuple[str, ...] = ()) -> IssuedCertificate:
        """A client certificate the API server maps to `user` (CN) in `groups` (O)."""
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, user)]
        attrs += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        return self._issue(x509.Name(attrs), ExtendedKeyUsageOID.CLIENT_AUTH, [])


def service_account_signing_key() -> bytes:
    """An RSA key (PEM) for signing service-account tokens (RS256, what every client expects)."""
    return _key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))
