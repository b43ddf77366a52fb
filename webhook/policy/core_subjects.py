"""Subjects of the core kinds: a Service's export scope, the addresses Endpoints point at."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from webhook.policy.index import CompiledPolicy
from webhook.policy.subject import Subject
from webhook.resources.base import ObjectMeta
from webhook.resources.core import CorePort, EndpointsBody, EndpointSliceBody, ServiceSpec

#: The Service annotation Istio reads as the Service's exportTo (ConvertService).
EXPORT_TO_ANNOTATION = "networking.istio.io/exportTo"


@dataclass(frozen=True, slots=True)
class ServiceSubject(Subject[ServiceSpec]):
    """A Service under evaluation; its exportTo is an annotation."""

    @property
    def export_to(self) -> list[str] | None:
        """networking.istio.io/exportTo, split on commas as ConvertService does."""
        raw = self.metadata.annotations.get(EXPORT_TO_ANNOTATION)
        if not raw:
            return None
        return [part.strip() for part in raw.split(",")]

    @property
    def export_field(self) -> str:
        """Where the Service's exportTo is written."""
        return f"metadata.annotations[{EXPORT_TO_ANNOTATION}]"

    def exported_hosts(self) -> Sequence[str]:
        """An ExternalName's external target: every namespace seeing the alias can use it."""
        if not self.spec.is_external_name:
            return ()
        host = (self.spec.external_name or "").lower()
        return [host] if self.is_external(host) else []


@dataclass(frozen=True, slots=True)
class Target:
    """One address an Endpoints or EndpointSlice object sends its Service's traffic to."""

    field: str
    address: str
    ports: tuple[CorePort, ...]
    #: True for an FQDN EndpointSlice, whose addresses are DNS names.
    is_name: bool = False


@dataclass(frozen=True, slots=True)
class EndpointsSubject(Subject[EndpointsBody]):
    """An Endpoints object with every address flattened into targets once."""

    targets: tuple[Target, ...] = ()

    @classmethod
    def derived(
        cls, spec: EndpointsBody, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """Ready and not-ready addresses alike: either may receive traffic."""
        return {"targets": tuple(_endpoints_targets(spec))}


@dataclass(frozen=True, slots=True)
class EndpointSliceSubject(Subject[EndpointSliceBody]):
    """An EndpointSlice with every address flattened into targets once."""

    targets: tuple[Target, ...] = ()

    @classmethod
    def derived(
        cls, spec: EndpointSliceBody, metadata: ObjectMeta, namespace: str, policy: CompiledPolicy
    ) -> dict[str, Any]:
        """Every endpoint's addresses, names when the slice's addressType is FQDN."""
        is_name = spec.address_type == "FQDN"
        targets = tuple(
            Target(f"endpoints[{i}].addresses[{j}]", address, spec.ports, is_name)
            for i, endpoint in enumerate(spec.endpoints)
            for j, address in enumerate(endpoint.addresses)
        )
        return {"targets": targets}


def _endpoints_targets(body: EndpointsBody) -> Iterator[Target]:
    for i, subset in enumerate(body.subsets):
        for key, addresses in (
            ("addresses", subset.addresses),
            ("notReadyAddresses", subset.not_ready_addresses),
        ):
            for j, address in enumerate(addresses):
                yield Target(f"subsets[{i}].{key}[{j}].ip", address.ip, subset.ports)
