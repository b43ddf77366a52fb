"""Sidecar (networking.istio.io): scopes what sidecars import and what they do with the rest."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import (
    coverage_kept,
    routing_labels,
    sidecar_egress_listeners,
    sidecar_outbound_policy,
)
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_NETWORKING_GROUP, ISTIO_NETWORKING_VERSIONS
from webhook.resources.sidecar import SidecarSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="Sidecar",
    group=ISTIO_NETWORKING_GROUP,
    versions=ISTIO_NETWORKING_VERSIONS,
    resource="sidecars",
    model=SidecarSpec,
    subject=Subject,
    rules=(
        sidecar_outbound_policy.check,
        sidecar_egress_listeners.check,
        routing_labels.check,
        coverage_kept.check_sidecar,
    ),
)
