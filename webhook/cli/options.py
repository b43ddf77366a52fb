"""What every command's options share: environment mirrors of flags."""

from __future__ import annotations

import os

#: Every serve flag has an environment mirror: EGRESS_WEBHOOK_<FLAG_NAME>.
ENV_PREFIX = "EGRESS_WEBHOOK_"


def env(name: str, default: str | None = None) -> str | None:
    """The value of EGRESS_WEBHOOK_<name>, or `default`."""
    return os.environ.get(ENV_PREFIX + name, default)
