"""BackendTLS SNI: the SNI a BackendTLSPolicy presents outside must be a name its namespace may use.

Istio 1.28 turns a BackendTLSPolicy into a DestinationRule for each target in the
policy's namespace (a core Service: ``<name>.<ns>.svc.<domain>``; a ServiceEntry: every
one of its hosts; any other kind is "unsupported reference kind" and applies nothing)
with ``tls: {mode: SIMPLE, sni: validation.hostname}`` (BackendTLSPolicyCollection and
DestinationRuleCollection in pilot/pkg/config/kube/gateway/backend_policies.go); it has
no exportTo, so it applies wherever that service is used, the egress gateway included.
The SNI decides what a shared TLS front end serves (domain fronting: connect to an
allowlisted host's addresses, ask for another name) and which egress gateway server, and
so which external host, answers. So when a target is a ServiceEntry (its hosts are
external names, out of view here) or an egress gateway Service, the hostname is judged
as DestinationRule ``tls.sni`` is (destination-rule-sni): one exact name in the cluster
or allowlisted for the namespace. A policy for the namespace's own Services sends that
SNI only to their endpoints, which the Service and endpoint rules keep in the cluster,
so the Gateway API's usual ``hostname`` of the backend's certificate is fine there. The
subjectAltNames and CA decide which certificate is accepted, not where bytes go.

With the cluster view the ServiceEntry's hosts are known, and the hostname is judged as
destination-rule-sni judges a rule's: a host whose mesh traffic must use the egress gateway
may be the SNI only where every host of the entry must use it too; presented to an entry
with a host reached directly (``*.cdn.example.net`` beside a required ``api.github.com``)
it asks that front end for the required host from that host's addresses, around the
gateway (domain fronting). Without the view (or before the entry exists) the entry's hosts
are out of view, and a required hostname is admitted: it is what TLS origination to a
required host's own entry writes.

An XBackend (gateway.networking.x-k8s.io, read with PILOT_ENABLE_ALPHA_GATEWAY_API) with
``tls.mode: ServerOnly`` is a policy of its own: Istio makes a DestinationRule for its
``externalHostname.hostname`` with ``sni: tls.validation.hostname`` (or that hostname
when unset) whether or not any route uses it (XBackendCollection and
backendResourceTLSSettings in backend_policies.go), so it steers every client of that
registry host, the egress gateway's included. An SNI other than that hostname is judged
the same way, with the hostname as the target's host (its own name, the default, steers
nothing; the hostname itself reaches traffic only once a ServiceEntry registers it).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import sni_problem
from webhook.policy.decision import Violation
from webhook.policy.gateway_routes import egress_gateway_services
from webhook.policy.hosts import shown
from webhook.policy.subject import Subject
from webhook.resources.backend_tls_policy import BackendTLSPolicySpec, PolicyTargetRef
from webhook.resources.xbackend import XBackendSpec

RULE = "backend-tls-sni"

ISTIO_GROUP = "networking.istio.io"


def check(subject: Subject[BackendTLSPolicySpec]) -> Iterator[Violation]:
    """A validation.hostname sent outside that is not a name the namespace may use."""
    outward = [t for t in subject.spec.target_refs if _outward(subject, t)]
    if not outward:
        return
    hostname = subject.spec.validation.hostname
    problem = sni_problem(subject, hostname)
    target = outward[0]
    if problem is None:
        fronted = next((t for t in outward if _fronts_past_gateway(subject, t, hostname)), None)
        if fronted is not None:
            target = fronted
            problem = (
                f'"{hostname.lower()}" must use the egress gateway, and the ServiceEntry has '
                "hosts whose traffic goes straight out"
            )
    if problem is not None:
        yield Violation(
            RULE,
            "spec.validation.hostname",
            f"hostname {shown(hostname)} is the SNI Istio presents when it connects to "
            f'{target.kind} "{target.name}", and that name decides what the far end serves: '
            f'{problem}; set it to a host allowlisted for namespace "{subject.namespace}" '
            "(usually the target's own host) or an in-cluster name",
        )


def _outward(subject: Subject[BackendTLSPolicySpec], target: PolicyTargetRef) -> bool:
    """True for a ServiceEntry target, or a Service that is an egress gateway Service."""
    if (target.group, target.kind) == (ISTIO_GROUP, "ServiceEntry"):
        return True
    if (target.group, target.kind) != ("", "Service"):
        return False
    fqdn = f"{target.name}.{subject.namespace}.svc.{subject.policy.cluster_domain}".lower()
    return fqdn in egress_gateway_services(subject.policy)


def _fronts_past_gateway(
    subject: Subject[BackendTLSPolicySpec], target: PolicyTargetRef, hostname: str
) -> bool:
    """True when `hostname` is a gateway-required host and `target` is a live ServiceEntry
    (cluster view) with an external host the egress gateway is not required for throughout
    (destination-rule-sni's ``_fronts_past_gateway``, with the entry's hosts as the rule's)."""
    view = subject.view
    if (target.group, target.kind) != (ISTIO_GROUP, "ServiceEntry") or view is None:
        return False
    if view.stale or not subject.policy.fronts_gateway_host(hostname):
        return False
    entry = view.service_entry(subject.namespace, target.name)
    spec = entry.get("spec") if entry is not None else None
    hosts = spec.get("hosts") if isinstance(spec, dict) else None
    return isinstance(hosts, list) and any(
        isinstance(host, str)
        and subject.is_external(host.lower())
        and not subject.policy.requires_gateway_throughout(host.lower())
        for host in hosts
    )


def check_xbackend(subject: Subject[XBackendSpec]) -> Iterator[Violation]:
    """An XBackend's TLS SNI that is not a name the namespace may use there."""
    spec = subject.spec
    tls, target = spec.tls, spec.external_hostname
    if tls is None or tls.mode != "ServerOnly" or target is None or not target.hostname:
        return  # None builds no TLS; ClientAndServer and others are refused by Istio
    field = "spec.tls.validation.hostname"
    sni = tls.validation.hostname
    if not sni:
        field, sni = "spec.externalHostname.hostname", target.hostname
    host = target.hostname.lower()
    if sni.lower() == host:
        return  # the host's own name, sent to the host: nothing is steered
    problem = sni_problem(subject, sni)
    if (
        problem is None
        and subject.is_external(host)
        and not subject.policy.requires_gateway_throughout(host)
        and subject.policy.fronts_gateway_host(sni)
    ):
        problem = f'"{sni.lower()}" must use the egress gateway, and "{host}" goes straight out'
    if problem is not None:
        yield Violation(
            RULE,
            field,
            f"hostname {shown(sni)} is the SNI Istio presents to every client's connection to "
            f'"{target.hostname}" (the XBackend\'s TLS is a DestinationRule for that host), and '
            f"that name decides what the far end serves: {problem}; set it to a host "
            f'allowlisted for namespace "{subject.namespace}" (usually "{target.hostname}")',
        )
