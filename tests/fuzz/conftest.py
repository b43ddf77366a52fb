"""Fuzz fixtures: one real `egress-webhook serve` for the whole suite, and its client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.server_process import Client, TlsFiles, WebhookProcess, webhook_process

# Reproducible in CI: the same examples every run (python -m bench.fuzz explores with
# fresh seeds at scale). No example database: nothing to replay with derandomize. The
# client fixture is shared by every example on purpose (one keep-alive connection).
settings.register_profile(
    "fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookProcess]:
    """The production server, started once; every fuzz test checks it is still up."""
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    # 1 GiB of address space is several times what the server needs for these inputs
    with webhook_process(
        workdir, TlsFiles.create(workdir / "tls"), memory_limit=1024 * 1024 * 1024
    ) as server:
        yield server


@pytest.fixture
def fuzz_client(fuzz_server: WebhookProcess) -> Iterator[Client]:
    """A keep-alive client; afterwards the server must still be running (no crash).

    A bug shows as a 500 (with its traceback in the server's log), which every test
    checks answer by answer.
    """
    with fuzz_server.client() as client:
        yield client
    assert fuzz_server.process.poll() is None, "the server died:\n" + fuzz_server.log_tail()
