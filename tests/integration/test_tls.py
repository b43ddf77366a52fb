"""TLS: 1.2+ only, and the certificate reloaded while serving when a Secret swaps its files."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import warnings

import pytest
from cryptography import x509

from tests.integration.conftest import (
    TIMEOUT,
    CertificateAuthority,
    RunningWebhook,
    SecretVolume,
    client_context,
    eventually,
)


async def _handshake(webhook: RunningWebhook, context: ssl.SSLContext) -> ssl.SSLObject:
    _, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", webhook.port, ssl=context), TIMEOUT
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        assert isinstance(ssl_object, ssl.SSLObject)
        return ssl_object
    finally:
        writer.close()
        await writer.wait_closed()


def _blocking_handshake(port: int, context: ssl.SSLContext) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock,
        context.wrap_socket(sock, server_hostname="127.0.0.1"),
    ):
        pass


async def _served_serial(webhook: RunningWebhook) -> int:
    ssl_object = await _handshake(webhook, client_context(webhook.ca_pem))
    der = ssl_object.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


async def _wait_for_serial(webhook: RunningWebhook, serial: int) -> None:
    async def served() -> bool:
        return await _served_serial(webhook) == serial

    await eventually(served, f"the server presents the certificate with serial {serial:x}")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_tls_1_2_and_1_3_are_served(webhook: RunningWebhook, version: ssl.TLSVersion) -> None:
    context = client_context(webhook.ca_pem)
    context.minimum_version = version
    context.maximum_version = version
    ssl_object = await _handshake(webhook, context)
    assert ssl_object.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
async def test_tls_below_1_2_is_refused(webhook: RunningWebhook, version: ssl.TLSVersion) -> None:
    context = client_context(webhook.ca_pem)
    # let the client offer the old version at all (OpenSSL 3 disables it by default), so
    # the refusal we see is the server's
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # configuring it on purpose
        context.minimum_version = version
        context.maximum_version = version
    with pytest.raises(ssl.SSLError) as refused:
        # a blocking socket reports the server's alert; asyncio's SSL transport reports
        # only a reset connection
        await asyncio.to_thread(_blocking_handshake, webhook.port, context)
    # asyncio's server closes the connection (EOF) where plain OpenSSL sends an alert
    assert isinstance(refused.value, ssl.SSLEOFError) or "PROTOCOL_VERSION" in str(refused.value), (
        refused.value
    )

    # control: the same client, allowed TLS 1.2, gets through; the version was the reason
    control = client_context(webhook.ca_pem)
    control.set_ciphers("DEFAULT:@SECLEVEL=0")
    control.maximum_version = ssl.TLSVersion.TLSv1_2
    await asyncio.to_thread(_blocking_handshake, webhook.port, control)


async def test_clients_verify_the_certificate_against_the_ca(webhook: RunningWebhook) -> None:
    status, text = await webhook.get("/healthz")
    assert status == 200
    assert json.loads(text) == {"status": "ok"}
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(webhook, ssl.create_default_context())


async def test_certificate_is_reloaded_when_the_secret_swaps_its_files(
    webhook: RunningWebhook, secret_volume: SecretVolume, test_ca: CertificateAuthority
) -> None:
    first = test_ca.issued[-1]
    assert await _served_serial(webhook) == first

    renewed = test_ca.issue()
    await asyncio.to_thread(secret_volume.publish, renewed)
    await _wait_for_serial(webhook, renewed.serial)

    # reviews keep working over the new certificate, and the swap is visible
    status, text = await webhook.get("/readyz")
    assert status == 200
    assert json.loads(text)["certificate"]["serial"] == f"{renewed.serial:x}"
    _, metrics = await webhook.get("/metrics")
    assert 'egress_webhook_certificate_reloads_total{result="success"} 1.0' in metrics


async def test_a_broken_certificate_pair_keeps_the_current_one(
    webhook: RunningWebhook, secret_volume: SecretVolume, test_ca: CertificateAuthority
) -> None:
    serving = test_ca.issued[-1]
    one, other = test_ca.issue(), test_ca.issue()
    mismatched = type(one)(cert_pem=one.cert_pem, key_pem=other.key_pem, serial=one.serial)
    await asyncio.to_thread(secret_volume.publish, mismatched)

    async def reload_failed() -> bool:
        _, text = await webhook.get("/readyz")
        return json.loads(text)["certificate"]["lastReloadError"] is not None

    await eventually(reload_failed, "/readyz shows the certificate reload error")
    _, text = await webhook.get("/readyz")
    error = json.loads(text)["certificate"]["lastReloadError"]
    assert "do not load as a certificate chain and its private key" in error
    assert await _served_serial(webhook) == serving
    _, metrics = await webhook.get("/metrics")
    assert 'egress_webhook_certificate_reloads_total{result="failure"} 1.0' in metrics

    # then a good pair is published: it is picked up and the error clears
    fixed = test_ca.issue()
    await asyncio.to_thread(secret_volume.publish, fixed)
    await _wait_for_serial(webhook, fixed.serial)
    _, text = await webhook.get("/readyz")
    assert json.loads(text)["certificate"]["lastReloadError"] is None
