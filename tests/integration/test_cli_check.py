"""`egress-webhook check` as CI runs it: the real command in a subprocess, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webhook.policy.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "examples" / "policy.yaml"
ALLOWED = ROOT / "examples" / "manifests" / "allowed"
DENIED = ROOT / "examples" / "manifests" / "denied"

SCRIPT = Path(sys.executable).parent / "egress-webhook"

CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
GITHUB_SE = """\
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: github
spec:
  hosts: [api.github.com]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: DNS
  location: MESH_EXTERNAL
"""


def command() -> list[str]:
    """The installed console script; `python -m webhook` (same `main`) until it is installed."""
    return [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "webhook"]


def egress_webhook(
    *args: str, stdin: str | bytes | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [*command(), *args], input=data, capture_output=True, cwd=cwd, env=env, timeout=60
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def check(*args: str, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    return egress_webhook("check", "--policy", str(POLICY), *args, stdin=stdin)


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr


# -- help -------------------------------------------------------------------------------


def test_help_mentions_the_exit_codes() -> None:
    top = egress_webhook("--help")
    assert top.returncode == 0
    assert "exit codes: 0 done (every object allowed), 1 an object denied" in top.stdout
    sub = egress_webhook("check", "--help")
    assert sub.returncode == 0
    for line in ("0  every object allowed", "1  at least one object denied", "2  usage error"):
        assert line in sub.stdout


def test_a_usage_error_exits_2() -> None:
    proc = egress_webhook("check", "-f", str(ALLOWED))
    assert proc.returncode == 2
    assert "--policy" in proc.stderr


# -- verdicts (these need the policy engine, webhook/policy/engine.py) -----------------


def test_allowed_folder_exits_0_with_one_line_per_object() -> None:
    proc = check("-f", str(ALLOWED))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        f"ALLOWED ServiceEntry default/github ({ALLOWED / 'github-via-egress-gateway.yaml'}:3)",
        "ALLOWED VirtualService default/github-via-egress-gateway "
        f"({ALLOWED / 'github-via-egress-gateway.yaml'}:18)",
        f"ALLOWED ServiceEntry payments/payments-db ({ALLOWED / 'payments-db.yaml'}:3)",
        "3 objects checked: 3 allowed, 0 denied, 0 skipped",
    ]
    assert proc.stderr == ""


def test_denied_files_exit_1_naming_the_host_and_the_field() -> None:
    proc = check(
        "-f", str(DENIED / "not-allowlisted.yaml"), "-f", str(DENIED / "direct-route.yaml")
    )
    assert proc.returncode == 1
    first, violation = proc.stdout.splitlines()[:2]
    assert first == f"DENIED  ServiceEntry default/exfil ({DENIED / 'not-allowlisted.yaml'}:2)"
    assert violation.startswith("    spec.hosts[0]: ")
    assert "evil.example.org" in violation
    assert "not on the egress allowlist" in violation
    assert "DENIED  VirtualService default/github-direct" in proc.stdout
    assert proc.stdout.endswith("2 objects checked: 0 allowed, 2 denied, 0 skipped\n")


def test_everything_at_once_is_denied_if_anything_is() -> None:
    proc = check("-f", str(ROOT / "examples" / "manifests"))
    assert proc.returncode == 1
    assert proc.stdout.endswith("5 objects checked: 3 allowed, 2 denied, 0 skipped\n")


def test_json_output_parses_and_matches_the_exit_code() -> None:
    proc = check("-f", str(ROOT / "examples" / "manifests"), "-o", "json")
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    verdicts = {(r["kind"], r["name"]): r["allowed"] for r in document["results"]}
    assert verdicts == {
        ("ServiceEntry", "github"): True,
        ("VirtualService", "github-via-egress-gateway"): True,
        ("ServiceEntry", "payments-db"): True,
        ("VirtualService", "github-direct"): False,
        ("ServiceEntry", "exfil"): False,
    }
    exfil = next(r for r in document["results"] if r["name"] == "exfil")
    assert exfil["source"] == f"{DENIED / 'not-allowlisted.yaml'}:2"
    assert exfil["violations"][0]["field"] == "spec.hosts[0]"
    assert {"rule", "field", "line", "message"} == set(exfil["violations"][0])
    assert exfil["violations"][0]["line"] == 9  # the line of spec.hosts[0], not of the object
    assert "evil.example.org" in exfil["violations"][0]["message"]
    assert document["summary"] == {
        "checked": 5,
        "allowed": 3,
        "denied": 2,
        "skipped": 0,
        "warnings": 0,
    }


def test_stdin_with_mixed_kinds_in_a_list() -> None:
    denied = (DENIED / "not-allowlisted.yaml").read_text()
    stream = json.dumps(
        {
            "apiVersion": "v1",
            "kind": "List",
            "items": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}},
                {
                    "apiVersion": "networking.istio.io/v1",
                    "kind": "ServiceEntry",
                    "metadata": {"name": "github"},
                    "spec": {
                        "hosts": ["api.github.com"],
                        "ports": [{"number": 443, "name": "tls", "protocol": "TLS"}],
                        "resolution": "DNS",
                        "location": "MESH_EXTERNAL",
                    },
                },
            ],
        }
    )
    # kubectl reads a stream like this: JSON documents only when the input starts with "{".
    proc = check("-f", "-", "-o", "json", stdin=stream)
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    assert [(r["kind"], r["item"]) for r in document["results"]] == [("ServiceEntry", "items[1]")]
    assert document["summary"]["skipped"] == 1

    proc = check("-f", "-", stdin=CONFIG_MAP + "---\n" + GITHUB_SE + "---\n" + denied)
    assert proc.returncode == 1
    assert "ALLOWED ServiceEntry default/github (<stdin>:6)" in proc.stdout
    assert proc.stdout.endswith("2 objects checked: 1 allowed, 1 denied, 1 skipped\n")


TRAFFIC_EXTENSIONS = """\
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: openid-connect}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  wasm: {url: "file:///opt/filters/openid.wasm"}
---
apiVersion: extensions.istio.io/v1alpha1
kind: TrafficExtension
metadata: {name: header-logger}
spec:
  targetRefs: [{kind: Service, name: reviews}]
  lua:
    inlineCode: |
      function envoy_on_request(h) h:logInfo("hi") end
"""


def test_traffic_extensions_are_checked_like_any_kind() -> None:
    """A kind Istio serves after the e2e suite's pinned CRDs: the checker still judges it."""
    proc = check("-f", "-", stdin=TRAFFIC_EXTENSIONS)
    assert proc.returncode == 1, proc.stderr
    assert "ALLOWED TrafficExtension default/openid-connect (<stdin>:1)" in proc.stdout
    assert "DENIED  TrafficExtension default/header-logger (<stdin>:8)" in proc.stdout
    assert "spec.lua.inlineCode" in proc.stdout
    assert "[traffic-extension-lua]" in proc.stdout
    assert proc.stdout.endswith("2 objects checked: 1 allowed, 1 denied, 0 skipped\n")


def test_namespace_option_applies_to_objects_without_one(tmp_path: Path) -> None:
    db = (ALLOWED / "payments-db.yaml").read_text().replace("  namespace: payments\n", "")
    (tmp_path / "db.yaml").write_text(db)
    assert check("-f", str(tmp_path), "-n", "payments").returncode == 0
    other = check("-f", str(tmp_path), "--namespace", "shop")
    assert other.returncode == 1
    assert "DENIED  ServiceEntry shop/payments-db" in other.stdout


def test_only_other_kinds_exit_0_with_a_note() -> None:
    proc = check("-f", "-", stdin=CONFIG_MAP)
    assert proc.returncode == 0
    assert proc.stdout == "0 objects checked: 0 allowed, 0 denied, 1 skipped\n"
    assert f"no object of a checked kind ({', '.join(KINDS.names)})" in proc.stderr


# -- errors: exit 2, file:line, no traceback --------------------------------------------


def test_a_broken_policy_exits_2_with_file_and_line(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("allowlist:\n  - host: api.github.com\n    portz: [443]\n")
    proc = egress_webhook("check", "--policy", str(policy), "-f", str(ALLOWED))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"{policy}:3: allowlist[0].portz: unknown field" in proc.stderr
    assert_no_traceback(proc)


def test_a_missing_policy_exits_2(tmp_path: Path) -> None:
    proc = egress_webhook("check", "--policy", str(tmp_path / "nope.yaml"), "-f", str(ALLOWED))
    assert proc.returncode == 2
    assert "nope.yaml" in proc.stderr
    assert_no_traceback(proc)


@pytest.mark.parametrize(
    ("content", "where", "what"),
    [
        pytest.param(GITHUB_SE + "  - stray\n", ":10:", "not valid YAML", id="syntax"),
        pytest.param(
            GITHUB_SE + "  hosts: [evil.example.org]\n",
            ":10:",
            'mapping key "hosts" already defined at line 6',
            id="duplicate-key",
        ),
        pytest.param(
            GITHUB_SE.replace("github\n", "caf\xe9\n").encode("latin-1"),
            ":4:",
            "not UTF-8",
            id="latin-1",
        ),
        pytest.param("- just\n- a list\n", ":1:", "not a Kubernetes object", id="not-a-mapping"),
    ],
)
def test_a_broken_manifest_exits_2_naming_file_and_line(
    tmp_path: Path, content: str | bytes, where: str, what: str
) -> None:
    good = tmp_path / "a-good.yaml"
    good.write_text(GITHUB_SE)
    bad = tmp_path / "b-bad.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content)
    proc = check("-f", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert f"error: {bad}{where}" in proc.stderr
    assert what in proc.stderr
    assert_no_traceback(proc)


def test_a_missing_manifest_path_exits_2(tmp_path: Path) -> None:
    proc = check("-f", str(ALLOWED), "-f", str(tmp_path / "missing"))
    assert proc.returncode == 2
    assert f"{tmp_path / 'missing'}: cannot read" in proc.stderr


def test_an_alias_bomb_on_stdin_exits_2_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 10) + "]")
    proc = check("-f", "-", stdin="\n".join(lines))
    assert proc.returncode == 2
    assert "<stdin>:1: aliases expand this document" in proc.stderr
    assert_no_traceback(proc)
