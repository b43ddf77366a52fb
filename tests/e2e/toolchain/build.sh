#!/usr/bin/env bash
# Builds the real Kubernetes components the end-to-end suite needs (kube-apiserver,
# kubectl, etcd, helm) from the Go module proxy and fetches the real Istio CRDs from
# the istio.io/api module and the Gateway API CRDs (experimental channel) from the
# sigs.k8s.io/gateway-api module, and the PolicyReport CRD from the Kyverno module
# (see versions.env). Everything lands in a cache outside the repository
# and is rebuilt only when a version in versions.env changes.
#
#   tests/e2e/toolchain/build.sh          build what is missing, print the bin dir
#
# Environment: EGRESS_WEBHOOK_CACHE (default ~/.cache/egress-webhook).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache=${EGRESS_WEBHOOK_CACHE:-$HOME/.cache/egress-webhook}
bin="$cache/bin"
work="$cache/build"
mkdir -p "$bin" "$work"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
log() { printf '[toolchain] %s\n' "$*" >&2; }

# Go is needed only to build what the cache lacks: a warm cache works without it.
need_go() {
  if command -v go >/dev/null 2>&1; then return; fi
  echo "error: the Go toolchain (>= 1.24) is needed to build $1 for the end-to-end tests" >&2
  echo "       (kube-apiserver, etcd, kubectl, helm and the Istio CRDs, cached in $cache)." >&2
  echo "       Install it from https://go.dev/dl/ or your package manager, then run: make toolchain" >&2
  exit 1
}

# Stamp file per component: the binary is reused only if it was built from this version.
fresh() { [ -x "$bin/$1" ] && [ "$(cat "$bin/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$bin/.$1.version"; }

build_kubernetes() {
  if fresh kube-apiserver "$KUBERNETES_VERSION" && fresh kubectl "$KUBERNETES_VERSION"; then return; fi
  need_go "kube-apiserver and kubectl $KUBERNETES_VERSION"
  local v=$KUBERNETES_VERSION staging=v0.${KUBERNETES_VERSION#v1.} dir="$work/kubernetes-$KUBERNETES_VERSION"
  log "building kube-apiserver and kubectl $v (a cold build takes 10-20 minutes on 2 cores)"
  mkdir -p "$dir"
  # k8s.io/kubernetes replaces every staging module with a local path, which only works
  # inside its own repository; point each of them at the published module of the same release.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  {
    echo "module egress-webhook.test/k8sbin"
    echo
    echo "go 1.24"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/k8s.io/[a-z0-9-]*$#replace \1 => \1 '"$staging"'#p' "$gomod"
  } >"$dir/go.mod"
  local major=${v#v}; major=${major%%.*}
  local minor=${v#v*.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  (cd "$dir" && go build -trimpath -o "$bin/" \
    -ldflags "-s -w -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  stamp kube-apiserver "$v"; stamp kubectl "$v"
}

build_etcd() {
  if fresh etcd "$ETCD_VERSION"; then return; fi
  need_go "etcd $ETCD_VERSION"
  local dir="$work/etcd-$ETCD_VERSION"
  log "building etcd $ETCD_VERSION"
  mkdir -p "$dir"
  printf 'module egress-webhook.test/etcdbin\n\ngo 1.24\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$dir/go.mod"
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
  stamp etcd "$ETCD_VERSION"
}

build_helm() {
  # helm's offline default Kubernetes version (helm template, lint) is stamped like
  # upstream's Makefile does, here to the pinned cluster's minor; part of the stamp so a
  # change of either rebuilds.
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local recipe="$HELM_VERSION+k8s1.$minor"
  if fresh helm "$recipe"; then return; fi
  need_go "helm $HELM_VERSION"
  local dir="$work/helm-$HELM_VERSION"
  log "building helm $HELM_VERSION"
  mkdir -p "$dir"
  printf 'module egress-webhook.test/helmbin\n\ngo 1.24\n\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" >"$dir/go.mod"
  local flags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  flags+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    flags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  (cd "$dir" && go build -trimpath -o "$bin/helm" -ldflags "$flags" helm.sh/helm/v3/cmd/helm)
  stamp helm "$recipe"
}

fetch_istio_crds() {
  local out="$cache/istio-crds-$ISTIO_API_VERSION.yaml"
  if [ -s "$out" ]; then return; fi
  need_go "the Istio CRDs (istio.io/api $ISTIO_API_VERSION)"
  log "fetching Istio CRDs from istio.io/api $ISTIO_API_VERSION"
  local dir
  dir=$(cd "$work" && GOFLAGS= go mod download -json "istio.io/api@$ISTIO_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp "$dir/kubernetes/customresourcedefinitions.gen.yaml" "$out.tmp"
  chmod 0644 "$out.tmp"
  mv "$out.tmp" "$out"
}

fetch_gateway_api_crds() {
  local out="$cache/gateway-api-crds-$GATEWAY_API_VERSION.yaml"
  if [ -s "$out" ]; then return; fi
  need_go "the Gateway API CRDs (sigs.k8s.io/gateway-api $GATEWAY_API_VERSION)"
  log "fetching Gateway API CRDs (experimental channel) from sigs.k8s.io/gateway-api $GATEWAY_API_VERSION"
  local dir file
  dir=$(cd "$work" && GOFLAGS= go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  # The CRDs the channel's kustomization installs, in its order, as one multi-document file.
  # Since v1.5 it also installs a ValidatingAdmissionPolicy against unsafe CRD upgrades
  # (*_vap_safeupgrades.yaml), left out: it is no CRD (`kubectl wait --for=condition=
  # Established` on it never ends) and it guards the CRDs, not what the webhook sees.
  : >"$out.tmp"
  for file in $(sed -n 's/^- \(.*\.yaml\)$/\1/p' "$dir/config/crd/experimental/kustomization.yaml" | grep -v '_vap_'); do
    printf -- '---\n' >>"$out.tmp"
    cat "$dir/config/crd/experimental/$file" >>"$out.tmp"
  done
  chmod 0644 "$out.tmp"
  mv "$out.tmp" "$out"
}

fetch_policy_report_crd() {
  local out="$cache/policy-report-crd-$POLICY_REPORT_MODULE_VERSION.yaml"
  if [ -s "$out" ]; then return; fi
  need_go "the PolicyReport CRD (github.com/kyverno/kyverno $POLICY_REPORT_MODULE_VERSION)"
  log "fetching the PolicyReport CRD from github.com/kyverno/kyverno $POLICY_REPORT_MODULE_VERSION"
  local dir
  dir=$(cd "$work" && GOFLAGS= go mod download -json "github.com/kyverno/kyverno@$POLICY_REPORT_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  cp "$dir/config/crds/policyreport/wgpolicyk8s.io_policyreports.yaml" "$out.tmp"
  chmod 0644 "$out.tmp"
  mv "$out.tmp" "$out"
}

build_etcd
build_helm
fetch_istio_crds
fetch_gateway_api_crds
fetch_policy_report_crd
build_kubernetes
ln -sfn "istio-crds-$ISTIO_API_VERSION.yaml" "$cache/istio-crds.yaml"
ln -sfn "gateway-api-crds-$GATEWAY_API_VERSION.yaml" "$cache/gateway-api-crds.yaml"
ln -sfn "policy-report-crd-$POLICY_REPORT_MODULE_VERSION.yaml" "$cache/policy-report-crd.yaml"
echo "$bin"
