#!/usr/bin/env bash
# Builds the operator-sdk Go Memcached sample (the reference `npm run bench:compare` measures
# our operator against) into .cache/anchor-bin/ (git-ignored):
#   memcached-go-manager  `go build ./cmd` of a copy of the sample
#   crd.yaml              its CRD (config/crd/bases), as the sample ships it
#   rbac/                 its manager and leader-election RBAC (config/rbac), as it ships it
# The sample's code is never part of this project: it is copied from ANCHOR_DIR (default
# ../shared/anchors/operator-sdk-memcached-go beside the checkout) into .cache/anchor-src/
# at build time and compiled there, with the module versions its go.mod pins, fetched through
# the Go module proxy. A stamp over the sample's go.mod, go.sum, Go sources, manifests, this
# script and the Go version skips the build when nothing changed.
#
#   usage: scripts/anchor-build.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
anchor="${ANCHOR_DIR:-$root/../shared/anchors/operator-sdk-memcached-go}"
bin="${ANCHOR_BIN_DIR:-$root/.cache/anchor-bin}"
work="$root/.cache/anchor-src"
force=0; [ "${1:-}" = "--force" ] && force=1

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

command -v go >/dev/null 2>&1 || { echo "anchor-build: 'go' (>= 1.26) is needed to build the Go sample." >&2; exit 1; }
[ -f "$anchor/go.mod" ] && [ -d "$anchor/cmd" ] || {
  echo "anchor-build: no Go sample at $anchor (set ANCHOR_DIR to a copy of operator-sdk's testdata/go/v4/memcached-operator)." >&2
  exit 1
}
anchor="$(cd "$anchor" && pwd)"
self="$root/scripts/$(basename "$0")"

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9   # one build at a time

stamp="$( { cd "$anchor" && find go.mod go.sum cmd api internal config/crd/bases config/rbac -type f \( -name '*.go' -o -name '*.yaml' -o -name 'go.*' \) | LC_ALL=C sort | xargs sha256sum; cat "$self"; go version; } | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bin/memcached-go-manager" ] && [ -f "$bin/crd.yaml" ] && [ -f "$bin/rbac/role.yaml" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "anchor-build: up to date in $bin"
  exit 0
fi
rm -f "$bin/.stamp"

# A writable copy (the anchor folder may be read-only); only what `go build ./cmd` reads.
rm -rf "$work" && mkdir -p "$work"
(cd "$anchor" && cp -R go.mod go.sum cmd api internal "$work/")
chmod -R u+w "$work"

echo "anchor-build: building the Go sample ($(cd "$work" && go list -m -f '{{.Path}}'), controller-runtime $(cd "$work" && go list -m -f '{{.Version}}' sigs.k8s.io/controller-runtime)) ..."
start=$SECONDS
(cd "$work" && go build -trimpath -ldflags "-s -w" -o "$bin/memcached-go-manager.tmp" ./cmd)
mv -f "$bin/memcached-go-manager.tmp" "$bin/memcached-go-manager"
echo "anchor-build: built in $((SECONDS - start))s ($(du -h "$bin/memcached-go-manager" | cut -f1))"

cp "$anchor/config/crd/bases/cache.example.com_memcacheds.yaml" "$bin/crd.yaml.tmp" && mv -f "$bin/crd.yaml.tmp" "$bin/crd.yaml"
rm -rf "$bin/rbac" && mkdir -p "$bin/rbac"
cp "$anchor"/config/rbac/{role,role_binding,leader_election_role,leader_election_role_binding,service_account}.yaml "$bin/rbac/"
chmod -R u+w "$bin/rbac" "$bin/crd.yaml"

echo "$stamp" > "$bin/.stamp"
