"""RequestAuthentication (security.istio.io v1, v1beta1), per istio/api security/v1beta1."""

from __future__ import annotations

from pydantic import Field, model_validator

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
    #: The same proto field, JWTRule.jwks_uri (istio/api security/v1beta1/jwt.proto), under
    #: its proto name: protojson reads either spelling, and the CRD lists both (istio/api
    #: v1.30 kubernetes/customresourcedefinitions.gen.yaml, with a CEL rule allowing one of
    #: jwksUri, jwks_uri and jwks), so the API server keeps it. Istio fetches it like jwksUri,
    #: so request-authentication-jwks judges it under this name.
    jwks_uri_proto_name: str = Field(default="", alias="jwks_uri")
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

    @model_validator(mode="after")
    def _one_spelling_of_jwks_uri(self) -> JwtRule:
        # Both names set one proto field: protojson refuses the pair ("duplicate field") and
        # the CRD's CEL rule refuses it too, so only an offline manifest can carry both.
        if self.jwks_uri and self.jwks_uri_proto_name:
            raise ValueError(
                f"jwksUri {self.jwks_uri!r} and jwks_uri {self.jwks_uri_proto_name!r} are two "
                "spellings of one field (JWTRule.jwks_uri), which Istio refuses together; "
                "keep only jwksUri"
            )
        return self

    @property
    def fetched_uri(self) -> tuple[str, str]:
        """The JWKS URL Istio fetches and the JSON name it is written under ("" when unset)."""
        if self.jwks_uri_proto_name:
            return "jwks_uri", self.jwks_uri_proto_name
        return "jwksUri", self.jwks_uri


class RequestAuthenticationSpec(IstioSpec):
    """RequestAuthentication.spec."""

    selector: WorkloadSelector | None = None
    target_ref: PolicyTargetReference | None = Field(default=None, alias="targetRef")
    target_refs: list[PolicyTargetReference] = Field(default_factory=list, alias="targetRefs")
    jwt_rules: list[JwtRule] = Field(default_factory=list, alias="jwtRules")
