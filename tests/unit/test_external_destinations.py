"""external-destinations: every external destination is allowlisted for the namespace and port."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import EGRESS_GW, GATEWAY, dest, findings, virtual_service
from webhook.policy.rules.external_destinations import RULE


def _egress(
    destination: dict[str, Any], namespace: str = "default", host: str = "api.github.com"
) -> dict[str, Any]:
    return virtual_service(
        namespace,
        hosts=[host],
        gateways=[EGRESS_GW],
        tls=[{"route": [destination]}],
        exportTo=["."],
    )


def _messages(obj: dict[str, Any]) -> list[str]:
    return [f"{v.field}: {v.message}" for v in findings(RULE, obj)]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(_egress(dest("api.github.com", 443)), None, id="allowed"),
        pytest.param(_egress(dest("api.github.com")), None, id="port-unset"),
        pytest.param(_egress(dest("API.GITHUB.COM", 443)), None, id="case"),
        pytest.param(
            _egress(dest("api.github.com", 22)), "port.number: port 22 is not allowed", id="port"
        ),
        pytest.param(
            _egress(dest("evil.example.org", 443)), "not on the egress allowlist", id="unlisted"
        ),
        pytest.param(_egress(dest("api.github.com.", 443)), "ends with a dot", id="trailing-dot"),
        pytest.param(_egress(dest("1.2.3.4", 443)), "IP address", id="ip"),
        pytest.param(_egress(dest("2001:db8::1", 443)), "IP address", id="ipv6-not-a-short-name"),
        pytest.param(
            _egress(dest("db.example.com", 5432), host="db.example.com"),
            "only for namespace payments",
            id="other-namespace",
        ),
        pytest.param(
            _egress(dest("db.example.com", 5432), namespace="payments", host="db.example.com"),
            None,
            id="own-namespace",
        ),
    ],
)
def test_destinations(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert fragment in messages[0]


CDN = "a.cdn.example.net"  # allowlisted, and mesh traffic may reach it without the gateway


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        pytest.param({"route": [dest(CDN, 443)]}, [], id="direct-no-rewrite"),
        pytest.param(
            {"route": [dest(CDN, 443)], "rewrite": {"authority": "b.cdn.example.net"}},
            [],
            id="rewrite-to-allowlisted",
        ),
        # Door: a route sent straight to an external host carries the rewritten Host/:authority
        # (HTTPRewrite.authority, HTTPRoute.headers in virtual_service.proto). On a wildcard
        # ServiceEntry with DYNAMIC_DNS the proxy resolves that name and connects to it; on
        # any other it fronts a host the allowlist does not name. The egress gateway's legs
        # already check rewrites; sidecar legs that skip the gateway must too.
        pytest.param(
            {
                "route": [dest("*.cdn.example.net", 443)],
                "rewrite": {"authority": "evil.example.org"},
            },
            ["spec.http[0].rewrite.authority"],
            id="rewrite-to-unlisted",
        ),
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "headers": {"request": {"set": {"HOST": "evil.example.org"}}},
            },
            ["spec.http[0].headers.request.set[HOST]"],
            id="host-header-any-case",
        ),
        # Door: a URI rewrite that does not start with "/" is sent on the HTTP/1.1 request
        # line in absolute form, and the next proxy or CDN front end takes the Host from it
        # (RFC 7230 5.7; Envoy's ServerConnectionImpl::handlePath, allow_absolute_url on by
        # default). Istio validates neither rewrite.uri nor uriRegexRewrite.rewrite
        # (validateHTTPRewrite): it is an authority rewrite.
        pytest.param(
            {"route": [dest(CDN, 443)], "rewrite": {"uri": "http://evil.example.org/"}},
            ["spec.http[0].rewrite.uri"],
            id="absolute-uri-rewrite",
        ),
        pytest.param(
            {"route": [dest(CDN, 443)], "rewrite": {"uri": "https://b.cdn.example.net/x"}},
            [],
            id="absolute-uri-rewrite-to-allowlisted",
        ),
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {"uriRegexRewrite": {"match": "^/(.*)$", "rewrite": "\\1"}},
            },
            ["spec.http[0].rewrite.uriRegexRewrite.rewrite"],
            id="regex-rewrite-path-becomes-authority",
        ),
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {
                    "uriRegexRewrite": {"match": "^", "rewrite": "http://evil.example.org"}
                },
            },
            ["spec.http[0].rewrite.uriRegexRewrite.rewrite"],
            id="regex-rewrite-prepends-url",
        ),
        # The virtual_service.proto example: group 2 starts with "/", so the path does too.
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {
                    "uriRegexRewrite": {
                        "match": "^/service/([^/]+)(/.*)$",
                        "rewrite": "\\2/instance/\\1",
                    }
                },
            },
            [],
            id="regex-rewrite-keeps-slash",
        ),
        # The RegexRewrite examples of virtual_service.proto: a substitution that starts
        # with "/" keeps it.
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {
                    "uriRegexRewrite": {
                        "match": "^/service/([^/]+)(/.*)$",
                        "rewrite": "/customprefix/\\2/\\1",
                    }
                },
            },
            [],
            id="regex-rewrite-proto-example-1",
        ),
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {"uriRegexRewrite": {"match": "(?i)/xxx/", "rewrite": "/yyy/"}},
            },
            [],
            id="regex-rewrite-proto-example-2",
        ),
        pytest.param(
            {"route": [dest(CDN, 443)], "rewrite": {"uri": "/"}},
            [],
            id="uri-rewrite-to-root",
        ),
        pytest.param(
            {
                "route": [dest(CDN, 443)],
                "rewrite": {"uriRegexRewrite": {"match": "v1", "rewrite": "v2"}},
            },
            [],
            id="regex-rewrite-inside-path",
        ),
        pytest.param(
            {"route": [dest(CDN, 443)], "rewrite": {"uri": "/v2/"}},
            [],
            id="relative-uri-rewrite",
        ),
        # Routing inside the cluster may rewrite freely: nothing leaves it.
        pytest.param(
            {"route": [dest("reviews", 9080)], "rewrite": {"authority": "evil.example.org"}},
            [],
            id="internal-rewrite",
        ),
        pytest.param(
            {"route": [dest("reviews", 9080)], "rewrite": {"uri": "http://evil.example.org/"}},
            [],
            id="internal-absolute-uri-rewrite",
        ),
    ],
)
def test_sidecar_rewrites_on_direct_routes(route: dict[str, Any], fields: list[str]) -> None:
    obj = virtual_service(hosts=[CDN], http=[route])
    assert [v.field for v in findings(RULE, obj)] == fields


# Door: the egress gateway picks its virtual host, and so the external host, by the
# Host/:authority it receives (buildGatewayHTTPRouteConfig, pilot/pkg/networking/core/
# gateway.go). A rewrite on a route to the egress gateway Service was checked only on
# guarded sidecar legs (mesh-routing): not on a host that needs no gateway, not at an
# ingress gateway, not in a delegate, whose routes apply wherever its parent is bound.
@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        pytest.param(
            virtual_service(
                hosts=[CDN],
                http=[
                    {"route": [dest(GATEWAY, 443)], "rewrite": {"authority": "evil.example.org"}}
                ],
            ),
            ["spec.http[0].rewrite.authority"],
            id="unguarded-host-to-gateway-rewritten",
        ),
        pytest.param(
            virtual_service(
                http=[
                    {
                        "route": [dest(GATEWAY, 80)],
                        "headers": {"request": {"set": {"host": "evil.example.org"}}},
                    }
                ]
            ),
            ["spec.http[0].headers.request.set[host]"],
            id="delegate-to-gateway-rewritten",
        ),
        pytest.param(
            virtual_service(
                hosts=["bookinfo.example.com"],
                gateways=["istio-system/ingressgateway"],
                http=[{"route": [dest(GATEWAY, 80)], "rewrite": {"authority": "evil.example.org"}}],
            ),
            ["spec.http[0].rewrite.authority"],
            id="ingress-to-egress-gateway-rewritten",
        ),
        pytest.param(
            virtual_service(
                "payments",
                hosts=["httpbin.org"],
                http=[{"route": [dest(GATEWAY, 80)], "rewrite": {"authority": "db.example.com"}}],
            ),
            [],
            id="rewrite-to-a-host-the-namespace-may-use",
        ),
        pytest.param(
            virtual_service(
                hosts=["httpbin.org"],
                http=[{"route": [dest(GATEWAY, 80)], "rewrite": {"authority": "db.example.com"}}],
            ),
            ["spec.http[0].rewrite.authority"],
            id="rewrite-to-another-namespaces-host",
        ),
        pytest.param(
            virtual_service(
                hosts=["reviews"],
                http=[{"route": [dest("reviews")], "rewrite": {"authority": "reviews-v2"}}],
            ),
            [],
            id="inward-rewrite",
        ),
    ],
)
def test_rewrites_on_routes_to_the_egress_gateway(obj: dict[str, Any], fields: list[str]) -> None:
    assert [v.field for v in findings(RULE, obj)] == fields
