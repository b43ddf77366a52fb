"""Reliability fixtures: TLS files, room for thousands of sockets, the real server by flags."""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.server_process import TlsFiles, WebhookProcess, webhook_process


@pytest.fixture(scope="session", autouse=True)
def many_sockets() -> None:
    """This process opens thousands of connections: raise its open-file limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.create(tmp_path_factory.mktemp("tls"))


ServerFactory = Callable[..., AbstractContextManager[WebhookProcess]]


@pytest.fixture
def server(tmp_path: Path, tls: TlsFiles) -> ServerFactory:
    """`with server("--header-timeout", "2") as process:` the real server with those flags."""

    @contextlib.contextmanager
    def start(*flags: str, policy: Path | None = None) -> Iterator[WebhookProcess]:
        extra = {"policy": policy} if policy is not None else {}
        with webhook_process(tmp_path, tls, *flags, **extra) as process:
            yield process

    return start
