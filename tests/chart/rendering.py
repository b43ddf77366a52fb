"""Rendering the chart with the toolchain's helm, and finding objects in what it renders."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "egress-webhook"
#: The policy of examples/policy.yaml as chart values (what `helm lint` uses too).
EXAMPLE_VALUES = CHART / "ci" / "example-policy-values.yaml"
#: Kubernetes version to render for (the toolchain's; a source-built helm defaults to 1.20).
KUBE_VERSION = "1.34.4"
NAMESPACE = "egress-webhook"
RELEASE = "egw"

Obj = dict[str, Any]


def toolchain_bin() -> Path:
    """Where `make toolchain` puts the Go-built binaries."""
    cache = Path(
        os.environ.get("EGRESS_WEBHOOK_CACHE") or Path.home() / ".cache" / "egress-webhook"
    )
    return cache / "bin"


def helm_path() -> Path:
    """helm from the toolchain cache (tests/e2e/toolchain/build.sh puts it there)."""
    return toolchain_bin() / "helm"


class HelmFailedError(Exception):
    """helm exited non-zero; carries its output."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        super().__init__(f"helm exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        self.stderr = proc.stderr


class Helm:
    """Runs the toolchain's helm on the chart with a private home."""

    def __init__(self, binary: Path, home: Path) -> None:
        self.binary = binary
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBE"))}
        self.env.update(
            HOME=str(home),
            HELM_CACHE_HOME=str(home / "cache"),
            HELM_CONFIG_HOME=str(home / "config"),
            HELM_DATA_HOME=str(home / "data"),
            KUBECONFIG=str(home / "no-cluster"),
        )
        self.home = home

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.binary), *map(str, args)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def _value_args(self, values: Sequence[Obj], sets: Sequence[str]) -> list[str | Path]:
        args: list[str | Path] = ["-f", EXAMPLE_VALUES]
        for number, overrides in enumerate(values):
            path = self.home / f"values-{os.getpid()}-{id(overrides)}-{number}.yaml"
            path.write_text(yaml.safe_dump(overrides))
            args += ["-f", path]
        for item in sets:
            args += ["--set", item]
        return args

    def template_text(
        self,
        *values: Obj,
        sets: Sequence[str] = (),
        namespace: str = NAMESPACE,
        api_versions: Sequence[str] = (),
    ) -> str:
        """`helm template` output (the example policy plus `values`, later ones win).

        `api_versions` are APIs the rendering cluster has beyond the built-in ones
        (`.Capabilities.APIVersions`), e.g. "cert-manager.io/v1".
        """
        extra: list[str] = []
        for api in api_versions:
            extra += ["--api-versions", api]
        proc = self.run(
            "template",
            RELEASE,
            CHART,
            "--namespace",
            namespace,
            "--kube-version",
            KUBE_VERSION,
            *self._value_args(values, sets),
            *extra,
        )
        if proc.returncode != 0:
            raise HelmFailedError(proc)
        return proc.stdout

    def template(
        self,
        *values: Obj,
        sets: Sequence[str] = (),
        namespace: str = NAMESPACE,
        api_versions: Sequence[str] = (),
    ) -> list[Obj]:
        """The rendered objects, parsed."""
        text = self.template_text(
            *values, sets=sets, namespace=namespace, api_versions=api_versions
        )
        return [doc for doc in yaml.safe_load_all(text) if doc]

    def template_error(
        self, *values: Obj, sets: Sequence[str] = (), namespace: str = NAMESPACE
    ) -> str:
        """helm's error message for values the chart must refuse."""
        try:
            self.template_text(*values, sets=sets, namespace=namespace)
        except HelmFailedError as exc:
            return exc.stderr
        raise AssertionError(f"helm template accepted values it must refuse: {values} {sets}")


def find(objs: Sequence[Obj], kind: str, name: str | None = None) -> Obj:
    """The one rendered object of `kind` (and `name`, when given)."""
    matches = [
        o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(matches) == 1, f"expected one {kind} {name or ''}, got {len(matches)}"
    return matches[0]


def kinds(objs: Sequence[Obj]) -> list[str]:
    """Sorted kinds of the rendered objects."""
    return sorted(o["kind"] for o in objs)
