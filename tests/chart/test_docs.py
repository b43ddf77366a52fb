"""The chart README's values table is what helm-docs makes of values.yaml; all described."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.chart.rendering import CHART

#: The same flags as `make chart-docs`.
HELM_DOCS_FLAGS = ("--template-files", "README.md.gotmpl", "--sort-values-order", "file")


def _generated(helm_docs: Path) -> str:
    proc = subprocess.run(
        [
            str(helm_docs),
            "--dry-run",
            "--chart-search-root",
            str(CHART),
            *HELM_DOCS_FLAGS,
            "--log-level",
            "error",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_the_readme_is_what_helm_docs_generates(helm_docs: Path) -> None:
    committed = (CHART / "README.md").read_text()
    assert _generated(helm_docs) == committed, (
        "charts/egress-webhook/README.md is out of date with values.yaml or README.md.gotmpl: "
        "run `make chart-docs` and commit the result (edit README.md.gotmpl, not README.md)"
    )


def test_every_row_of_the_values_table_has_a_description(helm_docs: Path) -> None:
    values_section = _generated(helm_docs).split("\n## Values\n", 1)[1]
    rows = [line.split("|") for line in values_section.splitlines() if line.startswith("| ")]
    assert rows[0][1].strip() == "Key"
    keys = {row[1].strip() for row in rows[1:]}
    assert {"certs.mode", "monitoring.prometheusRule.enabled", "preStopSleepSeconds"} <= keys
    assert [row[1].strip() for row in rows[1:] if not row[4].strip()] == []
