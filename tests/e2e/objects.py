"""Istio egress objects for the e2e tests: the example manifests and small builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "manifests"
E2E_MANIFESTS = Path(__file__).resolve().parent / "manifests"

Obj = dict[str, Any]


def load(path: Path) -> list[Obj]:
    """The objects in a (multi-document) YAML file, skipping empty documents."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def dump(*objs: Obj) -> str:
    """Multi-document YAML for `kubectl -f -`."""
    return str(yaml.safe_dump_all(objs, sort_keys=False))


def in_namespace(obj: Obj, namespace: str) -> Obj:
    """A copy of `obj` moved to `namespace`."""
    return {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}


def service_entry(
    name: str,
    namespace: str,
    host: str,
    *,
    version: str = "v1",
    port: int = 443,
    protocol: str = "TLS",
) -> Obj:
    """A DNS-resolved MESH_EXTERNAL ServiceEntry for one external host and port."""
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "ServiceEntry",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": [host],
            "ports": [{"number": port, "name": f"{protocol.lower()}-{port}", "protocol": protocol}],
            "resolution": "DNS",
            "location": "MESH_EXTERNAL",
        },
    }


def direct_route(name: str, namespace: str, host: str, *, version: str = "v1") -> Obj:
    """A VirtualService sending mesh TLS traffic for `host` straight out (no egress gateway)."""
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hosts": [host],
            "tls": [
                {
                    "match": [{"port": 443, "sniHosts": [host]}],
                    "route": [{"destination": {"host": host, "port": {"number": 443}}}],
                }
            ],
        },
    }


#: A known-bad object and the words its denial must carry; also the webhook's liveness probe.
EVIL_HOST = "evil.example.org"
NOT_ALLOWLISTED = "not on the egress allowlist"
PROBE = service_entry("e2e-probe", "default", EVIL_HOST)
