"""Our production server (`egress-webhook serve`), optionally under cProfile for the whole run.

    python -m bench.ours [--profile OUT.prof] -- serve --policy P --tls-cert C ...

Without --profile this is exactly the console entry point. With it, the profile is
written when the server stops (SIGTERM/SIGINT drain the server, then serve returns).
"""

from __future__ import annotations

import argparse
import cProfile
import sys
from pathlib import Path

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
    profiler = cProfile.Profile()
    try:
        return int(profiler.runcall(webhook_main, forwarded) or 0)
    finally:
        profiler.dump_stats(args.profile)


if __name__ == "__main__":
    sys.exit(main())
