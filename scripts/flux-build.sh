#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller (pinned in tools/flux/go.mod) into
# .cache/flux-bin/ (git-ignored) for the GitOps integration test, which runs them out of
# cluster against the test control plane (docs/gitops.md). Also copies the CRDs the two
# controllers serve from the module cache into .cache/flux-bin/crds/, and builds kstatus
# (tools/flux/kstatus: Flux's health-check library as a command) for the operator's tests.
#
# Skips the build when nothing pinned changed: a stamp keyed on tools/flux/go.mod, go.sum,
# kstatus's source, this script and the Go version. One build at a time (flock), like cluster-build.sh.
#
#   usage: scripts/flux-build.sh [--force]      (or: npm run flux:build)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tools/flux"
bin="${FLUX_BIN_DIR:-$root/.cache/flux-bin}"
force=0; [ "${1:-}" = "--force" ] && force=1
controllers=(source-controller kustomize-controller)

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

if ! command -v go >/dev/null 2>&1; then
  echo "flux-build: 'go' (>= 1.26) is needed to build Flux's controllers for the GitOps test." >&2
  exit 1
fi

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9

stamp="$( { cat "$src/go.mod" "$src/go.sum" "$src"/kstatus/*.go "$0"; go version; } | sha256sum | cut -d' ' -f1)"
up_to_date=1
for c in "${controllers[@]}" kstatus; do [ -x "$bin/$c" ] || up_to_date=0; done
[ -d "$bin/crds" ] || up_to_date=0
if [ "$force" = 0 ] && [ "$up_to_date" = 1 ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "flux-build: up to date in $bin"
  exit 0
fi
rm -f "$bin/.stamp"

pkgs=()
for c in "${controllers[@]}"; do pkgs+=("github.com/fluxcd/$c"); done

echo "flux-build: building ${controllers[*]} into $bin ..."
start=$SECONDS
rm -rf "$bin/.tmp" && mkdir -p "$bin/.tmp"
# kstatus (tools/flux/kstatus): Flux's health-check library as a command, for the tests that
# check what Flux makes of the operator's status (docs/operator.md).
(cd "$src" && go build -trimpath -ldflags "-s -w" -o "$bin/.tmp/" "${pkgs[@]}" ./kstatus)
for c in "${controllers[@]}" kstatus; do mv -f "$bin/.tmp/$c" "$bin/$c"; done
rmdir "$bin/.tmp"
echo "flux-build: built in $((SECONDS - start))s ($(cd "$bin" && du -h "${controllers[@]}" | tr '\t\n' ': '))"

# The CRDs each controller serves, from its module's config/crd/bases at the pinned version.
rm -rf "$bin/crds.tmp" && mkdir -p "$bin/crds.tmp"
for p in "${pkgs[@]}"; do
  dir="$(cd "$src" && go list -m -f '{{.Dir}}' "$p")"
  [ -d "$dir/config/crd/bases" ] || { echo "flux-build: no config/crd/bases in $dir" >&2; exit 1; }
  cp "$dir"/config/crd/bases/*.yaml "$bin/crds.tmp/"
done
chmod u+w "$bin"/crds.tmp/*.yaml
rm -rf "$bin/crds" && mv "$bin/crds.tmp" "$bin/crds"

echo "$stamp" > "$bin/.stamp"
for c in "${controllers[@]}"; do echo "flux-build: $c $(cd "$src" && go list -m -f '{{.Version}}' "github.com/fluxcd/$c")"; done
