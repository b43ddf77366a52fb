"""`python -m bench.fuzz`, the scale fuzzer, on a small budget: it runs, reports, stops."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.fuzz


def test_the_scale_fuzzer_reports_its_figures_and_stops_by_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.fuzz", "--requests", "300", "--seed", "3",
         "--clients", "1", "--max-seconds", "60"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    # the exit code is the fuzz verdict (tests/fuzz/test_reviews.py holds that); here, the
    # command itself: a bounded run that ends with its report
    assert done.returncode in (0, 1), done.stderr
    for figure in ("requests answered   300", "5xx ", "wrong answers ", "crashes             0",
                   "server peak RSS "):  # fmt: skip
        assert figure in done.stdout, done.stdout
