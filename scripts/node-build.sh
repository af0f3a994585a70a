#!/usr/bin/env bash
# Everything the node tier (one real node: cluster/node.ts) needs beyond scripts/cluster-build.sh
# (which builds kubelet and kube-proxy into the multi-call `kube` binary):
#   - Debian packages: containerd (with ctr), runc, containernetworking-plugins (bridge,
#     host-local, portmap, loopback under /usr/lib/cni), iptables, conntrack, buildah;
#   - CoreDNS from tools/coredns (pinned Go module) -> .cache/cluster-bin/coredns;
#   - two images nothing can pull here, made with buildah from static Go programs in
#     tools/pause: the pod sandbox `pause` and the test image `probe`, saved as OCI archives
#     .cache/cluster-bin/images/{pause,probe}.oci.tar (the node tier imports them into its
#     containerd at start).
# A no-op when the packages are installed and a stamp (hash of the Go sources and pins, this
# script and `go version`) matches. `--force` rebuilds. Needs root (apt-get, buildah).
#
#   usage: scripts/node-build.sh [--force]
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CLUSTER_BIN_DIR:-$root/.cache/cluster-bin}"
force=0; [ "${1:-}" = "--force" ] && force=1
PACKAGES=(containerd runc containernetworking-plugins iptables conntrack buildah)
# image references the node tier uses (cluster/node-config.ts has the same two)
PAUSE_IMAGE=localhost/kube-tutorial-stack/pause:1.0
PROBE_IMAGE=localhost/kube-tutorial-stack/probe:1.0

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=readonly

say() { echo "node-build: $*"; }
die() { echo "node-build: $*" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "Debian packages missing: ${missing[*]}; run as root (apt-get install -y ${missing[*]})"
  say "installing ${missing[*]} ..."
  start=$SECONDS
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  say "packages installed in $((SECONDS - start))s"
fi
# containerd's package starts no daemon here (no systemd); the node tier runs its own.

command -v go >/dev/null 2>&1 || die "'go' (>= 1.26) is needed to build CoreDNS and the pause/probe images"
mkdir -p "$bin/images"
exec 9>"$bin/.node-lock"
flock 9   # one build at a time (parallel test runs)

stamp="$( { cat "$root/tools/coredns/go.mod" "$root/tools/coredns/go.sum" "$root/tools/coredns/main.go" \
  "$root/tools/pause/go.mod" "$root/tools/pause/main.go" "$root/tools/pause/probe/main.go" "$0"; go version; } \
  | sha256sum | cut -d' ' -f1)"
if [ "$force" = 0 ] && [ -x "$bin/coredns" ] && [ -f "$bin/images/pause.oci.tar" ] && [ -f "$bin/images/probe.oci.tar" ] \
  && [ "$(cat "$bin/.node-stamp" 2>/dev/null)" = "$stamp" ]; then
  say "up to date (CoreDNS, pause and probe images) in $bin"
  exit 0
fi
rm -f "$bin/.node-stamp"

say "building CoreDNS ..."
start=$SECONDS
(cd "$root/tools/coredns" && go build -trimpath -ldflags "-s -w" -o "$bin/coredns.tmp" .)
mv -f "$bin/coredns.tmp" "$bin/coredns"
say "CoreDNS built in $((SECONDS - start))s ($(du -h "$bin/coredns" | cut -f1))"

start=$SECONDS
work="$(mktemp -d)"
containers=()
cleanup() {
  for c in "${containers[@]}"; do buildah rm "$c" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
(cd "$root/tools/pause" && go build -trimpath -ldflags "-s -w" -o "$work/" . ./probe)

# image NAME REFERENCE BINARY ENTRYPOINT-JSON: a scratch image holding one static binary,
# as user 65532 (a non-root uid, so pods with runAsNonRoot accept it).
image() {
  local name=$1 ref=$2 binary=$3 entrypoint=$4 c
  c="$(buildah from scratch)"
  containers+=("$c")
  buildah copy --chmod 0755 "$c" "$binary" "/$name" >/dev/null
  buildah config --entrypoint "$entrypoint" --cmd '' --user 65532:65532 \
    --label org.opencontainers.image.source=kube-tutorial-stack/tools/pause "$c"
  rm -f "$bin/images/$name.oci.tar.tmp"
  buildah commit --quiet --rm "$c" "oci-archive:$bin/images/$name.oci.tar.tmp:$ref" >/dev/null
  mv -f "$bin/images/$name.oci.tar.tmp" "$bin/images/$name.oci.tar"
}
image pause "$PAUSE_IMAGE" "$work/pause" '["/pause"]'
image probe "$PROBE_IMAGE" "$work/probe" '["/probe"]'
containers=()
say "pause and probe images built in $((SECONDS - start))s: $(du -h "$bin/images/pause.oci.tar" | cut -f1), $(du -h "$bin/images/probe.oci.tar" | cut -f1)"

echo "$stamp" > "$bin/.node-stamp"
