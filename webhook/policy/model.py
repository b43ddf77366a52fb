"""The policy file schema: strict, frozen pydantic models with every field described."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from webhook.policy.hosts import HostPatternError, normalize_policy_host

#: Protocols a ServiceEntry/VirtualService port may declare (istio/api Port.protocol).
Protocol = Literal["HTTP", "HTTPS", "GRPC", "GRPC-WEB", "HTTP2", "MONGO", "TCP", "TLS"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def strict_cidrs(value: object) -> object:
    """A list of CIDR strings as networks; a host address with bits set is an error."""
    if not isinstance(value, list | tuple):
        return value
    out = []
    for item in value:
        if not isinstance(item, str):
            raise ValueError(f"CIDR must be a string like 10.0.0.0/24, got {item!r}")
        try:
            out.append(ipaddress.ip_network(item, strict=True))
        except ValueError as exc:
            raise ValueError(
                f"{item!r} is not a network address in CIDR form ({exc}); "
                "write the network address, e.g. 192.168.1.0/24"
            ) from None
    return tuple(out)


class _Strict(BaseModel):
    """Unknown keys are errors (a typo must never silently widen or narrow the policy)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        str_strip_whitespace=False,
    )


class PortRule(_Strict):
    """A port an allowlisted host may be reached on, optionally limited to protocols."""

    number: Annotated[int, Field(ge=1, le=65535)] = Field(
        description="TCP port number the external host may be reached on (1-65535)."
    )
    protocols: tuple[Protocol, ...] | None = Field(
        default=None,
        description=(
            "Istio port protocols allowed on this port (HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, "
            "MONGO, TCP, TLS). Omitted means any protocol."
        ),
    )

    @field_validator("protocols", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        if isinstance(value, list | tuple):
            return tuple(v.upper() if isinstance(v, str) else v for v in value)
        return value


class AllowlistEntry(_Strict):
    """One external host (or wildcard domain) tenants may open, and how."""

    host: str = Field(
        description=(
            'Exact host ("api.github.com") or wildcard domain ("*.googleapis.com": any '
            "subdomain at any depth, not the domain itself). Lower-case ASCII DNS names only."
        )
    )
    namespaces: tuple[str, ...] | None = Field(
        default=None,
        description="Namespaces that may use this entry. Omitted means every namespace.",
    )
    ports: tuple[PortRule, ...] = Field(
        min_length=1, description="Ports (and protocols) the host may be reached on."
    )
    cidrs: tuple[IPNetwork, ...] = Field(
        default=(),
        description=(
            "Networks that addresses and endpoint IPs of this host must fall in. Omitted "
            "means the host may only be resolved by DNS: no addresses, no IP endpoints."
        ),
    )

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            return normalize_policy_host(value)
        except HostPatternError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("cidrs", mode="before")
    @classmethod
    def _strict_cidrs(cls, value: object) -> object:
        return strict_cidrs(value)

    @property
    def is_wildcard(self) -> bool:
        """True for a ``*.domain`` entry."""
        return self.host.startswith("*.")


class EgressGateway(_Strict):
    """Where mesh traffic to external hosts must go, and which Gateways are egress gateways."""

    service: str = Field(
        default="istio-egressgateway.istio-system.svc.cluster.local",
        description="Fully qualified name of the egress gateway Service mesh routes must use.",
    )
    gateways: tuple[str, ...] = Field(
        default=("istio-system/istio-egressgateway",),
        min_length=1,
        description='Gateway objects ("namespace/name") that are approved egress gateways.',
    )
    require_for: tuple[str, ...] = Field(
        default=("*",),
        description=(
            'Allowlisted hosts whose mesh traffic must go through the egress gateway: "*" '
            "for every host, or hosts and *.domain patterns. Empty means none."
        ),
    )

    selector: dict[str, str] = Field(
        # Both labels Istio's egress gateway charts put on the pods (gateways/istio-egress
        # values.yaml `labels`, and the `gateway` chart's app/istio pair): a Gateway that
        # selects them by either one programs them (mergeGateways, SubsetOf).
        default_factory=lambda: {"istio": "egressgateway", "app": "istio-egressgateway"},
        min_length=1,
        description=(
            "Labels of the egress gateway pods (list every label they carry). A Gateway whose "
            "selector matches these pods (or that has no selector, which applies to every "
            "gateway workload) serves at the egress gateway, so its servers open egress."
        ),
    )
    coverage: Literal["enforce", "warn", "off"] = Field(
        default="enforce",
        description=(
            "With a cluster view (serve --kubeconfig or --in-cluster; audit): a ServiceEntry "
            "whose hosts require the egress gateway is admitted only when, for each such host "
            "and port, a VirtualService visible to its namespace sends mesh traffic to the "
            "egress gateway; a VirtualService update or delete that would leave a live "
            "ServiceEntry uncovered is refused. enforce: deny; warn: admit with a warning; "
            "off: do not check. Without a cluster view coverage is not checked."
        ),
    )
    waypoints: tuple[str, ...] = Field(
        default=(),
        description=(
            'Ambient mode: waypoints ("namespace/name") that are egress gateways; an '
            "istio.io/use-waypoint label may name only these. Empty means the label is refused."
        ),
    )

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        host = value.lower()
        if host.count(".") < 4 or not host.endswith(".svc." + host.split(".svc.", 1)[-1]):
            raise ValueError(
                f"{value!r} must be a fully qualified Service name, "
                '"<name>.<namespace>.svc.<cluster domain>"'
            )
        return host

    @field_validator("coverage", mode="before")
    @classmethod
    def _coverage_off(cls, value: object) -> object:
        # YAML 1.1 reads an unquoted `off` as false; that is what the author wrote.
        return "off" if value is False else value

    @field_validator("gateways", "waypoints")
    @classmethod
    def _gateways(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ref in value:
            parts = ref.split("/")
            if len(parts) != 2 or not all(parts):
                raise ValueError(f'{ref!r} must be "namespace/name"')
        return tuple(v.lower() for v in value)

    @field_validator("require_for")
    @classmethod
    def _require_for(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for pattern in value:
            if pattern == "*":
                out.append(pattern)
                continue
            try:
                out.append(normalize_policy_host(pattern))
            except HostPatternError as exc:
                raise ValueError(f'{exc} (or "*" for every host)') from None
        return tuple(out)

    @property
    def service_namespace(self) -> str:
        """Namespace of the egress gateway Service."""
        return self.service.split(".")[1]


class Policy(_Strict):
    """The whole policy file."""

    allowlist: tuple[AllowlistEntry, ...] = Field(
        description="External hosts tenants may open. Anything not listed is denied."
    )
    egress_gateway: EgressGateway = Field(
        default_factory=EgressGateway,
        description="The egress gateway that mesh traffic to external hosts must use.",
    )
    exempt_namespaces: tuple[str, ...] = Field(
        default=(),
        description="Namespaces whose objects are not checked (matched by exact name).",
    )
    mode: Literal["enforce", "warn"] = Field(
        default="enforce",
        description="enforce: deny non-compliant objects; warn: allow them, returning warnings.",
    )
    existing_violations: Literal["allow", "deny"] = Field(
        default="allow",
        description=(
            "allow: an UPDATE of an object that already violated the policy (say, the "
            "allowlist shrank) is admitted when it adds no new violation and changes "
            "nothing Istio reads (the spec, istio.io and kubernetes.io labels and "
            "annotations; not kubectl's bookkeeping or the app.kubernetes.io labels Helm "
            "and Argo CD set), with the existing ones as warnings; deny: every UPDATE "
            "must comply."
        ),
    )
    cluster_domain: str = Field(
        default="cluster.local",
        description="The cluster DNS domain; names under it are in-cluster, never external.",
    )
    internal_networks: tuple[IPNetwork, ...] = Field(
        default=(),
        description=(
            "Networks inside the mesh: the cluster's pod and Service CIDRs, and the networks "
            "mesh VMs live on. Endpoints, EndpointSlices and WorkloadEntries may point at "
            "addresses there. Empty: every such address must be inside the cidrs of an "
            "allowlist entry the namespace may use."
        ),
    )

    @field_validator("internal_networks", mode="before")
    @classmethod
    def _strict_internal_networks(cls, value: object) -> object:
        return strict_cidrs(value)

    @model_validator(mode="after")
    def _gateway_in_cluster_domain(self) -> Policy:
        if not self.egress_gateway.service.endswith(".svc." + self.cluster_domain):
            raise ValueError(
                f"egressGateway.service {self.egress_gateway.service!r} is not in the cluster "
                f"domain {self.cluster_domain!r}"
            )
        return self
