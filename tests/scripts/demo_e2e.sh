#!/usr/bin/env bash
# demo_e2e.sh VIGIL_BINARY — the real-mode demo, headless: real face-api models,
# the demo video made from the npm sample photos, two workers sharing two cameras.
# Asserts that enrolled people produce staff sightings, the others customer
# visits, and that each person walking through yields one event and one visit,
# not one per frame. Exits 77 (skipped) when the models are not installed.
set -uo pipefail
vigil=$1
models=${VIGIL_MODELS_DIR:-}
[ -n "$models" ] && [ -f "$models/manifest.json" ] && [ -f "$models/samples/sample1.jpg" ] || {
  echo "SKIP: no installed models (VIGIL_MODELS_DIR=$models); run 'vigil models install'"; exit 77; }
command -v curl >/dev/null && command -v jq >/dev/null || { echo "SKIP: curl and jq needed"; exit 77; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ "${KEEP_TMP:-0}" = 1 ] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$tmp"/*.log; do echo "--- $f" >&2; tail -20 "$f" >&2; done
  exit 1
}
cd "$tmp"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export VIGIL_DATA_DIR=$tmp/data VIGIL_MODELS_DIR=$models API_PORT=$port HEARTBEAT_INTERVAL=1s
URL=http://127.0.0.1:$port

"$vigil" demo prepare --out "$tmp/demo" --fps 5 > demo.log 2>&1 || fail "demo prepare failed"
nfaces=$(jq length demo/faces.json)
[ "$nfaces" -ge 20 ] || fail "demo prepare found only $nfaces faces in the samples (22 expected)"

"$vigil" api > api.log 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do curl -fsS "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS "$URL/healthz" >/dev/null || fail "API did not come up"
TOKEN=$(cat data/admin_token)
KEY=$(cat data/worker_api_key)
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"; }

site=$(api -X POST "$URL/api/v1/sites" -d '{"name":"E2E shop","timezone":"UTC"}' | jq -r .id)
[ -n "$site" ] && [ "$site" != null ] || fail "site not created"
# Two cameras on the same video: the same people pass both within the visit
# window, so they must merge into one visit per person.
for cam in door hall; do
  api -X POST "$URL/api/v1/cameras" -d "$(jq -nc --arg n $cam --arg u "$tmp/demo/demo.avi" --arg s "$site" \
        '{name:$n, url:$u, site_id:$s, enabled:true, fps:5}')" >/dev/null || fail "camera not created"
done
# Enroll the first face of samples 1, 3 and 5 as staff.
staff_ids=()
for f in $(jq -r '.[] | select(.face == 1 and (.sample % 2 == 1)) | .file' demo/faces.json); do
  sid=$(api -X POST "$URL/api/v1/staff" -d "{\"name\":\"$(basename "$f" .jpg)\"}" | jq -r .id)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Content-Type: image/jpeg' \
         --data-binary "@$f" "$URL/api/v1/staff/$sid/faces")
  [ "$code" = 201 ] || fail "enrolling $f gave HTTP $code"
  staff_ids+=("$sid")
done

for w in e2e-worker-1 e2e-worker-2; do
  API_URL=$URL WORKER_API_KEY=$KEY WORKER_ID=$w VIGIL_STATE_DIR=$tmp/state CONFIDENCE_THRESHOLD=0.5 \
    "$vigil" worker > "$w.log" 2>&1 &
  pids+=($!)
done

# Wait until both cameras played the video to its end and every event is acked.
deadline=$((SECONDS + ${E2E_DEADLINE_S:-420}))
while :; do
  [ $SECONDS -lt $deadline ] || fail "cameras did not finish the demo video in time"
  cams=$(api "$URL/api/v1/cameras") || fail "cameras list failed"
  stopped=$(jq '[.items[] | select(.state == "stopped")] | length' <<<"$cams")
  workers=$(api "$URL/api/v1/workers")
  pending=$(jq '[.items[].stats.events_spooled // 1] | add' <<<"$workers")
  if [ "$stopped" = 2 ] && [ "$pending" = 0 ]; then break; fi
  sleep 2
done
assigned=$(jq -r '[.items[].worker_id] | unique | length' <<<"$cams")
[ "$assigned" = 2 ] || fail "expected the two cameras on two workers, got: $(jq -c '[.items[].worker_id]' <<<"$cams")"

events=$(api "$URL/api/v1/events?limit=500")
visits=$(api "$URL/api/v1/visits?limit=500")
n_events=$(jq '.items | length' <<<"$events")
created=$(jq '[.items[].stats.events_created] | add' <<<"$workers")
staff_seen=$(jq '[.items[] | select(.staff_id != null) | .staff_id] | unique | length' <<<"$events")
customers=$(jq '[.items[] | select(.customer_id != null) | .customer_id] | unique | length' <<<"$events")
staff_visits=$(jq '[.items[] | select(.person_kind == "staff")] | length' <<<"$visits")
customer_visits=$(jq '[.items[] | select(.person_kind == "customer")] | length' <<<"$visits")
n_visits=$(jq '.items | length' <<<"$visits")
echo "faces=$nfaces events=$n_events created=$created staff_seen=$staff_seen customers=$customers" \
     "visits=$n_visits staff_visits=$staff_visits customer_visits=$customer_visits"

[ "$n_events" = "$created" ] || fail "workers created $created events but the API stored $n_events"
# Two cameras × 22 faces: one event per person per camera, give or take a split track.
[ "$n_events" -ge $((nfaces)) ] || fail "too few events ($n_events) for $nfaces faces on two cameras"
[ "$n_events" -le $((nfaces * 2 + 8)) ] || fail "too many events ($n_events): more than one per person and camera"
[ "$staff_seen" -ge 2 ] || fail "only $staff_seen of 3 enrolled staff were recognised"
[ "$staff_visits" -ge 2 ] || fail "no staff sightings recorded as visits"
[ "$customer_visits" -ge 10 ] || fail "only $customer_visits customer visits"
# The same person on two cameras within the merge window is one visit.
[ "$n_visits" -lt "$n_events" ] || fail "visits ($n_visits) not merged across cameras (events $n_events)"
echo "ok: demo e2e"
