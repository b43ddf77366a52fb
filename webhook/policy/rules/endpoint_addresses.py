"""Endpoints and EndpointSlices: a Service's endpoints stay in the cluster or are allowed.

Istio reads a Service's endpoints from EndpointSlices (pilot/pkg/serviceregistry/kube/
controller/endpointslice.go, updateEndpointCacheForSlice) and sends the Service's
traffic to those addresses by EDS, with no VirtualService in between; an Endpoints
object of a Service without a selector is mirrored into EndpointSlices by the
endpointslice-mirroring controller. So a hand-written address outside the policy's
internalNetworks points an in-cluster name outside the cluster: it must be in the cidrs
of an allowlist entry the namespace may use, on the object's ports, for a host that does
not require the egress gateway, and not only for some namespaces (the Service's exportTo
annotation is not on this object). FQDN slices are ignored by Istio today
(istio/istio#34995) and by kube-proxy; their names are judged the same way, for the day
they are read. Writes by the endpoint controllers never reach the webhook (the webhook
entry's matchConditions exclude their users).
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.core_addresses import name_target_problem, target_problem
from webhook.policy.core_subjects import EndpointSliceSubject, EndpointsSubject
from webhook.policy.decision import Violation

RULE = "endpoint-addresses"


def check(subject: EndpointsSubject | EndpointSliceSubject) -> Iterator[Violation]:
    """An endpoint address that points the Service outside what the namespace may reach."""
    for target in subject.targets:
        if target.is_name:
            problem = name_target_problem(subject, target.address, target.ports)
        else:
            problem = target_problem(subject, target.address, target.ports)
        if problem is not None:
            yield Violation(
                RULE,
                target.field,
                f"{subject.kind} {subject.namespace}/{subject.name} points its Service "
                f"outside the cluster: {problem}",
            )
