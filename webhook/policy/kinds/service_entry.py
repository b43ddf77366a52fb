"""ServiceEntry (networking.istio.io): registers external hosts in the mesh."""

from __future__ import annotations

from webhook.policy.registry import Kind
from webhook.policy.rules import (
    cross_namespace_hosts,
    export_scope,
    gateway_coverage,
    routing_labels,
    service_entry_endpoints,
    service_entry_hosts,
    service_entry_ports,
    service_entry_resolution,
)
from webhook.policy.subject import ServiceEntrySubject
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.service_entry import ServiceEntrySpec

KIND = Kind(
    kind="ServiceEntry",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="serviceentries",
    model=ServiceEntrySpec,
    subject=ServiceEntrySubject,
    rules=(
        service_entry_hosts.check,
        service_entry_ports.check,
        service_entry_resolution.check,
        service_entry_endpoints.check,
        export_scope.check,
        routing_labels.check,
        gateway_coverage.check,
        cross_namespace_hosts.check_service_entry,
    ),
)
