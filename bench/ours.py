"""Our production server (`egress-webhook serve`), optionally profiled while the bench asks.

    python -m bench.ours [--profile OUT.prof] -- serve --policy P --tls-cert C ...

Without --profile this is exactly the console entry point. With it, SIGUSR1 starts
cProfile and SIGUSR2 stops it, so start-up (imports, policy load, TLS) stays out of the
figures and only requests are profiled; the stats are written when the server stops.
The profiler counts CPU time, not wall time: waiting in epoll for the next request, or
for the scheduler on a shared machine, is not work.
"""

from __future__ import annotations

import argparse
import cProfile
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from webhook.cli import main as webhook_main


def main(argv: list[str] | None = None) -> int:
    """Run `egress-webhook` with the given arguments, profiled when asked."""
    parser = argparse.ArgumentParser(prog="python -m bench.ours", description=__doc__)
    parser.add_argument("--profile", type=Path, help="write cProfile stats here on exit")
    parser.add_argument("webhook_args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    forwarded = args.webhook_args[1:] if args.webhook_args[:1] == ["--"] else args.webhook_args
    if args.profile is None:
        return int(webhook_main(forwarded) or 0)
    profiler = cProfile.Profile(time.process_time)

    def toggle(signum: int, _frame: FrameType | None) -> None:
        # Signal handlers run on the main thread, the one the event loop runs on.
        if signum == signal.SIGUSR1:
            profiler.enable()
        else:
            profiler.disable()

    signal.signal(signal.SIGUSR1, toggle)
    signal.signal(signal.SIGUSR2, toggle)
    try:
        return int(webhook_main(forwarded) or 0)
    finally:
        profiler.disable()
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    sys.exit(main())
