"""EnvoyFilter (networking.istio.io, served as v1alpha3 only): raw patches of Envoy config."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import envoy_filter_patches, envoy_filter_upstreams, routing_labels
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_NETWORKING_GROUP
from webhook.resources.envoy_filter import EnvoyFilterSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="EnvoyFilter",
    group=ISTIO_NETWORKING_GROUP,
    versions=("v1alpha3",),
    resource="envoyfilters",
    model=EnvoyFilterSpec,
    subject=Subject,
    rules=(
        envoy_filter_patches.check,
        envoy_filter_upstreams.check,
        routing_labels.check,
    ),
)
