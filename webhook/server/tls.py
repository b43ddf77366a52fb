"""The server's TLS: an SSLContext for TLS 1.2+, and reloading its certificate and key from disk."""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from webhook.errors import CertificateError
from webhook.server.watch import FileVersion, read_version, stat_version


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What the logs, /readyz and metrics say about the certificate in use."""

    serial: int
    subject: str
    not_after: dt.datetime
    cert_sha256: str


class ServingCertificate:
    """The certificate and key the server presents, swapped in when the files change.

    The listening socket keeps one SSLContext for its whole life, so `context` is a
    front: its SNI callback (OpenSSL runs it for every handshake, with or without a
    server name) moves each new connection onto the newest fully loaded context. A
    reload therefore builds and checks a complete new context before any client sees
    it; a half-written or mismatched pair never replaces a good one, and connections
    already open keep theirs.
    """

    def __init__(self, cert_path: Path, key_path: Path) -> None:
        self.cert_path = cert_path
        self.key_path = key_path
        current, info, versions = _load(cert_path, key_path)
        self._current = current
        self.info = info
        self._versions = versions
        self._failed: tuple[str, str] | None = None
        #: Why the certificate files on disk are not the ones in use (None when they are).
        self.last_error: str | None = None
        self.context = _new_context()
        self.context.load_cert_chain(cert_path, key_path)
        self.context.sni_callback = self._select

    def _select(
        self, connection: ssl.SSLObject, server_name: str | None, _front: ssl.SSLContext
    ) -> None:
        if connection.context is not self._current:
            connection.context = self._current

    def changed(self) -> bool:
        """True when either file may have changed since the last (attempted) load."""
        try:
            cert = stat_version(self.cert_path)
            key = stat_version(self.key_path)
        except OSError:
            return True
        return not (cert.same_stat(self._versions[0]) and key.same_stat(self._versions[1]))

    def reload(self) -> bool | None:
        """Load the files if their content changed.

        Returns True when a new certificate is in use, None when nothing changed (or
        the same failure is still there), and False for a new failure (see `last_error`).
        Blocking (file I/O): run it in a thread.
        """
        try:
            cert_version = read_version(self.cert_path)[1]
            key_version = read_version(self.key_path)[1]
        except OSError as exc:
            return self._fail(("unreadable", str(exc)), f"cannot read: {exc}")
        digests = (cert_version.sha256, key_version.sha256)
        if digests == (self._versions[0].sha256, self._versions[1].sha256):
            self._versions = (cert_version, key_version)
            self._failed = None
            self.last_error = None
            return None
        if digests == self._failed:
            return None
        try:
            context, info, versions = _load(self.cert_path, self.key_path)
        except CertificateError as exc:
            return self._fail(digests, str(exc))
        self._current = context
        self.info = info
        self._versions = versions
        self._failed = None
        self.last_error = None
        return True

    def _fail(self, key: tuple[str, str], message: str) -> bool | None:
        if key == self._failed:
            return None
        self._failed = key
        self.last_error = message
        return False


def _new_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _load(
    cert_path: Path, key_path: Path
) -> tuple[ssl.SSLContext, CertificateInfo, tuple[FileVersion, FileVersion]]:
    """A complete server context from the two files; raises CertificateError naming them."""
    try:
        cert_pem, cert_version = read_version(cert_path)
        _, key_version = read_version(key_path)
    except OSError as exc:
        raise CertificateError(f"cannot read the serving certificate or key: {exc}") from None
    try:
        leaf = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise CertificateError(f"{cert_path}: not a PEM certificate: {exc}") from None
    context = _new_context()
    try:
        # the resolved paths: the very files just hashed, even if a swap happens meanwhile
        context.load_cert_chain(cert_version.resolved, key_version.resolved)
    except (ssl.SSLError, OSError) as exc:
        raise CertificateError(
            f"{cert_path} and {key_path} do not load as a certificate chain and its "
            f"private key: {exc}"
        ) from None
    info = CertificateInfo(
        serial=leaf.serial_number,
        subject=leaf.subject.rfc4514_string(),
        not_after=leaf.not_valid_after_utc,
        cert_sha256=cert_version.sha256,
    )
    return context, info, (cert_version, key_version)
