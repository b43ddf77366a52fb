"""`python -m bench.soak`: many reviews through the real server; its memory must stay flat.

    python -m bench.soak [--reviews 100000] [--concurrency 8] [--max-growth-mib 16]

Sends the example manifests' reviews (every verdict checked) to the production
`egress-webhook serve` over HTTPS keep-alive, from the bench's own load-generator
process, in ten equal steps, and reads the server's resident memory (VmRSS) after
each. The first step warms everything up (imports, caches, pools); the verdict is
the growth from there to the end: a leak of even a few hundred bytes per review
shows as tens of MiB over 10^5 of them. Bounded: each step is capped in requests and
in time (bench.load's limits). Exit 0 when the growth is within --max-growth-mib
and no request failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.load import LoadResult
from bench.servers import ROOT, Servers
from bench.workload import EXAMPLE_POLICY, review_cases
from webhook.certs import write_bundle

STEPS = 10
#: bench.load's longest measured run; a step that takes longer has failed anyway.
STEP_SECONDS = 120.0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reviews", type=int, default=100_000, help="default %(default)s")
    parser.add_argument("--concurrency", type=int, default=8, help="default %(default)s")
    parser.add_argument(
        "--max-growth-mib",
        type=float,
        default=16.0,
        help="RSS growth allowed after the first step (default %(default)s)",
    )
    args = parser.parse_args(argv)
    step = max(1, args.reviews // STEPS)
    print(
        f"soak: {step * STEPS:,} reviews in {STEPS} steps, concurrency {args.concurrency}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="egress-soak-") as tmp:
        workdir = Path(tmp)
        cases = workdir / "cases.json"
        cases.write_text(
            json.dumps(
                [{"label": c.label, "body": c.body.decode(), "allowed": c.allowed}
                 for c in review_cases()]
            )
        )  # fmt: skip
        bundle = write_bundle(workdir / "certs")
        with Servers(workdir, bundle.ca_path, bundle.cert_path, bundle.key_path) as servers:
            server = servers.start_ours(EXAMPLE_POLICY)
            samples: list[tuple[int, int]] = [(0, _rss_kib(server.pid))]
            errors = 0
            first_error: str | None = None
            started = time.monotonic()
            for number in range(1, STEPS + 1):
                argv_load = [
                    sys.executable, "-m", "bench.load",
                    "--url", server.url, "--ca", str(bundle.ca_path), "--cases", str(cases),
                    "--concurrency", str(args.concurrency), "--duration", str(STEP_SECONDS),
                    "--warmup", "0", "--max-requests", str(step),
                ]  # fmt: skip
                done = subprocess.run(
                    argv_load,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=STEP_SECONDS + 60,
                    check=False,
                )
                if done.returncode != 0:
                    print(f"the load generator failed:\n{done.stderr}", file=sys.stderr)
                    return 1
                result = LoadResult(**json.loads(done.stdout))
                errors += result.errors
                first_error = first_error or result.first_error
                samples.append((samples[-1][0] + result.requests, _rss_kib(server.pid)))
                print(
                    f"  step {number:>2}: {samples[-1][0]:>9,} reviews  "
                    f"{result.rps:6.0f}/s  p99 {result.p99_ms:6.2f} ms  "
                    f"RSS {samples[-1][1] / 1024:7.1f} MiB  errors {result.errors}",
                    flush=True,
                )
            code = servers.stop(server)
    warm = samples[1][1]
    growth = (samples[-1][1] - warm) / 1024
    per_review = (samples[-1][1] - warm) * 1024 / max(1, samples[-1][0] - samples[1][0])
    print(
        f"\n{samples[-1][0]:,} reviews in {time.monotonic() - started:.0f} s; RSS "
        f"{samples[0][1] / 1024:.1f} MiB idle, {warm / 1024:.1f} MiB after step 1, "
        f"{samples[-1][1] / 1024:.1f} MiB at the end: growth {growth:+.1f} MiB "
        f"({per_review:+.1f} bytes/review); errors {errors}; exit code {code}"
    )
    if first_error:
        print(f"first error: {first_error}")
    flat = growth <= args.max_growth_mib
    print("memory: flat" if flat else f"memory: GREW more than {args.max_growth_mib} MiB")
    return 0 if flat and errors == 0 and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
