set -eu
# The password comes from the user's Secret; only characters that cannot break a config line.
case "$REDIS_PASSWORD" in
  ''|*[!A-Za-z0-9._~+/=-]*)
    echo "the password in Secret $AUTH_SECRET must be non-empty and use only letters, digits and . _ ~ + / = -" >&2
    exit 1;;
esac
conf=@RUN_DIR@/redis.conf
{
  echo "include /etc/redis/redis.conf"
  echo "requirepass $REDIS_PASSWORD"
  echo "masterauth $REDIS_PASSWORD"
} > "$conf"
ordinal="${HOSTNAME##*-}"
if [ "$ordinal" = "0" ]; then
  echo "ordinal 0: starting as master"
  exec redis-server "$conf"
fi
echo "ordinal $ordinal: starting as replica of $MASTER_HOST"
exec redis-server "$conf" --replicaof "$MASTER_HOST" @REDIS_PORT@
