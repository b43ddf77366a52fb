"""evaluate(): kinds, versions, exemption, warn mode, malformed objects, seeds, any input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.conftest import policy_from
from tests.unit.istio_objects import (
    RULES_POLICY,
    RULES_POLICY_YAML,
    decide,
    service_entry,
    tls_service_entry,
)
from webhook.policy.engine import evaluate
from webhook.policy.loader import load_policy

SEEDS = Path(__file__).parent / "seeds"
BAD = tls_service_entry("evil.example.org")


@pytest.mark.parametrize("version", ["v1alpha3", "v1beta1", "v1"])
def test_every_served_version_is_checked_alike(version: str) -> None:
    obj = tls_service_entry("evil.example.org")
    obj["apiVersion"] = f"networking.istio.io/{version}"
    decision = decide(obj)
    assert decision.handled
    assert not decision.allowed
    assert decision.rules_hit == ("service-entry-hosts",)


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("apps/v1", "Deployment"),
        ("telemetry.istio.io/v1", "Telemetry"),
        ("gateway.networking.k8s.io/v1", "GatewayClass"),  # cluster-scoped, names a controller
        ("gateway.networking.k8s.io/v1alpha2", "Gateway"),  # no longer served by v1.4 CRDs
        ("networking.k8s.io/v1", "ServiceEntry"),  # same kind, another group
        (None, "ServiceEntry"),
        ("networking.istio.io/v1", None),
    ],
)
def test_other_kinds_are_allowed_unhandled(api_version: Any, kind: Any) -> None:
    decision = decide({**BAD, "apiVersion": api_version, "kind": kind})
    assert decision.allowed
    assert not decision.handled


def test_exempt_namespace_by_name() -> None:
    obj = tls_service_entry("evil.example.org", namespace="istio-system")
    decision = decide(obj)
    assert decision.allowed
    assert decision.exempt


def test_request_namespace_fills_an_empty_metadata_namespace() -> None:
    obj = tls_service_entry(
        "db.example.com", exportTo=["."], ports=[{"number": 5432, "name": "pg", "protocol": "TCP"}]
    )
    del obj["metadata"]["namespace"]
    assert evaluate(obj, RULES_POLICY, namespace="payments").allowed
    assert not evaluate(obj, RULES_POLICY, namespace="default").allowed


def test_warn_mode_allows_and_returns_every_violation_as_a_warning() -> None:
    warn = policy_from(RULES_POLICY_YAML + "mode: warn\n")
    obj = tls_service_entry("evil.example.org", resolution=None)
    decision = evaluate(obj, warn)
    assert decision.allowed
    assert len(decision.warnings) == len(decision.violations) >= 1
    assert any("evil.example.org" in w for w in decision.warnings)


def test_a_denial_message_names_object_field_value_rule_and_fix() -> None:
    message = decide(BAD).message()
    assert message.splitlines() == [
        "ServiceEntry default/se violates the egress policy (1 violation):",
        '- spec.hosts[0]: host "evil.example.org" is not on the egress allowlist for namespace '
        '"default" (allowed: *.cdn.example.net, *.googleapis.com, *.partner.example.com, '
        "api.github.com, httpbin.org) [service-entry-hosts]",
    ]


@pytest.mark.parametrize(
    ("spec", "field", "fragment"),
    [
        ({"hosts": "api.github.com"}, "spec.hosts", "valid list"),
        ({"hosts": [1]}, "spec.hosts[0]", "valid string"),
        (
            {"hosts": ["api.github.com"], "ports": [{"number": "https"}]},
            "spec.ports[0].number",
            "valid integer",
        ),
        ({"hosts": ["api.github.com"], "resolution": "MAGIC"}, "spec.resolution", "'NONE'"),
        ({"hosts": ["api.github.com"], "endpointz": []}, "spec.endpointz", "unknown field"),
        (
            {"hosts": ["api.github.com"], "workload_selector": {}},
            "spec.workload_selector",
            "unknown field",
        ),
    ],
)
def test_malformed_spec_is_a_denial_naming_the_field(
    spec: dict[str, Any], field: str, fragment: str
) -> None:
    decision = decide(service_entry(**spec))
    assert not decision.allowed
    found = [v for v in decision.violations if v.rule == "schema" and v.field == field]
    assert found, decision.violations
    assert fragment in found[0].message


@pytest.mark.parametrize("spec", ["a string", 42, ["list"]])
def test_spec_of_the_wrong_type_is_a_denial(spec: Any) -> None:
    decision = decide({**BAD, "spec": spec})
    assert not decision.allowed
    assert decision.rules_hit == ("schema",)


@pytest.mark.parametrize("field", ["labels", "annotations"])
def test_null_labels_or_annotations_are_none(field: str) -> None:
    # Helm renders an empty `annotations:` (samples/addons/kiali.yaml); the API server
    # decodes null into a nil map, so the object it sends has no such key.
    ok = tls_service_entry("api.github.com")
    assert decide({**ok, "metadata": {**ok["metadata"], field: None}}).allowed
    bad = decide({**BAD, "metadata": {**BAD["metadata"], field: None}})
    assert bad.rules_hit == ("service-entry-hosts",)


@pytest.mark.parametrize("value", ["a string", ["list"], 42])
def test_labels_or_annotations_of_the_wrong_type_are_a_denial(value: Any) -> None:
    ok = tls_service_entry("api.github.com")
    decision = decide({**ok, "metadata": {**ok["metadata"], "annotations": value}})
    assert not decision.allowed
    assert decision.rules_hit == ("schema",)


def test_unknown_route_field_is_refused() -> None:
    obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "vs", "namespace": "default"},
        "spec": {
            "hosts": ["reviews"],
            "http": [{"route": [{"destination": {"host": "reviews"}}], "futureRedirectTo": "x"}],
        },
    }
    decision = decide(obj)
    assert [v.field for v in decision.violations] == ["spec.http[0].futureRedirectTo"]


def _seed_objects() -> list[Any]:
    docs = yaml.safe_load_all((SEEDS / "objects.yaml").read_text())
    return [
        pytest.param(d, id=f"{d['kind']}-{d['metadata']['namespace']}-{d['metadata']['name']}")
        for d in docs
        if d
    ]


@pytest.mark.parametrize("obj", _seed_objects())
def test_configurations_real_teams_write_pass(obj: dict[str, Any]) -> None:
    policy = load_policy(SEEDS / "policy.yaml")
    decision = evaluate(obj, policy)
    assert decision.allowed, decision.message()


def test_the_seed_policy_is_not_a_rubber_stamp() -> None:
    policy = load_policy(SEEDS / "policy.yaml")
    for obj in yaml.safe_load_all((SEEDS / "objects.yaml").read_text()):
        if obj and obj["kind"] == "ServiceEntry":
            tampered = {**obj, "spec": {**obj["spec"], "hosts": ["exfil.example.org"]}}
            assert not evaluate(tampered, policy).allowed


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["mesh", "*", "DNS", "STATIC", "api.github.com", "1.2.3.4"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "hosts",
                    "http",
                    "tls",
                    "tcp",
                    "route",
                    "destination",
                    "host",
                    "match",
                    "gateways",
                    "ports",
                    "number",
                    "protocol",
                    "endpoints",
                    "address",
                    "resolution",
                    "exportTo",
                    "mirror",
                    "rewrite",
                    "headers",
                    "request",
                    "set",
                    "labels",
                    "metadata",
                    "spec",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=JSON, kind=st.sampled_from(["ServiceEntry", "VirtualService"]), metadata=JSON)
def test_no_input_makes_the_engine_raise(spec: Any, kind: str, metadata: Any) -> None:
    obj = {"apiVersion": "networking.istio.io/v1", "kind": kind, "metadata": metadata, "spec": spec}
    decision = evaluate(obj, RULES_POLICY, namespace="default")
    assert decision.handled
    assert decision.allowed is (not decision.violations) or decision.exempt


def test_advice_is_a_warning_in_both_modes_and_never_a_violation() -> None:
    warn = policy_from(RULES_POLICY_YAML + "mode: warn\n")
    obj = tls_service_entry("*.googleapis.com", resolution="NONE")
    for policy in (RULES_POLICY, warn):
        decision = evaluate(obj, policy)
        assert decision.allowed
        assert decision.violations == ()
        assert decision.rules_hit == ()
        assert len(decision.warnings) == 1


@settings(max_examples=200, deadline=None)
@given(obj=JSON, api_version=JSON, kind=JSON)
def test_any_json_as_the_whole_object_is_answered(obj: Any, api_version: Any, kind: Any) -> None:
    # kind and apiVersion of any JSON type (a mapping is unhashable) are simply not handled
    whole = obj if isinstance(obj, dict) else {}
    decision = evaluate({**whole, "apiVersion": api_version, "kind": kind}, RULES_POLICY)
    assert decision.handled is (
        kind in ("ServiceEntry", "VirtualService")
        and isinstance(api_version, str)
        and api_version.startswith("networking.istio.io/")
    )


@pytest.mark.parametrize("kind", [{"a": 1}, ["ServiceEntry"], 7, None, True])
def test_a_kind_that_is_not_a_string_is_not_handled(kind: Any) -> None:
    decision = evaluate({**BAD, "kind": kind}, RULES_POLICY)
    assert not decision.handled
    assert decision.allowed


@pytest.mark.parametrize(
    "host", ["." * 65_536, "a." * 100_000 + "github.com", "*." + "a." * 100_000 + "googleapis.com"]
)
def test_a_host_longer_than_dns_allows_is_denied_with_a_short_message(host: str) -> None:
    decision = evaluate(tls_service_entry(host), RULES_POLICY)
    assert not decision.allowed
    assert "DNS names have at most 253" in decision.message()
    assert len(decision.message()) < 2_000


def test_a_denial_lists_a_bounded_number_of_violations() -> None:
    obj = tls_service_entry("api.github.com")
    obj["spec"]["hosts"] = [f"evil{i}.example.org" for i in range(5_000)]
    decision = evaluate(obj, RULES_POLICY)
    assert len(decision.violations) >= 5_000
    message = decision.message()
    assert message.count("\n- ") == 51  # 50 listed, then "and N more"
    assert "and " in message.splitlines()[-1]


def test_the_given_namespace_wins_over_metadata_namespace() -> None:
    # The server passes the AdmissionRequest's namespace: an object claiming an exempt
    # namespace in its metadata is still judged where the API server says it lives.
    obj = tls_service_entry("evil.example.org")
    obj["metadata"]["namespace"] = "istio-system"
    assert evaluate(obj, RULES_POLICY).exempt
    decision = evaluate(obj, RULES_POLICY, namespace="tenant")
    assert not decision.exempt
    assert not decision.allowed
    assert decision.namespace == "tenant"
