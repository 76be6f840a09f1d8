#!/usr/bin/env bash
# CTest driver for the libFuzzer targets (fuzz/CMakeLists.txt).
#   run_fuzzer.sh fuzz   BINARY SEEDS WORKDIR SECONDS [DICT]
#       copies the seed corpus into WORKDIR (in the build tree, so new inputs
#       never land in the source tree) and fuzzes for SECONDS; crash inputs
#       are written to WORKDIR/../artifacts/.
#   run_fuzzer.sh replay BINARY SEEDS REGRESSIONS
#       runs every seed and every regression input once.
# Fails when the fuzzer finds a crash, a leak, a timeout or an out-of-memory.
set -euo pipefail
mode=$1 bin=$2 seeds=$3
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Per-input limits: a slow input (over 10 s) or one needing over 2 GiB fails.
limits=(-timeout=10 -rss_limit_mb=2048)

case "$mode" in
  fuzz)
    work=$4 seconds=$5 dict=${6:-}
    mkdir -p "$work" "$work/../artifacts"
    cp -r "$seeds/." "$work/"
    args=("${limits[@]}" -max_total_time="$seconds" -print_final_stats=1
          -artifact_prefix="$(cd "$work/.." && pwd)/artifacts/$(basename "$bin")-")
    [ -n "$dict" ] && args+=(-dict="$dict")
    exec "$bin" "${args[@]}" "$work"
    ;;
  replay)
    regressions=$4
    inputs=()
    for d in "$seeds" "$regressions"; do
      [ -d "$d" ] || continue
      while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$d" -type f ! -name '*.md' -print0 | sort -z)
    done
    if [ ${#inputs[@]} -eq 0 ]; then
      echo "no inputs to replay"
      exit 0
    fi
    echo "replaying ${#inputs[@]} inputs"
    exec "$bin" "${limits[@]}" "${inputs[@]}"
    ;;
  *)
    echo "usage: $0 fuzz|replay ..." >&2
    exit 2
    ;;
esac
