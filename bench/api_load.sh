#!/usr/bin/env bash
# One API ingestion run: starts `BIN api` (MOCK_MODE, fresh data directory,
# port 18080), drives it with `BIN loadgen --workers 100 --rate RATE
# --duration DURATION`, prints loadgen's summary (and its CPU with GNU time
# installed), the API process's and its
# vigil-ingest thread's CPU (clock ticks, from /proc) and the events ingested.
# With a 4th argument, records the API under `perf record -g` into
# /tmp/vigil-api-perf.data. docs/performance-api.md uses it.
#   bench/api_load.sh build/vigil 5000 20 [perf]
set -euo pipefail
BIN=$1; RATE=$2; DUR=$3; PERF=${4:-}
D=$(mktemp -d)
MOCK_MODE=true LOG_LEVEL=warn "$BIN" api --vigil-data-dir "$D" --worker-api-key perf-key-123456 \
  --api-port 18080 --api-bind 127.0.0.1 > "$D/api.log" 2>&1 &
APID=$!
# Whatever happens below, the API stops and its directory goes (a run whose
# loadgen fails used to leave the API holding the port).
cleanup() { kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null; rm -rf "$D"; }
trap cleanup EXIT
sleep 1.5
PP=
if [ -n "$PERF" ]; then perf record -F 999 -g -p "$APID" -o /tmp/vigil-api-perf.data > /dev/null 2>&1 & PP=$!; fi
LG=0
# loadgen's own CPU (user+system seconds), when GNU time is installed.
TIMER=()
if [ -x /usr/bin/time ]; then TIMER=(/usr/bin/time -f "loadgen_cpu_s=%U+%S"); fi
"${TIMER[@]}" "$BIN" loadgen --workers 100 --rate "$RATE" --duration "$DUR" --key perf-key-123456 \
  --api http://127.0.0.1:18080 --api-pid "$APID" 2>&1 | tail -12 || LG=$?
[ "$LG" -eq 0 ] || echo "loadgen exit status $LG: not every event was acknowledged in time"
T=$(awk '{print $14+$15}' "/proc/$APID/stat")
IT=0
for t in /proc/"$APID"/task/*; do
  if [ "$(cat "$t/comm")" = vigil-ingest ]; then IT=$(awk '{print $14+$15}' "$t/stat"); fi
done
echo "api_cpu_ticks=$T ingest_ticks=$IT"
curl -s http://127.0.0.1:18080/metrics | grep -E "^vigil_events_ingested_total" || true
if [ -n "$PP" ]; then kill -INT "$PP"; wait "$PP" || true; fi
