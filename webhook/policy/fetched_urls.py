"""URLs Istio's own clients fetch for a tenant (JWKS, OIDC discovery, Wasm), read as Go reads them.

istiod's JWKS resolver, a sidecar's remote-JWKS cluster and istio-agent's Wasm fetchers
connect to the host of a URL the tenant wrote, from where they run, never through the
egress gateway. A URL is read here the way Go's net/url reads it (url.Parse: the scheme
is case-insensitive, the host is what follows the last ``@`` of the authority), but
strictly: any URL whose host a person could misread (user information, percent
escapes, backslashes, spaces, non-ASCII, an empty port) is refused rather than guessed
at. The fetch is then judged like any direct connection: the host must be in the
cluster (a name under the cluster domain, or an IP in internalNetworks), or allowlisted
for the namespace on that port and not required to use the egress gateway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from webhook.policy.allowlist import describe_ports, external_host_problem, port_allowed
from webhook.policy.hosts import host_problem, ip_in_networks, is_ip_literal, shown
from webhook.policy.subject import Subject

#: ``/.well-known/openid-configuration``, appended to the issuer with its trailing "/"
#: trimmed (jwks_resolver.go `resolveJwksURIUsingOpenID`, openIDDiscoveryCfgURLSuffix).
OPENID_DISCOVERY_SUFFIX = "/.well-known/openid-configuration"

#: Docker Hub, where go-containerregistry sends a reference whose first path element is
#: not a registry (name.NewRepository: no "." or ":"), and its rewrite of "docker.io".
DOCKER_HUB = "index.docker.io"
_DOCKER_HUB_ALIAS = "docker.io"

_DEFAULT_PORTS = {"http": 80, "https": 443, "oci": 443}
#: What an allowlist port must allow for a fetch of each scheme (a port without
#: protocols allows every one): TLS on the wire for https and OCI registries.
_PROTOCOLS = {"http": ("HTTP",), "https": ("HTTPS", "TLS"), "oci": ("HTTPS", "TLS")}

#: Go's getScheme: a letter, then letters, digits, "+", "-", "." up to the first ":".
_GO_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
#: scheme://authority, then an optional path, query or fragment.
_URL = re.compile(r"([a-z][a-z0-9+.-]*)://([^/?#]*)([/?#].*)?", re.DOTALL)
#: Only visible ASCII, no backslash (Go and WHATWG parsers disagree on it).
_PLAIN = re.compile(r"[!-\[\]-~]*")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::([0-9]{1,5}))?")


#: ``<service>.<namespace>.svc``, the short form Kubernetes DNS completes for every pod
#: (istiod's and the tenant's alike): kubelet writes ``<ns>.svc.<domain> svc.<domain>
#: <domain>`` as the search list, so the name is tried as ``<service>.<namespace>.svc.<domain>``
#: (the DNS specification's Service records) before anything outside. Common in
#: RequestAuthentication issuers (``http://keycloak.keycloak.svc:8080/realms/...``).
_SERVICE_NAME = re.compile(
    r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.svc"
)


@dataclass(frozen=True, slots=True)
class FetchTarget:
    """Where a fetch connects: the scheme, the lower-case host, and the port."""

    scheme: str
    host: str
    port: int

    @property
    def protocols(self) -> tuple[str, ...]:
        """The allowlist protocols that cover a fetch of this scheme."""
        return _PROTOCOLS[self.scheme]

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def go_scheme(raw: str) -> str:
    """The scheme Go's url.Parse reads from `raw`, lower-cased ("" when it reads none)."""
    found = _GO_SCHEME.match(raw)
    return found.group(1).lower() if found else ""


def parse_fetch_url(raw: str, schemes: tuple[str, ...]) -> FetchTarget | str:
    """The target of `raw` (one of `schemes`), or why it cannot be judged."""
    if not raw:
        return "is empty"
    if not _PLAIN.fullmatch(raw):
        return "contains spaces, control or non-ASCII characters, or a backslash"
    scheme = go_scheme(raw)
    found = _URL.fullmatch(scheme + raw[len(scheme) :]) if scheme else None
    if found is None:
        return "is not an absolute URL of the form scheme://host[:port]/path"
    scheme, authority = found.group(1), found.group(2)
    if scheme not in schemes:
        return f'has scheme "{scheme}" (allowed: {", ".join(schemes)})'
    if "@" in authority:
        return (
            f'carries user information: Go connects to what follows the last "@" '
            f"({shown(authority.rsplit('@', 1)[1])}); write the host alone"
        )
    if "%" in authority:
        return "has a percent-escape in its host; write the host as it is"
    parts = _HOST_PORT.fullmatch(authority)
    if parts is None:
        return f"has an unreadable host and port {shown(authority)}"
    host, port = parts.group(1), parts.group(2)
    number = int(port) if port is not None else _DEFAULT_PORTS[scheme]
    if not 1 <= number <= 65535:
        return f"has port {port}, outside 1-65535"
    return FetchTarget(scheme, host.strip("[]").lower(), number)


def discovery_url(issuer: str) -> str | None:
    """The OIDC discovery URL istiod fetches for `issuer`, or None when it fetches none.

    jwks_resolver.go `resolveJwksURIUsingOpenID` GETs ``TrimSuffix(issuer, "/")`` plus
    the discovery suffix with Go's http.Client, which sends only http and https URLs
    (any other scheme, or none, as in ``testing@secure.istio.io``, fails before a
    connection is made).
    """
    if go_scheme(issuer) not in ("http", "https"):
        return None
    return issuer.removesuffix("/") + OPENID_DISCOVERY_SUFFIX


def wasm_module_target(raw: str) -> FetchTarget | str | None:
    """Where istio-agent fetches a Wasm module's `url` from; None for a local file://.

    No scheme means oci:// (pilot/pkg/model/extensions.go `buildWasmConfig`); file:// is
    a local file of the proxy (`buildDataSource`, DataSource_Filename); http and https go
    to the URL's host (pkg/wasm/httpfetcher.go), oci to the registry go-containerregistry
    reads from ``host + path`` (pkg/wasm/imagefetcher.go `PrepareFetch`,
    name.ParseReference): the first element when it holds "." or ":", else Docker Hub.
    """
    if not raw:
        return "is empty"
    scheme = go_scheme(raw)
    if scheme == "file":
        return None
    if scheme == "":
        raw = "oci://" + raw.removeprefix("//")
    target = parse_fetch_url(raw, ("oci", "https", "http"))
    if isinstance(target, str) or target.scheme != "oci":
        return target
    # go-containerregistry splits ``u.Host + u.Path`` at its first "/": the host is the
    # registry only when a path follows and the host holds "." or ":".
    found = _URL.fullmatch("oci" + raw[len("oci") :])
    authority, rest = (found.group(2), found.group(3) or "") if found else ("", "")
    if not rest.startswith("/") or ("." not in authority and ":" not in authority):
        return FetchTarget("oci", DOCKER_HUB, 443)
    if target.host == _DOCKER_HUB_ALIAS:
        return FetchTarget("oci", DOCKER_HUB, target.port)
    return target


def fetch_problem(
    subject: Subject[Any], target: FetchTarget, fetcher: str, *, in_tenant_pod: bool
) -> str | None:
    """Why `fetcher` may not connect to `target` for the subject's namespace, or None.

    `in_tenant_pod`: the connection leaves from the tenant's own pod (istio-agent, the
    sidecar), so a host that must use the egress gateway (egressGateway.requireFor) is
    refused: that connection never goes through it. A fetch by the platform's control
    plane (istiod) is not tenant traffic, and the allowlist alone decides.
    """
    host = target.host
    if is_ip_literal(host):
        if ip_in_networks(host, subject.policy.policy.internal_networks):
            return None
        return (
            f"{shown(host)} is an IP address outside internalNetworks; name an allowlisted "
            "host, or an in-cluster one"
        )
    if _SERVICE_NAME.fullmatch(host):
        return None  # <service>.<namespace>.svc: completed by the cluster search domain
    problem = host_problem(host)
    if problem is not None:
        return f"host {shown(host)} {problem}"
    if not subject.is_external(host):
        return None
    problem = external_host_problem(subject, host, host)
    if problem is not None:
        return problem
    found = subject.entries(host)
    if not any(port_allowed(found, target.port, protocol) for protocol in target.protocols):
        return (
            f"host {shown(host)} is allowlisted, but not on port {target.port} for "
            f"{'/'.join(target.protocols)} (allowed: {describe_ports(found)})"
        )
    if in_tenant_pod and subject.policy.requires_gateway(host):
        return (
            f"host {shown(host)} must be reached through the egress gateway "
            f"(egressGateway.requireFor), and {fetcher} connects to it directly"
        )
    return None
