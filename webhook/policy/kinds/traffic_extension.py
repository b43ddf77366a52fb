"""TrafficExtension (extensions.istio.io, served as v1alpha1 only): a Wasm module or Lua code."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import routing_labels, traffic_extension_lua, wasm_plugin_url
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_EXTENSIONS_GROUP, ISTIO_EXTENSIONS_VERSIONS
from webhook.resources.traffic_extension import TrafficExtensionSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="TrafficExtension",
    group=ISTIO_EXTENSIONS_GROUP,
    versions=ISTIO_EXTENSIONS_VERSIONS,
    resource="trafficextensions",
    model=TrafficExtensionSpec,
    subject=Subject,
    rules=(
        wasm_plugin_url.check,
        traffic_extension_lua.check,
        routing_labels.check,
    ),
)
