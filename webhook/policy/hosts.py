"""Host names: validation of what Istio would read differently, wildcard containment, CIDRs."""

from __future__ import annotations

import ipaddress
import re

#: One DNS label as Istio and Envoy compare it: lower-case ASCII letters, digits, hyphens.
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

#: The longest name DNS can carry (RFC 1035 2.3.4, written without the trailing dot).
MAX_NAME_LENGTH = 253

#: How much of a long value a message quotes: enough to recognise it, never the megabyte.
_SHOWN_HEAD = 64
_SHOWN_TAIL = 24


#: A name every check below accepts: lower-case labels, at least two, an optional "*."
#: (length and an all-digit last label, which may be an IPv4 address, are checked apart).
_PLAIN_NAME = re.compile(
    r"(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
    re.ASCII,
)

#: Every character an IP address or CIDR can be written with.
_IP_CHARACTERS = re.compile(r"[0-9a-fA-F:./]+")


class HostPatternError(ValueError):
    """A host or wildcard is not a plain lower-case DNS name that Istio reads as we do."""


def is_ip_literal(value: str) -> bool:
    """True for an IPv4/IPv6 address or CIDR, also when bracketed or carrying a zone."""
    candidate = value.strip("[]").split("%", 1)[0]
    if not _IP_CHARACTERS.fullmatch(candidate):
        return False  # a host name: skip the costlier parse (and its exception)
    try:
        ipaddress.ip_network(candidate, strict=False)
    except ValueError:
        return False
    return True


def host_problem(host: str) -> str | None:
    """Why `host` cannot be compared with the allowlist, or None when it can.

    The checks close the doors where Istio or Envoy would read a name differently from
    a plain string comparison: non-ASCII (IDN homographs, case folding), a trailing dot
    (FQDN form Envoy matches separately), partial or bare wildcards, IP literals (not a
    name at all) and single-label names (expanded by search domains).
    """
    if (
        _PLAIN_NAME.fullmatch(host)
        and len(host) <= MAX_NAME_LENGTH + (2 if host.startswith("*.") else 0)
        and not host[host.rfind(".") + 1 :].isdigit()
    ):
        return None  # the common case, in one match (an allowlist of 100,000 is checked at load)
    if not host:
        return "is empty"
    # First, so that nothing below ever works on a name longer than DNS allows.
    if len(host) > MAX_NAME_LENGTH + len("*."):
        return f"is {len(host)} characters long; DNS names have at most {MAX_NAME_LENGTH}"
    if not host.isascii():
        return "contains non-ASCII characters (write the punycode xn-- form)"
    if host.endswith("."):
        return "ends with a dot (write it without the trailing dot)"
    if host == "*":
        return 'is the bare wildcard "*", which matches every host'
    if is_ip_literal(host):
        return "is an IP address, not a host name (use addresses/endpoints with CIDRs)"
    name = host[2:] if host.startswith("*.") else host
    if "*" in name:
        return 'has a partial wildcard (only a leading "*." label is allowed)'
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long; DNS names have at most {MAX_NAME_LENGTH}"
    labels = name.lower().split(".")
    if len(labels) < 2 and host.startswith("*."):
        return "is an over-broad wildcard covering a whole top-level domain"
    if len(labels) < 2:
        return "is a single-label name, which resolves through search domains"
    bad = next((label for label in labels if not _LABEL.match(label)), None)
    if bad is not None:
        return f"has an invalid DNS label {shown(bad)} (1-63 letters, digits and inner hyphens)"
    if labels[-1].isdigit():
        # RFC 1123 2.1 / RFC 3696 2: a top-level label is never all-numeric, so that a name
        # is never taken for an address; resolvers (inet_aton, getaddrinfo) read "10.1" as
        # 10.0.0.1 and "127.1" as 127.0.0.1.
        return "ends in an all-numeric label, which resolvers read as an IPv4 address"
    return None


def normalize_policy_host(host: str) -> str:
    """Validate an allowlist host or ``*.domain`` and return it lower-cased."""
    if not isinstance(host, str):
        raise HostPatternError(f"host must be a string, got {host!r}")
    problem = host_problem(host)
    if problem is not None:
        raise HostPatternError(f"host {shown(host)} {problem}")
    return host.lower()


def wildcard_suffix(host: str) -> str | None:
    """The domain of a ``*.domain`` pattern, or None for an exact host."""
    return host[2:] if host.startswith("*.") else None


def shown(value: str) -> str:
    """`value` quoted for a message, shortened in the middle when it is long.

    A tenant controls these strings; a message (and the log line, warning and audit
    annotation made from it) stays small whatever the object holds.
    """
    if len(value) <= _SHOWN_HEAD + _SHOWN_TAIL + 16:
        return f'"{value}"'
    return f'"{value[:_SHOWN_HEAD]}...{value[-_SHOWN_TAIL:]}" ({len(value)} characters)'


def parent_domains(name: str, longest: int = MAX_NAME_LENGTH) -> list[str]:
    """The proper parent domains of `name` no longer than `longest`, nearest first.

    a.b.c -> [b.c, c]. Only the last `longest` + 1 characters are looked at, so the work
    is linear in len(name) however many dots it has: a parent longer than every indexed
    domain cannot be found in the index anyway.
    """
    found = []
    dot = name.find(".", max(0, len(name) - longest - 1))
    while dot != -1:
        found.append(name[dot + 1 :])
        dot = name.find(".", dot + 1)
    return found


def host_within(requested: str, allowed: str) -> bool:
    """True when every name `requested` matches is also matched by `allowed`.

    Both are lower-case; ``*.d`` matches any subdomain of d at any depth but not d, and
    the bare ``*`` matches every name (Istio's host.Name). A wildcard is only within an
    equal or broader wildcard, never within an exact host.
    """
    if allowed == "*":
        return True
    if requested == "*":
        return False
    allowed_suffix = wildcard_suffix(allowed)
    requested_suffix = wildcard_suffix(requested)
    if allowed_suffix is None:
        return requested_suffix is None and requested == allowed
    if requested_suffix is None:
        return requested.endswith("." + allowed_suffix)
    return requested_suffix == allowed_suffix or requested_suffix.endswith("." + allowed_suffix)


def hosts_overlap(a: str, b: str) -> bool:
    """True when some name is matched by both host patterns."""
    return host_within(a, b) or host_within(b, a)


def label_wildcard(host: str) -> str:
    """The narrowest ``*``/``*.d``/exact pattern matching every name `host` matches in Istio.

    Istio's host.Name.Matches compares the text after a leading ``*`` as a raw string
    suffix (pkg/config/host/name.go), and VirtualService validation accepts a partial
    first label: ``*hub.com`` matches ``github.com``. Such a host is widened to the
    label-aligned ``*.com`` (``*x`` without a dot to ``*``); other hosts are returned as is.
    """
    if not host.startswith("*") or host == "*" or host.startswith("*."):
        return host
    dot = host.find(".")
    return "*" if dot == -1 else "*" + host[dot:]


def reversed_labels(name: str) -> str:
    """``a.b.c`` as ``c.b.a``, so the names under a domain share a prefix (a sort key)."""
    return ".".join(reversed(name.split(".")))


def ip_in_networks(
    value: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    """True when an address or CIDR `value` lies wholly inside one of `networks`."""
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return any(net.version == n.version and net.subnet_of(n) for n in networks)  # type: ignore[arg-type]


def authority_host(value: str) -> str:
    """The lower-case host of a Host/:authority (or SNI) value, its ``:port`` dropped."""
    name = value.strip().lower()
    if name.startswith("["):
        return name[1:].split("]", 1)[0]
    head, sep, port = name.rpartition(":")
    return head if sep and port.isdigit() and ":" not in head else name
