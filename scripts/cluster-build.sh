#!/usr/bin/env bash
# Builds the test control plane into .cache/cluster-bin/ (git-ignored):
#   kube  multi-call binary: kube-apiserver | kube-controller-manager | kube-scheduler | etcd |
#         kubelet | kube-proxy (the last two for the node tier, whose other parts
#         scripts/node-build.sh makes) (tools/kube/main.go; symlinks named after each
#         component point at it)
#   kwok  fake nodes/pods (sigs.k8s.io/kwok, pinned below)
# and skips the build when nothing pinned changed: a stamp keyed on tools/kube/go.mod,
# go.sum, main.go, the kwok pin, this script and the Go version.
#
# KUBEBUILDER_ASSETS (a directory with kube-apiserver and etcd, e.g. from setup-envtest) is
# used by the test harness instead of the built apiserver+etcd; the workload tier still
# needs the built binary for kube-controller-manager and kube-scheduler, and kwok.
#
#   usage: scripts/cluster-build.sh [--force]      (or: npm run cluster:build)
set -euo pipefail

KWOK_VERSION=v0.8.0
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tools/kube"
bin="${CLUSTER_BIN_DIR:-$root/.cache/cluster-bin}"
force=0; [ "${1:-}" = "--force" ] && force=1

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

if ! command -v go >/dev/null 2>&1; then
  if [ -n "${KUBEBUILDER_ASSETS:-}" ] && [ -x "$KUBEBUILDER_ASSETS/kube-apiserver" ] && [ -x "$KUBEBUILDER_ASSETS/etcd" ]; then
    echo "cluster-build: no Go toolchain; KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS gives apiserver+etcd (tier 'api' only)." >&2
    exit 0
  fi
  echo "cluster-build: 'go' (>= 1.26) is needed to build the test control plane (or set KUBEBUILDER_ASSETS for the api tier)." >&2
  exit 1
fi

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9   # one build at a time (parallel test runs)

k8s_version="$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes[[:space:]]\{1,\}\(v[0-9.]*\).*$/\1/p' "$src/go.mod" | head -1)"
[ -n "$k8s_version" ] || { echo "cluster-build: no k8s.io/kubernetes requirement in $src/go.mod" >&2; exit 1; }
minor="${k8s_version#v1.}"; minor="${minor%%.*}"

stamp="$( { cat "$src/go.mod" "$src/go.sum" "$src/main.go" "$0"; echo "kwok $KWOK_VERSION"; go version; } | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bin/kube" ] && [ -x "$bin/kwok" ] && [ -f "$bin/kwok-stages.yaml" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "cluster-build: up to date (kubernetes $k8s_version, kwok $KWOK_VERSION) in $bin"
  exit 0
fi
rm -f "$bin/.stamp"

ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags="$ldflags -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done

echo "cluster-build: building kube (kubernetes $k8s_version) into $bin ..."
start=$SECONDS
(cd "$src" && go build -trimpath -tags providerless -ldflags "$ldflags" -o "$bin/kube.tmp" .)
mv -f "$bin/kube.tmp" "$bin/kube"
for c in kube-apiserver kube-controller-manager kube-scheduler etcd kubelet kube-proxy; do ln -sfn kube "$bin/$c"; done
echo "cluster-build: kube built in $((SECONDS - start))s ($(du -h "$bin/kube" | cut -f1))"

echo "cluster-build: building kwok $KWOK_VERSION ..."
start=$SECONDS
GOBIN="$bin" GOFLAGS= go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
echo "cluster-build: kwok built in $((SECONDS - start))s ($(du -h "$bin/kwok" | cut -f1))"

# kwok run standalone has no stages of its own (kwokctl supplies them): take the default
# ones kwokctl uses (node/fast, node/heartbeat-with-lease, pod/fast) from the pinned module.
kwok_dir="$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
stages=(node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml)
{
  echo "# Default kwok stages from sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage (copied by cluster-build.sh)"
  for f in "${stages[@]}"; do echo "---"; cat "$kwok_dir/kustomize/stage/$f"; done
} > "$bin/kwok-stages.yaml.tmp"
mv -f "$bin/kwok-stages.yaml.tmp" "$bin/kwok-stages.yaml"

echo "$stamp" > "$bin/.stamp"
"$bin/kube" kube-apiserver --version
