"""The opt-in PrometheusRule and Grafana dashboard: rendered, parsed and run by promtool."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.rendering import NAMESPACE, RELEASE, Helm, find

ENABLED = {
    "monitoring": {"prometheusRule": {"enabled": True}, "grafanaDashboard": {"enabled": True}}
}
#: What Grafana puts in place of its range variables before a query reaches Prometheus.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m"}
WEBHOOK = f"{RELEASE}-egress-webhook.{NAMESPACE}.egress-webhook.io"
OWN = f'job="{RELEASE}-egress-webhook",namespace="{NAMESPACE}"'


def _promtool(promtool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(promtool), *map(str, args)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, f"promtool {args[0]} {args[1]} failed:\n{proc.stdout}{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> list[dict[str, Any]]:
    return helm.template(ENABLED)


@pytest.fixture(scope="module")
def rule_file(rendered: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The PrometheusRule's spec: exactly a Prometheus rule file."""
    path = tmp_path_factory.mktemp("rules") / "egress-webhook.rules.yaml"
    path.write_text(yaml.safe_dump(find(rendered, "PrometheusRule")["spec"]))
    return path


def _alerts(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    groups = find(rendered, "PrometheusRule")["spec"]["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def _dashboard(rendered: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = find(rendered, "ConfigMap", f"{RELEASE}-egress-webhook-dashboard")
    dashboard = json.loads(configmap["data"]["egress-webhook.json"])
    assert isinstance(dashboard, dict)
    return dashboard


def _panel_queries(dashboard: dict[str, Any]) -> dict[str, str]:
    """Every panel target's expression, as Prometheus receives it from Grafana."""
    queries = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", ()):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            queries[f"dashboard:panel_{panel['id']}_{target['refId']}"] = expr
    return queries


def test_both_are_off_by_default(helm: Helm) -> None:
    objs = helm.template()
    assert not [o for o in objs if o["kind"] == "PrometheusRule"]
    assert not [
        o for o in objs if o["kind"] == "ConfigMap" and "dashboard" in o["metadata"]["name"]
    ]


def test_promtool_accepts_the_rendered_rules(promtool: Path, rule_file: Path) -> None:
    proc = _promtool(promtool, "check", "rules", "--lint=all", "--lint-fatal", rule_file)
    assert "SUCCESS: 6 rules found" in proc.stdout


def test_the_alerts_named_in_the_readme(rendered: list[dict[str, Any]]) -> None:
    alerts = _alerts(rendered)
    assert set(alerts) == {
        "EgressWebhookCallErrors",
        "EgressWebhookFailingOpen",
        "EgressWebhookHighRejectionRate",
        "EgressWebhookPolicyReloadFailing",
        "EgressWebhookCertificateExpiringSoon",
        "EgressWebhookPolicyDrift",
    }
    readme = (Path(__file__).parents[2] / "charts" / "egress-webhook" / "README.md").read_text()
    for name in alerts:
        assert f"`{name}`" in readme
    # The API server's own metrics, of this release's webhook entries only.
    errors = alerts["EgressWebhookCallErrors"]["expr"]
    assert "apiserver_admission_webhook_rejection_count{" in errors
    assert "apiserver_admission_webhook_request_total{" in errors
    assert "name=~`(.+\\.)?" + WEBHOOK.replace(".", "\\.") + "`" in errors
    assert alerts["EgressWebhookPolicyReloadFailing"]["for"] == "10m"
    assert alerts["EgressWebhookPolicyDrift"]["for"] == "15m"
    assert "< 14 * 86400" in alerts["EgressWebhookCertificateExpiringSoon"]["expr"]


REQUESTS = "apiserver_admission_webhook_request_total"
REJECTIONS = "apiserver_admission_webhook_rejection_count"
CALL_ERROR = "calling_webhook_error"


def _series(metric: str, labels: dict[str, str], values: str, **more: str) -> dict[str, str]:
    """An input series of promtool's rule tests."""
    matchers = ",".join(f'{k}="{v}"' for k, v in {**labels, **more}.items())
    return {"series": f"{metric}{{{matchers}}}", "values": values}


def _alert_test(rule_file: Path, tmp_path: Path, tests: list[dict[str, Any]]) -> Path:
    """A promtool test file over the rules without annotations (`check rules` covers
    their templates): promtool would otherwise compare every expanded annotation."""
    spec = yaml.safe_load(rule_file.read_text())
    for group in spec["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    rule_file = tmp_path / "labels-only.rules.yaml"
    rule_file.write_text(yaml.safe_dump(spec))
    path = tmp_path / "alerts.test.yaml"
    path.write_text(
        yaml.safe_dump(
            {"rule_files": [str(rule_file)], "evaluation_interval": "1m", "tests": tests}
        )
    )
    return path


def test_the_alerts_fire_when_they_should(promtool: Path, rule_file: Path, tmp_path: Path) -> None:
    """promtool's rule unit tests, on series shaped like the real ones."""
    pod = f'{OWN},pod="egw-1"'
    other = f'{OWN},pod="egw-2"'
    mine = {"name": WEBHOOK, "type": "validating", "operation": "CREATE"}
    theirs = {**mine, "name": "other.example.io"}
    tests = [
        {  # the certificate: 10 days left fires, 20 days left does not
            "interval": "1m",
            "input_series": [
                {
                    "series": f"egress_webhook_certificate_expiry_timestamp_seconds{{{pod}}}",
                    "values": f"{10 * 86400}x30",
                },
                {
                    "series": f"egress_webhook_certificate_expiry_timestamp_seconds{{{other}}}",
                    "values": f"{20 * 86400}x30",
                },
            ],
            "alert_rule_test": [
                {
                    "eval_time": "15m",
                    "alertname": "EgressWebhookCertificateExpiringSoon",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "warning",
                                "namespace": NAMESPACE,
                                "pod": "egw-1",
                            }
                        }
                    ],
                },
            ],
        },
        {  # a reload failing for 10 minutes fires; a healthy pod does not
            "interval": "1m",
            "input_series": [
                {"series": f"egress_webhook_policy_reload_healthy{{{pod}}}", "values": "0x30"},
                {"series": f"egress_webhook_policy_reload_healthy{{{other}}}", "values": "1x30"},
            ],
            "alert_rule_test": [
                {
                    "eval_time": "5m",
                    "alertname": "EgressWebhookPolicyReloadFailing",
                    "exp_alerts": [],
                },
                {
                    "eval_time": "12m",
                    "alertname": "EgressWebhookPolicyReloadFailing",
                    "exp_alerts": [
                        {
                            "exp_labels": {
                                "severity": "warning",
                                "namespace": NAMESPACE,
                                "pod": "egw-1",
                            }
                        }
                    ],
                },
            ],
        },
        {  # two policy hashes for 15 minutes fire; one does not
            "interval": "1m",
            "input_series": [
                {
                    "series": f'egress_webhook_policy_info{{{pod},sha256="aaa",mode="enforce"}}',
                    "values": "1x30",
                },
                {
                    "series": f'egress_webhook_policy_info{{{other},sha256="bbb",mode="enforce"}}',
                    "values": "_x10 1x20",
                },
            ],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "EgressWebhookPolicyDrift", "exp_alerts": []},
                {
                    "eval_time": "28m",
                    "alertname": "EgressWebhookPolicyDrift",
                    "exp_alerts": [{"exp_labels": {"severity": "warning"}}],
                },
            ],
        },
        {  # 5% of calls fail (the API server's own counters), another release's webhook ignored
            "interval": "1m",
            "input_series": [
                _series(REQUESTS, mine, code="200", rejected="false", values="0+95x30"),
                _series(REQUESTS, mine, code="500", rejected="true", values="0+5x30"),
                _series(
                    REJECTIONS, mine, error_type=CALL_ERROR, rejection_code="500", values="0+5x30"
                ),
                _series(
                    REJECTIONS, theirs, error_type=CALL_ERROR, rejection_code="500", values="0+5x30"
                ),
                _series(REQUESTS, theirs, code="500", rejected="true", values="0+5x30"),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "15m",
                    "alertname": "EgressWebhookCallErrors",
                    "exp_alerts": [{"exp_labels": {"severity": "critical", "name": WEBHOOK}}],
                },
                {
                    "eval_time": "15m",
                    "alertname": "EgressWebhookHighRejectionRate",
                    "exp_alerts": [],
                },
            ],
        },
    ]
    _promtool(promtool, "test", "rules", _alert_test(rule_file, tmp_path, tests))


def test_the_dashboard_configmap_is_for_the_grafana_sidecar(rendered: list[dict[str, Any]]) -> None:
    configmap = find(rendered, "ConfigMap", f"{RELEASE}-egress-webhook-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = _dashboard(rendered)
    assert dashboard["uid"] == "egress-webhook"
    assert dashboard["title"]
    assert "__METRICS_SELECTOR__" not in json.dumps(dashboard)
    assert "__APISERVER_SELECTOR__" not in json.dumps(dashboard)


def test_the_dashboard_shows_decisions_latency_reloads_and_expiry(
    rendered: list[dict[str, Any]],
) -> None:
    queries = "\n".join(_panel_queries(_dashboard(rendered)).values())
    for metric in (
        "egress_webhook_admission_reviews_total",
        "egress_webhook_policy_violations_total",
        "egress_webhook_admission_review_duration_seconds_bucket",
        "apiserver_admission_webhook_admission_duration_seconds_bucket",
        "apiserver_admission_webhook_request_total",
        "apiserver_admission_webhook_rejection_count",
        "egress_webhook_policy_reloads_total",
        "egress_webhook_policy_info",
        "egress_webhook_certificate_expiry_timestamp_seconds",
    ):
        assert metric in queries, metric
    assert OWN in queries
    assert WEBHOOK.replace(".", "\\.") in queries


def test_promtool_parses_every_dashboard_query(
    promtool: Path, rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    """Each query as a recording rule: `promtool check rules` parses it with Prometheus' parser."""
    queries = _panel_queries(_dashboard(rendered))
    rules = [{"record": name, "expr": expr} for name, expr in queries.items()]
    path = tmp_path / "dashboard.rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    proc = _promtool(promtool, "check", "rules", path)
    assert f"SUCCESS: {len(rules)} rules found" in proc.stdout


def test_a_custom_selector_reaches_rules_and_dashboard(helm: Helm) -> None:
    selector = 'job="egress",cluster="eu-1"'
    objs = helm.template(ENABLED, {"monitoring": {"metricsSelector": selector}})
    drift = _alerts(objs)["EgressWebhookPolicyDrift"]["expr"]
    assert f"egress_webhook_policy_info{{{selector}}}" in drift
    assert f"{{{selector}}}" in "\n".join(_panel_queries(_dashboard(objs)).values())
