"""evaluate(object, policy) -> Decision: runs every rule over one parsed Istio object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webhook.policy.decision import Decision
from webhook.policy.index import CompiledPolicy


def evaluate(
    obj: Mapping[str, Any], policy: CompiledPolicy, *, namespace: str | None = None
) -> Decision:
    """Decide whether the Kubernetes object `obj` complies with `policy`.

    `namespace` is the namespace the object is created in when its metadata does not
    say (the AdmissionRequest namespace, or the CLI's --namespace). Never raises for
    any JSON-like input: a malformed object is a denial that says what is wrong.
    """
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    return Decision(
        kind=str(obj.get("kind", "")),
        namespace=str(meta.get("namespace") or namespace or "default"),
        name=str(meta.get("name") or meta.get("generateName") or ""),
        allowed=True,
        handled=False,
    )
