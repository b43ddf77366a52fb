"""A real control plane for the e2e suite: etcd and kube-apiserver started the envtest way.

What runs: etcd and kube-apiserver only, on free 127.0.0.1 ports, with the Istio and
Gateway API CRDs applied. There is no controller manager, scheduler or kubelet, so Pods never run,
namespaces never finish deleting and `helm install --wait` never completes for
workloads; everything an admission webhook needs (storage, discovery, RBAC, admission,
dry run) is real.

Every process runs in its own process group and is stopped when the `running_cluster`
context exits, from an `atexit` hook if the interpreter exits first, and by the kernel
(parent-death signal) if the test process is killed outright. The temp dir goes with
them unless EGRESS_WEBHOOK_E2E_KEEP=1 is set (then its path is printed for debugging).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from tests.e2e.pki import TestCA, service_account_signing_key

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tests" / "e2e" / "toolchain" / "build.sh"
BINARIES = ("etcd", "kube-apiserver", "kubectl", "helm")
HOST = "127.0.0.1"

T = TypeVar("T")


class ToolchainMissingError(Exception):
    """The binaries the e2e suite drives are missing and could not be built."""


class ClusterStartError(Exception):
    """etcd or kube-apiserver did not come up; the message carries the end of its log."""


class CommandFailedError(Exception):
    """kubectl or helm exited non-zero where the caller expected success."""

    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.proc = proc
        argv = " ".join(str(a) for a in proc.args)
        super().__init__(
            f"$ {argv}\nexit {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )


# --------------------------------------------------------------------------- toolchain


@dataclass(frozen=True)
class Toolchain:
    """Where build.sh put the binaries, the Istio CRDs and the Gateway API CRDs."""

    bin_dir: Path

    @property
    def istio_crds(self) -> Path:
        return self.bin_dir.parent / "istio-crds.yaml"

    @property
    def gateway_api_crds(self) -> Path:
        return self.bin_dir.parent / "gateway-api-crds.yaml"

    @property
    def policy_report_crd(self) -> Path:
        return self.bin_dir.parent / "policy-report-crd.yaml"

    def binary(self, name: str) -> Path:
        return self.bin_dir / name


def build_toolchain() -> Toolchain:
    """Run build.sh (a no-op in well under a second when the cache is warm) and check its output.

    Running it here rather than trusting a prior `make toolchain` means a bumped pin in
    versions.env is always honoured, and `pytest tests/e2e` works on its own.
    """
    try:
        proc = subprocess.run(
            [str(BUILD_SCRIPT)], capture_output=True, text=True, check=False, timeout=3600
        )
    except OSError as exc:
        raise ToolchainMissingError(f"cannot run {BUILD_SCRIPT}: {exc}") from exc
    if proc.returncode != 0:
        raise ToolchainMissingError(
            f"{BUILD_SCRIPT.relative_to(REPO)} failed (exit {proc.returncode}); the e2e suite "
            "needs kube-apiserver, etcd, kubectl and helm built from the Go module proxy.\n"
            "Install Go >= 1.24 (https://go.dev/dl/) with network access to proxy.golang.org, "
            "then run `make toolchain`.\n--- build.sh stderr (last lines)\n"
            + "\n".join(proc.stderr.splitlines()[-30:])
        )
    lines = proc.stdout.strip().splitlines()
    toolchain = Toolchain(Path(lines[-1]) if lines else Path())
    missing = [b for b in BINARIES if not os.access(toolchain.binary(b), os.X_OK)]
    crds = (toolchain.istio_crds, toolchain.gateway_api_crds, toolchain.policy_report_crd)
    missing += [str(c) for c in crds if not c.is_file()]
    if missing:
        raise ToolchainMissingError(
            f"build.sh succeeded but did not produce {', '.join(missing)} in {toolchain.bin_dir}; "
            "remove that folder and run `make toolchain` again"
        )
    return toolchain


# --------------------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask the kernel to SIGKILL this child if the test process dies without cleaning up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class ManagedProcess:
    """A long-running child in its own process group, logging to a file."""

    _running: set[ManagedProcess] = set()  # noqa: RUF012 - process-wide registry for atexit

    def __init__(
        self, name: str, argv: Sequence[str | Path], log_path: Path, env: dict[str, str]
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        ManagedProcess._running.add(self)

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def raise_if_exited(self) -> None:
        if not self.alive:
            raise ClusterStartError(
                f"{self.name} exited with code {self.popen.returncode}; end of {self.log_path}:\n"
                + self.log_tail()
            )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the whole group, SIGKILL it if it lingers; idempotent."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        self._log.close()
        ManagedProcess._running.discard(self)

    @classmethod
    def stop_all(cls) -> None:
        for proc in list(cls._running):
            proc.stop(timeout=5)


atexit.register(ManagedProcess.stop_all)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(
    probe: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.25,
    what: str,
    check: Callable[[], None] | None = None,
) -> T:
    """Call `probe` until it returns something other than None; fail with `what` on timeout.

    `check` runs before each attempt and may raise to abort early (a process that died).
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- the cluster


@dataclass
class Cluster:
    """A running etcd + kube-apiserver, and how to talk to it with kubectl and helm."""

    toolchain: Toolchain
    workdir: Path
    server: str
    kubeconfig: Path
    ca_pem: bytes
    env: dict[str, str] = field(repr=False)

    @property
    def bin_dir(self) -> Path:
        return self.toolchain.bin_dir

    def _run(
        self,
        argv: Sequence[str | Path],
        input: str | None,
        check: bool,
        timeout: float,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [str(a) for a in argv],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise CommandFailedError(proc)
        return proc

    def kubectl(
        self,
        *args: str | Path,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; raise CommandFailedError on failure if `check`."""
        return self._run([self.toolchain.binary("kubectl"), *args], input, check, timeout)

    def stored(self, resource: str, namespace: str, name: str) -> bool:
        """True when the object `resource` (a kind or ``plural.group``) `namespace`/`name`
        exists; False when the API server says NotFound; anything else fails the test."""
        proc = self.kubectl("get", resource, name, "-n", namespace, "-o", "name", check=False)
        if proc.returncode != 0 and "NotFound" not in proc.stderr:
            raise AssertionError(f"kubectl get failed unexpectedly:\n{proc.stderr}")
        return proc.returncode == 0

    def helm(
        self,
        *args: str | Path,
        input: str | None = None,
        check: bool = True,
        timeout: float = 120.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run helm (own helm home) against this cluster; raise CommandFailedError if `check`."""
        return self._run([self.toolchain.binary("helm"), *args], input, check, timeout)

    def create_namespace(self, name: str, labels: dict[str, str] | None = None) -> None:
        """Create or update a namespace (never delete one: nothing here would finalize it)."""
        manifest = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": labels or {}},
        }
        self.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def _write_kubeconfig(
    path: Path, server: str, ca_pem: bytes, cert_pem: bytes, key_pem: bytes
) -> None:
    def b64(data: bytes) -> str:
        return b64encode(data).decode()

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "e2e",
                "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
            }
        ],
        "users": [
            {
                "name": "admin",
                "user": {"client-certificate-data": b64(cert_pem), "client-key-data": b64(key_pem)},
            }
        ],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
        "current-context": "e2e",
    }
    path.touch(mode=0o600)
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML; kubectl and helm read it


def _tool_env(workdir: Path, kubeconfig: Path, bin_dir: Path) -> dict[str, str]:
    """kubectl/helm environment: this cluster only, caches and helm state inside workdir."""
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "HELM_"))}
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), HOST, "localhost"]))
    env.update(
        HOME=str(home),
        KUBECONFIG=str(kubeconfig),
        KUBECACHEDIR=str(home / "kube-cache"),
        HELM_CACHE_HOME=str(home / "helm-cache"),
        HELM_CONFIG_HOME=str(home / "helm-config"),
        HELM_DATA_HOME=str(home / "helm-data"),
        NO_PROXY=no_proxy,
        no_proxy=no_proxy,
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _start_etcd(
    toolchain: Toolchain, workdir: Path, env: dict[str, str], processes: list[ManagedProcess]
) -> str:
    client, peer = free_port(), free_port()
    client_url, peer_url = f"http://{HOST}:{client}", f"http://{HOST}:{peer}"
    etcd = ManagedProcess(
        "etcd",
        [
            toolchain.binary("etcd"),
            "--name=e2e",
            f"--data-dir={workdir / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=e2e={peer_url}",
            "--unsafe-no-fsync",  # throwaway data: skip fsync, as envtest does
            "--log-level=warn",
        ],
        workdir / "etcd.log",
        env,
    )
    processes.append(etcd)

    def healthy() -> bool | None:
        try:
            with urllib.request.urlopen(f"{client_url}/health", timeout=2) as resp:  # noqa: S310
                return True if json.load(resp).get("health") == "true" else None
        except (OSError, ValueError):
            return None

    wait_until(healthy, timeout=30, what="etcd /health", check=etcd.raise_if_exited)
    return client_url


def _start_apiserver(
    toolchain: Toolchain,
    workdir: Path,
    etcd_url: str,
    env: dict[str, str],
    processes: list[ManagedProcess],
) -> Cluster:
    ca = TestCA()
    cert_dir = workdir / "apiserver-certs"
    cert_dir.mkdir()
    (cert_dir / "client-ca.crt").write_bytes(ca.cert_pem)
    # kube-apiserver serves <cert-dir>/apiserver.crt|key when they exist, as envtest arranges.
    ca.serving(HOST).write(cert_dir / "apiserver.crt", cert_dir / "apiserver.key")
    sa_key = cert_dir / "sa-signer.key"
    sa_key.touch(mode=0o600)
    sa_key.write_bytes(service_account_signing_key())
    admin = ca.client("admin", ("system:masters",))
    admin.write(cert_dir / "admin.crt", cert_dir / "admin.key")

    port = free_port()
    server = f"https://{HOST}:{port}"
    apiserver = ManagedProcess(
        "kube-apiserver",
        [
            toolchain.binary("kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--cert-dir={cert_dir}",
            f"--secure-port={port}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--authorization-mode=RBAC",
            f"--client-ca-file={cert_dir / 'client-ca.crt'}",
            # no controller manager mints service-account tokens here, so don't require them
            "--disable-admission-plugins=ServiceAccount",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            f"--service-account-issuer={server}/",
        ],
        workdir / "kube-apiserver.log",
        env,
    )
    processes.append(apiserver)

    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    context.load_cert_chain(cert_dir / "admin.crt", cert_dir / "admin.key")

    def ready() -> bool | None:
        try:
            with urllib.request.urlopen(f"{server}/readyz", context=context, timeout=5) as resp:  # noqa: S310
                return True if resp.status == 200 else None
        except (OSError, urllib.error.URLError):
            return None

    wait_until(
        ready,
        timeout=120,
        interval=0.5,
        what="kube-apiserver /readyz",
        check=apiserver.raise_if_exited,
    )

    kubeconfig = workdir / "kubeconfig"
    _write_kubeconfig(kubeconfig, server, ca.cert_pem, admin.cert_pem, admin.key_pem)
    return Cluster(
        toolchain=toolchain,
        workdir=workdir,
        server=server,
        kubeconfig=kubeconfig,
        ca_pem=ca.cert_pem,
        env=_tool_env(workdir, kubeconfig, toolchain.bin_dir),
    )


def _install_istio_crds(cluster: Cluster) -> None:
    # The Gateway API CRDs too: Istio turns HTTPRoute/GRPCRoute/TLSRoute/TCPRoute into routes.
    # And the PolicyReport CRD: the server with a view writes its audit there.
    toolchain = cluster.toolchain
    for crds in (toolchain.istio_crds, toolchain.gateway_api_crds, toolchain.policy_report_crd):
        cluster.kubectl("apply", "--server-side", "--field-manager=egress-webhook-e2e", "-f", crds)
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", crds)


def _wait_for_system_namespaces(cluster: Cluster) -> None:
    # /readyz can report ready a moment before the bootstrap controller creates these.
    def present() -> bool | None:
        proc = cluster.kubectl("get", "namespace", "default", "kube-system", check=False)
        return True if proc.returncode == 0 else None

    wait_until(present, timeout=30, what="namespaces default and kube-system")


@contextlib.contextmanager
def running_cluster(toolchain: Toolchain) -> Iterator[Cluster]:
    """Start etcd and kube-apiserver, apply the Istio and Gateway API CRDs; stop and clean up."""
    workdir = Path(tempfile.mkdtemp(prefix="egress-webhook-e2e-"))
    process_env = {k: v for k, v in os.environ.items() if not k.startswith(("ETCD", "KUBE"))}
    processes: list[ManagedProcess] = []
    try:
        etcd_url = _start_etcd(toolchain, workdir, process_env, processes)
        cluster = _start_apiserver(toolchain, workdir, etcd_url, process_env, processes)
        _wait_for_system_namespaces(cluster)
        _install_istio_crds(cluster)
        yield cluster
    finally:
        for proc in reversed(processes):
            proc.stop()
        if os.environ.get("EGRESS_WEBHOOK_E2E_KEEP") == "1":
            print(f"\n[e2e] kept {workdir} (EGRESS_WEBHOOK_E2E_KEEP=1)", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
