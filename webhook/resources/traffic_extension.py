"""TrafficExtension (extensions.istio.io v1alpha1), per istio/api traffic_extension.proto.

It supersedes WasmPlugin: the same targeting (selector or targetRefs, match) and
ordering (phase, priority), with the filter in `wasm` (WasmConfig: a WasmPlugin's module
fields, shared as `WasmModule`) or `lua` (inline code). The CRD requires exactly one of
the two; istiod discards an object with neither (model/extensions.go
`convertToTrafficExtensionWrapper`), so each one present is judged on its own.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from webhook.resources.base import IstioSpec
from webhook.resources.destination_rule import WorkloadSelector
from webhook.resources.envoy_filter import PolicyTargetReference
from webhook.resources.wasm_plugin import TrafficSelector, WasmModule


class LuaConfig(IstioSpec):
    """LuaConfig: code istiod inlines into an envoy.filters.http.lua filter."""

    #: The Lua script (`envoy_on_request`, `envoy_on_response`); at most 64 KiB.
    inline_code: str = Field(default="", alias="inlineCode")


class TrafficExtensionSpec(IstioSpec):
    """TrafficExtension.spec."""

    selector: WorkloadSelector | None = None
    target_refs: list[PolicyTargetReference] = Field(default_factory=list, alias="targetRefs")
    phase: Literal["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] | None = None
    priority: int | None = None
    match: list[TrafficSelector] = Field(default_factory=list)
    wasm: WasmModule | None = None
    lua: LuaConfig | None = None
