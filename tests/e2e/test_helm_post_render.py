"""The checker as Helm's post-renderer: a bad release is stopped before anything is sent.

`helm install --dry-run=server` never reaches admission webhooks (test_helm.py pins it);
a post-renderer runs on every install, upgrade and dry run. These tests drive the real
helm with the shipped wrapper (examples/helm-post-renderer/egress-check.sh) and no
webhook fixture: whatever refuses the release here is the post-renderer, and a refused
release leaves nothing in the cluster, not even Helm's own release record.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.e2e.egress_webhook import EXAMPLE_POLICY, REPO, egress_webhook_command
from tests.e2e.objects import EVIL_HOST, NOT_ALLOWLISTED

pytestmark = pytest.mark.e2e

CHART = Path(__file__).resolve().parent / "charts" / "egress-demo"
WRAPPER = REPO / "examples" / "helm-post-renderer" / "egress-check.sh"
NON_COMPLIANT = ("--set", f"externalHost={EVIL_HOST}")


@pytest.fixture
def post_renderer(tmp_path: Path) -> Path:
    """What a Helm 3 user writes: a script that runs the shipped wrapper with our command.

    Helm's environment is its own (the test cluster's), so the command is named in full.
    """
    script = tmp_path / "egress-check"
    script.write_text(
        "#!/bin/sh\n"
        f"export EGRESS_WEBHOOK={shlex.quote(' '.join(egress_webhook_command()))}\n"
        f"export PYTHONPATH={shlex.quote(str(REPO))}\n"
        f'exec {shlex.quote(str(WRAPPER))} "$@"\n'
    )
    script.chmod(0o755)
    return script


def with_post_renderer(script: Path, namespace: str) -> tuple[str, ...]:
    """helm flags: our post-renderer, the policy and the release namespace as its arguments."""
    return (
        "--post-renderer",
        str(script),
        "--post-renderer-args",
        f"--policy={EXAMPLE_POLICY}",
        "--post-renderer-args",
        f"--namespace={namespace}",
    )


def assert_refused_by_the_checker(stderr: str, namespace: str) -> None:
    assert "error while running post render on files" in stderr, stderr
    assert f"DENIED  ServiceEntry {namespace}/demo-external (<stdin>:" in stderr, stderr
    assert f'host "{EVIL_HOST}" is {NOT_ALLOWLISTED}' in stderr, stderr
    assert "[service-entry-hosts]" in stderr


def assert_nothing_sent(cluster: Cluster, namespace: str) -> None:
    objects = cluster.kubectl(
        "get", "serviceentries,configmaps,secrets", "-n", namespace, "-o", "name"
    ).stdout.split()
    assert [o for o in objects if "demo" in o] == [], objects  # no objects, no release record


@pytest.mark.parametrize("dry_run", ["--dry-run=client", "--dry-run=server"])
def test_a_dry_run_of_a_non_compliant_chart_fails_with_our_message(
    cluster: Cluster, namespace: str, post_renderer: Path, dry_run: str
) -> None:
    proc = cluster.helm(
        "install", "demo", CHART, "-n", namespace, dry_run, *NON_COMPLIANT,
        *with_post_renderer(post_renderer, namespace), check=False,
    )  # fmt: skip

    assert proc.returncode != 0
    assert_refused_by_the_checker(proc.stderr, namespace)
    assert "kind: ServiceEntry" not in proc.stdout


def test_install_of_a_non_compliant_chart_fails_before_anything_is_sent(
    cluster: Cluster, namespace: str, post_renderer: Path
) -> None:
    proc = cluster.helm(
        "install", "demo", CHART, "-n", namespace, *NON_COMPLIANT,
        *with_post_renderer(post_renderer, namespace), check=False,
    )  # fmt: skip

    assert proc.returncode != 0
    assert_refused_by_the_checker(proc.stderr, namespace)
    assert_nothing_sent(cluster, namespace)
    status = cluster.helm("status", "demo", "-n", namespace, check=False)
    assert status.returncode != 0
    assert "release: not found" in status.stderr


def test_a_compliant_chart_installs_and_a_bad_upgrade_is_refused(
    cluster: Cluster, namespace: str, post_renderer: Path
) -> None:
    flags = with_post_renderer(post_renderer, namespace)
    cluster.helm("install", "demo", CHART, "-n", namespace, *flags)
    rendered = cluster.helm("get", "manifest", "demo", "-n", namespace).stdout
    assert "demo-external" in rendered
    entries = cluster.kubectl("get", "serviceentries", "-n", namespace, "-o", "name").stdout
    assert entries.split() == ["serviceentry.networking.istio.io/demo-external"]

    upgrade = cluster.helm(
        "upgrade", "demo", CHART, "-n", namespace, *NON_COMPLIANT, *flags, check=False
    )

    assert upgrade.returncode != 0
    assert_refused_by_the_checker(upgrade.stderr, namespace)
    history = cluster.helm("history", "demo", "-n", namespace, "-o", "json").stdout
    assert '"revision":1' in history.replace(" ", "")
    assert '"revision":2' not in history.replace(" ", "")
    host = cluster.kubectl(
        "get", "serviceentry", "demo-external", "-n", namespace, "-o", "jsonpath={.spec.hosts[0]}"
    ).stdout
    assert host == "api.github.com"
    cluster.helm("uninstall", "demo", "-n", namespace)
