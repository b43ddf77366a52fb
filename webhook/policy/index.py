"""The allowlist indexed once at load time, so a lookup costs a few dict probes."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from heapq import merge
from itertools import islice
from typing import Generic, TypeVar

from webhook.policy.hosts import (
    MAX_NAME_LENGTH,
    authority_host,
    host_within,
    hosts_overlap,
    label_wildcard,
    parent_domains,
    reversed_labels,
    wildcard_suffix,
)
from webhook.policy.model import AllowlistEntry, Policy

#: How many answers each per-policy memo keeps before it starts over: a policy is asked
#: about the hosts its tenants use (a few thousand at most); a flood of made-up names only
#: costs what the memo saves.
MEMO_SIZE = 4096

#: Longer names (only ever refused) are never remembered, so the memo stays small in bytes.
_MEMO_KEY_LENGTH = MAX_NAME_LENGTH + len("*.")

K = TypeVar("K")
V = TypeVar("V")


class BoundedMemo(Generic[K, V]):
    """Answers to pure questions about one policy, at most `size` of them.

    Emptied when full rather than kept in LRU order: a hit is one dict probe, and a
    policy's working set (the hosts tenants route to) is far smaller than `size`.
    Safe across threads under the GIL: a race only computes an answer twice.
    """

    __slots__ = ("_answers", "_size")

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self._answers: dict[K, V] = {}
        self._size = size

    def get(self, key: K) -> V | None:
        """The remembered answer, or None."""
        return self._answers.get(key)

    def put(self, key: K, value: V) -> V:
        """Remember `value` for `key` and return it."""
        if len(self._answers) >= self._size:
            self._answers.clear()
        self._answers[key] = value
        return value

    def __len__(self) -> int:
        return len(self._answers)


@dataclass(frozen=True, slots=True)
class GatewayRef:
    """A Gateway object named as ``namespace/name``."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class CompiledPolicy:
    """A validated Policy with its allowlist indexed by exact host and wildcard domain."""

    __slots__ = (
        "_allowed_everywhere",
        "_allowed_only_in",
        "_entries_for",
        "_entries_in",
        "_exact",
        "_longest_wildcard",
        "_overlapping",
        "_required_hosts",
        "_required_keys",
        "_requires_gateway",
        "_wildcard",
        "egress_gateway_namespaces",
        "egress_gateway_ref_names",
        "egress_gateway_refs",
        "egress_gateway_service",
        "exempt_namespaces",
        "policy",
        "require_all",
        "require_patterns",
    )

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        exact: dict[str, list[AllowlistEntry]] = defaultdict(list)
        wildcard: dict[str, list[AllowlistEntry]] = defaultdict(list)
        for entry in policy.allowlist:
            suffix = wildcard_suffix(entry.host)
            if suffix is None:
                exact[entry.host].append(entry)
            else:
                wildcard[suffix].append(entry)
        self._exact = {k: tuple(v) for k, v in exact.items()}
        # What denial messages list as allowed, sorted once here rather than per denial:
        # the hosts every namespace may use, and per namespace only the hosts it adds
        # (linear in the allowlist; a namespace's full list is a merge of the two).
        everywhere = {e.host for e in policy.allowlist if e.namespaces is None}
        restricted: dict[str, set[str]] = defaultdict(set)
        for entry in policy.allowlist:
            if entry.namespaces is not None and entry.host not in everywhere:
                for namespace in entry.namespaces:
                    restricted[namespace].add(entry.host)
        self._allowed_everywhere = sorted(everywhere)
        self._allowed_only_in = {ns: sorted(hosts) for ns, hosts in restricted.items()}
        self._entries_for: BoundedMemo[str, tuple[AllowlistEntry, ...]] = BoundedMemo()
        self._entries_in: BoundedMemo[tuple[str, str], tuple[AllowlistEntry, ...]]
        self._entries_in = BoundedMemo()
        self._requires_gateway: BoundedMemo[str, bool] = BoundedMemo()
        self._overlapping: BoundedMemo[tuple[str, int], tuple[str, ...]] = BoundedMemo()
        self._wildcard = {k: tuple(v) for k, v in wildcard.items()}
        # Parent domains longer than this cannot be in the index: never build them.
        self._longest_wildcard = max(map(len, self._wildcard), default=0)
        gateway = policy.egress_gateway
        self.egress_gateway_service = gateway.service
        self.egress_gateway_refs = frozenset(
            GatewayRef(*ref.split("/", 1)) for ref in gateway.gateways
        )
        self.egress_gateway_ref_names = frozenset(map(str, self.egress_gateway_refs))
        # Where the egress gateway runs and reads its config: objects may always be exported there.
        self.egress_gateway_namespaces = frozenset(
            {gateway.service_namespace, *(ref.namespace for ref in self.egress_gateway_refs)}
        )
        self.require_all = "*" in gateway.require_for
        self.require_patterns = tuple(p for p in gateway.require_for if p != "*")
        self.exempt_namespaces = frozenset(policy.exempt_namespaces)
        # Gateway-required entries sorted by their name's labels reversed (a.b.c as c.b.a):
        # the entries under a domain d are one contiguous run, found by bisection. Each key
        # is "c.b.a\0host" (NUL sorts first, so this is the order of the pairs, and string
        # comparisons are the cheapest a sort can make).
        self._required_keys = sorted(
            f"{reversed_labels(wildcard_suffix(e.host) or e.host)}\0{e.host}"
            for e in policy.allowlist
            if self.requires_gateway(e.host)
        )
        self._required_hosts = [key[key.index("\0") + 1 :] for key in self._required_keys]

    @property
    def cluster_domain(self) -> str:
        """The cluster DNS domain (``cluster.local`` by default)."""
        return self.policy.cluster_domain

    @property
    def mode(self) -> str:
        """``enforce`` or ``warn``."""
        return self.policy.mode

    def entries_for(self, host: str) -> tuple[AllowlistEntry, ...]:
        """Every allowlist entry (any namespace) whose host contains the lower-case `host`.

        Linear in len(host) with a bounded number of probes, whatever the host holds;
        remembered per policy (the answer depends on nothing else).
        """
        remembered = self._entries_for.get(host)
        if remembered is not None:
            return remembered
        answer = self._lookup(host)
        return self._entries_for.put(host, answer) if len(host) <= _MEMO_KEY_LENGTH else answer

    def _lookup(self, host: str) -> tuple[AllowlistEntry, ...]:
        found: list[AllowlistEntry] = []
        suffix = wildcard_suffix(host)
        if suffix is None:
            found.extend(self._exact.get(host, ()))
            name = host
        else:
            found.extend(self._wildcard.get(suffix, ()))
            name = suffix
        for domain in parent_domains(name, self._longest_wildcard):
            found.extend(self._wildcard.get(domain, ()))
        return tuple(found)

    def entries_in(self, host: str, namespace: str) -> tuple[AllowlistEntry, ...]:
        """The entries containing `host` that `namespace` may use."""
        key = (host, namespace)
        remembered = self._entries_in.get(key)
        if remembered is not None:
            return remembered
        answer = tuple(
            e for e in self.entries_for(host) if e.namespaces is None or namespace in e.namespaces
        )
        return self._entries_in.put(key, answer) if len(host) <= _MEMO_KEY_LENGTH else answer

    def allowed_hosts(self, namespace: str, limit: int | None = None) -> list[str]:
        """Allowlisted hosts usable from `namespace`, sorted, for messages that say what is
        allowed; the first `limit` of them cost O(limit), not a pass over the allowlist."""
        own = self._allowed_only_in.get(namespace)
        if not own:
            hosts = self._allowed_everywhere
            return hosts if limit is None else hosts[:limit]
        return list(islice(merge(self._allowed_everywhere, own), limit))

    def allowed_count(self, namespace: str) -> int:
        """How many hosts `allowed_hosts(namespace)` lists."""
        return len(self._allowed_everywhere) + len(self._allowed_only_in.get(namespace, ()))

    def requires_gateway(self, host: str) -> bool:
        """True when mesh traffic to the allowlisted `host` must use the egress gateway."""
        if self.require_all:
            return True
        remembered = self._requires_gateway.get(host)
        if remembered is not None:
            return remembered
        answer = any(hosts_overlap(host, pattern) for pattern in self.require_patterns)
        return self._requires_gateway.put(host, answer) if len(host) <= _MEMO_KEY_LENGTH else answer

    def requires_gateway_throughout(self, host: str) -> bool:
        """True when every name `host` matches must use the egress gateway, not merely
        some (``*.googleapis.com`` overlaps a required ``storage.googleapis.com`` but is
        not within it)."""
        return self.require_all or any(host_within(host, p) for p in self.require_patterns)

    def fronts_gateway_host(self, name: str) -> bool:
        """True when `name` (a Host/:authority or SNI value; a port is ignored) is an
        allowlisted external host whose mesh traffic must use the egress gateway: presenting
        it on a connection that goes straight out reaches that host around the gateway
        wherever one front end serves both (domain fronting)."""
        host = authority_host(name)
        return bool(self.entries_for(host)) and self.requires_gateway(host)

    def gateway_names_overlapping(self, host: str, limit: int = 3) -> tuple[str, ...]:
        """Up to `limit` allowlisted hosts (any namespace) that `host` overlaps and that must
        use the egress gateway: a VirtualService for `host` captures their mesh traffic.

        Overlap is Istio's host.Name.Matches (a partial wildcard widened by label_wildcard).
        An entry containing `host` counts when `host` itself requires the gateway; an entry
        under a wildcard ``*.d`` counts when it does, found by bisecting the reversed names:
        linear in len(host) plus log(allowlist), never a scan of the allowlist.
        """
        key = (host, limit)
        remembered = self._overlapping.get(key)
        if remembered is not None:
            return remembered
        answer = self._overlapping_names(host, limit)
        return self._overlapping.put(key, answer) if len(host) <= _MEMO_KEY_LENGTH else answer

    def _overlapping_names(self, host: str, limit: int) -> tuple[str, ...]:
        pattern = label_wildcard(host)
        found: list[str] = []
        if self.requires_gateway(pattern):
            found.extend(e.host for e in self.entries_for(pattern)[:limit])
        if pattern == "*":
            found.extend(self._required_hosts[:limit])
        elif (suffix := wildcard_suffix(pattern)) is not None:
            prefix = reversed_labels(suffix) + "."
            start = bisect_left(self._required_keys, prefix)
            stop = start
            while (
                stop < len(self._required_keys)
                and stop - start < limit
                and self._required_keys[stop].startswith(prefix)
            ):
                stop += 1
            found.extend(self._required_hosts[start:stop])
        return tuple(dict.fromkeys(found))[:limit]
