"""RequestAuthentication (security.istio.io v1, v1beta1), per istio/api security/v1beta1."""

from __future__ import annotations

from pydantic import Field

from webhook.resources.base import IstioSpec
from webhook.resources.destination_rule import WorkloadSelector
from webhook.resources.envoy_filter import PolicyTargetReference


class JwtHeader(IstioSpec):
    """JWTHeader: a request header the token is read from (where, never whither)."""

    name: str = ""
    prefix: str | None = None


class ClaimToHeader(IstioSpec):
    """ClaimToHeader: a claim copied into a request header of the verified request."""

    header: str = ""
    claim: str = ""


class JwtRule(IstioSpec):
    """JWTRule: an issuer, and where its keys come from (inline, a URL, or OIDC discovery)."""

    issuer: str = ""
    audiences: list[str] = Field(default_factory=list)
    jwks_uri: str = Field(default="", alias="jwksUri")
    jwks: str = ""
    from_headers: list[JwtHeader] = Field(default_factory=list, alias="fromHeaders")
    from_params: list[str] = Field(default_factory=list, alias="fromParams")
    from_cookies: list[str] = Field(default_factory=list, alias="fromCookies")
    output_payload_to_header: str | None = Field(default=None, alias="outputPayloadToHeader")
    forward_original_token: bool | None = Field(default=None, alias="forwardOriginalToken")
    output_claim_to_headers: list[ClaimToHeader] = Field(
        default_factory=list, alias="outputClaimToHeaders"
    )
    #: A google.protobuf.Duration as JSON ("5s"): how long a key fetch may take.
    timeout: str | None = None
    space_delimited_claims: list[str] = Field(default_factory=list, alias="spaceDelimitedClaims")


class RequestAuthenticationSpec(IstioSpec):
    """RequestAuthentication.spec."""

    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = Field(default=None, alias="targetRef")
    target_refs: list[PolicyTargetReference] = Field(default_factory=list, alias="targetRefs")
    jwt_rules: list[JwtRule] = Field(default_factory=list, alias="jwtRules")
