"""WasmPlugin (extensions.istio.io v1alpha1), per istio/api extensions/v1alpha1/wasm.proto."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from webhook.resources.base import IstioSpec
from webhook.resources.destination_rule import WorkloadSelector
from webhook.resources.envoy_filter import PolicyTargetReference


class EnvVar(IstioSpec):
    """EnvVar: a variable the module's VM sees (inline, or the proxy's own with HOST)."""

    name: str = ""
    value: str | None = None
    value_from: Literal["INLINE", "HOST"] | None = Field(default=None, alias="valueFrom")


class VmConfig(IstioSpec):
    """VmConfig: the module VM's environment."""

    env: list[EnvVar] = Field(default_factory=list)


class PortSelector(IstioSpec):
    """PortSelector of a TrafficSelector."""

    number: int | None = None


class TrafficSelector(IstioSpec):
    """TrafficSelector (WasmPlugin's and TrafficExtension's): which listeners get the filter."""

    mode: Literal["UNDEFINED", "CLIENT", "SERVER", "CLIENT_AND_SERVER"] | None = None
    ports: list[PortSelector] = Field(default_factory=list)


class WasmModule(IstioSpec):
    """Where a Wasm module comes from and how it runs: a WasmPlugin's own fields, and
    TrafficExtension.wasm (WasmConfig in traffic_extension.proto, the same fields)."""

    #: Where istio-agent fetches the module (oci://, https://, http://; no scheme is oci),
    #: or file:// for a file already in the proxy container.
    url: str = ""
    sha256: str | None = None
    image_pull_policy: Literal["UNSPECIFIED_POLICY", "IfNotPresent", "Always"] | None = Field(
        default=None, alias="imagePullPolicy"
    )
    image_pull_secret: str | None = Field(default=None, alias="imagePullSecret")
    verification_key: str | None = Field(default=None, alias="verificationKey")
    #: Handed to the module as its configuration (a google.protobuf.Struct).
    plugin_config: dict[str, Any] | None = Field(default=None, alias="pluginConfig")
    plugin_name: str | None = Field(default=None, alias="pluginName")
    fail_strategy: Literal["FAIL_CLOSE", "FAIL_OPEN", "FAIL_RELOAD"] | None = Field(
        default=None, alias="failStrategy"
    )
    vm_config: VmConfig | None = Field(default=None, alias="vmConfig")
    type: Literal["UNSPECIFIED_PLUGIN_TYPE", "HTTP", "NETWORK"] | None = None


class WasmPluginSpec(WasmModule):
    """WasmPlugin.spec: a module (its url and settings at the top level) and where it runs."""

    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = Field(default=None, alias="targetRef")
    target_refs: list[PolicyTargetReference] = Field(default_factory=list, alias="targetRefs")
    phase: Literal["UNSPECIFIED_PHASE", "AUTHN", "AUTHZ", "STATS"] | None = None
    priority: int | None = None
    match: list[TrafficSelector] = Field(default_factory=list)
