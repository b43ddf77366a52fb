"""EndpointSlice (discovery.k8s.io v1): the endpoints Istio and kube-proxy really read."""

from __future__ import annotations

from webhook.policy.core_subjects import EndpointSliceSubject
from webhook.policy.match_conditions import NOT_AN_ENDPOINT_CONTROLLER
from webhook.policy.registry import Kind
from webhook.policy.rules import endpoint_addresses, routing_labels
from webhook.resources.core import DISCOVERY_GROUP, DISCOVERY_VERSIONS, EndpointSliceBody

KIND = Kind(
    kind="EndpointSlice",
    group=DISCOVERY_GROUP,
    versions=DISCOVERY_VERSIONS,
    resource="endpointslices",
    model=EndpointSliceBody,
    subject=EndpointSliceSubject,
    rules=(endpoint_addresses.check, routing_labels.check),
    body=None,
    webhook="endpoints",
    match_conditions=(NOT_AN_ENDPOINT_CONTROLLER,),
)
