"""RequestAuthentication through the real API server: unlisted JWKS hosts denied in both
served versions, under jwksUri or its proto name jwks_uri; in-cluster and inline keys, and an
allowlisted gateway-required host (istiod fetches it), admitted."""

from __future__ import annotations

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import WEBHOOK_NAME
from tests.e2e.objects import dump
from tests.unit.fetch_objects import DOCS_JWKS, request_authentication

pytestmark = pytest.mark.e2e

DENIED_BY_US = f'admission webhook "{WEBHOOK_NAME}" denied the request'


@pytest.mark.usefixtures("webhook")
@pytest.mark.parametrize("version", ["v1", "v1beta1"])
@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"issuer": "testing@secure.istio.io", "jwksUri": DOCS_JWKS}, "jwksUri"),
        ({"issuer": "https://api.github.com@evil.example.org"}, "issuer"),
        # the proto name the CRD also lists (istio/api v1.30.8): kept, and judged alike
        ({"issuer": "testing@secure.istio.io", "jwks_uri": DOCS_JWKS}, "jwks_uri"),
    ],
    ids=["unlisted-jwks-host", "userinfo-issuer", "unlisted-jwks-host-proto-name"],
)
def test_a_jwks_fetch_outside_the_policy_is_denied(
    cluster: Cluster, namespace: str, version: str, rule: dict[str, str], field: str
) -> None:
    bad = request_authentication(
        rule, namespace=namespace, api_version=f"security.istio.io/{version}"
    )

    proc = cluster.kubectl("apply", "-f", "-", input=dump(bad), check=False)

    assert proc.returncode != 0
    assert DENIED_BY_US in proc.stderr
    assert f"spec.jwtRules[0].{field}" in proc.stderr
    assert "[request-authentication-jwks]" in proc.stderr
    assert not cluster.stored("requestauthentications.security.istio.io", namespace, "jwt")


@pytest.mark.usefixtures("webhook")
def test_in_cluster_and_inline_keys_are_admitted(cluster: Cluster, namespace: str) -> None:
    good = request_authentication(
        {"issuer": "http://keycloak.auth.svc.cluster.local:8080/realms/mesh"},
        {"issuer": "testing@secure.istio.io", "jwks": '{"keys": []}'},
        # allowlisted, and requireFor: ["*"]: istiod's own fetch, not the tenant's traffic
        {"issuer": "https://github.com", "jwksUri": "https://api.github.com/keys"},
        {"issuer": "https://github.com/proto-name", "jwks_uri": "https://api.github.com/keys"},
        namespace=namespace,
    )

    cluster.kubectl("apply", "-f", "-", input=dump(good))

    assert cluster.stored("requestauthentications.security.istio.io", namespace, "jwt")
