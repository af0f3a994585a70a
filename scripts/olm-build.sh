#!/usr/bin/env bash
# Builds the Operator Lifecycle Manager parts the OLM tests use into .cache/olm-bin/ (git-ignored):
#   olm-validate  the operator-framework/api bundle validators (tools/olm-validate/main.go)
#   olm           OLM's olm-operator (cmd/olm of operator-lifecycle-manager, a `tool` of tools/olm/)
#   olm-rbac      the RBAC OLM's resolver generates for a CSV (tools/olm/rbac/main.go): what the
#                 catalog operator's InstallPlan would create, for the install test
#   crds/         OLM's CRDs (ClusterServiceVersion, OperatorGroup, ...) from the
#                 operator-framework/api version that olm-operator is built with
# and skips the build when nothing pinned changed: a stamp keyed on both modules' go.mod,
# go.sum and sources, this script and the Go version.
#
#   usage: scripts/olm-build.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${OLM_BIN_DIR:-$root/.cache/olm-bin}"
force=0; [ "${1:-}" = "--force" ] && force=1
OLM_PKG=github.com/operator-framework/operator-lifecycle-manager

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

command -v go >/dev/null 2>&1 || { echo "olm-build: 'go' (>= 1.26) is needed to build the OLM validators and olm-operator." >&2; exit 1; }

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9   # one build at a time (parallel test runs)

stamp="$( { cat "$root"/tools/olm/go.mod "$root"/tools/olm/go.sum "$root"/tools/olm/rbac/*.go "$root"/tools/olm-validate/go.mod "$root"/tools/olm-validate/go.sum "$root"/tools/olm-validate/*.go "$0"; go version; } | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bin/olm" ] && [ -x "$bin/olm-rbac" ] && [ -x "$bin/olm-validate" ] && [ -f "$bin/crds/operators.coreos.com_clusterserviceversions.yaml" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "olm-build: up to date in $bin"
  exit 0
fi
rm -f "$bin/.stamp"

echo "olm-build: building olm-validate ..."
start=$SECONDS
(cd "$root/tools/olm-validate" && go build -trimpath -ldflags "-s -w" -o "$bin/olm-validate.tmp" .)
mv -f "$bin/olm-validate.tmp" "$bin/olm-validate"
echo "olm-build: olm-validate built in $((SECONDS - start))s"

olm_version="$(cd "$root/tools/olm" && go list -m -f '{{.Version}}' "$OLM_PKG")"
api_version="$(cd "$root/tools/olm" && go list -m -f '{{.Version}}' github.com/operator-framework/api)"
echo "olm-build: building olm-operator $olm_version ..."
start=$SECONDS
(cd "$root/tools/olm" && go build -trimpath \
  -ldflags "-s -w -X $OLM_PKG/pkg/version.OLMVersion=$olm_version" \
  -o "$bin/olm.tmp" "$OLM_PKG/cmd/olm")
mv -f "$bin/olm.tmp" "$bin/olm"
echo "olm-build: olm built in $((SECONDS - start))s ($(du -h "$bin/olm" | cut -f1))"
start=$SECONDS
(cd "$root/tools/olm" && go build -trimpath -ldflags "-s -w" -o "$bin/olm-rbac.tmp" ./rbac)
mv -f "$bin/olm-rbac.tmp" "$bin/olm-rbac"
echo "olm-build: olm-rbac built in $((SECONDS - start))s"

# The CRDs OLM's own manifests install, from the api module olm-operator is compiled against.
api_dir="$(cd "$root/tools/olm" && go list -m -f '{{.Dir}}' github.com/operator-framework/api)"
rm -rf "$bin/crds.tmp" && mkdir -p "$bin/crds.tmp"
cp "$api_dir"/crds/operators.coreos.com_*.yaml "$bin/crds.tmp/"
chmod -R u+w "$bin/crds.tmp"
echo "# operator-framework/api $api_version (copied by olm-build.sh)" > "$bin/crds.tmp/VERSION"
rm -rf "$bin/crds" && mv "$bin/crds.tmp" "$bin/crds"

echo "$stamp" > "$bin/.stamp"
echo "olm-build: olm-operator $olm_version, operator-framework/api $api_version (CRDs); validators from $(cd "$root/tools/olm-validate" && go list -m -f '{{.Version}}' github.com/operator-framework/api)"
