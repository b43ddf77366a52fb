"""Gateway (networking.istio.io v1alpha3, v1beta1, v1), per istio/api v1alpha3/gateway.proto.

Not the Kubernetes Gateway API's Gateway (gateway.networking.k8s.io): that is another group.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from webhook.resources.base import IstioSpec

#: ServerTLSSettings.TLSmode; the proto default (enum value 0) when `tls` is set without a mode.
TLSMode = Literal[
    "PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL"
]
DEFAULT_TLS_MODE = "PASSTHROUGH"

TLSProtocolVersion = Literal["TLS_AUTO", "TLSV1_0", "TLSV1_1", "TLSV1_2", "TLSV1_3"]


class GatewayPort(IstioSpec):
    """Server.port: where the gateway listens (not where it forwards: routes decide that)."""

    number: int
    protocol: str = ""
    name: str = ""
    target_port: int | None = Field(default=None, alias="targetPort")


class TLSCertificate(IstioSpec):
    """ServerTLSSettings.TLSCertificate: one certificate the server presents."""

    server_certificate: str | None = Field(default=None, alias="serverCertificate")
    private_key: str | None = Field(default=None, alias="privateKey")
    ca_certificates: str | None = Field(default=None, alias="caCertificates")


class ServerTLSSettings(IstioSpec):
    """Server.tls: how the server terminates or passes TLS through."""

    https_redirect: bool | None = Field(default=None, alias="httpsRedirect")
    mode: TLSMode | None = None
    server_certificate: str | None = Field(default=None, alias="serverCertificate")
    private_key: str | None = Field(default=None, alias="privateKey")
    ca_certificates: str | None = Field(default=None, alias="caCertificates")
    ca_crl: str | None = Field(default=None, alias="caCrl")
    credential_name: str | None = Field(default=None, alias="credentialName")
    credential_names: list[str] | None = Field(default=None, alias="credentialNames")
    ca_cert_credential_name: str | None = Field(default=None, alias="caCertCredentialName")
    tls_certificates: list[TLSCertificate] | None = Field(default=None, alias="tlsCertificates")
    subject_alt_names: list[str] | None = Field(default=None, alias="subjectAltNames")
    verify_certificate_spki: list[str] | None = Field(default=None, alias="verifyCertificateSpki")
    verify_certificate_hash: list[str] | None = Field(default=None, alias="verifyCertificateHash")
    min_protocol_version: TLSProtocolVersion | None = Field(
        default=None, alias="minProtocolVersion"
    )
    max_protocol_version: TLSProtocolVersion | None = Field(
        default=None, alias="maxProtocolVersion"
    )
    cipher_suites: list[str] | None = Field(default=None, alias="cipherSuites")
    insecure_skip_verify: bool | None = Field(default=None, alias="insecureSkipVerify")

    @property
    def effective_mode(self) -> str:
        """`mode`, or its proto default PASSTHROUGH."""
        return self.mode or DEFAULT_TLS_MODE


class Server(IstioSpec):
    """Gateway.servers[]: a listener on the selected gateway pods and the hosts it exposes."""

    port: GatewayPort
    hosts: list[str] = Field(default_factory=list)
    bind: str | None = None
    tls: ServerTLSSettings | None = None
    default_endpoint: str | None = Field(default=None, alias="defaultEndpoint")
    name: str | None = None


class GatewaySpec(IstioSpec):
    """Gateway.spec: which gateway pods (by label) serve which servers."""

    servers: list[Server] = Field(default_factory=list)
    selector: dict[str, str] | None = None
