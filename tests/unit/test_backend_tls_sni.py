"""backend-tls-sni: the SNI a BackendTLSPolicy presents outside is a name the namespace may use."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.gateway_api_objects import backend_tls_policy, se_target, service_target
from tests.unit.gateway_route_objects import CNN_POLICY
from tests.unit.istio_objects import GATEWAY, RULES_POLICY, findings, service_entry
from webhook.policy.engine import evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.rules.backend_tls_sni import RULE
from webhook.policy.view import StaticMeshView

GITHUB = se_target("github")  # a ServiceEntry for api.github.com (its hosts are out of view)
CA = {"caCertificateRefs": [{"group": "", "kind": "ConfigMap", "name": "auth-cert"}]}


def _messages(obj: dict[str, Any], policy: CompiledPolicy) -> list[str]:
    return [f"{v.field}: {v.message}" for v in findings(RULE, obj, policy)]


@pytest.mark.parametrize(
    ("obj", "policy", "fragment"),
    [
        # Doors: domain fronting through an external host's front end.
        pytest.param(
            backend_tls_policy("blocked.example.org", GITHUB),
            RULES_POLICY,
            'spec.validation.hostname: hostname "blocked.example.org"',
            id="fronting-through-serviceentry",
        ),
        pytest.param(
            backend_tls_policy("blocked.example.org", GITHUB, version="v1alpha3"),
            RULES_POLICY,
            "not on the egress allowlist",
            id="fronting-v1alpha3",
        ),
        pytest.param(
            backend_tls_policy("blocked.example.org", service_target("web"), GITHUB),
            RULES_POLICY,
            'ServiceEntry "github"',
            id="one-serviceentry-among-services",
        ),
        pytest.param(
            backend_tls_policy("db.example.com", se_target("db")),
            RULES_POLICY,
            "allowlisted only for namespace payments",
            id="another-namespaces-host",
        ),
        pytest.param(
            backend_tls_policy("*.googleapis.com", se_target("google")),
            RULES_POLICY,
            "wildcard",
            id="wildcard",
        ),
        pytest.param(
            backend_tls_policy("api.github.com.", GITHUB),
            RULES_POLICY,
            "trailing dot",
            id="trailing-dot",
        ),
        pytest.param(
            backend_tls_policy("203.0.113.9", GITHUB),
            RULES_POLICY,
            "IP",
            id="ip",
        ),
        pytest.param(
            backend_tls_policy("localhost", GITHUB),
            RULES_POLICY,
            "single-label",
            id="single-label",
        ),
        pytest.param(
            backend_tls_policy("api.githu\u0431.com", GITHUB),
            RULES_POLICY,
            "non-ASCII",
            id="homograph",
        ),
        pytest.param(
            backend_tls_policy("googleapis.com", se_target("google")),
            RULES_POLICY,
            "not on the egress allowlist",
            id="apex-of-wildcard-entry",
        ),
        # The approved per-namespace egress gateway's Service: the SNI picks its server.
        pytest.param(
            backend_tls_policy("blocked.example.org", service_target("cnn-egress-gateway-istio")),
            CNN_POLICY,
            'Service "cnn-egress-gateway-istio"',
            id="egress-gateway-service",
        ),
        # Ordinary.
        pytest.param(
            backend_tls_policy("api.github.com", GITHUB), RULES_POLICY, None, id="own-host"
        ),
        pytest.param(
            backend_tls_policy("storage.googleapis.com", se_target("gcs")),
            RULES_POLICY,
            None,
            id="under-a-wildcard-entry",
        ),
        pytest.param(
            backend_tls_policy("db.example.com", se_target("db"), namespace="payments"),
            RULES_POLICY,
            None,
            id="own-namespaces-restricted-host",
        ),
        pytest.param(
            backend_tls_policy(GATEWAY, GITHUB),
            RULES_POLICY,
            None,
            id="in-cluster-name",
        ),
        pytest.param(
            backend_tls_policy("edition.cnn.com", service_target("cnn-egress-gateway-istio")),
            CNN_POLICY,
            None,
            id="egress-gateway-service-allowlisted",
        ),
        # Istio's own test data (backend-tls-policy.yaml): a Service of the namespace, the
        # backend certificate's name, a CA ConfigMap. The SNI reaches only its endpoints.
        pytest.param(
            backend_tls_policy("auth.example.com", service_target("echo"), **CA),
            RULES_POLICY,
            None,
            id="istio-testdata-in-cluster-service",
        ),
        pytest.param(
            backend_tls_policy(
                "auth.example.com",
                service_target("echo-https"),
                service_target("echo-https", section="https"),
                **CA,
            ),
            RULES_POLICY,
            None,
            id="istio-testdata-section-names",
        ),
        pytest.param(
            backend_tls_policy(
                "api.github.com",
                GITHUB,
                subjectAltNames=[
                    {"type": "Hostname", "hostname": "anything.example.org"},
                    {"type": "URI", "uri": "spiffe://cluster.local/ns/x/sa/y"},
                ],
            ),
            RULES_POLICY,
            None,
            id="sans-name-nothing",
        ),
        # Istio applies nothing for a target kind it does not support.
        pytest.param(
            backend_tls_policy("blocked.example.org", {"group": "", "kind": "Pod", "name": "x"}),
            RULES_POLICY,
            None,
            id="unsupported-target-kind",
        ),
    ],
)
def test_sni(obj: dict[str, Any], policy: CompiledPolicy, fragment: str | None) -> None:
    messages = _messages(obj, policy)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert fragment in messages[0]


def _entry(name: str, *hosts: str) -> dict[str, Any]:
    return service_entry(hosts=list(hosts), name=name, namespace="default")


#: The live entries of namespace "default": a CDN reached directly, a required host's own
#: entry, and one that mixes both.
VIEW = StaticMeshView(
    [
        _entry("cdn", "*.cdn.example.net"),
        _entry("github", "api.github.com"),
        _entry("mixed", "api.github.com", "www.cdn.example.net"),
    ]
)


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        # Door: the CDN entry is reached directly; asking it for a gateway-required host
        # fronts that host from the CDN's addresses, around the egress gateway.
        pytest.param(
            backend_tls_policy("api.github.com", se_target("cdn")),
            'ServiceEntry "cdn"',
            id="required-host-fronted-through-a-direct-entry",
        ),
        pytest.param(
            backend_tls_policy("api.github.com", se_target("mixed")),
            "hosts whose traffic goes straight out",
            id="entry-with-one-direct-host",
        ),
        pytest.param(
            backend_tls_policy("api.github.com", GITHUB, se_target("cdn")),
            'ServiceEntry "cdn"',
            id="direct-entry-beside-the-own-entry",
        ),
        # Ordinary: the required host's own entry, a CDN's own name, an entry not (yet) live.
        pytest.param(backend_tls_policy("api.github.com", GITHUB), None, id="own-entry"),
        pytest.param(
            backend_tls_policy("img.cdn.example.net", se_target("cdn")), None, id="cdn-own-name"
        ),
        pytest.param(
            backend_tls_policy("api.github.com", se_target("absent")), None, id="entry-not-live"
        ),
    ],
)
def test_sni_with_view(obj: dict[str, Any], fragment: str | None) -> None:
    decision = evaluate(obj, RULES_POLICY, view=VIEW)
    messages = [v.message for v in decision.violations if v.rule == RULE]
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert fragment in messages[0]


def test_stale_view_judges_as_without() -> None:
    stale = StaticMeshView(VIEW.objects, synced=False)
    obj = backend_tls_policy("api.github.com", se_target("cdn"))
    assert [v for v in evaluate(obj, RULES_POLICY, view=stale).violations if v.rule == RULE] == []


def _xbackend(host: str, tls: dict[str, Any] | None, namespace: str = "default") -> dict[str, Any]:
    """An XBackend (gateway.networking.x-k8s.io) for `host` on 443, as Istio's test data writes."""
    spec: dict[str, Any] = {
        "type": "ExternalHostname",
        "externalHostname": {"hostname": host},
        "port": {"port": 443},
    }
    if tls is not None:
        spec["tls"] = tls
    return {
        "apiVersion": "gateway.networking.x-k8s.io/v1alpha1",
        "kind": "XBackend",
        "metadata": {"name": "backend", "namespace": namespace},
        "spec": spec,
    }


def _server_only(hostname: str | None = None) -> dict[str, Any]:
    validation = {"hostname": hostname} if hostname else {}
    return {"mode": "ServerOnly", "validation": validation}


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        # Doors: the XBackend's TLS is a DestinationRule for its host, for every client.
        pytest.param(
            _xbackend("img.cdn.example.net", _server_only("blocked.example.org")),
            "not on the egress allowlist",
            id="xbackend-fronting-an-unlisted-host",
        ),
        pytest.param(
            _xbackend("img.cdn.example.net", _server_only("api.github.com")),
            '"api.github.com" must use the egress gateway',
            id="xbackend-fronting-a-required-host-from-a-direct-one",
        ),
        pytest.param(
            _xbackend("api.github.com", _server_only("db.example.com")),
            "allowlisted only for namespace payments",
            id="xbackend-another-namespaces-host",
        ),
        # Ordinary: the host's own name (the default), no TLS, a required host's own SNI.
        pytest.param(_xbackend("img.cdn.example.net", _server_only()), None, id="xbackend-own"),
        pytest.param(
            _xbackend("secure.example.net", _server_only("secure.example.net")),
            None,
            id="xbackend-own-name-unlisted",
        ),
        pytest.param(
            _xbackend("img.cdn.example.net", {"mode": "None", "validation": {"hostname": "x.org"}}),
            None,
            id="xbackend-no-tls",
        ),
        pytest.param(_xbackend("img.cdn.example.net", None), None, id="xbackend-plain"),
        pytest.param(
            _xbackend("api.github.com", _server_only("api.github.com")),
            None,
            id="xbackend-required-host-own-name",
        ),
        pytest.param(
            _xbackend("storage.googleapis.com", _server_only("www.googleapis.com")),
            None,
            id="xbackend-sibling-under-a-required-wildcard",
        ),
    ],
)
def test_xbackend_sni(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj, RULES_POLICY)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1, messages
        assert fragment in messages[0]
