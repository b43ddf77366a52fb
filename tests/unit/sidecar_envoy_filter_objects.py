"""Builders for Sidecar and EnvoyFilter dicts, and the Istio docs' ordinary examples of both."""

from __future__ import annotations

from typing import Any

TENANT = "shop"


def sidecar(
    namespace: str = TENANT,
    name: str = "default",
    *,
    api_version: str = "networking.istio.io/v1",
    **spec: Any,
) -> dict[str, Any]:
    """A Sidecar; spec keys are given in the wire's camelCase."""
    return {
        "apiVersion": api_version,
        "kind": "Sidecar",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def envoy_filter(
    *patches: dict[str, Any], namespace: str = TENANT, name: str = "ef", **spec: Any
) -> dict[str, Any]:
    """An EnvoyFilter (v1alpha3, its only served version) with `patches` as configPatches."""
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"configPatches": list(patches), **spec},
    }


def patch(
    apply_to: str,
    value: dict[str, Any] | None = None,
    *,
    context: str | None = None,
    operation: str = "INSERT_BEFORE",
    **match: Any,
) -> dict[str, Any]:
    """One configPatch; `context=None` leaves match.context out (Istio's default: ANY)."""
    out: dict[str, Any] = {"applyTo": apply_to, "patch": {"operation": operation}}
    if value is not None:
        out["patch"]["value"] = value
    if context is not None:
        match["context"] = context
    if match:
        out["match"] = match
    return out


HCM = {"filterChain": {"filter": {"name": "envoy.filters.network.http_connection_manager"}}}

#: istio.io tasks/policy-enforcement/rate-limit, "Local rate limit": the filter itself.
LOCAL_RATELIMIT = {
    "name": "envoy.filters.http.local_ratelimit",
    "typed_config": {
        "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
        "type_url": (
            "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
        ),
        "value": {
            "stat_prefix": "http_local_rate_limiter",
            "token_bucket": {"max_tokens": 4, "tokens_per_fill": 4, "fill_interval": "60s"},
            "filter_enabled": {
                "runtime_key": "local_rate_limit_enabled",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            "filter_enforced": {
                "runtime_key": "local_rate_limit_enforced",
                "default_value": {"numerator": 100, "denominator": "HUNDRED"},
            },
            "response_headers_to_add": [
                {
                    "append_action": "APPEND_IF_EXISTS_OR_ADD",
                    "header": {"key": "x-local-rate-limit", "value": "true"},
                }
            ],
        },
    },
}


def local_ratelimit_filter(**spec: Any) -> dict[str, Any]:
    """The rate-limit task's EnvoyFilter for productpage, SIDECAR_INBOUND."""
    return envoy_filter(
        patch("HTTP_FILTER", LOCAL_RATELIMIT, context="SIDECAR_INBOUND", listener=HCM),
        name="filter-local-ratelimit-svc",
        workloadSelector={"labels": {"app": "productpage"}},
        **spec,
    )


def lua(code: str = "function envoy_on_request(h) end") -> dict[str, Any]:
    """An inline Lua HTTP filter."""
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "inline_code": code,
        },
    }
