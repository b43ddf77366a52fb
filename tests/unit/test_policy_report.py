"""PolicyReports from an audit: results per object, one report per namespace, bounded size."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest
import yaml

from tests.unit.istio_objects import (
    RULES_POLICY,
    egress_tls_routes,
    tls_service_entry,
    virtual_service,
)
from webhook.audit import render
from webhook.cluster.kinds import watched_kinds
from webhook.cluster.view import ClusterView
from webhook.reports.audit import Audited, audit
from webhook.reports.lease import LeaseConfig
from webhook.reports.policy_report import (
    RESULTS_OMITTED,
    policy_reports,
    report,
    violations_by_rule,
)
from webhook.server.report_metrics import OTHER, top_namespaces
from webhook.server.reports import settle


def _view(objects: list[dict[str, Any]]) -> ClusterView:
    view = ClusterView(watched_kinds())
    for kind in view.state:
        view.listed(kind, [o for o in objects if o["kind"] == kind])
    return view


def _with_uid(obj: dict[str, Any], uid: str) -> dict[str, Any]:
    obj["metadata"]["uid"] = uid
    return obj


#: Exported to its namespace and "shared", as its route is: covered wherever it reaches,
#: and meeting namespace bad's entry (exported everywhere) in "shared".
COVERED = [
    _with_uid(tls_service_entry(namespace="good", exportTo=[".", "shared"]), "uid-se-good"),
    virtual_service("good", "github", hosts=["api.github.com"],
                    gateways=["mesh", "istio-system/istio-egressgateway"],
                    tls=egress_tls_routes(), exportTo=[".", "shared"]),
]  # fmt: skip
UNCOVERED = _with_uid(tls_service_entry(namespace="bad"), "uid-se-bad")
EVIL = tls_service_entry("evil.example.org", namespace="bad", name="evil")
EXEMPT = tls_service_entry("evil.example.org", namespace="istio-system")


def _audited(objects: list[dict[str, Any]]) -> list[Audited]:
    return list(audit(_view(objects), RULES_POLICY))


def test_one_report_per_namespace_with_pass_fail_and_skip() -> None:
    reports = policy_reports(_audited([*COVERED, UNCOVERED, EVIL, EXEMPT]))
    assert sorted(reports) == ["bad", "good", "istio-system"]
    good, bad = reports["good"], reports["bad"]
    assert good["apiVersion"] == "wgpolicyk8s.io/v1alpha2"
    assert good["kind"] == "PolicyReport"
    assert good["metadata"]["name"] == "egress-webhook"
    assert good["summary"]["fail"] == 0
    assert good["summary"]["pass"] == 1  # the VirtualService
    # the ServiceEntry shares its exported host with namespace bad: an advisory finding
    [warned] = [r for r in good["results"] if r["result"] == "warn"]
    assert (warned["rule"], warned["severity"]) == ("cross-namespace-hosts", "medium")
    fails = [r for r in bad["results"] if r["result"] == "fail"]
    assert {r["rule"] for r in fails} >= {"gateway-coverage", "service-entry-hosts"}
    assert all(r["policy"] == "egress-webhook" and r["severity"] == "high" for r in fails)
    reference = next(r for r in fails if r["rule"] == "gateway-coverage")["resources"][0]
    assert reference == {"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                         "namespace": "bad", "name": "se", "uid": "uid-se-bad"}  # fmt: skip
    assert [r["result"] for r in reports["istio-system"]["results"]] == ["skip"]


def test_a_report_keeps_failures_first_and_says_how_many_were_left_out() -> None:
    results = [{"result": "pass"}] * 5 + [{"result": "fail"}] * 2 + [{"result": "warn"}] * 2
    document = report("ns", results, max_results=3)
    assert [r["result"] for r in document["results"]] == ["fail", "fail", "warn"]
    assert document["summary"] == {"pass": 5, "fail": 2, "warn": 2, "error": 0, "skip": 0}
    assert document["metadata"]["annotations"] == {RESULTS_OMITTED: "6"}
    assert "annotations" not in report("ns", results, max_results=9)["metadata"]


def test_an_unchanged_cluster_gives_identical_reports() -> None:
    objects = [*COVERED, UNCOVERED]
    assert policy_reports(_audited(objects)) == policy_reports(_audited(objects))


def test_audit_prints_policy_reports_as_yaml_and_as_a_json_list() -> None:
    audited = _audited([*COVERED, UNCOVERED])
    documents = list(yaml.safe_load_all(io.StringIO(render(audited, "policyreport"))))
    assert [d["metadata"]["namespace"] for d in documents] == ["bad", "good"]
    listed = yaml.safe_load(render(audited, "policyreport-json"))
    assert listed["kind"] == "List"
    assert listed["items"] == documents


def test_violation_metrics_fold_all_but_the_busiest_namespaces() -> None:
    counts = violations_by_rule(_audited([*COVERED, UNCOVERED, EVIL]))
    assert counts[("bad", "gateway-coverage")] >= 1
    many = {(f"ns{i:02}", "r"): i for i in range(30)}
    folded = top_namespaces(many, top=20)
    assert len(folded) == 21
    assert folded[(OTHER, "r")] == sum(range(10))
    assert folded[("ns29", "r")] == 29


@pytest.mark.parametrize(
    ("retry", "renew", "duration"), [(2, 10, 10), (0, 1, 2), (3, 2, 15), (2, 15, 10)]
)
def test_lease_timings_must_leave_a_follower_time(
    retry: float, renew: float, duration: float
) -> None:
    with pytest.raises(ValueError, match="retry_period < renew_deadline < lease_duration"):
        LeaseConfig("l", "ns", "me", lease_duration=duration, renew_deadline=renew,
                    retry_period=retry)  # fmt: skip


async def test_settle_waits_for_a_quiet_spell() -> None:
    changed = asyncio.Event()
    changed.set()
    done = asyncio.create_task(settle(changed, quiet=0.05, limit=5))
    for _ in range(3):  # a burst of changes keeps it waiting
        await asyncio.sleep(0.01)
        assert not done.done()
        changed.set()
    await asyncio.wait_for(done, 2)
    assert not changed.is_set()
