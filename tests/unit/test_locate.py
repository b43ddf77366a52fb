"""Field paths to lines: a finding points at the offending field, not at its object."""

from __future__ import annotations

import pytest
import yaml

from webhook.check.locate import dotted, line_of_path

VIRTUAL_SERVICE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: split
  labels:
    istio.io/use-waypoint: elsewhere
    istio: x
spec:
  hosts: [api.github.com]
  http:
    - route:
        - destination:
            host: istio-egressgateway.istio-system.svc.cluster.local
          weight: 90
        - destination:
            host: api.github.com
          weight: 10
"""


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ("spec.http[0].route[1].destination.host", 16),
        ("spec.http[0].route[1].destination", 15),
        ("spec.http[0].route[0].weight", 14),
        ("spec.hosts[0]", 9),
        ("spec", 8),
        # a key with dots: the longest key that fits wins over a shorter one ("istio")
        ("metadata.labels.istio.io/use-waypoint", 6),
        ("metadata.labels.istio", 7),
        # beyond what is written (a default, an index past the end): the deepest written field
        ("spec.http[0].route[1].destination.port.number", 15),
        ("spec.http[3].route", 10),
        ("spec.tcp[0]", 8),
        ("", 1),
    ],
)
def test_a_field_path_maps_to_the_line_of_its_field(path: str, line: int) -> None:
    node = yaml.compose(VIRTUAL_SERVICE)
    assert line_of_path(node, path, default=99) == line


def test_without_a_node_json_input_the_object_line_is_used() -> None:
    assert line_of_path(None, "spec.hosts[0]", default=4) == 4


def test_flow_style_fields_have_their_own_lines() -> None:
    node = yaml.compose("spec:\n  ports:\n    - {number: 443,\n       name: tls}\n")
    assert line_of_path(node, "spec.ports[0].name", default=1) == 4


def test_pydantic_locations_read_as_field_paths() -> None:
    assert dotted(("cases", 0, "expect", 1, "verdict")) == "cases[0].expect[1].verdict"
