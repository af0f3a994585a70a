. /etc/redis-ha/common.sh
master="$(sentinel_master)"
if [ -z "$master" ]; then
  # No Sentinel answers: a fresh start (or all Sentinels lost). Pod 0 is the first master.
  master="$NAME-0.$HEADLESS_DOMAIN"
  echo "no Sentinel knows a master: assuming $master"
else
  echo "Sentinels report master $master"
fi
conf=/run/redis-ha/redis.conf
{
  echo "include /etc/redis-ha/redis.conf"
  echo "requirepass $REDIS_PASSWORD"
  echo "masterauth $REDIS_PASSWORD"
  echo "replica-announce-ip $self"
  echo "replica-announce-port @REDIS_PORT@"
  if [ "$master" != "$self" ]; then echo "replicaof $master @REDIS_PORT@"; fi
} > "$conf"
if [ "$master" = "$self" ]; then echo "starting as master ($self)"; else echo "starting as replica of $master"; fi
exec redis-server "$conf"
