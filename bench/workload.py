"""What the benchmarks feed the webhook: policies, Istio objects and AdmissionReview bodies."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from webhook.policy.index import CompiledPolicy
from webhook.policy.model import Policy

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_POLICY = ROOT / "examples" / "policy.yaml"
MANIFESTS = ROOT / "examples" / "manifests"

#: The egress gateway of the example policy, where mesh routes must go.
EGRESS_GATEWAY = "istio-egressgateway.istio-system.svc.cluster.local"
EGRESS_GATEWAY_REF = "istio-system/istio-egressgateway"

#: Size of the generated large policy, and how many of its entries are wildcards.
LARGE_POLICY_ENTRIES = 1000
LARGE_POLICY_WILDCARDS = 300
#: Routes in the large VirtualService: half at sidecars, half at the egress gateway.
LARGE_VS_ROUTES = 200


def manifest(relative: str, index: int = 0) -> dict[str, Any]:
    """The `index`-th document of an example manifest (``allowed/payments-db.yaml``)."""
    docs = [d for d in yaml.safe_load_all((MANIFESTS / relative).read_text()) if d]
    return dict(docs[index])


def large_policy_text() -> str:
    """The example policy plus ~1000 generated entries (exact hosts and *.domain wildcards).

    A tenth of the entries are restricted to a namespace, and some wildcards nest under
    others, so lookups walk several parent domains and filter by namespace.
    """
    base = yaml.safe_load(EXAMPLE_POLICY.read_text())
    entries = list(base["allowlist"])
    exact = LARGE_POLICY_ENTRIES - LARGE_POLICY_WILDCARDS - len(entries)
    for i in range(exact):
        entry: dict[str, Any] = {
            "host": f"api-{i}.partner-{i % 97}.example.com",
            "ports": [{"number": 443, "protocols": ["TLS", "HTTPS"]}],
        }
        if i % 10 == 0:
            entry["namespaces"] = [f"team-{i % 13}"]
        entries.append(entry)
    for i in range(LARGE_POLICY_WILDCARDS):
        # every third wildcard sits under the previous one: *.eu.svc-3.example.net under *.svc-3...
        domain = f"svc-{i // 3}.example.net" if i % 3 == 0 else f"r{i % 3}.svc-{i // 3}.example.net"
        entries.append({"host": f"*.{domain}", "ports": [{"number": 443}, {"number": 8443}]})
    base["allowlist"] = entries
    return yaml.safe_dump(base, sort_keys=False)


def sized_policy_data(entries: int) -> dict[str, Any]:
    """The example policy grown to `entries` allowlist entries.

    A third are ``*.domain`` wildcards, a tenth restricted to one of 50 namespaces (so
    the per-namespace lists are exercised).
    """
    base = yaml.safe_load(EXAMPLE_POLICY.read_text())
    listed: list[dict[str, Any]] = base["allowlist"]
    for i in range(max(0, entries - len(listed))):
        entry: dict[str, Any]
        if i % 3 == 0:
            entry = {"host": f"*.svc-{i}.example.net", "ports": [{"number": 443}, {"number": 8443}]}
        else:
            entry = {
                "host": f"api-{i}.partner-{i % 97}.example.com",
                "ports": [{"number": 443, "protocols": ["TLS", "HTTPS"]}],
            }
        if i % 10 == 0:
            entry["namespaces"] = [f"team-{i % 500}"]
        listed.append(entry)
    return dict(base)


def sized_policy_text(entries: int) -> str:
    """`sized_policy_data` as block YAML, formatted directly: PyYAML's emitter would take
    longer than loading does."""
    data = sized_policy_data(entries)
    listed = data.pop("allowlist")
    lines = [yaml.safe_dump(data, sort_keys=False), "allowlist:\n"]
    for entry in listed:
        lines.append(f"  - host: {json.dumps(entry['host'])}\n    ports:\n")
        for port in entry["ports"]:
            lines.append(f"    - number: {port['number']}\n")
            if "protocols" in port:
                lines.append(f"      protocols: [{', '.join(port['protocols'])}]\n")
        for key in ("namespaces", "cidrs"):
            if key in entry:
                lines.append(f"    {key}: [{', '.join(entry[key])}]\n")
    return "".join(lines)


def sized_policy_json(entries: int) -> str:
    """`sized_policy_data` as one JSON object (how a generator would write a large policy)."""
    return json.dumps(sized_policy_data(entries))


def manifests_text(objects: list[dict[str, Any]]) -> str:
    """`objects` as one multi-document YAML file, as kubectl would print them (no aliases)."""
    return yaml.dump_all(objects, Dumper=_PlainDumper, sort_keys=False)


class _PlainDumper(yaml.SafeDumper):
    """Writes shared values out in full: kubectl's output has no anchors or aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def large_virtual_service() -> dict[str, Any]:
    """A compliant VirtualService with LARGE_VS_ROUTES HTTP routes (a big multi-path API)."""
    hosts = ["api.github.com", "storage.googleapis.com"]
    routes: list[dict[str, Any]] = []
    for i in range(LARGE_VS_ROUTES // 2):
        prefix = {"uri": {"prefix": f"/v{i % 4}/service-{i}/"}}
        routes.append(
            {
                "name": f"mesh-{i}",
                "match": [{"gateways": ["mesh"], "port": 443, **prefix}],
                "route": [{"destination": {"host": EGRESS_GATEWAY, "port": {"number": 443}}}],
                "timeout": "5s",
                "retries": {"attempts": 2, "perTryTimeout": "2s"},
            }
        )
        routes.append(
            {
                "name": f"egress-{i}",
                "match": [{"gateways": [EGRESS_GATEWAY_REF], "port": 443, **prefix}],
                "route": [{"destination": {"host": hosts[i % 2], "port": {"number": 443}}}],
            }
        )
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "big-api", "namespace": "default", "labels": {"app": "big-api"}},
        "spec": {"hosts": hosts, "gateways": ["mesh", EGRESS_GATEWAY_REF], "http": routes},
    }


def service_entry(name: str, host: str, namespace: str = "default") -> dict[str, Any]:
    """A DNS ServiceEntry for `host` on 443/TLS."""
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": [host],
            "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
            "resolution": "DNS",
            "location": "MESH_EXTERNAL",
        },
    }


@dataclass(frozen=True)
class EngineCase:
    """One row of the engine table: an object, the policy it meets, and the expected verdict."""

    label: str
    policy: str  # "example" or "large"
    obj: dict[str, Any]
    allowed: bool


def engine_cases() -> list[EngineCase]:
    """The representative objects, from the smallest to the largest."""
    return [
        EngineCase(
            "ServiceEntry allowed (1 host)",
            "example",
            manifest("allowed/github-via-egress-gateway.yaml", 0),
            allowed=True,
        ),
        EngineCase(
            "ServiceEntry denied (not allowlisted)",
            "example",
            manifest("denied/not-allowlisted.yaml"),
            allowed=False,
        ),
        EngineCase(
            "ServiceEntry allowed, STATIC + CIDR",
            "example",
            manifest("allowed/payments-db.yaml"),
            allowed=True,
        ),
        EngineCase(
            "VirtualService egress pattern",
            "example",
            manifest("allowed/github-via-egress-gateway.yaml", 1),
            allowed=True,
        ),
        EngineCase(
            "VirtualService denied (direct route)",
            "example",
            manifest("denied/direct-route.yaml"),
            allowed=False,
        ),
        EngineCase(
            f"VirtualService {LARGE_VS_ROUTES} routes",
            "example",
            large_virtual_service(),
            allowed=True,
        ),
        EngineCase(
            "SE allowed via nested wildcard",
            "large",
            service_entry("deep", "a.b.r1.svc-42.example.net"),
            allowed=True,
        ),
        EngineCase(
            "SE denied (not allowlisted)",
            "large",
            service_entry("exfil", "evil.example.org"),
            allowed=False,
        ),
        EngineCase(
            "VirtualService egress pattern",
            "large",
            manifest("allowed/github-via-egress-gateway.yaml", 1),
            allowed=True,
        ),
    ]


@dataclass(frozen=True)
class ReviewCase:
    """One AdmissionReview body the load generator sends, with the verdict it must get."""

    label: str
    body: bytes
    allowed: bool


def admission_review(obj: dict[str, Any], operation: str = "CREATE") -> dict[str, Any]:
    """The AdmissionReview v1 the API server would send for `obj` (shape of a real one)."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    kind = obj["kind"]
    group, _, version = obj["apiVersion"].rpartition("/")
    resource = {"ServiceEntry": "serviceentries", "VirtualService": "virtualservices"}[kind]
    # what the API server adds before admission: defaults, a uid, managedFields
    meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{meta['name']}")))
    meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
    meta.setdefault("generation", 1)
    meta.setdefault(
        "managedFields",
        [
            {
                "apiVersion": obj["apiVersion"],
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {".": {}, "f:hosts": {}}},
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "time": "2026-01-01T00:00:00Z",
            }
        ],
    )
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": group, "version": version, "kind": kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": meta["name"],
            "namespace": meta["namespace"],
            "operation": operation,
            "userInfo": {
                "username": "system:serviceaccount:ci:deployer",
                "uid": "5f7c5f4e-0000-4000-8000-000000000001",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:ci"],
            },
            "object": obj,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def review_cases() -> list[ReviewCase]:
    """The request mix of the request-path benchmark: the example manifests, half denied."""
    cases = [
        ("SE allowed", manifest("allowed/github-via-egress-gateway.yaml", 0), True),
        ("VS allowed", manifest("allowed/github-via-egress-gateway.yaml", 1), True),
        ("SE denied", manifest("denied/not-allowlisted.yaml"), False),
        ("VS denied", manifest("denied/direct-route.yaml"), False),
    ]
    return [
        ReviewCase(label, json.dumps(admission_review(obj)).encode(), allowed)
        for label, obj, allowed in cases
    ]


def opa_data(policy: CompiledPolicy | Policy) -> dict[str, Any]:
    """The policy as OPA data, indexed like CompiledPolicy (by exact host and wildcard domain).

    Indexing here, at load time, gives OPA the same advantage our engine has: a host
    lookup is a few object probes, not a scan of the allowlist.
    """
    model = policy.policy if isinstance(policy, CompiledPolicy) else policy
    exact: dict[str, list[dict[str, Any]]] = {}
    wildcard: dict[str, list[dict[str, Any]]] = {}
    for entry in model.allowlist:
        item: dict[str, Any] = {
            "host": entry.host,
            "ports": [
                {"number": p.number, **({"protocols": list(p.protocols)} if p.protocols else {})}
                for p in entry.ports
            ],
        }
        if entry.namespaces is not None:
            item["namespaces"] = list(entry.namespaces)
        if entry.cidrs:
            item["cidrs"] = [str(c) for c in entry.cidrs]
        if entry.is_wildcard:
            wildcard.setdefault(entry.host[2:], []).append(item)
        else:
            exact.setdefault(entry.host, []).append(item)
    gateway = model.egress_gateway
    return {
        "exact": exact,
        "wildcard": wildcard,
        "gateway_service": gateway.service,
        "gateway_refs": list(gateway.gateways),
        "require_all": "*" in gateway.require_for,
        "require_patterns": [p for p in gateway.require_for if p != "*"],
        "exempt_namespaces": list(model.exempt_namespaces),
        "cluster_domain": model.cluster_domain,
    }
