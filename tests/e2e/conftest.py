"""Fixtures for the e2e suite: a real kube-apiserver + etcd, kubectl, helm, and our webhook.

Fixture API (everything a test under tests/e2e needs; keep it this small):

``cluster`` (session) -> ``tests.e2e.cluster.Cluster``
    A running etcd + kube-apiserver with the Istio CRDs established, no webhook registered
    by itself. ``cluster.kubeconfig: Path``, ``cluster.bin_dir: Path``,
    ``cluster.kubectl(*args, input=None, check=True, timeout=60)`` and
    ``cluster.helm(*args, input=None, check=True, timeout=120)`` return a
    ``subprocess.CompletedProcess[str]`` (stdout/stderr as text) and raise
    ``CommandFailedError`` (with both streams) on a non-zero exit when ``check``;
    ``cluster.create_namespace(name)`` is idempotent. kubectl and helm run with a private
    HOME/KUBECONFIG inside the session's temp dir. There is no scheduler, kubelet or
    controller manager: Pods never run, namespaces never finish deleting, ``--wait`` on
    workloads never completes. Chart tests (``helm install`` of charts/...) use only this.

``webhook`` (function) -> ``tests.e2e.egress_webhook.WebhookUnderTest``
    The real ``egress-webhook serve`` process (certificates from ``egress-webhook certs``,
    IP SAN 127.0.0.1) registered by a ValidatingWebhookConfiguration, already denying the
    probe object. Tests may ``webhook.write_policy(text)`` (hot reload),
    ``webhook.stop()`` and ``webhook.set_failure_policy("Ignore")``; after the test the
    fixture restores the known state (running, test policy, Fail) before the next one.
    ``webhook.policy_text`` is the test policy (examples/policy.yaml with
    ``e2e-exempt`` exempt), ``webhook.server.policy_path`` its file.

``namespace`` (function) -> str
    A fresh namespace for this test, so tests never see each other's objects.

``viewing_webhook`` (module) -> ``tests.e2e.view_fixtures.ViewingWebhook``
    A second server with a cluster view (``serve --kubeconfig``) behind a TCP proxy the
    test can cut; see that module.

If the binaries are missing and tests/e2e/toolchain/build.sh cannot build them, every e2e
test fails with what to install; nothing is skipped.
"""

from __future__ import annotations

import itertools
import re
import signal
from collections.abc import Iterator
from types import FrameType

import pytest

from tests.e2e.cluster import (
    Cluster,
    Toolchain,
    ToolchainMissingError,
    build_toolchain,
    running_cluster,
)
from tests.e2e.egress_webhook import EXEMPT_NAMESPACE, WebhookUnderTest
from tests.e2e.objects import NOT_ALLOWLISTED, PROBE, dump
from tests.e2e.view_fixtures import viewing_webhook  # noqa: F401 - the cluster view's fixture

_namespace_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    """kube-apiserver, etcd, kubectl and helm from the cache (built by build.sh if needed)."""
    try:
        return build_toolchain()
    except ToolchainMissingError as exc:
        message = str(exc)
    pytest.fail(message, pytrace=False)  # outside the except: no chained traceback


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def cluster(toolchain: Toolchain) -> Iterator[Cluster]:
    """One API server for the whole session (see the module docstring)."""
    # A cancelled CI job sends SIGTERM, which would end Python without running teardown or
    # atexit; as an interrupt, pytest unwinds the fixtures and the temp dirs go too.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with running_cluster(toolchain) as running:
            running.create_namespace("payments")  # examples/manifests use it
            running.create_namespace(EXEMPT_NAMESPACE)
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def _session_webhook(cluster: Cluster) -> Iterator[WebhookUnderTest]:
    under_test = WebhookUnderTest(cluster, dump(PROBE), NOT_ALLOWLISTED)
    try:
        under_test.restore()
        yield under_test
    finally:
        under_test.close()


@pytest.fixture
def webhook(_session_webhook: WebhookUnderTest) -> Iterator[WebhookUnderTest]:
    """The webhook in its known state; put back after the test (see the module docstring)."""
    _session_webhook.restore()
    yield _session_webhook
    _session_webhook.restore()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace named after the test."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    name = f"t{next(_namespace_numbers)}-{slug}"[:63].rstrip("-")
    cluster.create_namespace(name)
    return name
