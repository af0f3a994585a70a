#!/usr/bin/env bash
# Collects back-to-back 10 s CPU profiles of the kube-apiserver of whatever benchmark control
# plane is running (started with `--apiserver-profiling`), until stopped, into DIR as
# <unix seconds>.pprof. Merge the ones of a phase with
#   go tool pprof -proto DIR/<first>.pprof … DIR/<last>.pprof > phase.pb.gz
# and read it with `go tool pprof -top -cum .cache/cluster-bin/kube phase.pb.gz`.
#   bash scripts/apiserver-profile.sh DIR
set -euo pipefail
out=${1:?usage: apiserver-profile.sh DIR}
mkdir -p "$out"
while true; do
  line=$(pgrep -af -- 'kube-apiserver .*--secure-port=' | head -n 1 || true)
  if [ -z "$line" ]; then sleep 0.5; continue; fi
  port=$(grep -o -- '--secure-port=[0-9]*' <<<"$line" | cut -d= -f2)
  pki=$(dirname "$(grep -o -- '--client-ca-file=[^ ]*' <<<"$line" | cut -d= -f2)")
  curl -sf --max-time 15 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    -o "$out/$(date +%s).pprof" "https://127.0.0.1:$port/debug/pprof/profile?seconds=10" || sleep 0.5
done
