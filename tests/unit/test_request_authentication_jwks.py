"""request-authentication-jwks: the hosts istiod (or the sidecar) fetches JWT keys from."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.fetch_objects import DOCS_JWKS, FETCH_POLICY, request_authentication
from tests.unit.istio_objects import decide, findings
from webhook.policy.engine import SCHEMA_RULE
from webhook.policy.rules.request_authentication_jwks import RULE

ISSUER = "testing@secure.istio.io"

BYPASSES: list[tuple[str, dict[str, Any], str]] = [
    (
        "jwksUri on a host nobody allowlisted: a channel both ways through istiod",
        request_authentication({"issuer": ISSUER, "jwksUri": "https://evil.example.org/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "issuer discovered over OIDC on an unlisted host (no jwksUri, no jwks)",
        request_authentication({"issuer": "https://evil.example.org"}),
        "spec.jwtRules[0].issuer",
    ),
    (
        "userinfo trick: Go connects to the host after the @",
        request_authentication({"jwksUri": "https://raw.githubusercontent.com@evil.org/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "userinfo trick in a discovered issuer",
        request_authentication({"issuer": "https://login.example.com@evil.org/"}),
        "spec.jwtRules[0].issuer",
    ),
    (
        "the sidecar fetches jwksUri even beside inline jwks (remote JWKS modes)",
        request_authentication({"jwksUri": "https://evil.example.org/k", "jwks": '{"keys":[]}'}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "an allowlisted host on a port its entry does not allow",
        request_authentication({"jwksUri": "https://raw.githubusercontent.com:8443/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "http on a port allowed only for HTTPS",
        request_authentication({"jwksUri": "http://raw.githubusercontent.com:443/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "an external IP literal",
        request_authentication({"jwksUri": "https://203.0.113.7/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "an IPv6 literal outside internalNetworks",
        request_authentication({"jwksUri": "http://[2001:db8::1]:8080/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "a host whose last label is all digits (0x7f.1 is 127.0.0.1 to some resolvers)",
        request_authentication({"jwksUri": "http://0x7f.1/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "trailing dot",
        request_authentication({"jwksUri": "https://raw.githubusercontent.com./k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "percent-escaped host",
        request_authentication({"jwksUri": "https://evil%2eorg/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "backslash (parsers disagree on it)",
        request_authentication({"jwksUri": "https://evil.org\\@raw.githubusercontent.com/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "empty port",
        request_authentication({"jwksUri": "https://raw.githubusercontent.com:/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "a scheme Istio refuses (offline: the API server would too)",
        request_authentication({"jwksUri": "ftp://raw.githubusercontent.com/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "a namespace-restricted host from another namespace",
        request_authentication({"jwksUri": "https://registry.partner.example/k"}),
        "spec.jwtRules[0].jwksUri",
    ),
    (
        "the second rule is judged too",
        request_authentication(
            {"issuer": ISSUER, "jwksUri": DOCS_JWKS},
            {"issuer": "HTTPS://EVIL.EXAMPLE.ORG/"},
        ),
        "spec.jwtRules[1].issuer",
    ),
    (
        "jwks_uri, the proto name the CRD also lists, on a host nobody allowlisted",
        request_authentication({"issuer": ISSUER, "jwks_uri": "https://evil.example.org/k"}),
        "spec.jwtRules[0].jwks_uri",
    ),
    (
        "jwks_uri stops OIDC discovery of the issuer, and is judged in its place",
        request_authentication(
            {"issuer": "https://login.example.com", "jwks_uri": "https://evil.example.org/k"}
        ),
        "spec.jwtRules[0].jwks_uri",
    ),
]

ORDINARY: list[tuple[str, dict[str, Any]]] = [
    (
        # istiod (the default PILOT_JWT_ENABLE_REMOTE_JWKS) fetches it: the control plane's
        # connection, not the tenant's traffic; the allowlist alone decides
        "an allowlisted host that requireFor sends through the egress gateway",
        request_authentication({"jwksUri": "https://api.github.com/keys"}),
    ),
    (
        "the Istio docs' RequestAuthentication (jwksUri on GitHub, allowlisted)",
        request_authentication({"issuer": ISSUER, "jwksUri": DOCS_JWKS}),
    ),
    (
        "jwks_uri, the proto name the CRD lists beside jwksUri, on an allowlisted host",
        request_authentication({"issuer": ISSUER, "jwks_uri": DOCS_JWKS}),
    ),
    (
        "served as v1beta1 too",
        request_authentication(
            {"issuer": ISSUER, "jwksUri": DOCS_JWKS}, api_version="security.istio.io/v1beta1"
        ),
    ),
    (
        "inline jwks, no jwksUri: nothing is fetched",
        request_authentication({"issuer": "https://evil.example.org", "jwks": '{"keys":[]}'}),
    ),
    ("a non-URL issuer is never fetched", request_authentication({"issuer": ISSUER})),
    (
        "an in-cluster Keycloak",
        request_authentication({"issuer": "http://keycloak.auth.svc.cluster.local:8080/realms/r"}),
    ),
    (
        "an in-cluster issuer in the <service>.<namespace>.svc form the search list completes",
        request_authentication({"issuer": "http://keycloak.keycloak.svc:8080/realms/mesh"}),
    ),
    ("an IP in internalNetworks", request_authentication({"jwksUri": "http://10.1.2.3:8080/k"})),
    (
        "an allowlisted issuer discovered over OIDC, case and trailing slash aside",
        request_authentication({"issuer": "https://Login.Example.com/"}),
    ),
    (
        "http on a port allowed for HTTP",
        request_authentication({"jwksUri": "http://login.example.com/k"}),
    ),
    (
        "the issuer is not fetched when jwksUri is set",
        request_authentication({"issuer": "https://evil.example.org", "jwksUri": DOCS_JWKS}),
    ),
    (
        "headers, params, cookies, claims and timeout change no destination",
        request_authentication(
            {
                "issuer": ISSUER,
                "jwksUri": DOCS_JWKS,
                "audiences": ["a"],
                "fromHeaders": [{"name": "x-jwt", "prefix": "Bearer "}],
                "fromParams": ["token"],
                "fromCookies": ["session"],
                "outputPayloadToHeader": "x-payload",
                "outputClaimToHeaders": [{"header": "x-sub", "claim": "sub"}],
                "forwardOriginalToken": True,
                "timeout": "10s",
                "spaceDelimitedClaims": ["scope"],
            }
        ),
    ),
]


@pytest.mark.parametrize(("name", "obj", "field"), BYPASSES, ids=[b[0] for b in BYPASSES])
def test_bypasses_are_denied(name: str, obj: dict[str, Any], field: str) -> None:
    found = findings(RULE, obj, FETCH_POLICY)
    assert [v.field for v in found] == [field], name


@pytest.mark.parametrize(("name", "obj"), ORDINARY, ids=[o[0] for o in ORDINARY])
def test_ordinary_configurations_are_admitted(name: str, obj: dict[str, Any]) -> None:
    assert findings(RULE, obj, FETCH_POLICY) == [], name


def test_the_message_names_the_value_the_fetcher_and_the_fix() -> None:
    [found] = findings(
        RULE, request_authentication({"jwksUri": "https://keys.evil.example.org/k"}), FETCH_POLICY
    )
    assert '"https://keys.evil.example.org/k"' in found.message
    assert "istiod" in found.message
    assert "not on the egress allowlist" in found.message
    assert "inline in jwks" in found.message


def test_both_spellings_of_jwks_uri_are_refused_as_istio_refuses_them() -> None:
    # One proto field under two JSON names: protojson and the CRD's CEL rule refuse the pair.
    obj = request_authentication({"jwksUri": DOCS_JWKS, "jwks_uri": "https://evil.example.org/k"})
    decision = decide(obj, FETCH_POLICY)
    assert not decision.allowed
    [found] = decision.violations
    assert (found.rule, found.field) == (SCHEMA_RULE, "spec.jwtRules[0]")
    assert "jwks_uri" in found.message
    assert "keep only jwksUri" in found.message
