"""Certificates: the shape Go's TLS stack expects, a chain that verifies, a real handshake."""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import io
import ipaddress
import socket
import ssl
import stat
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from webhook.certs import (
    Authority,
    KeyType,
    ca_bundle,
    certificate_pem,
    generate_ca,
    issue_serving_certificate,
    service_dns_names,
    write_bundle,
)
from webhook.cli import build_parser
from webhook.cli.certs import write_certificates
from webhook.errors import CertificateError

SERVICE_NAMES = [
    "egress-webhook",
    "egress-webhook.egress-webhook",
    "egress-webhook.egress-webhook.svc",
    "egress-webhook.egress-webhook.svc.cluster.local",
]


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority(*generate_ca("test CA", 30))


def sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ext.get_values_for_type(x509.DNSName), [
        str(a) for a in ext.get_values_for_type(x509.IPAddress)
    ]


def verify(ca: x509.Certificate, leaf: x509.Certificate, name: x509.GeneralName) -> None:
    """RFC 5280 path validation as a strict TLS client does it (cryptography's verifier)."""
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(name)  # type: ignore[arg-type]
    verifier.verify(leaf, [])


# -- the certificates -----------------------------------------------------------------


def test_ca_is_a_ca_that_signs_certificates_only(authority: Authority) -> None:
    cert = authority.cert
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert constraints.value.path_length == 0
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert cert.issuer == cert.subject
    assert isinstance(authority.key, ec.EllipticCurvePrivateKey)
    assert authority.key.curve.name == "secp256r1"


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_serving_certificate_shape(authority: Authority, key_type: KeyType) -> None:
    cert, key = issue_serving_certificate(
        authority, ["Svc.Example", "localhost"], ["127.0.0.1", "::1"], 10, key_type=key_type
    )
    assert sans(cert) == (["svc.example", "localhost"], ["127.0.0.1", "::1"])
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert not constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert not usage.key_cert_sign
    # keyEncipherment is an RSA key-exchange use: right for RSA, wrong for ECDSA.
    assert usage.key_encipherment is (key_type == "rsa")
    if key_type == "rsa":
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert cert.issuer == authority.cert.subject
    assert cert.public_key() == key.public_key()
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    assert dt.timedelta(days=10) <= lifetime <= dt.timedelta(days=10, minutes=6)
    assert cert.not_valid_before_utc < dt.datetime.now(dt.UTC)  # backdated for clock skew


def test_chain_verifies_for_every_name_and_address_and_no_other(authority: Authority) -> None:
    cert, _ = issue_serving_certificate(authority, SERVICE_NAMES, ["127.0.0.1"], 10)
    for name in SERVICE_NAMES:
        verify(authority.cert, cert, x509.DNSName(name))
    verify(authority.cert, cert, x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    with pytest.raises(VerificationError):
        verify(authority.cert, cert, x509.DNSName("other.egress-webhook.svc"))
    with pytest.raises(VerificationError):
        verify(generate_ca("another CA", 1)[0], cert, x509.DNSName(SERVICE_NAMES[0]))


def test_a_serving_certificate_never_outlives_its_ca() -> None:
    ca = Authority(*generate_ca(days=2))
    cert, _ = issue_serving_certificate(ca, ["a.example"], days=365)
    assert cert.not_valid_after_utc == ca.cert.not_valid_after_utc


@pytest.mark.parametrize(
    ("dns", "ips", "days", "message"),
    [
        ([], [], 10, "at least one DNS name or IP address"),
        (["bücher.example"], [], 10, "not ASCII; write it in its xn-- (punycode) form"),
        (["under_score.example"], [], 10, "is not a valid DNS name"),
        (["127.0.0.1."], [], 10, "is not a valid DNS name"),
        (["a..b"], [], 10, "is not a valid DNS name"),
        ([], ["300.0.0.1"], 10, "'300.0.0.1' is not an IP address"),
        (["a.example"], [], 0, "validity of 0 days is out of range"),
        (["a.example"], [], 3651, "validity of 3651 days is out of range"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    authority: Authority, dns: list[str], ips: list[str], days: int, message: str
) -> None:
    with pytest.raises(CertificateError, match=message.replace("(", r"\(").replace(")", r"\)")):
        issue_serving_certificate(authority, dns, ips, days)


def test_service_dns_names() -> None:
    assert service_dns_names("egress-webhook", "egress-webhook") == SERVICE_NAMES
    assert service_dns_names("w", "ns", "corp.internal")[-1] == "w.ns.svc.corp.internal"
    with pytest.raises(CertificateError, match="service 'Web_hook' is not a valid Kubernetes name"):
        service_dns_names("Web_hook", "ns")


def test_ca_bundle_is_base64_of_concatenated_pem(authority: Authority) -> None:
    other = generate_ca("other", 1)[0]
    decoded = base64.b64decode(ca_bundle(authority.cert, other))
    assert decoded == certificate_pem(authority.cert) + certificate_pem(other)
    assert x509.load_pem_x509_certificates(decoded) == [authority.cert, other]


# -- a real handshake -----------------------------------------------------------------


def handshake(server_context: ssl.SSLContext, client_context: ssl.SSLContext, name: str) -> str:
    """Connect to a TLS server on 127.0.0.1 as `name`; return the negotiated version."""
    errors: list[BaseException] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            try:
                conn, _ = listener.accept()
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    tls.sendall(tls.recv(5))
            except (OSError, ssl.SSLError) as exc:  # the client's failure is what we assert
                errors.append(exc)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
                client_context.wrap_socket(raw, server_hostname=name) as tls,
            ):
                tls.sendall(b"hello")
                assert tls.recv(5) == b"hello"
                version = tls.version()
                assert version is not None
                return version
        finally:
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("certs")
    write_bundle(out, dns_names=[*SERVICE_NAMES, "localhost"], ip_addresses=["127.0.0.1"])
    return out


def contexts(out: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1_2
    server.load_cert_chain(out / "tls.crt", out / "tls.key")
    client = ssl.create_default_context(cafile=str(out / "ca.crt"))
    return server, client


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "egress-webhook.egress-webhook.svc"])
def test_tls_handshake_with_the_written_files(bundle_dir: Path, name: str) -> None:
    server, client = contexts(bundle_dir)
    assert handshake(server, client, name) in {"TLSv1.2", "TLSv1.3"}


def test_tls_handshake_refuses_a_name_not_in_the_certificate(bundle_dir: Path) -> None:
    server, client = contexts(bundle_dir)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        handshake(server, client, "evil.example.org")


def test_tls_handshake_refuses_a_client_trusting_another_ca(
    bundle_dir: Path, tmp_path: Path
) -> None:
    stranger = tmp_path / "other-ca.crt"
    stranger.write_bytes(certificate_pem(generate_ca("stranger", 1)[0]))
    server, _ = contexts(bundle_dir)
    client = ssl.create_default_context(cafile=str(stranger))
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        handshake(server, client, "127.0.0.1")


# -- files ------------------------------------------------------------------------------


def test_write_bundle_files_and_modes(tmp_path: Path) -> None:
    bundle = write_bundle(tmp_path / "new" / "certs")
    assert stat.S_IMODE(bundle.key_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(bundle.cert_path.stat().st_mode) == 0o644
    assert stat.S_IMODE(bundle.ca_path.stat().st_mode) == 0o644
    assert sorted(p.name for p in bundle.ca_path.parent.iterdir()) == [
        "ca.crt",
        "tls.crt",
        "tls.key",
    ]
    assert x509.load_pem_x509_certificate(bundle.cert_path.read_bytes()) == bundle.cert
    assert sans(bundle.cert) == (["localhost"], ["127.0.0.1"])
    assert base64.b64decode(bundle.ca_bundle) == bundle.ca_path.read_bytes()


def test_write_bundle_refuses_to_overwrite_unless_forced(tmp_path: Path) -> None:
    first = write_bundle(tmp_path)
    with pytest.raises(CertificateError, match="already exist; pass --force"):
        write_bundle(tmp_path)
    assert first.cert_path.read_bytes() == certificate_pem(first.cert)
    second = write_bundle(tmp_path, force=True)
    assert second.cert != first.cert
    assert second.ca.cert != first.ca.cert


def test_write_bundle_can_reissue_under_the_same_ca(tmp_path: Path, authority: Authority) -> None:
    bundle = write_bundle(tmp_path, ca=authority)
    assert bundle.ca_path.read_bytes() == certificate_pem(authority.cert)
    verify(authority.cert, bundle.cert, x509.DNSName("localhost"))


# -- the command ------------------------------------------------------------------------


def certs_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["certs", *argv])


def test_run_certs_prints_only_the_ca_bundle_on_stdout(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    stdout, stderr = io.StringIO(), io.StringIO()
    args = certs_args(
        "--out-dir", str(out), "--dns", "localhost", "--ip", "127.0.0.1", "--dns", "localhost"
    )
    assert write_certificates(args, stdout, stderr) == 0
    assert base64.b64decode(stdout.getvalue().strip()) == (out / "ca.crt").read_bytes()
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    assert sans(cert) == ([*SERVICE_NAMES, "localhost"], ["127.0.0.1"])
    assert f"wrote {out / 'ca.crt'}" in stderr.getvalue()
    assert "caBundle" in stderr.getvalue()


def test_run_certs_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    first = write_certificates(certs_args("--out-dir", str(tmp_path)), io.StringIO(), io.StringIO())
    assert first == 0
    before = (tmp_path / "tls.key").read_bytes()
    stdout, stderr = io.StringIO(), io.StringIO()
    assert write_certificates(certs_args("--out-dir", str(tmp_path)), stdout, stderr) == 2
    assert stdout.getvalue() == ""
    assert "already exist; pass --force" in stderr.getvalue()
    assert (tmp_path / "tls.key").read_bytes() == before
    args = certs_args("--out-dir", str(tmp_path), "--force", "--key-type", "rsa")
    assert write_certificates(args, io.StringIO(), io.StringIO()) == 0
    assert (tmp_path / "tls.key").read_bytes() != before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ip", "localhost"], "'localhost' is not an IP address"),
        (["--namespace", "Bad_NS"], "namespace 'Bad_NS' is not a valid Kubernetes name"),
        (["--days", "0"], "out of range"),
    ],
)
def test_run_certs_bad_options_exit_2_and_write_nothing(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    stderr = io.StringIO()
    args = certs_args("--out-dir", str(tmp_path / "out"), *argv)
    assert write_certificates(args, io.StringIO(), stderr) == 2
    assert message in stderr.getvalue()
    assert not (tmp_path / "out").exists()
