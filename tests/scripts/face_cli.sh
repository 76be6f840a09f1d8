#!/usr/bin/env bash
# face_cli.sh VIGIL_BINARY — the face commands on real models and the npm sample
# photos: `detect`, `embed`, `compare` and `identify` find the faces, give
# embeddings of the model's size, recognise a photo as itself, and report a
# corrupt or missing image on its own line with exit status 1 while the other
# images are still processed; a bad --detector exits 2. Exits 77 (skipped)
# when the models are not installed.
set -uo pipefail
vigil=$1
models=${VIGIL_MODELS_DIR:-}
[ -n "$models" ] && [ -f "$models/manifest.json" ] && [ -f "$models/samples/sample1.jpg" ] &&
  [ -f "$models/samples/sample2.jpg" ] || {
  echo "SKIP: no installed models (VIGIL_MODELS_DIR=$models); run 'vigil models install'"; exit 77; }
command -v jq >/dev/null || { echo "SKIP: jq needed"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # no stray .env from the source tree
export VIGIL_MODELS_DIR=$models
fail() { echo "FAIL: $*" >&2; exit 1; }
s1=$models/samples/sample1.jpg
s2=$models/samples/sample2.jpg
echo "not an image" > corrupt.jpg

# detect: one JSON line per image, in order; errors do not stop the rest.
out=$("$vigil" detect --json "$s1" corrupt.jpg missing.jpg "$s2"); rc=$?
[ "$rc" -eq 1 ] || fail "detect with a bad image exited $rc, expected 1"
[ "$(wc -l <<<"$out")" -eq 4 ] || fail "detect printed $(wc -l <<<"$out") lines for 4 images: $out"
first=$(sed -n 1p <<<"$out")
n1=$(jq '.faces | length' <<<"$first")
[ "$n1" -ge 1 ] || fail "no face found in sample1: $first"
jq -e '.width > 0 and .height > 0 and all(.faces[]; (.bbox | length) == 4 and .score > 0 and .score <= 1)' \
  <<<"$first" >/dev/null || fail "detect output lacks size, boxes or scores: $first"
sed -n 2p <<<"$out" | jq -e '.path == "corrupt.jpg" and (.error | test("cannot decode"))' >/dev/null ||
  fail "corrupt image not reported: $(sed -n 2p <<<"$out")"
sed -n 3p <<<"$out" | jq -e '.path == "missing.jpg" and (.error | test("no such file"))' >/dev/null ||
  fail "missing image not reported: $(sed -n 3p <<<"$out")"
sed -n 4p <<<"$out" | jq -e '.faces | length >= 1' >/dev/null || fail "no face found in sample2 after the errors"
"$vigil" detect "$s1" >/dev/null || fail "detect of a good image exited non-zero"

# embed: the same faces, each with a unit-length embedding of one model.
out=$("$vigil" embed --json "$s1") || fail "embed exited non-zero"
[ "$(jq '.faces | length' <<<"$out")" -eq "$n1" ] || fail "embed found other faces than detect: $out"
jq -e '.faces[0].model as $m | all(.faces[]; .model == $m and (.embedding | length) >= 64 and .quality >= 0)' \
  <<<"$out" >/dev/null || fail "embed output lacks a model, embedding or quality"
norm=$(jq '.faces[0].embedding | map(. * .) | add | sqrt' <<<"$out")
jq -ne "$norm > 0.99 and $norm < 1.01" >/dev/null || fail "embedding not unit length: norm $norm"

# compare: an image against itself is the same person.
out=$("$vigil" compare --json "$s1" "$s1") || fail "compare exited non-zero"
jq -e '.same == true and .similarity > 0.999' <<<"$out" >/dev/null || fail "an image is not the same as itself: $out"
out=$("$vigil" compare --json "$s1" corrupt.jpg); rc=$?
[ "$rc" -ne 0 ] || fail "compare with a corrupt image exited 0: $out"

# identify: a gallery person is found in their own photo, the others stay unknown.
mkdir -p gallery/ann && cp "$s2" gallery/ann/
out=$("$vigil" identify --json --gallery gallery "$s2") || fail "identify exited non-zero"
jq -e '[.faces[] | select(.person == "ann")] | length == 1' <<<"$out" >/dev/null ||
  fail "ann not identified exactly once in her own photo: $out"
# A pipeline that cannot be built: exit status 2 and a line that says why.
err=$("$vigil" detect --detector bogus "$s1" 2>&1 >/dev/null); rc=$?
[ "$rc" -eq 2 ] || fail "an unknown detector exited $rc, expected 2"
grep -q "unknown detector type 'bogus'" <<<"$err" || fail "the error does not name the detector: $err"
echo "ok: detect, embed, compare, identify"
