"""DestinationRule (networking.istio.io v1alpha3, v1beta1, v1), per istio/api's proto.

Typed: what decides where bytes go or what name they carry (`tunnel`, `tls`,
`loadBalancer.simple`, scope); the rest (pools, outlier detection, hashing, locality)
only chooses among or limits endpoints of the same service, and is read as opaque.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from webhook.resources.base import IstioSpec, ObjectMeta, any_field

#: ClientTLSSettings.TLSmode; the proto default (0) is DISABLE.
TLSMode = Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]
#: LoadBalancerSettings.SimpleLB, as the CRD's string enum lists it.
SimpleLB = Literal[
    "UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST"
]


class PortSelector(IstioSpec):
    """PortTrafficPolicy.port."""

    number: int | None = None


class ClientTLSSettings(IstioSpec):
    """TLS the proxy originates to the destination; `sni` is the name it presents."""

    mode: TLSMode | None = None
    client_certificate: str | None = Field(default=None, alias="clientCertificate")
    private_key: str | None = Field(default=None, alias="privateKey")
    ca_certificates: str | None = Field(default=None, alias="caCertificates")
    credential_name: str | None = Field(default=None, alias="credentialName")
    subject_alt_names: list[str] | None = Field(default=None, alias="subjectAltNames")
    sni: str | None = None
    insecure_skip_verify: bool | None = Field(default=None, alias="insecureSkipVerify")
    ca_crl: str | None = Field(default=None, alias="caCrl")

    @property
    def originates_tls(self) -> bool:
        """False for DISABLE (also the default): Istio builds no TLS context, so sni is unused."""
        return (self.mode or "DISABLE") != "DISABLE"


class LoadBalancerSettings(IstioSpec):
    """How endpoints are picked; only `simple: PASSTHROUGH` stops picking among them."""

    simple: SimpleLB | None = None
    consistent_hash: Any = Field(default=None, alias="consistentHash")
    locality_lb_setting: Any = Field(default=None, alias="localityLbSetting")
    zone_aware_lb_setting: Any = Field(default=None, alias="zoneAwareLbSetting")
    warmup_duration_secs: Any = Field(default=None, alias="warmupDurationSecs")
    warmup: Any = any_field()
    backend_utilization: Any = Field(default=None, alias="backendUtilization")


class TunnelSettings(IstioSpec):
    """TrafficPolicy.TunnelSettings: the proxy asks the host to open targetHost:targetPort."""

    protocol: str | None = None
    target_host: str = Field(default="", alias="targetHost")
    target_port: int = Field(default=0, alias="targetPort")


class PortTrafficPolicy(IstioSpec):
    """TrafficPolicy.PortTrafficPolicy (no tunnel here: the proto has none)."""

    port: PortSelector | None = None
    load_balancer: LoadBalancerSettings | None = Field(default=None, alias="loadBalancer")
    connection_pool: Any = Field(default=None, alias="connectionPool")
    outlier_detection: Any = Field(default=None, alias="outlierDetection")
    tls: ClientTLSSettings | None = None


class TrafficPolicy(IstioSpec):
    """TrafficPolicy, at the top level or of a subset."""

    load_balancer: LoadBalancerSettings | None = Field(default=None, alias="loadBalancer")
    connection_pool: Any = Field(default=None, alias="connectionPool")
    outlier_detection: Any = Field(default=None, alias="outlierDetection")
    tls: ClientTLSSettings | None = None
    port_level_settings: list[PortTrafficPolicy] = Field(
        default_factory=list, alias="portLevelSettings"
    )
    tunnel: TunnelSettings | None = None
    proxy_protocol: Any = Field(default=None, alias="proxyProtocol")
    retry_budget: Any = Field(default=None, alias="retryBudget")


class Subset(IstioSpec):
    """A named set of the host's endpoints, with its own traffic policy."""

    name: str = ""
    labels: dict[str, str] | None = None
    traffic_policy: TrafficPolicy | None = Field(default=None, alias="trafficPolicy")


class WorkloadSelector(IstioSpec):
    """The pods (in the rule's namespace) the rule applies to."""

    match_labels: dict[str, str] | None = Field(default=None, alias="matchLabels")


class DestinationRuleSpec(IstioSpec):
    """DestinationRule.spec."""

    host: str = ""
    traffic_policy: TrafficPolicy | None = Field(default=None, alias="trafficPolicy")
    subsets: list[Subset] = Field(default_factory=list)
    export_to: list[str] | None = Field(default=None, alias="exportTo")
    workload_selector: WorkloadSelector | None = Field(default=None, alias="workloadSelector")


class DestinationRule(BaseModel):
    """A DestinationRule object."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DestinationRuleSpec = Field(default_factory=DestinationRuleSpec)
