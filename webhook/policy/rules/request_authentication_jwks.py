"""JWKS and OIDC discovery URLs: a RequestAuthentication's keys are fetched from a host it names.

istiod fetches ``jwtRules[].jwksUri`` (pilot/pkg/model/jwks_resolver.go
`JwksResolver.GetPublicKey`, via `BuildLocalJwks` from pilot/pkg/security/authn/
policy_applier.go `convertToEnvoyJwtConfig`) with Go's http.Client, which follows
redirects, straight from istiod; when both ``jwksUri`` and the inline ``jwks`` are
empty it first GETs the issuer's OIDC discovery document
(`resolveJwksURIUsingOpenID`: ``<issuer>/.well-known/openid-configuration``) and then
whatever ``jwks_uri`` that names. With PILOT_JWT_ENABLE_REMOTE_JWKS=envoy or hybrid the
sidecar fetches ``jwksUri`` itself, through the outbound cluster of the URI's host and
port (`model.LookupCluster` in `convertToEnvoyJwtConfig`; push_context.go adds the host
to every selected proxy's clusters), and ``jwks`` inline does not stop it; hybrid falls
back to istiod when no such cluster exists. Either way the fetch is a connection to the
named host that no route sends through the egress gateway, and the body lands in the
tenant's own proxy configuration (an inline JWKS), so it is a channel both ways: the host
must be in-cluster or allowlisted for the namespace on the URL's port. In the default
mode (``false``/``istiod``; ``hybrid`` for a host outside the mesh) the connection is
istiod's, the platform's control plane, not the tenant's traffic, so a host
egressGateway.requireFor names is admitted like any allowlisted one: no route could send
istiod's fetch through the egress gateway, and the docs' RequestAuthentication must stay
usable under ``requireFor: ["*"]``. A mesh run with ``envoy`` makes every sidecar fetch
directly; the README says so. A
``jwksUri`` is judged whenever it is set, an issuer only when both ``jwksUri`` and
``jwks`` are empty and it is an http(s) URL (``testing@secure.istio.io`` is never
fetched). ``jwks_uri`` is the same field under its proto name (protojson reads both
spellings, the CRD lists both) and is judged alike. ``timeout``, ``fromHeaders``,
``fromParams``, ``fromCookies``, ``outputPayloadToHeader`` and ``outputClaimToHeaders``
only say where the token is read and where its claims are copied, never where a
connection goes.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.decision import Violation
from webhook.policy.fetched_urls import discovery_url, fetch_problem, parse_fetch_url
from webhook.policy.hosts import shown
from webhook.policy.subject import Subject
from webhook.resources.request_authentication import RequestAuthenticationSpec

RULE = "request-authentication-jwks"

_FETCHER = "istiod (or the sidecar, with PILOT_JWT_ENABLE_REMOTE_JWKS)"
_FIX = (
    "serve the keys in-cluster, put them inline in jwks, or ask the platform team to "
    "allowlist the host for this namespace"
)


def check(subject: Subject[RequestAuthenticationSpec]) -> Iterator[Violation]:
    """A jwksUri, or a discovered issuer, whose host the namespace may not fetch from."""
    for k, rule in enumerate(subject.spec.jwt_rules):
        what, url = rule.fetched_uri
        if url:
            field = f"spec.jwtRules[{k}].{what}"
        elif not rule.jwks and (found := discovery_url(rule.issuer)) is not None:
            field, what, url = f"spec.jwtRules[{k}].issuer", "issuer", found
        else:
            continue
        target = parse_fetch_url(url, ("https", "http"))
        if isinstance(target, str):
            yield Violation(RULE, field, f"{what} {shown(url)} {target}; {_FIX}")
            continue
        problem = fetch_problem(subject, target, _FETCHER, in_tenant_pod=False)
        if problem is not None:
            yield Violation(
                RULE,
                field,
                f"{what} {shown(url)} is fetched by {_FETCHER}: {problem}; {_FIX}",
            )
