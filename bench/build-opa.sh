#!/usr/bin/env bash
# Builds the Open Policy Agent server the benchmark compares us against, from the Go
# module proxy, into the same cache as the e2e toolchain. Rebuilt only when OPA_VERSION
# changes; a warm cache works without Go.
#
#   bench/build-opa.sh          build if missing, print the path of the opa binary
#
# Environment: EGRESS_WEBHOOK_CACHE (default ~/.cache/egress-webhook), OPA_VERSION.
set -euo pipefail

OPA_VERSION=${OPA_VERSION:-v1.22.2}

cache=${EGRESS_WEBHOOK_CACHE:-$HOME/.cache/egress-webhook}
bin="$cache/bin"
work="$cache/build/opa-$OPA_VERSION"
mkdir -p "$bin" "$work"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log() { printf '[build-opa] %s\n' "$*" >&2; }

if [ -x "$bin/opa" ] && [ "$(cat "$bin/.opa.version" 2>/dev/null)" = "$OPA_VERSION" ]; then
  echo "$bin/opa"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "error: the Go toolchain is needed to build opa $OPA_VERSION for the OPA comparison" >&2
  echo "       (cached in $bin). Install it from https://go.dev/dl/ or your package manager." >&2
  exit 1
fi

log "building opa $OPA_VERSION (a cold build takes a few minutes on 2 cores)"
printf 'module egress-webhook.bench/opabin\n\ngo 1.24\n\nrequire github.com/open-policy-agent/opa %s\n' \
  "$OPA_VERSION" >"$work/go.mod"
# The version string the binary reports comes from the module's own build info; the
# linker flag keeps "opa version" honest when it is built as a dependency.
(cd "$work" && go build -trimpath -o "$bin/opa.tmp" \
  -ldflags "-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}" \
  github.com/open-policy-agent/opa)
mv "$bin/opa.tmp" "$bin/opa"
echo "$OPA_VERSION" >"$bin/.opa.version"
echo "$bin/opa"
