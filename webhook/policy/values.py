"""The policy under a Helm values file's `policy:` key: CI checks against the file the chart serves.

The chart renders `.Values.policy` into the policy file every webhook pod reads, after
Helm has merged the values file over the chart's own defaults. The policy a values file
describes is therefore its `policy:` mapping merged, the way Helm merges, over the
chart's `policy` defaults (`CHART_POLICY_DEFAULTS`, held equal to the chart's
values.yaml by a test), then validated as a policy file. Problems are reported like a
policy file's, ``values.yaml:line: policy.field.path: what``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from webhook.errors import PolicyInvalidError
from webhook.policy.index import CompiledPolicy

# The policy file's own problem lines, so the two read alike.
from webhook.policy.loader import _problems
from webhook.policy.model import Policy
from webhook.yaml_strict import load_document, yaml_problem

#: The `policy` section of charts/egress-webhook/values.yaml (where they differ from the
#: model's defaults matters: the chart exempts istio-system, a bare policy file does not).
CHART_POLICY_DEFAULTS: dict[str, Any] = {
    "allowlist": [],
    "egressGateway": {
        "service": "istio-egressgateway.istio-system.svc.cluster.local",
        "gateways": ["istio-system/istio-egressgateway"],
        "requireFor": ["*"],
        "waypoints": [],
    },
    "exemptNamespaces": ["istio-system"],
    "mode": "enforce",
    "clusterDomain": "cluster.local",
}


class ChartValues(BaseModel):
    """What the checker reads of a values file: the policy; the chart's other values are its own."""

    model_config = ConfigDict(extra="allow", frozen=True)

    policy: Policy


def load_values_policy(path: Path | str) -> CompiledPolicy:
    """Read, validate and index the policy under the `policy:` key of the values file `path`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyInvalidError.unreadable(source, exc) from None
    return parse_values_policy(text, source)


def parse_values_policy(text: str, source: str = "<values>") -> CompiledPolicy:
    """The policy under `policy:` in values YAML `text`; `source` names it in messages."""
    try:
        data, node = load_document(text)
    except yaml.YAMLError as exc:
        raise PolicyInvalidError(source, [yaml_problem(exc, source)]) from None
    if not isinstance(data, dict) or "policy" not in data:
        raise PolicyInvalidError(
            source,
            [
                f"{source}:1: no `policy:` key: a chart values file holds the egress policy "
                "under `policy:` (as charts/egress-webhook/values.yaml does); for a policy "
                "file use --policy"
            ],
        )
    try:
        values = ChartValues.model_validate(
            {**data, "policy": coalesce(data["policy"], CHART_POLICY_DEFAULTS)}
        )
    except ValidationError as exc:
        raise PolicyInvalidError(source, _problems(exc, node, source)) from None
    return CompiledPolicy(values.policy)


def coalesce(values: Any, defaults: dict[str, Any]) -> Any:
    """`values` merged over `defaults` as Helm merges values files.

    Mappings merge key by key (recursively), any other value replaces the default, and
    a null removes the default's key. A `values` that is not a mapping is returned as
    is, for the policy model to refuse with its line.
    """
    if not isinstance(values, dict):
        return values
    merged = dict(defaults)
    for key, value in values.items():
        default = defaults.get(key)
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(default, dict):
            merged[key] = coalesce(value, default)
        else:
            merged[key] = value
    return merged
