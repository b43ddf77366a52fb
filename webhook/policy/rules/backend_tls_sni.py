"""BackendTLS SNI: the hostname a BackendTLSPolicy presents must be one its namespace may use.

Istio 1.28 turns a BackendTLSPolicy into a DestinationRule for each target (a Service in
the policy's namespace, ``<name>.<ns>.svc.<domain>``, or every host of a ServiceEntry
there) with ``tls: {mode: SIMPLE, sni: validation.hostname}``
(BackendTLSPolicyCollection and DestinationRuleCollection in
pilot/pkg/config/kube/gateway/backend_policies.go); no exportTo, so it applies wherever
that service is used, the egress gateway included. That SNI decides what a shared TLS
front end serves (domain fronting: connect to an allowlisted host's addresses, ask for
another name) and which egress gateway server, and so which external host, answers. So
it is judged as DestinationRule ``tls.sni`` is (destination-rule-sni): one exact name
in the cluster or allowlisted for the namespace, whatever the targets. The
subjectAltNames and CA only decide which certificate is accepted, not where bytes go.
"""

from __future__ import annotations

from collections.abc import Iterator

from webhook.policy.allowlist import sni_problem
from webhook.policy.decision import Violation
from webhook.policy.hosts import shown
from webhook.policy.subject import Subject
from webhook.resources.backend_tls_policy import BackendTLSPolicySpec

RULE = "backend-tls-sni"


def check(subject: Subject[BackendTLSPolicySpec]) -> Iterator[Violation]:
    """A validation.hostname that is not a name the namespace may use."""
    hostname = subject.spec.validation.hostname
    problem = sni_problem(subject, hostname)
    if problem is not None:
        yield Violation(
            RULE,
            "spec.validation.hostname",
            f"hostname {shown(hostname)} is the SNI Istio's sidecars and gateways present when "
            "they connect to the policy's targets, and that name decides what the far end "
            f'serves: {problem}; set it to a host allowlisted for namespace "{subject.namespace}"'
            " (usually the target's own host) or an in-cluster name",
        )
