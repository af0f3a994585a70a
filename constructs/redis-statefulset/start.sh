set -eu
ordinal="${HOSTNAME##*-}"
if [ "$ordinal" = "0" ]; then
  echo "ordinal 0: starting as master"
  exec redis-server /etc/redis/redis.conf
fi
echo "ordinal $ordinal: starting as replica of $MASTER_HOST"
exec redis-server /etc/redis/redis.conf --replicaof "$MASTER_HOST" @REDIS_PORT@
