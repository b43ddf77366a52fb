"""istio-egress-webhook: keeps Istio egress on the allowlist and behind the egress gateway."""

__version__ = "0.1.0"
