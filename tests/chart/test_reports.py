"""The chart's continuous audit: RBAC for PolicyReports and the Lease, and the server flags."""

from __future__ import annotations

from tests.chart.rendering import Helm, Obj, find
from webhook.cli import build_parser
from webhook.reports.policy_report import GROUP, PLURAL

VIEW = {"clusterView": {"enabled": True}}


def _grants(role: Obj) -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def _named(objs: list[Obj], kind: str, suffix: str) -> Obj:
    [found] = [o for o in objs if o["kind"] == kind and o["metadata"]["name"].endswith(suffix)]
    return found


def _container(objs: list[Obj]) -> Obj:
    [container] = find(objs, "Deployment")["spec"]["template"]["spec"]["containers"]
    return container


def test_reports_are_on_with_the_view_and_granted_exactly_what_they_write(helm: Helm) -> None:
    objs = helm.template(VIEW)
    role = _named(objs, "ClusterRole", "-reports")
    verbs = ("get", "list", "create", "update", "patch", "delete")
    assert _grants(role) == {(GROUP, PLURAL, verb) for verb in verbs}
    binding = _named(objs, "ClusterRoleBinding", "-reports")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    lease_role = _named(objs, "Role", "-reports-lease")
    assert _grants(lease_role) == {
        ("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")
    }
    lease_binding = _named(objs, "RoleBinding", "-reports-lease")
    assert lease_binding["metadata"]["namespace"] == lease_role["metadata"]["namespace"]
    assert lease_binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                        "name": lease_role["metadata"]["name"]}  # fmt: skip


def test_the_server_gets_the_report_flags_and_its_namespace_and_name(helm: Helm) -> None:
    values = {"clusterView": {"enabled": True, "reports": {"intervalSeconds": 60,
              "maxResults": 100, "leaseDurationSeconds": 20}}}  # fmt: skip
    container = _container(helm.template(values))
    args = container["args"]
    assert {"--reports", "--report-interval=60", "--report-max-results=100",
            "--lease-duration=20"} <= set(args)  # fmt: skip
    assert any(a.startswith("--lease-name=") and a.endswith("-reports") for a in args)
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"}
    # every flag the chart passes is one `serve` accepts
    parsed = build_parser().parse_args(
        [*args, "--policy", "p", "--tls-cert", "c", "--tls-key", "k"]
    )
    assert (parsed.reports, parsed.report_interval, parsed.lease_duration) == (True, 60, 20)


def test_reports_off_grants_nothing_and_says_so(helm: Helm) -> None:
    objs = helm.template({"clusterView": {"enabled": True, "reports": {"enabled": False}}})
    assert "--no-reports" in _container(objs)["args"]
    assert not [o for o in objs if o["metadata"]["name"].endswith(("-reports", "-reports-lease"))]


def test_without_the_view_there_are_no_reports(helm: Helm) -> None:
    objs = helm.template()
    assert not [o for o in objs if "reports" in o["metadata"]["name"]]
    assert "env" not in _container(objs)
    assert not [a for a in _container(objs)["args"] if "report" in a or "lease" in a]
