"""Doors that span rules or the schema: what the API server would store is what gets judged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import GATEWAY, decide, dest, virtual_service


def _schema_fields(obj: dict[str, Any]) -> list[str]:
    return [v.field for v in decide(obj).violations if v.rule == "schema"]


@pytest.mark.parametrize(
    ("obj", "fields"),
    [
        # Door (offline check): TCP matches are L4MatchAttributes, which have no sniHosts
        # (virtual_service.proto); the API server prunes the field, Istio never reads it. The
        # engine read it anyway and narrowed the leg to an allowlisted name, so the
        # VirtualService's real host went unchecked.
        pytest.param(
            virtual_service(
                hosts=["evil.example.org"],
                tcp=[{"match": [{"sniHosts": ["api.github.com"]}], "route": [dest(GATEWAY, 443)]}],
            ),
            ["spec.tcp[0].match[0].sniHosts"],
            id="tcp-match-sniHosts",
        ),
        # TLSMatchAttributes have no sourceSubnet either.
        pytest.param(
            virtual_service(
                hosts=["api.github.com"],
                tls=[
                    {
                        "match": [{"sniHosts": ["api.github.com"], "sourceSubnet": "10.0.0.0/8"}],
                        "route": [dest(GATEWAY, 443)],
                    }
                ],
            ),
            ["spec.tls[0].match[0].sourceSubnet"],
            id="tls-match-sourceSubnet",
        ),
        pytest.param(
            virtual_service(
                hosts=["mongo"],
                tcp=[
                    {
                        "match": [{"port": 27017, "sourceSubnet": "10.0.0.0/8"}],
                        "route": [dest("mongo-v2", 27017)],
                    }
                ],
            ),
            [],
            id="tcp-match-sourceSubnet-is-fine",
        ),
    ],
)
def test_fields_istio_does_not_have_are_refused(obj: dict[str, Any], fields: list[str]) -> None:
    assert _schema_fields(obj) == fields
