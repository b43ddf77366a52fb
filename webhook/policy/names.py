"""Istio's name semantics: short names, the cluster domain, and Gateway references."""

from __future__ import annotations

import ipaddress

from webhook.policy.hosts import is_ip_literal
from webhook.resources.virtual_service import MESH_GATEWAY


def resolve_service_host(host: str, namespace: str, cluster_domain: str) -> str:
    """The FQDN Istio reads for a VirtualService host or destination.

    A name without a dot is short for ``<name>.<namespace>.svc.<cluster domain>``
    (relative to the object's namespace); anything else, including an IP address (an
    IPv6 literal has no dot), is taken literally, as ResolveShortnameToFQDN does.
    Lower-cased, since DNS and Istio's registry compare case-insensitively.
    """
    name = host.lower()
    if name and "." not in name and name != "*" and not is_ip_literal(name):
        return f"{name}.{namespace}.svc.{cluster_domain}"
    return name


def is_in_cluster(fqdn: str, cluster_domain: str) -> bool:
    """True for names under the cluster domain (Services, ``*.svc.cluster.local``)."""
    name = fqdn[2:] if fqdn.startswith("*.") else fqdn
    return name == cluster_domain or name.endswith("." + cluster_domain)


def resolve_gateway_ref(ref: str, namespace: str) -> str:
    """A VirtualService `gateways` entry as ``namespace/name``, or ``mesh``.

    Follows Istio's resolveGatewayName: ``ns/name``; ``./name`` and a bare ``name`` are
    in the VirtualService's namespace; the legacy ``name.ns.svc.cluster.local`` (or
    ``name.ns``) form names namespace ``ns``.
    """
    if ref == MESH_GATEWAY:
        return MESH_GATEWAY
    if "/" in ref:
        ns, _, name = ref.partition("/")
        return f"{namespace if ns == '.' else ns}/{name}"
    if "." not in ref:
        return f"{namespace}/{ref}"
    name, _, rest = ref.partition(".")
    return f"{rest.split('.', 1)[0]}/{name}"


def pod_record_address(name: str, cluster_domain: str) -> str | None:
    """The IP CoreDNS answers for a pod record ``[...].<ip>.<ns>.pod.<domain>``, or None.

    findPods (coredns plugin/kubernetes/kubernetes.go): a pod name with three dashes and
    no ``--`` is an IPv4 address with dots for dashes, any other an IPv6 one with colons;
    one that does not parse as an IP answers nothing. Labels before the pod name
    (an endpoint or a ``_port._proto``, parseRequest) do not change the answer.
    """
    suffix = f".pod.{cluster_domain}"
    host = name.lower()
    if not host.endswith(suffix):
        return None
    labels = host[: -len(suffix)].split(".")
    if len(labels) < 2:
        return None
    pod = labels[-2]
    if pod.count("-") == 3 and "--" not in pod:
        candidate = pod.replace("-", ".")
    else:
        candidate = pod.replace("-", ":")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None
