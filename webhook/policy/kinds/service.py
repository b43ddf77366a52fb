"""Service (core v1): an ExternalName alias, external IPs, and routing metadata."""

from __future__ import annotations

from webhook.policy.core_subjects import ServiceSubject
from webhook.policy.match_conditions import SERVICE_MAY_ROUTE
from webhook.policy.registry import Kind
from webhook.policy.rules import export_scope, external_name, routing_labels, service_addresses
from webhook.resources.core import CORE_GROUP, CORE_VERSIONS, ServiceSpec

KIND = Kind(
    kind="Service",
    group=CORE_GROUP,
    versions=CORE_VERSIONS,
    resource="services",
    model=ServiceSpec,
    subject=ServiceSubject,
    rules=(
        external_name.check,
        service_addresses.check,
        export_scope.check,
        routing_labels.check,
    ),
    webhook="services",
    match_conditions=(SERVICE_MAY_ROUTE,),
)
