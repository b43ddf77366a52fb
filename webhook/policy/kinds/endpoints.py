"""Endpoints (core v1): hand-written addresses of a Service without a selector."""

from __future__ import annotations

from webhook.policy.core_subjects import EndpointsSubject
from webhook.policy.match_conditions import NOT_AN_ENDPOINT_CONTROLLER
from webhook.policy.registry import Kind
from webhook.policy.rules import endpoint_addresses, routing_labels
from webhook.resources.core import CORE_GROUP, CORE_VERSIONS, EndpointsBody

KIND = Kind(
    kind="Endpoints",
    group=CORE_GROUP,
    versions=CORE_VERSIONS,
    resource="endpoints",
    model=EndpointsBody,
    subject=EndpointsSubject,
    rules=(endpoint_addresses.check, routing_labels.check),
    body=None,
    webhook="endpoints",
    match_conditions=(NOT_AN_ENDPOINT_CONTROLLER,),
)
