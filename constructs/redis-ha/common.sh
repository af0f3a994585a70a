set -eu
ordinal="${HOSTNAME##*-}"
self="$HOSTNAME.$HEADLESS_DOMAIN"
case "$REDIS_PASSWORD" in
  ''|*[!A-Za-z0-9._~+/=-]*)
    echo "the password in Secret $AUTH_SECRET must be non-empty and use only letters, digits and . _ ~ + / = -" >&2
    exit 1;;
esac
export REDISCLI_AUTH="$REDIS_PASSWORD"

# Prints "<host>" of the master most reachable Sentinels agree on; nothing if none answers.
sentinel_master() {
  answers=""
  i=0
  while [ "$i" -lt "$REPLICAS" ]; do
    peer="$NAME-$i.$HEADLESS_DOMAIN"
    a="$(timeout 3 redis-cli -h "$peer" -p @SENTINEL_PORT@ --raw sentinel get-master-addr-by-name "$MASTER_SET" 2>/dev/null | head -n 1 || true)"
    case "$a" in ''|*' '*|*ERR*|*NOAUTH*|*IDONTKNOW*) ;; *) answers="$answers$a
";; esac
    i=$((i + 1))
  done
  printf '%s' "$answers" | sed '/^$/d' | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }'
}

# Waits (bounded) until a host name resolves; Sentinel refuses to start on one that does not.
wait_resolvable() {
  n=0
  until getent hosts "$1" >/dev/null 2>&1; do
    n=$((n + 1))
    if [ "$n" -ge 60 ]; then echo "$1 does not resolve after 60 s" >&2; return 1; fi
    sleep 1
  done
}
