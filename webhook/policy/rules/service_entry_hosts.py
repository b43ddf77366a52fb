"""ServiceEntry hosts: every host is a plain external name in the namespace's allowlist.

Istio compares hosts as strings (pkg/config/host Name.Matches / SubsetOf: a plain
suffix test, case- and trailing-dot-sensitive; ``*`` matches everything), and its
validation accepts partial wildcards such as ``*hub.com`` (ValidateWildcardDomain).
So a host is accepted only in the one form where string containment and DNS agree:
lower-case ASCII labels, an optional leading ``*.``, no trailing dot, no IP literal
(ServiceEntry.hosts in istio/api service_entry.proto), inside an allowlist entry.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import external_host_problem
from webhook.policy.decision import Violation
from webhook.policy.subject import ServiceEntrySubject

RULE = "service-entry-hosts"


def check(subject: ServiceEntrySubject) -> Iterator[Violation]:
    """A host outside the allowlist, in the cluster domain, or read differently by Istio."""
    if not subject.spec.hosts:
        yield Violation(RULE, "spec.hosts", "a ServiceEntry must name at least one host")
    if subject.names_mesh_workloads:
        return  # names for its own namespace's VMs and pods, no egress
    for i, raw in enumerate(subject.spec.hosts):
        problem = external_host_problem(subject, raw, raw.lower())
        if problem is not None:
            yield Violation(RULE, f"spec.hosts[{i}]", problem)
