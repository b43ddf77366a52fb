"""WorkloadEntry (networking.istio.io): an endpoint that Services and ServiceEntries may select."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import routing_labels, workload_entry_endpoint
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.workload_entry import WorkloadEntrySpec

KIND: Kind[Subject[Any]] = Kind(
    kind="WorkloadEntry",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="workloadentries",
    model=WorkloadEntrySpec,
    subject=Subject,
    rules=(workload_entry_endpoint.check, routing_labels.check),
)
