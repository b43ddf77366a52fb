"""bench.view runs end to end at a small size and says what it measured."""

from __future__ import annotations

import pytest

from bench.view import main


def test_the_view_bench_prints_memory_latency_and_audit(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--objects", "40", "--calls", "10"]) == 0
    out = capsys.readouterr().out
    assert "40 ServiceEntries + 40 VirtualServices" in out
    assert "memory (tracemalloc)" in out
    assert "ServiceEntry, covered host" in out
    assert "allowed (10 calls)" in out
    assert "continuous audit: 80 objects" in out
    # the Sidecar half: every entry exported everywhere, one Sidecar per namespace
    rows = {line[:56].strip(): line for line in out.splitlines()}
    assert "allowed" in rows["ServiceEntry, covered host, 500 Sidecars"]
    assert "allowed (3 calls)" in rows["Sidecar CREATE, 40 entries exported everywhere (*/*)"]
