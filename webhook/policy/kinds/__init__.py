"""Every kind the webhook checks, one line each: the engine, metrics, checker and chart read this.

Adding a kind: a resource model (`webhook/resources/`), a subject if its rules share
derived data (`webhook/policy/subject.py` or a module of its own), rule modules
(`webhook/policy/rules/`), a module here that assembles them, and one line below.
"""

from __future__ import annotations

from webhook.policy.kinds import (
    backend_tls_policy,
    destination_rule,
    endpoint_slice,
    endpoints,
    envoy_filter,
    gateway,
    gateway_api_gateway,
    gateway_routes,
    request_authentication,
    service,
    service_entry,
    sidecar,
    traffic_extension,
    virtual_service,
    wasm_plugin,
    workload_entry,
    xbackend,
)
from webhook.policy.registry import Registry

KINDS = Registry(
    service_entry.KIND,
    virtual_service.KIND,
    destination_rule.KIND,
    gateway.KIND,
    workload_entry.KIND,
    sidecar.KIND,
    envoy_filter.KIND,
    request_authentication.KIND,
    wasm_plugin.KIND,
    traffic_extension.KIND,
    *gateway_routes.KINDS,
    gateway_api_gateway.KIND,
    backend_tls_policy.KIND,
    xbackend.KIND,
    service.KIND,
    endpoints.KIND,
    endpoint_slice.KIND,
)
