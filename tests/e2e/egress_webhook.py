"""The real `egress-webhook serve` process under test, and its registration with the API server.

Certificates come from the project's own cert code (`egress-webhook certs`, IP SAN
127.0.0.1); the API server reaches the process by `clientConfig.url` and trusts it by
`caBundle`. The API server picks up webhook configuration changes asynchronously, so
every change here is followed by `wait_for_verdict` on a probe object before tests rely
on it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Literal

import yaml

from tests.e2e.cluster import HOST, Cluster, ManagedProcess, free_port, wait_until
from webhook.policy.kinds import KINDS

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_POLICY = REPO / "examples" / "policy.yaml"

#: Objects here are exempted by the test policy (exemptNamespaces), not by the selector.
EXEMPT_NAMESPACE = "e2e-exempt"
#: The webhook's name, as the API server quotes it in "admission webhook ... denied".
WEBHOOK_NAME = "egress.e2e.egress-webhook.test"
CONFIGURATION_NAME = "egress-webhook-e2e"
#: Namespaces labelled so are judged only by the cluster-view tests' webhook.
VIEW_NAMESPACE_LABEL = "egress-webhook.test/view"

FailurePolicy = Literal["Fail", "Ignore"]


def e2e_policy_text() -> str:
    """examples/policy.yaml plus EXEMPT_NAMESPACE among the exempt namespaces."""
    policy = yaml.safe_load(EXAMPLE_POLICY.read_text())
    policy["exemptNamespaces"] = [*policy.get("exemptNamespaces", []), EXEMPT_NAMESPACE]
    return str(yaml.safe_dump(policy, sort_keys=False))


def egress_webhook_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m webhook`."""
    script = Path(sys.executable).parent / "egress-webhook"
    return [str(script)] if script.exists() else [sys.executable, "-m", "webhook"]


def egress_webhook_env() -> dict[str, str]:
    """Our environment, with the repository importable (for `-m webhook` from any cwd)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


class WebhookServer:
    """One `egress-webhook serve` process on a fixed port, restartable with the same certs."""

    def __init__(self, workdir: Path, policy_text: str, extra_args: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        #: More `serve` flags (the cluster view's --kubeconfig, say).
        self.extra_args = extra_args
        self.policy_path = workdir / "policy.yaml"
        self.cert_dir = workdir / "certs"
        self.port = free_port()
        self.url = f"https://{HOST}:{self.port}/validate"
        self._process: ManagedProcess | None = None
        self.write_policy(policy_text)
        self._issue_certificates()

    def _issue_certificates(self) -> None:
        proc = subprocess.run(
            [
                *egress_webhook_command(),
                "certs",
                "--out-dir",
                str(self.cert_dir),
                "--ip",
                HOST,
                "--dns",
                "localhost",
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            env=egress_webhook_env(),
        )
        if proc.returncode != 0:
            raise RuntimeError(
                f"`egress-webhook certs` failed (exit {proc.returncode}):\n{proc.stderr}"
            )

    @property
    def ca_pem(self) -> bytes:
        return (self.cert_dir / "ca.crt").read_bytes()

    @property
    def ca_bundle(self) -> str:
        """The CA certificate, base64 as `clientConfig.caBundle` wants it."""
        return base64.b64encode(self.ca_pem).decode()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.alive

    def write_policy(self, text: str) -> None:
        """Replace the policy file atomically (rename), as a ConfigMap volume update does."""
        tmp = self.policy_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.policy_path)

    def start(self) -> None:
        """Start serving and wait until the port answers over TLS with our certificate."""
        if self.running:
            return
        self._process = ManagedProcess(
            "egress-webhook",
            [
                *egress_webhook_command(),
                "serve",
                "--policy",
                str(self.policy_path),
                "--tls-cert",
                str(self.cert_dir / "tls.crt"),
                "--tls-key",
                str(self.cert_dir / "tls.key"),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--log-level",
                "DEBUG",
                # One process: the tests swap policies and read /metrics and /readyz, which
                # must be this server's (several workers are tested in tests/integration).
                "--workers",
                "1",
                *self.extra_args,
            ],
            self.workdir / "egress-webhook.log",
            egress_webhook_env(),
        )
        context = ssl.create_default_context(cadata=self.ca_pem.decode())

        def answering() -> bool | None:
            try:
                url = f"https://{HOST}:{self.port}/healthz"
                with urllib.request.urlopen(url, context=context, timeout=2):
                    return True
            except urllib.error.HTTPError:
                return True  # any HTTP answer over verified TLS: the server is up
            except OSError:
                return None

        process = self._process
        wait_until(
            answering, timeout=30, what="egress-webhook serve", check=process.raise_if_exited
        )

    def serving_policy_sha256(self) -> str | None:
        """The sha256 of the policy the server says it serves (/readyz), None if unknown."""
        context = ssl.create_default_context(cadata=self.ca_pem.decode())
        try:
            url = f"https://{HOST}:{self.port}/readyz"
            with urllib.request.urlopen(url, context=context, timeout=2) as answer:
                detail = json.loads(answer.read())
        except (OSError, ValueError):
            return None
        policy = detail.get("policy") if isinstance(detail, dict) else None
        return policy.get("sha256") if isinstance(policy, dict) else None

    def wait_until_serving(self, text: str) -> None:
        """Wait until the server serves the policy `text` (reloads are asynchronous)."""
        wanted = hashlib.sha256(text.encode()).hexdigest()
        wait_until(
            lambda: True if self.serving_policy_sha256() == wanted else None,
            timeout=30,
            what="the server to serve the policy written",
        )

    def stop(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    def log_tail(self, lines: int = 40) -> str:
        path = self.workdir / "egress-webhook.log"
        return (
            "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            if path.exists()
            else ""
        )


def webhook_configuration(server: WebhookServer, failure_policy: FailurePolicy) -> dict[str, Any]:
    """The ValidatingWebhookConfiguration sending every registered kind to `server`.

    One entry per Registry.webhooks() group, as the chart renders them: the main one is
    WEBHOOK_NAME, the others ``<prefix>.WEBHOOK_NAME`` with their matchConditions.
    """
    entries = []
    for group in KINDS.webhooks():
        entry: dict[str, Any] = {
            "name": f"{group['prefix']}.{WEBHOOK_NAME}" if group["prefix"] else WEBHOOK_NAME,
            "clientConfig": {"url": server.url, "caBundle": server.ca_bundle},
            "rules": group["rules"],
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "NotIn",
                        "values": ["kube-system"],
                    },
                    # the cluster-view tests' namespaces belong to their own webhook
                    {"key": VIEW_NAMESPACE_LABEL, "operator": "DoesNotExist"},
                ]
            },
            "failurePolicy": failure_policy,
            "matchPolicy": "Equivalent",
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": 5,
        }
        if group["matchConditions"]:
            entry["matchConditions"] = group["matchConditions"]
        entries.append(entry)
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": CONFIGURATION_NAME},
        "webhooks": entries,
    }


def register(cluster: Cluster, server: WebhookServer, failure_policy: FailurePolicy) -> None:
    """Create or update the ValidatingWebhookConfiguration (takes effect asynchronously)."""
    manifest = json.dumps(webhook_configuration(server, failure_policy))
    cluster.kubectl("apply", "-f", "-", input=manifest)


def dry_run(cluster: Cluster, manifest: str) -> subprocess.CompletedProcess[str]:
    """`kubectl apply --dry-run=server` of `manifest`: admission runs, nothing is stored."""
    return cluster.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest, check=False)


def wait_for_verdict(
    cluster: Cluster,
    manifest: str,
    *,
    admitted: bool,
    stderr_contains: str = "",
    timeout: float = 30.0,
) -> subprocess.CompletedProcess[str]:
    """Dry-run `manifest` until the API server admits it (or rejects it, with that text)."""

    def probe() -> subprocess.CompletedProcess[str] | None:
        proc = dry_run(cluster, manifest)
        if admitted and proc.returncode == 0:
            return proc
        if not admitted and proc.returncode != 0 and stderr_contains in proc.stderr:
            return proc
        return None

    verdict = "admitted" if admitted else f"rejected with {stderr_contains!r}"
    return wait_until(
        probe, timeout=timeout, interval=0.3, what=f"the probe object to be {verdict}"
    )


class WebhookUnderTest:
    """The session's webhook process and registration, and a way back to the known state.

    The known state: process running, the test policy loaded, `failurePolicy: Fail`, and
    the API server already denying PROBE (so its webhook configuration is live).
    """

    def __init__(self, cluster: Cluster, probe_manifest: str, probe_denial: str) -> None:
        self.cluster = cluster
        self.probe_manifest = probe_manifest
        self.probe_denial = probe_denial
        self.policy_text = e2e_policy_text()
        self.workdir = Path(tempfile.mkdtemp(prefix="egress-webhook-e2e-server-"))
        try:
            self.server = WebhookServer(self.workdir, self.policy_text)
        except BaseException:
            shutil.rmtree(self.workdir, ignore_errors=True)
            raise
        self.failure_policy: FailurePolicy = "Fail"
        self._dirty = True

    # What tests may change; each marks the state dirty so `restore` puts it back.
    def write_policy(self, text: str) -> None:
        self._dirty = True
        self.server.write_policy(text)

    def stop(self) -> None:
        self._dirty = True
        self.server.stop()

    def set_failure_policy(self, failure_policy: FailurePolicy) -> None:
        self._dirty = True
        self.failure_policy = failure_policy
        register(self.cluster, self.server, failure_policy)

    def restore(self) -> None:
        """Back to the known state; cheap when nothing changed."""
        if not self._dirty:
            return
        if self.server.policy_path.read_text() != self.policy_text:
            self.server.write_policy(self.policy_text)
        self.server.start()
        # the probe is denied under most policies: wait for this one to be the one served
        self.server.wait_until_serving(self.policy_text)
        self.failure_policy = "Fail"
        register(self.cluster, self.server, "Fail")
        try:
            wait_for_verdict(
                self.cluster, self.probe_manifest, admitted=False, stderr_contains=self.probe_denial
            )
        except TimeoutError as exc:
            raise TimeoutError(
                f"{exc}\n--- last dry run\n{dry_run(self.cluster, self.probe_manifest).stderr}"
                f"\n--- egress-webhook log\n{self.server.log_tail()}"
            ) from None
        self._dirty = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.cluster.kubectl(
                "delete", "validatingwebhookconfiguration", CONFIGURATION_NAME, "--ignore-not-found"
            )
        self.server.stop()
        if os.environ.get("EGRESS_WEBHOOK_E2E_KEEP") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)
