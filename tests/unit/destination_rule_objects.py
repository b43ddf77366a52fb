"""DestinationRule builders, the policy their tables run against, and the Istio docs' rules."""

from __future__ import annotations

from typing import Any

from tests.unit.istio_objects import GATEWAY, RULES_POLICY_YAML
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy

#: The rules policy plus the hosts of Istio's egress tasks, a forward proxy, a mesh network.
DR_POLICY_YAML = RULES_POLICY_YAML.replace(
    "egressGateway:",
    """  - host: edition.cnn.com               # Istio's egress tasks
    ports:
      - number: 80
      - number: 443
  - host: api.external-service.com      # the seed guide's TLS origination
    ports:
      - number: 443
  - host: corp-proxy.example.com        # a forward proxy the organisation runs
    ports:
      - number: 3128
        protocols: [TCP]
internalNetworks: [10.96.0.0/12]
egressGateway:""",
    1,
)
DR_POLICY: CompiledPolicy = parse_policy(DR_POLICY_YAML, "<dr-policy>")


def destination_rule(
    host: str,
    namespace: str = "default",
    name: str = "dr",
    *,
    api_version: str = "networking.istio.io/v1",
    **spec: Any,
) -> dict[str, Any]:
    """A DestinationRule for `host`; other spec keys are given in the wire's camelCase."""
    return {
        "apiVersion": api_version,
        "kind": "DestinationRule",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"host": host, **spec},
    }


def tunnel(target_host: str, target_port: int = 443, protocol: str = "CONNECT") -> dict[str, Any]:
    """A trafficPolicy holding only a tunnel."""
    return {"tunnel": {"protocol": protocol, "targetHost": target_host, "targetPort": target_port}}


def tls(mode: str = "SIMPLE", sni: str | None = None, **extra: Any) -> dict[str, Any]:
    """A trafficPolicy holding only ClientTLSSettings."""
    settings: dict[str, Any] = {"mode": mode, **extra}
    if sni is not None:
        settings["sni"] = sni
    return {"tls": settings}


def on_port(number: int, policy: dict[str, Any]) -> dict[str, Any]:
    """A trafficPolicy whose only content is `policy` for port `number`."""
    return {"portLevelSettings": [{"port": {"number": number}, **policy}]}


def subset(name: str, policy: dict[str, Any] | None = None, **labels: str) -> dict[str, Any]:
    """A subset, with a traffic policy when given."""
    out: dict[str, Any] = {"name": name}
    if labels:
        out["labels"] = labels
    if policy is not None:
        out["trafficPolicy"] = policy
    return out


#: DestinationRules from Istio's documentation tasks, each must be admitted in "default".
DOCS: dict[str, dict[str, Any]] = {
    # tasks/traffic-management/egress/egress-gateway/
    "egress-gateway-subset": destination_rule(GATEWAY, subsets=[subset("cnn")]),
    # tasks/traffic-management/egress/egress-gateway-tls-origination/: mTLS to the gateway,
    # which picks its server by the SNI, and TLS origination there
    "egress-gateway-tls-origination-gateway": destination_rule(
        GATEWAY,
        subsets=[
            subset(
                "cnn",
                {
                    "loadBalancer": {"simple": "ROUND_ROBIN"},
                    **on_port(80, tls("ISTIO_MUTUAL", "edition.cnn.com")),
                },
            )
        ],
    ),
    "egress-gateway-tls-origination-host": destination_rule(
        "edition.cnn.com",
        trafficPolicy={"loadBalancer": {"simple": "ROUND_ROBIN"}, **on_port(443, tls())},
    ),
    # the same task, "mutual TLS origination": the gateway's SNI is an in-cluster name
    "egress-gateway-mtls-origination-gateway": destination_rule(
        GATEWAY,
        subsets=[
            subset(
                "nginx",
                {
                    "loadBalancer": {"simple": "ROUND_ROBIN"},
                    **on_port(443, tls("ISTIO_MUTUAL", "my-nginx.mesh-external.svc.cluster.local")),
                },
            )
        ],
    ),
    "egress-gateway-mtls-origination-host": destination_rule(
        "my-nginx.mesh-external.svc.cluster.local",
        trafficPolicy={
            "loadBalancer": {"simple": "ROUND_ROBIN"},
            **on_port(
                443,
                tls(
                    "MUTUAL",
                    "my-nginx.mesh-external.svc.cluster.local",
                    credentialName="client-credential",
                ),
            ),
        },
    ),
    # tasks/traffic-management/egress/egress-tls-origination/ (at the sidecar)
    "egress-tls-origination": destination_rule(
        "edition.cnn.com", trafficPolicy=on_port(80, tls("SIMPLE"))
    ),
    # the seed guide: TLS origination with the host's own name as SNI
    "seed-tls-origination": destination_rule(
        "api.external-service.com",
        trafficPolicy=on_port(443, tls("SIMPLE", "api.external-service.com")),
    ),
    # tasks/traffic-management/circuit-breaking/
    "circuit-breaking": destination_rule(
        "httpbin",
        trafficPolicy={
            "connectionPool": {
                "tcp": {"maxConnections": 1},
                "http": {"http1MaxPendingRequests": 1, "maxRequestsPerConnection": 1},
            },
            "outlierDetection": {
                "consecutive5xxErrors": 1,
                "interval": "1s",
                "baseEjectionTime": "3m",
                "maxEjectionPercent": 100,
            },
        },
    ),
    # tasks/traffic-management/traffic-shifting/ (samples/bookinfo destination-rule-all.yaml)
    "traffic-shifting-subsets": destination_rule(
        "reviews",
        subsets=[
            subset("v1", version="v1"),
            subset("v2", version="v2"),
            subset("v3", version="v3"),
        ],
    ),
    # tasks/traffic-management/locality-load-balancing/failover/
    "locality-failover": destination_rule(
        "helloworld.sample.svc.cluster.local",
        trafficPolicy={
            "connectionPool": {"http": {"maxRequestsPerConnection": 1}},
            "loadBalancer": {
                "simple": "ROUND_ROBIN",
                "localityLbSetting": {
                    "enabled": True,
                    "failover": [{"from": "region1", "to": "region2"}],
                },
            },
            "outlierDetection": {
                "consecutive5xxErrors": 1,
                "interval": "1s",
                "baseEjectionTime": "1m",
            },
        },
    ),
    # tasks/traffic-management/locality-load-balancing/distribute/
    "locality-distribute": destination_rule(
        "helloworld.sample.svc.cluster.local",
        trafficPolicy={
            "loadBalancer": {
                "localityLbSetting": {
                    "enabled": True,
                    "distribute": [
                        {
                            "from": "region1/zone1/*",
                            "to": {
                                "region1/zone1/*": 70,
                                "region1/zone2/*": 20,
                                "region3/zone4/*": 10,
                            },
                        }
                    ],
                }
            },
            "outlierDetection": {
                "consecutive5xxErrors": 100,
                "interval": "1s",
                "baseEjectionTime": "1m",
            },
        },
    ),
    # reference/config/networking/destination-rule/: workloadSelector, credentialName
    "reference-workload-selector": destination_rule(
        "example.com",
        workloadSelector={"matchLabels": {"app": "ratings"}},
        trafficPolicy={
            "loadBalancer": {"simple": "ROUND_ROBIN"},
            **on_port(31443, tls("MUTUAL", credentialName="client-credential")),
        },
    ),
    # reference: consistent hashing, warmup, PROXY protocol, SANs, a subset's own policy
    "reference-load-balancing": destination_rule(
        "bookinfo-ratings.prod.svc.cluster.local",
        trafficPolicy={
            "loadBalancer": {"consistentHash": {"httpCookie": {"name": "user", "ttl": "0s"}}},
            "proxyProtocol": {"version": "V2"},
        },
        subsets=[
            subset(
                "testversion",
                {"loadBalancer": {"simple": "LEAST_REQUEST", "warmup": {"duration": "60s"}}},
                version="v3",
            )
        ],
    ),
}
