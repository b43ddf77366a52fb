"""Chart.yaml metadata that Artifact Hub and `helm show chart` present."""

from __future__ import annotations

import tomllib
from typing import Any

import yaml

from tests.chart.rendering import CHART, REPO

#: The kinds Artifact Hub accepts in artifacthub.io/changes.
CHANGE_KINDS = {"added", "changed", "deprecated", "removed", "fixed", "security"}


def _chart() -> dict[str, Any]:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert isinstance(chart, dict)
    return chart


def test_home_sources_and_maintainers() -> None:
    chart = _chart()
    assert chart["home"].startswith("https://")
    assert chart["sources"]
    assert all(source.startswith("https://") for source in chart["sources"])
    assert all(m["name"] for m in chart["maintainers"])


def test_artifact_hub_annotations_parse_as_artifact_hub_reads_them() -> None:
    chart = _chart()
    annotations = chart["annotations"]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert annotations["artifacthub.io/license"] == pyproject["project"]["license"]
    assert annotations["artifacthub.io/containsSecurityUpdates"] in ("true", "false")
    # Artifact Hub reads these as YAML held in a string.
    links = yaml.safe_load(annotations["artifacthub.io/links"])
    assert all(set(link) == {"name", "url"} for link in links)
    changes = yaml.safe_load(annotations["artifacthub.io/changes"])
    assert changes
    assert all(change["kind"] in CHANGE_KINDS and change["description"] for change in changes)
    [image] = yaml.safe_load(annotations["artifacthub.io/images"])
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert image["image"] == f"{values['image']['repository']}:{chart['appVersion']}"
