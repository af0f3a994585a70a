. /etc/redis-ha/common.sh
conf=/run/sentinel/sentinel.conf
if [ -s "$conf" ] && grep -q '^sentinel monitor' "$conf"; then
  echo "restarting with the state in $conf"
  exec redis-server "$conf" --sentinel
fi
master="$(sentinel_master)"
[ -n "$master" ] || master="$NAME-0.$HEADLESS_DOMAIN"
echo "monitoring $MASTER_SET at $master"
wait_resolvable "$master"
cat > "$conf" <<EOF
port @SENTINEL_PORT@
dir /run/sentinel
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $self
sentinel announce-port @SENTINEL_PORT@
requirepass $REDIS_PASSWORD
sentinel sentinel-pass $REDIS_PASSWORD
sentinel monitor $MASTER_SET $master @REDIS_PORT@ @QUORUM@
sentinel auth-pass $MASTER_SET $REDIS_PASSWORD
sentinel down-after-milliseconds $MASTER_SET @DOWN_AFTER_MILLISECONDS@
sentinel failover-timeout $MASTER_SET @FAILOVER_TIMEOUT_MILLISECONDS@
sentinel parallel-syncs $MASTER_SET 1
EOF
exec redis-server "$conf" --sentinel
