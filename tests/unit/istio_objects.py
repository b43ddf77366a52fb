"""Builders for ServiceEntry/VirtualService dicts and the policy the rule tables run against."""

from __future__ import annotations

from typing import Any

from webhook.policy.decision import Decision, Violation
from webhook.policy.engine import SCHEMA_RULE, evaluate
from webhook.policy.index import CompiledPolicy
from webhook.policy.loader import parse_policy

GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"
EGRESS_GW = "istio-system/istio-egressgateway"

#: The allowlist every rule table runs against (see each entry's comment).
RULES_POLICY_YAML = """
allowlist:
  - host: api.github.com                # exact; TLS only on 443
    ports:
      - number: 443
        protocols: [TLS, HTTPS]
  - host: "*.googleapis.com"            # wildcard; 443, any protocol
    ports:
      - number: 443
  - host: httpbin.org                   # plain HTTP and TLS
    ports:
      - number: 80
        protocols: [HTTP]
      - number: 443
        protocols: [TLS]
  - host: db.example.com                # restricted to payments, static IPs only
    namespaces: [payments]
    ports:
      - number: 5432
        protocols: [TCP]
    cidrs: [192.168.1.0/24]
  - host: "*.partner.example.com"       # wildcard backed by a network
    ports:
      - number: 9000
        protocols: [TCP]
    cidrs: [10.20.0.0/16]
  - host: "*.cdn.example.net"           # not gateway-required (see requireFor)
    ports:
      - number: 443
egressGateway:
  service: istio-egressgateway.istio-system.svc.cluster.local
  gateways: [istio-system/istio-egressgateway]
  requireFor: [api.github.com, "*.googleapis.com", httpbin.org, db.example.com,
               "*.partner.example.com"]
exemptNamespaces: [istio-system]
"""

RULES_POLICY: CompiledPolicy = parse_policy(RULES_POLICY_YAML, "<rules-policy>")


def service_entry(
    namespace: str = "default",
    name: str = "se",
    *,
    api_version: str = "networking.istio.io/v1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A ServiceEntry; spec keys are given in the wire's camelCase."""
    return _object("ServiceEntry", api_version, namespace, name, labels, annotations, spec)


def tls_service_entry(host: str = "api.github.com", **spec: Any) -> dict[str, Any]:
    """A compliant-looking DNS ServiceEntry for `host` on 443/TLS."""
    namespace = spec.pop("namespace", "default")
    base: dict[str, Any] = {
        "hosts": [host],
        "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
        "resolution": "DNS",
        "location": "MESH_EXTERNAL",
    }
    base.update(spec)
    return service_entry(namespace, **base)


def virtual_service(
    namespace: str = "default",
    name: str = "vs",
    *,
    api_version: str = "networking.istio.io/v1",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A VirtualService; spec keys are given in the wire's camelCase."""
    return _object("VirtualService", api_version, namespace, name, labels, annotations, spec)


def dest(
    host: str, port: int | None = None, *, subset: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A route destination entry ({"destination": {...}, ...extra})."""
    destination: dict[str, Any] = {"host": host}
    if subset is not None:
        destination["subset"] = subset
    if port is not None:
        destination["port"] = {"number": port}
    return {"destination": destination, **extra}


def egress_tls_routes(host: str = "api.github.com", gateway_ref: str = EGRESS_GW) -> list[Any]:
    """The two TLS legs of the standard pattern: mesh -> egress gateway -> host."""
    return [
        {
            "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": [host]}],
            "route": [dest(GATEWAY, 443)],
        },
        {
            "match": [{"gateways": [gateway_ref], "port": 443, "sniHosts": [host]}],
            "route": [dest(host, 443)],
        },
    ]


def decide(obj: dict[str, Any], policy: CompiledPolicy = RULES_POLICY) -> Decision:
    """Evaluate `obj` against `policy` (the rules policy by default)."""
    return evaluate(obj, policy)


def findings(
    rule: str, obj: dict[str, Any], policy: CompiledPolicy = RULES_POLICY
) -> list[Violation]:
    """What `rule` found in `obj`, after proving the object was really judged.

    A rule table must not pass because nothing ran: the object is of a handled kind, not
    in an exempt namespace, and schema-valid (otherwise no rule runs and every "no
    finding" row would pass for the wrong reason). Advice is not a finding here.
    """
    decision = decide(obj, policy)
    assert decision.handled, f"{obj.get('kind')} is not a handled kind"
    assert not decision.exempt, f"namespace {decision.namespace} is exempt"
    schema = [v for v in decision.violations if v.rule == SCHEMA_RULE]
    assert not schema, f"the object is not schema-valid, so no rule ran: {schema}"
    return [v for v in decision.violations if v.rule == rule]


def rules_hit(obj: dict[str, Any], policy: CompiledPolicy = RULES_POLICY) -> set[str]:
    """The names of the rules `obj` violates."""
    return {v.rule for v in decide(obj, policy).violations}


def _object(
    kind: str,
    api_version: str,
    namespace: str,
    name: str,
    labels: dict[str, str] | None,
    annotations: dict[str, str] | None,
    spec: dict[str, Any],
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}
