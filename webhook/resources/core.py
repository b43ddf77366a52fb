"""Service, Endpoints (core v1) and EndpointSlice (discovery.k8s.io v1): the fields that route.

The API server validates these kinds strictly itself, so the models read only what
decides where traffic goes and ignore the rest (extra="ignore"): a Service's type,
externalName, externalIPs and ports; the addresses and ports of Endpoints and
EndpointSlices. Field names are the wire's camelCase.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: The API group and versions of EndpointSlice.
DISCOVERY_GROUP = "discovery.k8s.io"
DISCOVERY_VERSIONS = ("v1",)
#: The core group ("" in a webhook rule; apiVersion "v1").
CORE_GROUP = ""
CORE_VERSIONS = ("v1",)


class _Core(BaseModel):
    """A core-kind model: unknown fields are Kubernetes' business, not routing we miss."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=False)

    @model_validator(mode="before")
    @classmethod
    def _null_is_unset(cls, data: Any) -> Any:
        # Go serializes some empty lists without omitempty as null (EndpointSlice.ports,
        # .endpoints, Endpoint.addresses): null is "none", never a schema error.
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v is not None}
        return data


class CorePort(_Core):
    """A Service, Endpoints or EndpointSlice port (EndpointSlice may leave `port` unset)."""

    port: int | None = None
    name: str | None = None
    protocol: str | None = None
    app_protocol: str | None = Field(default=None, alias="appProtocol")


class ServiceSpec(_Core):
    """Service.spec: what makes a Service name point somewhere, or answer for an address."""

    type: str = "ClusterIP"
    external_name: str | None = Field(default=None, alias="externalName")
    external_ips: tuple[str, ...] = Field(default=(), alias="externalIPs")
    ports: tuple[CorePort, ...] = ()

    @property
    def is_external_name(self) -> bool:
        """True when Istio reads the Service as an ExternalName alias (ConvertService)."""
        return self.type == "ExternalName" and bool(self.external_name)


class EndpointAddress(_Core):
    """Endpoints.subsets[].addresses[] / notReadyAddresses[]."""

    ip: str = ""


class EndpointSubset(_Core):
    """One Endpoints subset: addresses crossed with ports."""

    addresses: tuple[EndpointAddress, ...] = ()
    not_ready_addresses: tuple[EndpointAddress, ...] = Field(default=(), alias="notReadyAddresses")
    ports: tuple[CorePort, ...] = ()


class EndpointsBody(_Core):
    """An Endpoints object less its envelope (it has no spec)."""

    subsets: tuple[EndpointSubset, ...] = ()


class SliceEndpoint(_Core):
    """EndpointSlice.endpoints[]: IPs, or DNS names when addressType is FQDN."""

    addresses: tuple[str, ...] = ()


class EndpointSliceBody(_Core):
    """An EndpointSlice less its envelope (it has no spec)."""

    address_type: str = Field(default="IPv4", alias="addressType")
    endpoints: tuple[SliceEndpoint, ...] = ()
    ports: tuple[CorePort, ...] = ()
