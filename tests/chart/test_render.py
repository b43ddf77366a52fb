"""charts/egress-webhook: helm lint, and `helm template` for each certificate mode and the main
value combinations, asserted on the parsed objects."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from tests.chart.rendering import (
    CHART,
    EXAMPLE_VALUES,
    KUBE_VERSION,
    NAMESPACE,
    RELEASE,
    Helm,
    Obj,
    find,
    kinds,
)
from webhook.certs import ca_bundle, generate_ca
from webhook.cluster.kinds import watched_kinds
from webhook.policy.kinds import KINDS
from webhook.policy.loader import load_policy, parse_policy

REPO = Path(__file__).resolve().parents[2]
FULLNAME = f"{RELEASE}-egress-webhook"
CONFIGURATION = f"{NAMESPACE}-{FULLNAME}"
WEBHOOK = f"{FULLNAME}.{NAMESPACE}.egress-webhook.io"
UID = 65532

SERVER_KINDS = ["Deployment", "PodDisruptionBudget", "Service", "ServiceAccount", "PriorityClass"]
HOOK_KINDS = ["ClusterRole", "ClusterRoleBinding", "Job", "ServiceAccount"]
TEST_KINDS = ["Pod", "Role", "RoleBinding", "ServiceAccount"]


# base64 of a throwaway CA certificate from the project's cert code (never written to disk)
CA_BUNDLE = ca_bundle(generate_ca("chart-test-ca", days=1)[0])
EXISTING = {
    "certs": {"mode": "existing", "existing": {"secretName": "my-tls", "caBundle": CA_BUNDLE}}
}
URL = "https://webhook.example.net:8443/validate"
URL_MODE = {
    "webhook": {"url": URL},
    "certs": {"mode": "existing", "existing": {"caBundle": CA_BUNDLE}},
}
CERT_MANAGER = {"certs": {"mode": "certManager"}}


def webhook_of(objs: list[Obj]) -> Obj:
    configuration = find(objs, "ValidatingWebhookConfiguration")
    namespace = find(objs, "ConfigMap")["metadata"]["namespace"]
    assert configuration["metadata"]["name"] == f"{namespace}-{FULLNAME}"
    webhook = configuration["webhooks"][0]  # the main entry; the others differ only in
    return dict(webhook)  # rules and matchConditions (test_every_entry_...)


def pod_specs(objs: list[Obj]) -> dict[str, Obj]:
    """Every pod spec the chart renders: server, cleanup hook, helm test."""
    specs = {}
    for obj in objs:
        if obj["kind"] in ("Deployment", "Job"):
            specs[f"{obj['kind']}/{obj['metadata']['name']}"] = obj["spec"]["template"]["spec"]
        elif obj["kind"] == "Pod":
            specs[f"Pod/{obj['metadata']['name']}"] = obj["spec"]
    return specs


# --------------------------------------------------------------------------- lint


def test_helm_lint_is_clean(helm: Helm) -> None:
    proc = helm.run(
        "lint",
        "--strict",
        CHART,
        "-f",
        EXAMPLE_VALUES,
        "--namespace",
        NAMESPACE,
        "--kube-version",
        KUBE_VERSION,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


def test_every_value_is_documented() -> None:
    """Each key of values.yaml has a `# --` comment, or all of its own keys have one."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    root = yaml.compose("\n".join(lines))
    undocumented: list[str] = []

    def documented(line: int) -> bool:
        above = line - 1
        while above >= 0 and lines[above].lstrip().startswith("#"):
            if lines[above].lstrip().startswith("# --"):
                return True
            above -= 1
        return False

    def walk(node: yaml.MappingNode, path: str) -> None:
        for key, value in node.value:
            dotted = f"{path}.{key.value}" if path else key.value
            if documented(key.start_mark.line):
                continue
            if isinstance(value, yaml.MappingNode) and value.value:
                walk(value, dotted)
            else:
                undocumented.append(dotted)

    assert isinstance(root, yaml.MappingNode)
    walk(root, "")
    assert undocumented == []


# --------------------------------------------------------------------------- the server


def test_default_install_renders_the_server_the_webhook_and_generated_certificates(
    helm: Helm,
) -> None:
    objs = helm.template()
    assert kinds(objs) == sorted(
        [
            *SERVER_KINDS,
            *HOOK_KINDS,
            *TEST_KINDS,
            "ConfigMap",
            "Secret",
            "ValidatingWebhookConfiguration",
        ]
    )
    for obj in objs:
        if obj["kind"] not in (
            "ValidatingWebhookConfiguration",
            "ClusterRole",
            "ClusterRoleBinding",
            "PriorityClass",
        ):
            assert obj["metadata"]["namespace"] in (NAMESPACE, "default"), obj["metadata"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == RELEASE


def test_deployment_is_highly_available_and_probed_over_https(helm: Helm) -> None:
    deployment = find(helm.template(), "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = spec["template"]["spec"]
    selector = spec["selector"]["matchLabels"]
    assert {c["topologyKey"] for c in pod["topologySpreadConstraints"]} == {
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    }
    for constraint in pod["topologySpreadConstraints"]:
        assert constraint["labelSelector"] == {"matchLabels": selector}
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/readyz",
        "port": "https",
        "scheme": "HTTPS",
    }
    assert container["livenessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": "https",
        "scheme": "HTTPS",
    }
    assert set(container["resources"]["requests"]) == {"cpu", "memory"}
    assert set(container["resources"]["limits"]) == {"cpu", "memory"}
    assert container["args"][0] == "serve"
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    "values",
    [{}, URL_MODE],
    ids=["service-mode", "url-mode"],
)
def test_every_pod_is_restricted(helm: Helm, values: Obj) -> None:
    """Pod Security Standard `restricted` for the server, the cleanup hook and the test pod."""
    specs = pod_specs(helm.template(values))
    assert specs, "no pods rendered"
    for where, pod in specs.items():
        pod_context = pod["securityContext"]
        assert pod_context["runAsNonRoot"] is True, where
        assert pod_context["runAsUser"] == UID, where
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert not pod.get("hostNetwork"), where
        assert not pod.get("hostPID"), where
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["runAsNonRoot"] is True, where
            assert context["capabilities"] == {"drop": ["ALL"]}, where
            assert "privileged" not in context, where
            assert container["resources"]["limits"], where


def test_policy_and_certificate_are_mounted_as_directories(helm: Helm) -> None:
    """No subPath: the kubelet's symlink swap must reach the pod so the server can reload."""
    pod = find(helm.template(), "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert all("subPath" not in m for m in mounts.values())
    assert volumes["policy"]["configMap"]["name"] == f"{FULLNAME}-policy"
    assert volumes["tls"]["secret"]["secretName"] == f"{FULLNAME}-tls"
    assert "--policy=" + mounts["policy"]["mountPath"] + "/policy.yaml" in container["args"]
    assert "--tls-cert=" + mounts["tls"]["mountPath"] + "/tls.crt" in container["args"]
    assert "--tls-key=" + mounts["tls"]["mountPath"] + "/tls.key" in container["args"]
    assert "checksum/policy" not in (pod.get("annotations") or {})


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ([], True),
        (["replicaCount=2"], True),
        (["replicaCount=1"], False),
        (["podDisruptionBudget.enabled=false"], False),
    ],
)
def test_pod_disruption_budget_only_when_replicas_above_one(
    helm: Helm, sets: list[str], expected: bool
) -> None:
    objs = helm.template(sets=sets)
    budgets = [o for o in objs if o["kind"] == "PodDisruptionBudget"]
    assert bool(budgets) is expected
    if budgets:
        deployment = find(objs, "Deployment")
        assert budgets[0]["spec"]["selector"] == deployment["spec"]["selector"]
        assert budgets[0]["spec"]["maxUnavailable"] == 1


def test_network_policy_and_service_monitor_are_optional(helm: Helm) -> None:
    assert not {"NetworkPolicy", "ServiceMonitor"} & set(kinds(helm.template()))
    objs = helm.template({"networkPolicy": {"enabled": True}, "serviceMonitor": {"enabled": True}})
    network_policy = find(objs, "NetworkPolicy")
    assert network_policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert network_policy["spec"]["ingress"] == [{"ports": [{"port": "https", "protocol": "TCP"}]}]
    assert network_policy["spec"]["egress"] == []
    [endpoint] = find(objs, "ServiceMonitor")["spec"]["endpoints"]
    assert endpoint["scheme"] == "https"
    assert endpoint["path"] == "/metrics"
    assert endpoint["tlsConfig"]["ca"]["secret"] == {"name": f"{FULLNAME}-tls", "key": "ca.crt"}


# --------------------------------------------------------------------------- the policy


def test_policy_in_the_configmap_is_a_valid_policy(helm: Helm) -> None:
    """The example policy given as values reaches the pods as the same policy."""
    configmap = find(helm.template(), "ConfigMap", f"{FULLNAME}-policy")
    rendered = parse_policy(configmap["data"]["policy.yaml"], "ConfigMap policy.yaml")
    assert rendered.policy == load_policy(REPO / "examples" / "policy.yaml").policy


def test_policy_values_pass_through_unchanged(helm: Helm) -> None:
    policy = {
        "allowlist": [
            {"host": "api.stripe.com", "namespaces": ["payments"], "ports": [{"number": 443}]}
        ],
        "mode": "warn",
        "exemptNamespaces": ["istio-system", "sandbox"],
    }
    configmap = find(helm.template({"policy": policy}), "ConfigMap", f"{FULLNAME}-policy")
    text = configmap["data"]["policy.yaml"]
    compiled = parse_policy(text, "ConfigMap policy.yaml")
    assert compiled.policy.mode == "warn"
    assert [e.host for e in compiled.policy.allowlist] == ["api.stripe.com"]
    assert yaml.safe_load(text)["exemptNamespaces"] == ["istio-system", "sandbox"]


def test_an_empty_allowlist_is_refused_at_render_time(helm: Helm) -> None:
    error = helm.template_error({"policy": {"allowlist": []}})
    assert "policy.allowlist is empty" in error


# --------------------------------------------------------------------------- the webhook


def test_webhook_configuration_registers_exactly_the_engines_kinds(helm: Helm) -> None:
    webhook = webhook_of(helm.template())
    assert webhook["name"] == WEBHOOK
    # the chart's list (templates/_helpers.tpl) must say what the registry says
    expected = KINDS.webhook_rules()
    assert webhook["rules"] == expected, (
        'set "egress-webhook.admissionRules" in templates/_helpers.tpl to:\n'
        + yaml.safe_dump(expected, default_flow_style=None, sort_keys=False)
    )
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["sideEffects"] == "None"
    assert webhook["matchPolicy"] == "Equivalent"
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert 1 <= webhook["timeoutSeconds"] <= 10
    assert webhook["clientConfig"]["service"] == {
        "name": FULLNAME,
        "namespace": NAMESPACE,
        "path": "/validate",
        "port": 443,
    }
    service = find(helm.template(), "Service")
    assert service["spec"]["ports"][0]["port"] == 443


def test_every_entry_is_the_registrys_and_shares_the_main_entrys_settings(helm: Helm) -> None:
    """One entry per Registry.webhooks() group, named <prefix>.<main name>, same settings."""
    configuration = find(helm.template(URL_MODE), "ValidatingWebhookConfiguration")
    main, *others = configuration["webhooks"]
    expected = KINDS.webhooks()[1:]
    rendered = [
        {
            "prefix": entry["name"].removesuffix("." + WEBHOOK),
            "rules": entry["rules"],
            "matchConditions": entry["matchConditions"],
        }
        for entry in others
    ]
    assert rendered == expected, (
        'set "egress-webhook.conditionalWebhooks" in templates/_helpers.tpl to:\n'
        + yaml.safe_dump(expected, default_flow_style=None, sort_keys=False)
    )
    assert "matchConditions" not in main
    for entry in others:
        assert entry["name"].endswith("." + WEBHOOK)
        shared = {k: v for k, v in entry.items() if k not in ("name", "rules", "matchConditions")}
        assert shared == {k: v for k, v in main.items() if k not in ("name", "rules")}


@pytest.mark.parametrize("namespace", ["egress-webhook", "platform-security"])
@pytest.mark.parametrize(
    "values",
    [
        {},
        {
            "webhook": {
                "namespaceSelector": {"matchExpressions": [{"key": "tenant", "operator": "Exists"}]}
            }
        },
        {"webhook": {"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}},
    ],
    ids=["default", "user-expression", "user-labels"],
)
def test_namespace_selector_always_excludes_kube_system_and_the_release_namespace(
    helm: Helm, namespace: str, values: Obj
) -> None:
    webhook = webhook_of(helm.template(values, namespace=namespace))
    selector = webhook["namespaceSelector"]
    excluded = [
        e
        for e in selector["matchExpressions"]
        if e["key"] == "kubernetes.io/metadata.name" and e["operator"] == "NotIn"
    ]
    assert len(excluded) == 1
    assert {"kube-system", namespace, "istio-system"} <= set(excluded[0]["values"])
    user = values.get("webhook", {}).get("namespaceSelector", {})
    for expression in user.get("matchExpressions", []):
        assert expression in selector["matchExpressions"]
    assert selector.get("matchLabels", {}) == user.get("matchLabels", {})


def test_failure_policy_and_timeout_are_values(helm: Helm) -> None:
    webhook = webhook_of(
        helm.template(sets=["webhook.failurePolicy=Ignore", "webhook.timeoutSeconds=3"])
    )
    assert webhook["failurePolicy"] == "Ignore"
    assert webhook["timeoutSeconds"] == 3


# --------------------------------------------------------------------------- certificates


def test_generated_certificate_is_signed_by_the_ca_in_the_bundle(helm: Helm) -> None:
    objs = helm.template()
    secret = find(objs, "Secret", f"{FULLNAME}-tls")
    assert secret["type"] == "kubernetes.io/tls"
    data = {k: base64.b64decode(v) for k, v in secret["data"].items()}
    ca = x509.load_pem_x509_certificate(data["ca.crt"])
    leaf = x509.load_pem_x509_certificate(data["tls.crt"])
    leaf.verify_directly_issued_by(ca)
    assert b"PRIVATE KEY" in data["tls.key"]
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {
        FULLNAME,
        f"{FULLNAME}.{NAMESPACE}",
        f"{FULLNAME}.{NAMESPACE}.svc",
        f"{FULLNAME}.{NAMESPACE}.svc.cluster.local",
    }
    assert base64.b64decode(webhook_of(objs)["clientConfig"]["caBundle"]) == data["ca.crt"]
    not_after = dt.datetime.fromisoformat(
        secret["metadata"]["annotations"]["egress-webhook.io/not-after"]
    )
    assert abs(not_after - leaf.not_valid_after_utc) < dt.timedelta(minutes=5)
    assert abs(not_after - dt.datetime.now(dt.UTC) - dt.timedelta(days=365)) < dt.timedelta(days=1)


def test_generated_certificate_follows_the_cluster_domain(helm: Helm) -> None:
    secret = find(
        helm.template(
            {
                "policy": {
                    "clusterDomain": "corp.internal",
                    "egressGateway": {"service": "gw.istio-system.svc.corp.internal"},
                }
            }
        ),
        "Secret",
    )
    leaf = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"{FULLNAME}.{NAMESPACE}.svc.corp.internal" in names.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize(
    "issuer_ref", [{}, {"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}]
)
def test_cert_manager_issues_the_certificate_and_injects_the_ca(
    helm: Helm, issuer_ref: Obj
) -> None:
    objs = helm.template(
        {"certs": {"mode": "certManager", "certManager": {"issuerRef": issuer_ref}}}
    )
    assert "Secret" not in kinds(objs)
    serving = find(objs, "Certificate", f"{FULLNAME}-serving")
    volumes = find(objs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    [tls] = [v for v in volumes if v["name"] == "tls"]
    assert serving["spec"]["secretName"] == tls["secret"]["secretName"]
    assert f"{FULLNAME}.{NAMESPACE}.svc" in serving["spec"]["dnsNames"]
    assert "server auth" in serving["spec"]["usages"]
    configuration = find(objs, "ValidatingWebhookConfiguration")
    assert configuration["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        f"{NAMESPACE}/{FULLNAME}-serving"
    )
    assert "caBundle" not in webhook_of(objs)["clientConfig"]
    if issuer_ref:
        assert serving["spec"]["issuerRef"] == issuer_ref
        assert "Issuer" not in kinds(objs)
    else:
        issuers = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Issuer"}
        assert set(issuers) == {f"{FULLNAME}-selfsigned", f"{FULLNAME}-ca"}
        ca = find(objs, "Certificate", f"{FULLNAME}-ca")
        assert ca["spec"]["isCA"] is True
        assert ca["spec"]["issuerRef"]["name"] == f"{FULLNAME}-selfsigned"
        assert issuers[f"{FULLNAME}-ca"]["spec"]["ca"]["secretName"] == ca["spec"]["secretName"]
        assert serving["spec"]["issuerRef"]["name"] == f"{FULLNAME}-ca"


@pytest.mark.parametrize(
    ("api_versions", "values", "issued_by"),
    [
        ((), {}, "Secret"),  # no cert-manager: the chart generates (and the alert watches)
        (("cert-manager.io/v1",), {}, "Certificate"),  # cert-manager renews by itself
        (("cert-manager.io/v1",), {"certs": {"mode": "generate"}}, "Secret"),  # asked for
    ],
)
def test_auto_mode_uses_cert_manager_when_the_cluster_has_it(
    helm: Helm, api_versions: tuple[str, ...], values: Obj, issued_by: str
) -> None:
    objs = helm.template(values, api_versions=api_versions)
    rendered = set(kinds(objs)) & {"Secret", "Certificate"}
    assert rendered == {issued_by}
    annotations = find(objs, "ValidatingWebhookConfiguration")["metadata"].get("annotations", {})
    assert ("cert-manager.io/inject-ca-from" in annotations) == (issued_by == "Certificate")


def test_existing_secret_is_mounted_and_its_ca_bundle_registered(helm: Helm) -> None:
    objs = helm.template(EXISTING)
    assert "Secret" not in kinds(objs)
    assert "Certificate" not in kinds(objs)
    volumes = find(objs, "Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "tls", "secret": {"secretName": "my-tls", "defaultMode": 0o440}} in volumes
    assert webhook_of(objs)["clientConfig"]["caBundle"] == CA_BUNDLE


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"certs": {"mode": "existing", "existing": {"secretName": "my-tls"}}},
            "needs certs.existing.caBundle",
        ),
        (
            {"certs": {"mode": "existing", "existing": {"caBundle": CA_BUNDLE}}},
            "needs certs.existing.secretName",
        ),
        (
            {
                "certs": {
                    "mode": "existing",
                    "existing": {"secretName": "x", "caBundle": "aGVsbG8="},
                }
            },
            "not base64 of a PEM certificate",
        ),
        ({"webhook": {"url": URL}}, "set certs.mode=existing"),
        ({"tests": {"namespace": NAMESPACE}}, "is never checked by the webhook"),
        ({"tests": {"namespace": "istio-system"}}, "is in policy.exemptNamespaces"),
    ],
    ids=[
        "no-ca-bundle",
        "no-secret",
        "bad-ca-bundle",
        "url-without-ca",
        "test-in-release-ns",
        "test-in-exempt-ns",
    ],
)
def test_inconsistent_values_fail_with_the_fix(helm: Helm, values: Obj, message: str) -> None:
    assert message in helm.template_error(values)


# --------------------------------------------------------------------------- url mode


def test_url_mode_registers_the_out_of_cluster_server_only(helm: Helm) -> None:
    objs = helm.template(URL_MODE)
    webhook = webhook_of(objs)
    assert webhook["clientConfig"] == {"url": URL, "caBundle": CA_BUNDLE}
    assert not set(SERVER_KINDS[:3]) & set(kinds(objs))
    assert "Secret" not in kinds(objs)
    assert kinds(
        [o for o in objs if "helm.sh/hook" not in o["metadata"].get("annotations", {})]
    ) == [
        "ConfigMap",
        "ValidatingWebhookConfiguration",
    ]


# --------------------------------------------------------------------------- schema


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["replicaCount=three"], "/replicaCount"),
        (["replicas=3"], "'replicas' not allowed"),
        (["webhook.failurePolicy=Maybe"], "/webhook/failurePolicy"),
        (["webhook.failurPolicy=Fail"], "'failurPolicy' not allowed"),
        (["webhook.timeoutSeconds=60"], "/webhook/timeoutSeconds"),
        (["webhook.url=http://insecure.example.net/validate"], "/webhook/url"),
        (["certs.mode=selfSigned"], "/certs/mode"),
        (["certs.generate.validityDays=soon"], "/certs/generate/validityDays"),
        (["policy.mod=warn"], "'mod' not allowed"),
        (["policy.mode=audit"], "/policy/mode"),
        (
            [
                "policy.allowlist[0].host=api.github.com",
                "policy.allowlist[0].ports[0].number=https",
            ],
            "/policy/allowlist/0/ports/0/number",
        ),
        (["policy.allowlist[0].prots[0].number=443"], "'prots' not allowed"),
        (["securityContext=none"], "/securityContext"),
        (["image.pullPolicy=Sometimes"], "/image/pullPolicy"),
    ],
)
def test_schema_rejects_typos_and_wrong_types(helm: Helm, sets: list[str], message: str) -> None:
    assert message in helm.template_error(sets=sets)


# --------------------------------------------------------------------------- hooks


def test_cleanup_hook_deletes_exactly_this_webhook_configuration(helm: Helm) -> None:
    objs = helm.template()
    hooks = [
        o for o in objs if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "pre-delete"
    ]
    assert kinds(hooks) == HOOK_KINDS
    for hook in hooks:
        assert "hook-succeeded" in hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        assert (
            "before-hook-creation" in hook["metadata"]["annotations"]["helm.sh/hook-delete-policy"]
        )
    job = find(hooks, "Job")
    weight = {o["kind"]: int(o["metadata"]["annotations"]["helm.sh/hook-weight"]) for o in hooks}
    assert weight["Job"] > max(
        weight["ServiceAccount"], weight["ClusterRole"], weight["ClusterRoleBinding"]
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][:4] == [
        "kubectl",
        "delete",
        "validatingwebhookconfiguration",
        CONFIGURATION,
    ]
    assert "--ignore-not-found" in container["command"]
    [rule] = find(hooks, "ClusterRole")["rules"]
    assert rule["resourceNames"] == [CONFIGURATION]
    assert set(rule["verbs"]) == {"get", "delete"}
    binding = find(hooks, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": job["spec"]["template"]["spec"]["serviceAccountName"],
            "namespace": NAMESPACE,
        }
    ]
    configuration = find(objs, "ValidatingWebhookConfiguration")
    assert "helm.sh/hook" not in configuration["metadata"].get("annotations", {}), (
        "the webhook configuration must stay a release object so uninstall removes it"
    )
    assert "Job" not in kinds(helm.template(sets=["cleanupHook.enabled=false"]))


def test_helm_test_submits_the_known_bad_service_entry(helm: Helm) -> None:
    objs = helm.template(sets=["kubectl.tag=1.34.0"])
    tests = [o for o in objs if o["metadata"].get("annotations", {}).get("helm.sh/hook") == "test"]
    assert kinds(tests) == TEST_KINDS
    pod = find(tests, "Pod")
    [container] = pod["spec"]["containers"]
    assert container["image"].endswith(":1.34.0")
    script = container["args"][0]
    assert "kubectl create --dry-run=server" in script
    assert f'admission webhook "{WEBHOOK}" denied the request' in script
    manifest = script.split("<<'MANIFEST'\n", 1)[1].split("MANIFEST\n", 1)[0]
    submitted = yaml.safe_load(manifest)
    [example] = yaml.safe_load_all(
        (REPO / "examples/manifests/denied/not-allowlisted.yaml").read_text()
    )
    assert submitted["spec"] == example["spec"]
    assert submitted["kind"] == example["kind"]
    assert submitted["metadata"]["namespace"] == "default"
    role = find(tests, "Role")
    assert role["metadata"]["namespace"] == "default"
    assert role["rules"] == [
        {"apiGroups": ["networking.istio.io"], "resources": ["serviceentries"], "verbs": ["create"]}
    ]


def test_helm_test_in_warn_mode_expects_a_warning(helm: Helm) -> None:
    pod = find(helm.template(sets=["policy.mode=warn"]), "Pod")
    script = pod["spec"]["containers"][0]["args"][0]
    assert "*Warning:*" in script
    assert "denied the request" not in script


def test_images_can_be_pinned_by_digest(helm: Helm) -> None:
    digest = "sha256:" + "a" * 64
    objs = helm.template(sets=[f"image.digest={digest}", f"kubectl.digest={digest}"])
    for where, pod in pod_specs(objs).items():
        for container in pod["containers"]:
            assert container["image"].endswith("@" + digest), where


def test_egress_waypoints_reach_the_policy(helm: Helm) -> None:
    values = {"policy": {"egressGateway": {"waypoints": ["istio-egress/egress-gateway"]}}}
    configmap = find(helm.template(values), "ConfigMap", f"{FULLNAME}-policy")
    compiled = parse_policy(configmap["data"]["policy.yaml"], "ConfigMap policy.yaml")
    assert compiled.policy.egress_gateway.waypoints == ("istio-egress/egress-gateway",)


@pytest.mark.parametrize(
    ("grace", "pre_stop", "drain"), [(30, 10, 15), (60, 10, 45), (30, 0, 25), (12, 10, 1)]
)
def test_pre_stop_and_drain_finish_inside_the_termination_grace_period(
    helm: Helm, grace: int, pre_stop: int, drain: int
) -> None:
    values = {"terminationGracePeriodSeconds": grace, "preStopSleepSeconds": pre_stop}
    pod = find(helm.template(values), "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert f"--shutdown-timeout={drain}" in container["args"]
    assert pod["terminationGracePeriodSeconds"] == grace
    if pre_stop:
        assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": pre_stop}}}
    else:
        assert "lifecycle" not in container


def test_a_grace_period_shorter_than_the_pre_stop_sleep_is_refused(helm: Helm) -> None:
    error = helm.template_error({"terminationGracePeriodSeconds": 10, "preStopSleepSeconds": 10})
    assert "terminationGracePeriodSeconds=10 must exceed preStopSleepSeconds=10" in error


def test_the_pods_get_the_charts_priority_class_by_default(helm: Helm) -> None:
    objs = helm.template()
    priority_class = find(objs, "PriorityClass")
    assert priority_class["metadata"]["name"] == f"{NAMESPACE}-{FULLNAME}"  # cluster-scoped
    assert 0 < priority_class["value"] <= 1_000_000_000  # user-definable range
    assert priority_class["globalDefault"] is False
    pod = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["priorityClassName"] == f"{NAMESPACE}-{FULLNAME}"


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"priorityClassName": "system-cluster-critical"}, "system-cluster-critical"),
        ({"priorityClass": {"create": False}}, None),
    ],
)
def test_a_priority_class_of_your_own_or_none(
    helm: Helm, values: dict[str, object], expected: str | None
) -> None:
    objs = helm.template(values)
    assert "PriorityClass" not in kinds(objs)
    assert find(objs, "Deployment")["spec"]["template"]["spec"].get("priorityClassName") == expected


# --------------------------------------------------------------------------- cluster view


def test_the_cluster_view_is_off_by_default_with_no_token_and_no_rbac(helm: Helm) -> None:
    objs = helm.template()
    assert not _view_objects(objs)
    pod = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert "--in-cluster" not in pod["containers"][0]["args"]


def test_the_cluster_view_reads_exactly_the_kinds_it_holds(helm: Helm) -> None:
    objs = helm.template({"clusterView": {"enabled": True, "staleAfterSeconds": 10}})
    pod = find(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True
    assert {"--in-cluster", "--view-stale-after=10"} <= set(pod["containers"][0]["args"])
    role, binding = _view_objects(objs)
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    expected = {
        (k.group, k.resource, verb) for k in watched_kinds() for verb in ("get", "list", "watch")
    }
    assert granted == expected, 'update "egress-webhook.clusterViewRules" in _helpers.tpl'
    assert binding["kind"] == "ClusterRoleBinding"
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]


def _view_objects(objs: list[Obj]) -> list[Obj]:
    """The cluster view's ClusterRole and ClusterRoleBinding (named ...-view), in order."""
    return [
        o
        for o in objs
        if o["kind"] in ("ClusterRole", "ClusterRoleBinding")
        and o["metadata"]["name"].endswith("-view")
    ]


def test_client_limits_reach_serve_as_its_flags(helm: Helm) -> None:
    from webhook.cli import build_parser

    limits = {"headerTimeoutSeconds": 5, "bodyTimeoutSeconds": 7.5, "idleTimeoutSeconds": 95,
              "maxConnections": 1000}  # fmt: skip
    for values, expected in (
        ({}, (10, 10, 120, 4096)),
        ({"clientLimits": limits}, (5, 7.5, 95, 1000)),
    ):
        pod = find(helm.template(values), "Deployment")["spec"]["template"]["spec"]
        [container] = pod["containers"]
        # every flag the chart passes is one `serve` accepts, with the value given
        parsed = build_parser().parse_args(
            [*container["args"], "--policy", "p", "--tls-cert", "c", "--tls-key", "k"]
        )
        got = (
            parsed.header_timeout,
            parsed.body_timeout,
            parsed.idle_timeout,
            parsed.max_connections,
        )
        assert got == expected


def test_client_limits_are_checked_by_the_schema(helm: Helm) -> None:
    error = helm.template_error({"clientLimits": {"maxConnections": 0}})
    assert "maxConnections" in error
    error = helm.template_error({"clientLimits": {"headerTimeout": 5}})
    assert "headerTimeout" in error
