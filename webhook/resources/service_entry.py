"""ServiceEntry (networking.istio.io v1alpha3, v1beta1, v1), per istio/api service_entry.proto."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from webhook.resources.base import IstioSpec

#: The proto default (enum value 0) when `resolution` is unset.
DEFAULT_RESOLUTION = "NONE"
#: The proto default (enum value 0) when `location` is unset.
DEFAULT_LOCATION = "MESH_EXTERNAL"

Resolution = Literal["NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS"]
Location = Literal["MESH_EXTERNAL", "MESH_INTERNAL"]


class ServicePort(IstioSpec):
    """A port the hosts are reached on; `targetPort` is the port on the endpoint."""

    number: int
    name: str = ""
    protocol: str | None = None
    target_port: int | None = Field(default=None, alias="targetPort")

    @property
    def effective_protocol(self) -> str | None:
        """The declared protocol, upper-cased as Istio parses it; None when undeclared."""
        return self.protocol.upper() if self.protocol else None

    @property
    def effective_target_port(self) -> int:
        """Where the endpoint receives this port's traffic: targetPort, unless unset (0)."""
        return self.target_port or self.number


class WorkloadEntry(IstioSpec):
    """An endpoint: an IP, a host name, a unix socket, or (multi-network) a network alone."""

    address: str | None = None
    ports: dict[str, int] = Field(default_factory=dict)
    labels: dict[str, str] | None = None
    network: str | None = None
    locality: str | None = None
    weight: int | None = None
    service_account: str | None = Field(default=None, alias="serviceAccount")


class WorkloadSelector(IstioSpec):
    """Selects in-mesh workloads (pods, WorkloadEntries) as the endpoints."""

    labels: dict[str, str] = Field(default_factory=dict)


class ServiceEntrySpec(IstioSpec):
    """ServiceEntry.spec."""

    hosts: list[str] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    ports: list[ServicePort] = Field(default_factory=list)
    location: Location | None = None
    resolution: Resolution | None = None
    endpoints: list[WorkloadEntry] = Field(default_factory=list)
    workload_selector: WorkloadSelector | None = Field(default=None, alias="workloadSelector")
    export_to: list[str] | None = Field(default=None, alias="exportTo")
    subject_alt_names: list[str] | None = Field(default=None, alias="subjectAltNames")

    @property
    def effective_resolution(self) -> str:
        """`resolution`, or its proto default NONE."""
        return self.resolution or DEFAULT_RESOLUTION

    @property
    def effective_location(self) -> str:
        """`location`, or its proto default MESH_EXTERNAL."""
        return self.location or DEFAULT_LOCATION
