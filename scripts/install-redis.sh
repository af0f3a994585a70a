#!/usr/bin/env bash
# Installs what the Redis real-process tests (test/integration/redis-*.test.ts) need from
# Debian: redis-server, redis-sentinel, redis-cli (redis-tools), haproxy (the redis-ha master
# endpoint), dnsmasq-base (stands in for cluster DNS), and unshare/nsenter/setpriv (util-linux)
# and ip (iproute2) for the namespaces; and shellcheck, which the unit tests run on the
# constructs' shell scripts.
# Idempotent and quiet: prints nothing and does nothing when everything is there; prints one
# line when it installed something; prints apt's output only when it failed. Needs root.
# The packages' own services are never started (policy-rc.d denies it during the install):
# the tests run their own processes with the synthesized configuration.
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
have redis-server || need+=(redis-server)
have redis-sentinel || need+=(redis-sentinel)
have redis-cli || need+=(redis-tools)
have haproxy || need+=(haproxy)
{ have unshare && have nsenter && have setpriv; } || need+=(util-linux)
have ip || need+=(iproute2)
have pgrep || need+=(procps)
have dnsmasq || need+=(dnsmasq-base)
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
