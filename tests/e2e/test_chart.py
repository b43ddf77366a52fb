"""charts/egress-webhook against the real API server: install, upgrade, denial, uninstall.

This cluster has no kubelet, scheduler or controller manager, so no pod ever runs: the
chart's server Deployment never starts, and Helm hooks (the pre-delete cleanup Job, the
`helm test` Pod) never complete. What is tested instead, honestly:

- every object the chart renders, hooks included, passes the API server's strict
  server-side validation, and `helm install` creates them all;
- the chart's url mode registers a real `egress-webhook serve` on 127.0.0.1 (running the
  policy from the chart's ConfigMap), and the API server then denies a bad ServiceEntry;
- the hook Job's and the test Pod's own commands, taken from the release, are run here
  with kubectl against the cluster and do what the hooks would do;
- `helm uninstall --no-hooks` removes the webhook configuration on its own, because it is
  a regular release object (the pre-delete hook is belt and braces for a live cluster,
  where it removes the configuration before the pods behind it go away).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import EXEMPT_NAMESPACE, WebhookServer, dry_run, wait_for_verdict
from tests.e2e.objects import EVIL_HOST, NOT_ALLOWLISTED, dump, service_entry

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "egress-webhook"
EXAMPLE_VALUES = CHART / "ci" / "example-policy-values.yaml"
RELEASE = "egw"
FULLNAME = f"{RELEASE}-egress-webhook"

Obj = dict[str, Any]


def objects(text: str) -> list[Obj]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def configuration_name(namespace: str) -> str:
    return f"{namespace}-{FULLNAME}"


def webhook_name(namespace: str) -> str:
    return f"{FULLNAME}.{namespace}.egress-webhook.io"


class Release:
    """One install of the chart in `namespace`, uninstalled (without hooks) at teardown."""

    def __init__(self, cluster: Cluster, namespace: str, values: Obj, workdir: Path) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.values_file = workdir / "values.yaml"
        self.values_file.write_text(yaml.safe_dump(values))

    def _value_args(self, namespace: str | None = None) -> list[str | Path]:
        namespace = namespace or self.namespace
        return ["--namespace", namespace, "-f", EXAMPLE_VALUES, "-f", self.values_file]

    def template(self, namespace: str | None = None) -> str:
        """`helm template` for this cluster's Kubernetes version (it renders offline)."""
        version = json.loads(self.cluster.kubectl("version", "-o", "json").stdout)
        kube_version = version["serverVersion"]["gitVersion"]
        return self.cluster.helm(
            "template", RELEASE, CHART, "--kube-version", kube_version, *self._value_args(namespace)
        ).stdout

    def install(self) -> str:
        """`helm install`; returns what it prints (the NOTES)."""
        return self.cluster.helm("install", RELEASE, CHART, *self._value_args()).stdout

    def upgrade(self) -> None:
        self.cluster.helm("upgrade", RELEASE, CHART, *self._value_args())

    def manifest(self) -> list[Obj]:
        return objects(self.cluster.helm("get", "manifest", RELEASE, "-n", self.namespace).stdout)

    def hooks(self) -> list[Obj]:
        return objects(self.cluster.helm("get", "hooks", RELEASE, "-n", self.namespace).stdout)

    def uninstall_without_hooks(self, check: bool = True) -> None:
        self.cluster.helm("uninstall", RELEASE, "-n", self.namespace, "--no-hooks", check=check)

    def get(self, kind: str, name: str) -> Obj:
        return dict(
            json.loads(
                self.cluster.kubectl("get", kind, name, "-n", self.namespace, "-o", "json").stdout
            )
        )

    def webhook_configuration_exists(self) -> bool:
        proc = self.cluster.kubectl(
            "get", "validatingwebhookconfiguration", configuration_name(self.namespace), check=False
        )
        if proc.returncode != 0:
            assert "NotFound" in proc.stderr, proc.stderr
        return proc.returncode == 0


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="egress-webhook-chart-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def hook_command(hooks: list[Obj], kind: str) -> list[str]:
    [hook] = [h for h in hooks if h["kind"] == kind]
    spec = hook["spec"]["template"]["spec"] if kind == "Job" else hook["spec"]
    [container] = spec["containers"]
    return [*container.get("command", []), *container.get("args", [])]


def run_here(cluster: Cluster, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """A hook's command, run on this machine with kubectl (from the toolchain) on PATH."""
    return subprocess.run(
        argv, cwd=cwd, env=cluster.env, capture_output=True, text=True, check=False, timeout=60
    )


def certificates(bundle_b64: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(base64.b64decode(bundle_b64))


# --------------------------------------------------------------------------- in-cluster server


def test_install_upgrade_rotate_and_uninstall_in_cluster_mode(
    cluster: Cluster, namespace: str, workdir: Path
) -> None:
    values = {
        "networkPolicy": {"enabled": True},
        # No pod can ever answer here: keep this Fail-policy webhook away from every
        # namespace the other tests write to (no namespace carries this label).
        "webhook": {
            "namespaceSelector": {"matchLabels": {"egress-webhook.io/chart-e2e": namespace}}
        },
    }
    release = Release(cluster, namespace, values, workdir)

    # Every object, hooks and test included, is valid for the real API server, strictly.
    # In a scratch namespace whose ServiceAccounts really exist: the API server refuses a
    # Pod (the test hook) whose ServiceAccount it cannot find, even in a dry run.
    scratch = f"{namespace[:54]}-validate"
    cluster.create_namespace(scratch)
    rendered = objects(release.template(scratch))
    accounts = [o for o in rendered if o["kind"] == "ServiceAccount"]
    cluster.kubectl("create", "-f", "-", input=dump(*accounts))
    rest = [o for o in rendered if o["kind"] != "ServiceAccount"]
    proc = cluster.kubectl(
        "create",
        "--dry-run=server",
        "--validate=strict",
        "-f",
        "-",
        input=dump(*rest),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr

    try:
        notes = release.install()
        assert f"helm test {RELEASE} -n {namespace}" in notes
        assert f"rollout status deployment/{FULLNAME}" in notes
        assert webhook_name(namespace) in notes
        manifest = release.manifest()
        assert {o["kind"] for o in manifest} == {
            "ConfigMap",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "PriorityClass",
            "Secret",
            "Service",
            "ServiceAccount",
            "ValidatingWebhookConfiguration",
        }
        found = json.loads(
            cluster.kubectl(
                "get", "-n", namespace, "-f", "-", "-o", "json", input=dump(*manifest)
            ).stdout
        )
        assert len(found["items"]) == len(manifest)

        # The generated serving certificate chains to the CA the API server trusts.
        secret = release.get("secret", f"{FULLNAME}-tls")
        configuration = json.loads(
            cluster.kubectl(
                "get", "validatingwebhookconfiguration", configuration_name(namespace), "-o", "json"
            ).stdout
        )
        bundle = configuration["webhooks"][0]["clientConfig"]["caBundle"]
        [ca] = certificates(bundle)
        [leaf] = certificates(secret["data"]["tls.crt"])
        leaf.verify_directly_issued_by(ca)
        assert certificates(secret["data"]["ca.crt"]) == [ca]

        # An upgrade keeps them: `lookup` finds the Secret the API server already trusts.
        release.upgrade()
        assert release.get("secret", f"{FULLNAME}-tls")["data"] == secret["data"]

        # Close to expiry, an upgrade renews them and keeps trusting the old CA meanwhile.
        soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        cluster.kubectl(
            "annotate",
            "--overwrite",
            "-n",
            namespace,
            "secret",
            f"{FULLNAME}-tls",
            f"egress-webhook.io/not-after={soon}",
        )
        release.upgrade()
        renewed = release.get("secret", f"{FULLNAME}-tls")
        [new_ca] = certificates(renewed["data"]["ca.crt"])
        assert new_ca != ca
        [new_leaf] = certificates(renewed["data"]["tls.crt"])
        new_leaf.verify_directly_issued_by(new_ca)
        configuration = json.loads(
            cluster.kubectl(
                "get", "validatingwebhookconfiguration", configuration_name(namespace), "-o", "json"
            ).stdout
        )
        assert certificates(configuration["webhooks"][0]["clientConfig"]["caBundle"]) == [
            new_ca,
            ca,
        ]
        release.upgrade()  # the next upgrade drops the old CA
        configuration = json.loads(
            cluster.kubectl(
                "get", "validatingwebhookconfiguration", configuration_name(namespace), "-o", "json"
            ).stdout
        )
        assert certificates(configuration["webhooks"][0]["clientConfig"]["caBundle"]) == [new_ca]

        # The pre-delete hook's own command deletes exactly this webhook configuration.
        command = hook_command(release.hooks(), "Job")
        assert command[0] == "kubectl"
        proc = run_here(cluster, command, workdir)
        assert proc.returncode == 0, proc.stderr
        assert not release.webhook_configuration_exists()
        # ... and is idempotent, as a retried Job must be.
        assert run_here(cluster, command, workdir).returncode == 0

        release.uninstall_without_hooks()
        leftovers = cluster.kubectl(
            "get",
            "-n",
            namespace,
            "-f",
            "-",
            "--ignore-not-found",
            "-o",
            "name",
            input=dump(*manifest),
        ).stdout
        assert leftovers.strip() == ""
    finally:
        release.uninstall_without_hooks(check=False)


# --------------------------------------------------------------------------- url mode


@pytest.fixture
def chart_server(workdir: Path) -> Iterator[WebhookServer]:
    """A real `egress-webhook serve` on 127.0.0.1 with its own certificates, not yet running."""
    (workdir / "server").mkdir()
    server = WebhookServer(workdir / "server", "allowlist: []\n")
    yield server
    server.stop()


def test_url_mode_denies_a_bad_service_entry_and_uninstall_removes_the_webhook(
    cluster: Cluster, namespace: str, workdir: Path, chart_server: WebhookServer
) -> None:
    values = {
        "webhook": {"url": chart_server.url},
        "certs": {"mode": "existing", "existing": {"caBundle": chart_server.ca_bundle}},
        # The harness's own webhook exempts this namespace by policy, so a denial here can
        # only come from the chart's registration.
        "tests": {"namespace": EXEMPT_NAMESPACE},
    }
    release = Release(cluster, namespace, values, workdir)
    [configmap] = [o for o in objects(release.template()) if o["kind"] == "ConfigMap"]
    chart_server.write_policy(configmap["data"]["policy.yaml"])
    chart_server.start()

    bad = dump(service_entry("chart-exfil", EXEMPT_NAMESPACE, EVIL_HOST))
    before = dry_run(cluster, bad)
    assert before.returncode == 0, f"admitted before the chart is installed: {before.stderr}"

    try:
        release.install()
        assert {o["kind"] for o in release.manifest()} == {
            "ConfigMap",
            "ValidatingWebhookConfiguration",
        }
        installed_policy = release.get("configmap", f"{FULLNAME}-policy")["data"]["policy.yaml"]
        assert installed_policy == chart_server.policy_path.read_text()

        denial = f'admission webhook "{webhook_name(namespace)}" denied the request'
        proc = wait_for_verdict(cluster, bad, admitted=False, stderr_contains=denial)
        assert NOT_ALLOWLISTED in proc.stderr
        assert EVIL_HOST in proc.stderr

        # `helm test`'s own script (from the release), run here: it must report PASS.
        script = hook_command(release.hooks(), "Pod")
        assert script[:2] == ["/bin/sh", "-c"]
        body = script[2].replace("/tmp/", f"{workdir}/")
        proc = run_here(cluster, ["/bin/sh", "-c", body], workdir)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(rf"PASS: denied by {re.escape(webhook_name(namespace))}", proc.stdout)

        release.uninstall_without_hooks()
        assert not release.webhook_configuration_exists()
        wait_for_verdict(cluster, bad, admitted=True)
    finally:
        release.uninstall_without_hooks(check=False)


# --------------------------------------------------------------------------- certs.mode auto


def _cert_manager_crd(plural: str, kind: str) -> Obj:
    """Just enough of a cert-manager CRD for the API to exist (no controller runs here)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.cert-manager.io"},
        "spec": {
            "group": "cert-manager.io",
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


def test_auto_mode_takes_cert_manager_when_it_appears_but_an_install_on_generate_stays(
    cluster: Cluster, namespace: str, workdir: Path
) -> None:
    """`.Capabilities` and `lookup` against a real API server, which `helm template` lacks."""
    values = {
        # No pod can answer: keep these Fail-policy webhooks away from every other test.
        "webhook": {
            "namespaceSelector": {"matchLabels": {"egress-webhook.io/chart-e2e": namespace}}
        },
    }
    earlier = Release(cluster, namespace, values, workdir)
    later_namespace = f"{namespace[:56]}-later"
    cluster.create_namespace(later_namespace)
    (workdir / "later").mkdir()
    later = Release(cluster, later_namespace, values, workdir / "later")
    crds = dump(
        _cert_manager_crd("certificates", "Certificate"), _cert_manager_crd("issuers", "Issuer")
    )
    try:
        earlier.install()
        assert "Secret" in {o["kind"] for o in earlier.manifest()}

        cluster.kubectl("apply", "-f", "-", input=crds)
        cluster.kubectl(
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/certificates.cert-manager.io",
            "crd/issuers.cert-manager.io",
        )

        # The install that generated its CA keeps it: no switch of CA behind its back.
        earlier.upgrade()
        kinds = {o["kind"] for o in earlier.manifest()}
        assert "Secret" in kinds
        assert "Certificate" not in kinds

        # A new install in a cluster with cert-manager gets cert-manager.
        later.install()
        manifest = later.manifest()
        kinds = {o["kind"] for o in manifest}
        assert {"Certificate", "Issuer"} <= kinds
        assert "Secret" not in kinds
        [configuration] = [o for o in manifest if o["kind"] == "ValidatingWebhookConfiguration"]
        assert "cert-manager.io/inject-ca-from" in configuration["metadata"]["annotations"]
    finally:
        later.uninstall_without_hooks(check=False)
        earlier.uninstall_without_hooks(check=False)
        # Other tests' installs must see a cluster without cert-manager again.
        cluster.kubectl("delete", "--ignore-not-found", "-f", "-", input=crds, check=False)
