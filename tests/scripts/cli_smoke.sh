#!/usr/bin/env bash
# cli_smoke.sh CASE VIGIL_BINARY — one CLI contract per case; exits non-zero on failure.
set -uo pipefail
case_name=$1
vigil=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # no stray .env from the source tree
fail() { echo "FAIL: $*" >&2; exit 1; }

case $case_name in
  help)
    out=$("$vigil" --help) || fail "--help exited non-zero"
    for cmd in version api worker models; do
      grep -qE "^  $cmd( |$)" <<<"$out" || fail "--help does not list '$cmd': $out"
    done ;;
  version)
    out=$("$vigil" version) || fail "version exited non-zero"
    [[ $out =~ ^vigil\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ ([0-9a-f]{7,}|unknown)\)$ ]] || fail "unexpected version line: $out" ;;
  badconfig)
    err=$(WORKER_FPS=abc timeout 10 "$vigil" worker 2>&1 >/dev/null); rc=$?
    [ $rc -ne 0 ] || fail "worker accepted WORKER_FPS=abc"
    [ $rc -ne 124 ] || fail "worker hung instead of failing on WORKER_FPS=abc"
    [ "$(wc -l <<<"$err")" -eq 1 ] || fail "expected one error line, got: $err"
    grep -q "WORKER_FPS" <<<"$err" || fail "error does not name WORKER_FPS: $err"
    grep -q "expected a number" <<<"$err" || fail "error does not give the expected form: $err"
    err=$(API_PORT=http timeout 10 "$vigil" api 2>&1 >/dev/null); rc=$?
    [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "api accepted API_PORT=http (rc=$rc)"
    grep -q "API_PORT" <<<"$err" || fail "error does not name API_PORT: $err" ;;
  unknown)
    "$vigil" no-such-command >/dev/null 2>&1 && fail "unknown command succeeded"
    true ;;
  *) fail "unknown case $case_name" ;;
esac
echo "ok: $case_name"
