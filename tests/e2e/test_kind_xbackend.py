"""XBackend (gateway.networking.x-k8s.io, the experimental CRDs of Gateway API v1.6)
through the real API server: an SNI fronting another host denied, the host's own name
admitted."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import EVIL_HOST, dump
from tests.unit.test_backend_tls_sni import _server_only, _xbackend

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'
RESOURCE = "xbackends.gateway.networking.x-k8s.io"


def xbackend(host: str, sni: str, namespace: str) -> dict[str, Any]:
    """The unit tables' XBackend, with the CA choice the CRD requires of a validation."""
    tls = _server_only(sni)
    tls["validation"]["wellKnownCACertificates"] = "System"
    return _xbackend(host, tls, namespace=namespace)


@pytest.mark.usefixtures("webhook")
def test_an_sni_fronting_an_unlisted_host_is_denied(cluster: Cluster, namespace: str) -> None:
    bad = xbackend("api.github.com", EVIL_HOST, namespace)

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert "spec.tls.validation.hostname" in proc.stderr
    assert not cluster.stored(RESOURCE, namespace, "backend")


@pytest.mark.usefixtures("webhook")
def test_the_hosts_own_name_is_admitted(cluster: Cluster, namespace: str) -> None:
    good = xbackend("api.github.com", "api.github.com", namespace)

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    assert cluster.stored(RESOURCE, namespace, "backend")
