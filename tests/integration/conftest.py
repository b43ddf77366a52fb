"""Integration fixtures: a test CA, Secret-like certificate folders, and the real app over HTTPS."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from cryptography import x509

from tests.conftest import EXAMPLE_POLICY, ROOT
from webhook.certs import (
    PrivateKey,
    certificate_pem,
    generate_ca,
    issue_serving_certificate,
    private_key_pem,
)
from webhook.server.app import create_app, event_loop_factory, event_loop_name, start
from webhook.server.state import SETTINGS
from webhook.settings import Settings

MANIFESTS = ROOT / "examples" / "manifests"
#: Every network wait in these tests is bounded by this.
TIMEOUT = 10.0


@dataclass(frozen=True)
class ServingPair:
    """A leaf certificate (PEM) and its key (PEM) for 127.0.0.1 / localhost."""

    cert_pem: bytes
    key_pem: bytes
    serial: int


@dataclass
class CertificateAuthority:
    """A throwaway CA, made by the project's own cert code, that signs serving certificates."""

    authority: tuple[x509.Certificate, PrivateKey]
    issued: list[int] = field(default_factory=list)

    @property
    def cert_pem(self) -> bytes:
        return certificate_pem(self.authority[0])

    def issue(self) -> ServingPair:
        """A new serving certificate (new key, new serial) for 127.0.0.1 and localhost."""
        cert, key = issue_serving_certificate(
            self.authority, dns_names=["localhost"], ip_addresses=["127.0.0.1"], days=1
        )
        self.issued.append(cert.serial_number)
        return ServingPair(
            cert_pem=certificate_pem(cert), key_pem=private_key_pem(key), serial=cert.serial_number
        )


@pytest.fixture(scope="session")
def test_ca() -> CertificateAuthority:
    """A CA for the whole session (key generation is the slow part)."""
    return CertificateAuthority(authority=generate_ca("egress-webhook test CA", days=1))


class SecretVolume:
    """A folder laid out like a mounted Kubernetes Secret: ``tls.crt -> ..data/tls.crt``.

    `publish` writes a new timestamped folder and swaps the ``..data`` symlink to it
    atomically, as the kubelet does, then removes the old folder.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.generation = 0
        self.cert = root / "tls.crt"
        self.key = root / "tls.key"

    def publish(self, pair: ServingPair) -> None:
        self.generation += 1
        version = self.root / f"..2024_01_01_00_00_{self.generation:02d}"
        version.mkdir()
        (version / "tls.crt").write_bytes(pair.cert_pem)
        (version / "tls.key").write_bytes(pair.key_pem)
        data = self.root / "..data"
        old = os.readlink(data) if data.is_symlink() else None
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(version.name)
        tmp.replace(data)
        for name in ("tls.crt", "tls.key"):
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(f"..data/{name}")
        if old is not None:
            shutil.rmtree(self.root / old)


@pytest.fixture
def secret_volume(tmp_path: Path, test_ca: CertificateAuthority) -> SecretVolume:
    """Serving certificate and key, published in a Secret-like folder."""
    volume = SecretVolume(tmp_path / "tls")
    volume.publish(test_ca.issue())
    return volume


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    """A writable copy of examples/policy.yaml."""
    path = tmp_path / "policy.yaml"
    shutil.copyfile(EXAMPLE_POLICY, path)
    return path


@pytest.fixture
def settings(policy_path: Path, secret_volume: SecretVolume) -> Settings:
    """Loopback, any free port, fast reload checks."""
    return Settings(
        policy=policy_path,
        tls_cert=secret_volume.cert,
        tls_key=secret_volume.key,
        host="127.0.0.1",
        port=0,
        reload_interval=0.05,
        shutdown_timeout=5.0,
    )


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll `check` until it is true; fail after TIMEOUT saying what never happened."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"still not true after {TIMEOUT} s: {what}")
        await asyncio.sleep(0.05)


def client_context(ca_pem: bytes) -> ssl.SSLContext:
    """What the API server does: verify the webhook against the caBundle."""
    return ssl.create_default_context(cadata=ca_pem.decode())


def load_manifests(folder: str) -> list[dict[str, Any]]:
    """Every object in examples/manifests/<folder>/*.yaml."""
    objects: list[dict[str, Any]] = []
    for path in sorted((MANIFESTS / folder).glob("*.yaml")):
        objects.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return objects


def admission_review(
    obj: dict[str, Any] | None,
    *,
    operation: str = "CREATE",
    uid: str | None = None,
    dry_run: bool = False,
    old_object: dict[str, Any] | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    """An AdmissionReview as the API server sends it for `obj`."""
    source = obj if obj is not None else (old_object or {})
    api_version = str(source.get("apiVersion", "networking.istio.io/v1"))
    group, _, version = api_version.rpartition("/")
    kind = str(source.get("kind", "ServiceEntry"))
    meta = source.get("metadata") or {}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": kind.lower() + "s"},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "name": meta.get("name", ""),
            "namespace": namespace if namespace is not None else meta.get("namespace", "default"),
            "operation": operation,
            "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
            "object": obj,
            "oldObject": old_object,
            "dryRun": dry_run,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


@dataclass
class RunningWebhook:
    """The production app from create_app, listening with TLS on 127.0.0.1."""

    app: web.Application
    url: str
    port: int
    session: aiohttp.ClientSession
    ca_pem: bytes

    @property
    def app_settings(self) -> Settings:
        return self.app[SETTINGS]

    async def post(
        self, body: bytes | str, content_type: str | None = "application/json"
    ) -> tuple[int, Any]:
        """POST /validate; returns (HTTP status, decoded JSON body)."""
        headers = {"Content-Type": content_type} if content_type else {}
        raw = body.encode() if isinstance(body, str) else body
        # aiohttp warns that a large bytes body blocks the loop; a file-like one streams
        data: bytes | io.BytesIO = io.BytesIO(raw) if len(raw) > 1024 * 1024 else raw
        # without a Content-Type of ours, aiohttp would add application/octet-stream
        skip = () if content_type else ("Content-Type",)
        async with self.session.post(
            f"{self.url}/validate", data=data, headers=headers, skip_auto_headers=skip
        ) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None

    async def review(self, review: dict[str, Any]) -> dict[str, Any]:
        """POST a review that must be answered with HTTP 200; returns the whole body."""
        status, body = await self.post(json.dumps(review))
        assert status == 200, body
        assert isinstance(body, dict)
        return body

    async def get(self, path: str) -> tuple[int, str]:
        async with self.session.get(f"{self.url}{path}") as resp:
            return resp.status, await resp.text()


@contextlib.asynccontextmanager
async def running_webhook(settings: Settings, ca_pem: bytes) -> AsyncIterator[RunningWebhook]:
    """create_app(settings) served by `start` (what serve uses) on 127.0.0.1, and a client."""
    app = create_app(settings)
    runner = await start(app, settings)
    port = runner.addresses[0][1]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=client_context(ca_pem)),
        timeout=aiohttp.ClientTimeout(total=TIMEOUT),
    )
    try:
        yield RunningWebhook(app, f"https://127.0.0.1:{port}", port, session, ca_pem)
    finally:
        await session.close()
        await runner.cleanup()


@pytest.fixture
async def webhook(
    settings: Settings, test_ca: CertificateAuthority
) -> AsyncIterator[RunningWebhook]:
    """The server with examples/policy.yaml (copied) and a fresh serving certificate."""
    async with running_webhook(settings, test_ca.cert_pem) as running:
        yield running


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every test here runs on the event loop `serve` runs on (uvloop where installed)."""
    return {event_loop_name(): event_loop_factory()}
