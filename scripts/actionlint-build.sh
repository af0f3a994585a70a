#!/usr/bin/env bash
# Builds actionlint (github.com/rhysd/actionlint, pinned by tools/actionlint/go.mod and go.sum)
# into .cache/actionlint-bin/actionlint (git-ignored), for test/unit/release-workflow.test.ts,
# which lints .github/workflows with it. actionlint lints every `run:` block with Debian's
# `shellcheck` (scripts/install-redis.sh installs it); the test hands it over explicitly and
# fails without it, so the shell checks are never silently off.
# Skips the build when nothing pinned changed: a stamp keyed on the module's go.mod and go.sum,
# this script and the Go version.
#
#   usage: scripts/actionlint-build.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${ACTIONLINT_BIN_DIR:-$root/.cache/actionlint-bin}"
force=0; [ "${1:-}" = "--force" ] && force=1

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

command -v go >/dev/null 2>&1 || { echo "actionlint-build: 'go' (>= 1.26) is needed to build actionlint." >&2; exit 1; }

mkdir -p "$bin"
exec 9>"$bin/.lock"
flock 9   # one build at a time (parallel test runs)

stamp="$( { cat "$root/tools/actionlint/go.mod" "$root/tools/actionlint/go.sum" "$0"; go version; } | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bin/actionlint" ] && [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
rm -f "$bin/.stamp"

version="$(cd "$root/tools/actionlint" && go list -m -f '{{.Version}}' github.com/rhysd/actionlint)"
echo "actionlint-build: building actionlint $version ..."
start=$SECONDS
(cd "$root/tools/actionlint" && go build -trimpath -ldflags "-s -w" -o "$bin/actionlint.tmp" github.com/rhysd/actionlint/cmd/actionlint)
mv -f "$bin/actionlint.tmp" "$bin/actionlint"
echo "$stamp" > "$bin/.stamp"
echo "actionlint-build: actionlint $version built in $((SECONDS - start))s"
