"""VirtualService (networking.istio.io): routes traffic at sidecars and gateways."""

from __future__ import annotations

from webhook.policy.registry import Kind
from webhook.policy.rules import (
    coverage_kept,
    cross_namespace_hosts,
    export_scope,
    external_destinations,
    gateway_routing,
    mesh_routing,
    routing_labels,
    virtual_service_hosts,
)
from webhook.policy.subject import VirtualServiceSubject
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.virtual_service import VirtualServiceSpec

KIND = Kind(
    kind="VirtualService",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="virtualservices",
    model=VirtualServiceSpec,
    subject=VirtualServiceSubject,
    rules=(
        virtual_service_hosts.check,
        mesh_routing.check,
        gateway_routing.check,
        external_destinations.check,
        export_scope.check,
        routing_labels.check,
        coverage_kept.check,
        cross_namespace_hosts.check_virtual_service,
    ),
    # With a cluster view, deleting a VirtualService may uncover a live ServiceEntry.
    operations=("CREATE", "UPDATE", "DELETE"),
    delete_rules=(coverage_kept.check,),
)
