"""external-destinations: every external destination is allowlisted for the namespace and port."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.istio_objects import EGRESS_GW, decide, dest, virtual_service
from webhook.policy.rules.external_destinations import RULE


def _egress(
    destination: dict[str, Any], namespace: str = "default", host: str = "api.github.com"
) -> dict[str, Any]:
    return virtual_service(
        namespace,
        hosts=[host],
        gateways=[EGRESS_GW],
        tls=[{"route": [destination]}],
        exportTo=["."],
    )


def _messages(obj: dict[str, Any]) -> list[str]:
    return [f"{v.field}: {v.message}" for v in decide(obj).violations if v.rule == RULE]


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        pytest.param(_egress(dest("api.github.com", 443)), None, id="allowed"),
        pytest.param(_egress(dest("api.github.com")), None, id="port-unset"),
        pytest.param(_egress(dest("API.GITHUB.COM", 443)), None, id="case"),
        pytest.param(
            _egress(dest("api.github.com", 22)), "port.number: port 22 is not allowed", id="port"
        ),
        pytest.param(
            _egress(dest("evil.example.org", 443)), "not on the egress allowlist", id="unlisted"
        ),
        pytest.param(_egress(dest("api.github.com.", 443)), "ends with a dot", id="trailing-dot"),
        pytest.param(_egress(dest("1.2.3.4", 443)), "IP address", id="ip"),
        pytest.param(
            _egress(dest("db.example.com", 5432), host="db.example.com"),
            "only for namespace payments",
            id="other-namespace",
        ),
        pytest.param(
            _egress(dest("db.example.com", 5432), namespace="payments", host="db.example.com"),
            None,
            id="own-namespace",
        ),
    ],
)
def test_destinations(obj: dict[str, Any], fragment: str | None) -> None:
    messages = _messages(obj)
    if fragment is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert fragment in messages[0]
