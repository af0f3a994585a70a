#!/usr/bin/env bash
# Installs what cluster/images.ts and `npm run image` need to build and run images on a
# Debian machine without Docker: buildah and podman (they share /var/lib/containers/storage),
# runc (crun fails on kernels with hybrid cgroups, so every build and run here names runc),
# debootstrap for the Debian base, uidmap and fuse-overlayfs that podman uses. A no-op on a
# machine that has them all.
#
#   usage: scripts/images-install.sh      (as root)
set -euo pipefail
missing=()
for cmd_pkg in buildah:buildah podman:podman runc:runc debootstrap:debootstrap newuidmap:uidmap fuse-overlayfs:fuse-overlayfs; do
  command -v "${cmd_pkg%%:*}" >/dev/null 2>&1 || missing+=("${cmd_pkg##*:}")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "images-install: buildah, podman, runc and debootstrap are installed"
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "images-install: missing ${missing[*]}: install them (Debian/Ubuntu as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "images-install: installing ${missing[*]} ..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q "${missing[@]}" >/dev/null
echo "images-install: installed ${missing[*]}"
