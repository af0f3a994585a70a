#!/usr/bin/env bash
# Installs what the tests need on the machine itself from Debian: redis-server and redis-cli
# (redis-tools) for redis-maxmemory's process under a memory cgroup; nsenter (util-linux) and
# ip (iproute2) that the node tier and its fault injection use; and the shellcheck linter that
# the unit tests run on the constructs' shell scripts. The replication and failover tests run
# in real pods on the node tier, with the images of cluster/images.ts.
# Idempotent and quiet: prints nothing and does nothing when everything is there; prints one
# line when it installed something; prints apt's output only when it failed. Needs root.
# The packages' own services are never started (policy-rc.d denies it during the install):
# the tests run their own processes with the synthesized configuration.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have redis-server || need+=(redis-server)
have redis-cli || need+=(redis-tools)
{ have unshare && have nsenter && have setpriv; } || need+=(util-linux)
have ip || need+=(iproute2)
have pgrep || need+=(procps)
have shellcheck || need+=(shellcheck)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-redis.sh: missing ${need[*]} and not root; install them with apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  created_policy=1
fi
log="$(mktemp)"
cleanup() {
  if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
  rm -f "$log"
}
trap cleanup EXIT

if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-redis.sh: apt-get failed installing ${need[*]}" >&2
  exit 1
fi
# If an init system started the packaged services anyway, stop them (they would hold 6379).
for svc in redis-server redis-sentinel haproxy; do
  if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-redis.sh: installed ${need[*]}"
