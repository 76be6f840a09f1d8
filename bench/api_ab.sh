#!/usr/bin/env bash
# A/B of two `vigil` binaries on API ingestion, run alternately so both see
# the same machine: REPS rounds of bench/api_load.sh with OLD then NEW.
# Prints per run: load average, events, ingested/s, API and ingest-thread CPU
# per event (µs), loadgen's ack latency.
#   bench/api_ab.sh OLD_BIN NEW_BIN RATE DURATION REPS
set -euo pipefail
OLD=$1; NEW=$2; RATE=$3; DUR=$4; REPS=$5
HERE=$(dirname "$0")
for i in $(seq 1 "$REPS"); do
  for b in "$OLD" "$NEW"; do
    out=$("$HERE/api_load.sh" "$b" "$RATE" "$DUR" 2>&1)
    ev=$(echo "$out" | awk '/^vigil_events_ingested_total/{print $2}')
    api=$(echo "$out" | sed -n 's/.*api_cpu_ticks=\([0-9]*\).*/\1/p')
    ing=$(echo "$out" | sed -n 's/.*ingest_ticks=\([0-9]*\).*/\1/p')
    rate=$(echo "$out" | sed -n 's/ingested: *\([0-9]*\).*/\1/p')
    lat=$(echo "$out" | sed -n 's/ack latency: *//p')
    lg=$(echo "$out" | grep -o "loadgen_cpu_s=[0-9.+]*" || true)
    tick_us=$((1000000 / $(getconf CLK_TCK)))
    echo "$b rate=$RATE rep=$i load=$(cut -d' ' -f1 /proc/loadavg) events=$ev ingested/s=$rate" \
         "api_us/ev=$((api * tick_us / ev)) ingest_us/ev=$((ing * tick_us / ev)) $lat $lg"
  done
done
