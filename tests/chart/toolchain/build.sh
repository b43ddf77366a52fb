#!/usr/bin/env bash
# Builds the chart's own tools from the Go module proxy into the toolchain cache:
# promtool (validates the PrometheusRule and the dashboard's PromQL) and helm-docs
# (generates the chart README's values table from values.yaml). Rebuilt only when a
# pinned version below changes; a warm cache works without Go.
#
#   tests/chart/toolchain/build.sh          build what is missing, print the bin dir
#
# Environment: EGRESS_WEBHOOK_CACHE (default ~/.cache/egress-webhook).
set -euo pipefail

# Prometheus publishes its Go module as v0.<major*100+minor>.<patch>: v0.316.0 is 3.16.0.
# promtool is built with the `remove_all_sd` tag: checking and testing rules needs none
# of the cloud service discoveries, whose SDKs are most of a cold build.
PROMETHEUS_MODULE_VERSION=v0.316.0
HELM_DOCS_VERSION=v1.14.2

cache=${EGRESS_WEBHOOK_CACHE:-$HOME/.cache/egress-webhook}
bin="$cache/bin"
work="$cache/build"
mkdir -p "$bin" "$work"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log() { printf '[chart-toolchain] %s\n' "$*" >&2; }

need_go() {
  if command -v go >/dev/null 2>&1; then return; fi
  echo "error: the Go toolchain (>= 1.24) is needed to build $1 for the chart tests" >&2
  echo "       (cached in $bin). Install it from https://go.dev/dl/ or your package manager," >&2
  echo "       then run: make toolchain" >&2
  exit 1
}

fresh() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$bin/.$1.version"; }

# go build of one main package of one pinned module, in a throwaway module of its own.
build_tool() {
  local name=$1 module=$2 version=$3 package=$4 ldflags=${5:-} tags=${6:-}
  if fresh "$name" "$version${tags:++$tags}"; then return; fi
  need_go "$name $version"
  local dir="$work/$name-$version"
  log "building $name $version"
  mkdir -p "$dir"
  printf 'module egress-webhook.test/%sbin\n\ngo 1.24\n\nrequire %s %s\n' "$name" "$module" "$version" >"$dir/go.mod"
  (cd "$dir" && go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$bin/$name.tmp" "$package")
  mv "$bin/$name.tmp" "$bin/$name"
  stamp "$name" "$version${tags:++$tags}"
}

prometheus_release=${PROMETHEUS_MODULE_VERSION#v0.}
prometheus_release=3.$((${prometheus_release%%.*} - 300)).${prometheus_release#*.}
build_tool promtool github.com/prometheus/prometheus "$PROMETHEUS_MODULE_VERSION" \
  github.com/prometheus/prometheus/cmd/promtool \
  "-X github.com/prometheus/common/version.Version=$prometheus_release" \
  remove_all_sd
build_tool helm-docs github.com/norwoodj/helm-docs "$HELM_DOCS_VERSION" \
  github.com/norwoodj/helm-docs/cmd/helm-docs \
  "-X main.version=${HELM_DOCS_VERSION#v}"
echo "$bin"
