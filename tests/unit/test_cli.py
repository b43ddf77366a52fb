"""The command line: usage errors exit 2 with a message naming the flag, never a traceback."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from webhook.cli import build_parser, main
from webhook.errors import ExitCode
from webhook.settings import Settings

FILES = ["--policy", "p.yaml", "--tls-cert", "c.pem", "--tls-key", "k.pem"]


def test_serve_settings_out_of_range_name_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *FILES, "--reload-interval", "0"]) == ExitCode.ERROR
    assert "--reload-interval: Input should be greater than 0" in capsys.readouterr().err


def test_a_bad_environment_value_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EGRESS_WEBHOOK_PORT", "https")
    with pytest.raises(SystemExit) as info:
        main(["serve", *FILES])
    assert info.value.code == ExitCode.ERROR
    assert "argument --port: invalid int value: 'https'" in capsys.readouterr().err


def test_environment_mirrors_every_serve_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "POLICY": "/etc/policy.yaml",
        "TLS_CERT": "/tls/tls.crt",
        "TLS_KEY": "/tls/tls.key",
        "HOST": "127.0.0.1",
        "PORT": "9443",
        "LOG_LEVEL": "DEBUG",
        "RELOAD_INTERVAL": "5",
        "SHUTDOWN_TIMEOUT": "10",
    }.items():
        monkeypatch.setenv(f"EGRESS_WEBHOOK_{name}", value)
    args = build_parser().parse_args(["serve"])
    assert (str(args.policy), args.port, args.reload_interval, args.shutdown_timeout) == (
        "/etc/policy.yaml",
        9443,
        5.0,
        10.0,
    )


def test_help_teaches_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for word in ("serve", "check", "certs", "exit codes", "helm template"):
        assert word in out


#: Every limit that guards the server against slow or abusive clients, as a flag.
LIMIT_FLAGS = {
    "header_timeout": "7.5",
    "body_timeout": "8",
    "idle_timeout": "95",
    "max_connections": "512",
    "discard_bytes": "1048576",
    "discard_timeout": "0.5",
}


@pytest.mark.parametrize("name", sorted(LIMIT_FLAGS))
def test_each_client_limit_is_a_flag_with_an_env_mirror_and_the_settings_default(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    flag = "--" + name.replace("_", "-")
    default = Settings.model_fields[name].default
    assert getattr(build_parser().parse_args(["serve", *FILES]), name) == default
    parsed = build_parser().parse_args(["serve", *FILES, flag, LIMIT_FLAGS[name]])
    assert str(getattr(parsed, name)) in (LIMIT_FLAGS[name], f"{float(LIMIT_FLAGS[name])}")
    monkeypatch.setenv(f"EGRESS_WEBHOOK_{name.upper()}", LIMIT_FLAGS[name])
    from_env = build_parser().parse_args(["serve", *FILES])
    assert getattr(from_env, name) == getattr(parsed, name)


def test_a_limit_out_of_range_names_its_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", *FILES, "--max-connections", "0"]) == ExitCode.ERROR
    assert "--max-connections: Input should be greater than or equal to 1" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("name", sorted(LIMIT_FLAGS))
def test_the_readme_documents_each_limit_with_its_flag_env_and_default(name: str) -> None:
    flag = "--" + name.replace("_", "-")
    rows = [line for line in (ROOT / "README.md").read_text().splitlines() if f"`{flag}`" in line]
    assert len(rows) == 1, f"README has no single table row for {flag}"
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells[2] == f"`EGRESS_WEBHOOK_{name.upper()}`"
    default = Settings.model_fields[name].default
    shown = f"{default:g} s" if isinstance(default, float) else str(default)
    assert shown in cells[3], (cells[3], shown)
