"""WasmPlugin (extensions.istio.io, served as v1alpha1 only): a module istio-agent fetches."""

from __future__ import annotations

from typing import Any

from webhook.policy.registry import Kind
from webhook.policy.rules import routing_labels, wasm_plugin_url
from webhook.policy.subject import Subject
from webhook.resources.base import ISTIO_EXTENSIONS_GROUP, ISTIO_EXTENSIONS_VERSIONS
from webhook.resources.wasm_plugin import WasmPluginSpec

KIND: Kind[Subject[Any]] = Kind(
    kind="WasmPlugin",
    group=ISTIO_EXTENSIONS_GROUP,
    versions=ISTIO_EXTENSIONS_VERSIONS,
    resource="wasmplugins",
    model=WasmPluginSpec,
    subject=Subject,
    rules=(
        wasm_plugin_url.check,
        routing_labels.check,
    ),
)
