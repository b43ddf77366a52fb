"""service-entry-endpoints: addresses and endpoints stay in the entry's networks and names."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import findings, service_entry
from webhook.policy.rules.service_entry_endpoints import RULE


def _db(resolution: str = "STATIC", **spec: Any) -> dict[str, Any]:
    return service_entry(
        "payments",
        hosts=["db.example.com"],
        exportTo=["."],
        ports=[{"number": 5432, "name": "tcp-postgres", "protocol": "TCP"}],
        resolution=resolution,
        **spec,
    )


def _github(**spec: Any) -> dict[str, Any]:
    return service_entry(
        hosts=["api.github.com"],
        ports=[{"number": 443, "name": "tls", "protocol": "TLS"}],
        **{"resolution": "DNS", **spec},
    )


def _messages(obj: dict[str, Any]) -> list[str]:
    return [v.message for v in findings(RULE, obj)]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(_db(endpoints=[{"address": "192.168.1.10"}]), None, id="ip-inside-cidr"),
        pytest.param(_db(addresses=["192.168.1.0/24"]), None, id="address-equal-to-cidr"),
        pytest.param(_db(addresses=["192.168.1.7"]), None, id="address-inside-cidr"),
        pytest.param(_db(endpoints=[{"address": "192.168.2.10"}]), "outside", id="ip-outside-cidr"),
        pytest.param(_db(addresses=["192.168.0.0/16"]), "outside", id="address-wider-than-cidr"),
        pytest.param(_db(addresses=["0.0.0.0/0"]), "outside", id="address-everything"),
        pytest.param(
            _db(endpoints=[{"address": "::ffff:192.168.1.10"}]), "outside", id="ipv4-mapped-v6"
        ),
        pytest.param(
            _db(endpoints=[{"address": "192.168.1.0/24"}]), "single IP", id="cidr-endpoint"
        ),
        pytest.param(
            _db(endpoints=[{"address": "unix:///var/run/proxy.sock"}]), "unix socket", id="uds"
        ),
        pytest.param(
            _db(endpoints=[{"network": "network2"}]),
            'gateway of network "network2"',
            id="network-only",
        ),
        pytest.param(_db(endpoints=[{"labels": {"a": "b"}}]), "no address", id="no-address"),
        pytest.param(
            _db(endpoints=[{"address": "192.168.1.10", "network": "network2"}]),
            "leaves from another cluster",
            id="address-on-another-network",
        ),
        # workloadEntryNetwork: with no network, the endpoint's network label decides
        pytest.param(
            _db(
                endpoints=[
                    {"address": "192.168.1.10", "labels": {"topology.istio.io/network": "n2"}}
                ]
            ),
            'labelled for network "n2"',
            id="address-labelled-for-another-network",
        ),
        # other endpoint labels (subsets, locality) pick no network
        pytest.param(
            _db(
                endpoints=[
                    {
                        "address": "192.168.1.10",
                        "labels": {"version": "v1", "topology.kubernetes.io/zone": "z1"},
                    }
                ]
            ),
            None,
            id="address-with-subset-labels",
        ),
        pytest.param(_db(addresses=["db"]), "not an IP", id="address-not-ip"),
        pytest.param(_github(addresses=["140.82.112.5"]), "no cidrs", id="address-without-cidrs"),
        pytest.param(
            _github(endpoints=[{"address": "140.82.112.5"}]),
            "no cidrs",
            id="ip-endpoint-without-cidrs",
        ),
        pytest.param(
            _github(endpoints=[{"address": "api.github.com"}]), None, id="endpoint-same-name"
        ),
        pytest.param(
            _github(endpoints=[{"address": "evil.example.org"}]),
            "not on the egress allowlist",
            id="endpoint-other-name",
        ),
        pytest.param(
            _github(endpoints=[{"address": "db.example.com"}]),
            "only for namespace payments",
            id="endpoint-other-namespace-name",
        ),
        pytest.param(
            _github(endpoints=[{"address": "kube-dns.kube-system.svc.cluster.local"}]),
            "cluster domain",
            id="endpoint-in-cluster",
        ),
        pytest.param(
            _github(resolution="STATIC", endpoints=[{"address": "api.github.com"}]),
            "needs resolution DNS",
            id="name-endpoint-static",
        ),
    ],
)
def test_addresses_and_endpoints(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert messages, "expected a violation"
        assert any(fragment in m for m in messages), messages


def test_every_host_must_allow_a_shared_endpoint() -> None:
    obj = service_entry(
        hosts=["a.partner.example.com", "api.github.com"],
        ports=[{"number": 9000, "name": "tcp", "protocol": "TCP"}],
        resolution="STATIC",
        endpoints=[{"address": "10.20.0.5"}],
    )
    messages = _messages(obj)
    assert len(messages) == 1
    assert '"api.github.com"' in messages[0]
