#!/usr/bin/env bash
# bench/verify.sh — `jigsmith verify` against `jigdo-file verify` on the ~1 GB corpus image
# (issue 10).
#
#   bench/verify.sh [CORPUS_DIR]
#
# The image is made with debian-cd's xorriso JTE options (bench/lib.sh), read once so it is
# in the page cache, then checked by each tool; best of RUNS (default 3) wall-clock seconds.
#   jigdo-file verify -i ISO -t TEMPLATE   the whole-image MD5 against the template's
#   jigsmith verify ISO -t TEMPLATE        the same, plus every file's MD5 and every
#                                          template-data byte (so it can say where it is wrong)
#   jigsmith verify ISO -j JIGDO           also each `# Image Hex …Sum` the .jigdo states
# Both must accept the good image and reject one with a byte flipped inside a file; the
# ratio printed is jigdo-file's time over jigsmith's (above 1: jigsmith is faster).
# Environment: JIGSMITH_BIN (skip the release build), BENCH_WORKDIR, RUNS.
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

for t in xorriso jigdo-file python3; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install xorriso jigdo-file)"
done
bench_init verify "${1:-}"
runs=${RUNS:-3}

echo "== making the corpus image with xorriso JTE"
iso=$work/corpus.iso jigdo=$work/corpus.jigdo template=$work/corpus.template
corpus_image "$iso" "$jigdo" "$template"
len=$(stat -c %s "$iso")
sums=$(grep -c '^# Image Hex' "$jigdo" || true)
cat "$iso" > /dev/null
echo "image: $len bytes; the .jigdo states $sums image checksums"

# best wall-clock seconds of $runs runs of "$@", which must exit with status $want
best() {
  local want=$1; shift
  local b="" t0 t1 s rc
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N)
    set +e; "$@" > "$work/out" 2>&1; rc=$?; set -e
    t1=$(date +%s.%N)
    [ "$rc" = "$want" ] || { cat "$work/out" >&2; die "$1 exited $rc, expected $want"; }
    s=$(python3 -c "print(f'{$t1 - $t0:.3f}')")
    if [ -z "$b" ] || python3 -c "import sys; sys.exit(0 if $s < $b else 1)"; then b=$s; fi
  done
  echo "$b"
}

echo "== checking the good image"
jf=$(best 0 jigdo-file verify --image="$iso" --template="$template" --report=quiet)
jt=$(best 0 "$js" verify "$iso" -t "$template" --quiet)
jj=$(best 0 "$js" verify "$iso" -j "$jigdo" --quiet)

echo "== a byte flipped inside a file: both must reject it, jigsmith must name the file"
bad=$work/bad.iso
cp "$iso" "$bad"
off=$("$js" inspect "$template" | awk '$3 == "file" && $2 > 65536 { print $1 + int($2 / 2); exit }')
printf '\xff' | dd of="$bad" bs=1 seek="$off" conv=notrunc status=none
cat "$bad" > /dev/null
set +e
jigdo-file verify --image="$bad" --template="$template" --report=quiet > /dev/null 2>&1
jf_rc=$?
"$js" verify "$bad" -j "$jigdo" > "$work/bad.txt" 2>&1
js_rc=$?
set -e
[ "$jf_rc" != 0 ] || die "jigdo-file verify accepted the corrupt image"
[ "$js_rc" = 1 ] || { cat "$work/bad.txt" >&2; die "jigsmith verify exited $js_rc on the corrupt image"; }
grep -q "file at bytes" "$work/bad.txt" || die "jigsmith verify did not name the file"
sed -n 's/^  file at /  named: /p' "$work/bad.txt"

ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
printf '\n%-44s %8s %8s\n' "tool (best of $runs, warm cache)" "seconds" "ratio"
printf '%-44s %8s %8s\n' "jigdo-file verify (image MD5)" "$jf" "1.00"
printf '%-44s %8s %8sx\n' "jigsmith verify -t (image + files + data)" "$jt" "$(ratio "$jf" "$jt")"
printf '%-44s %8s %8sx\n' "jigsmith verify -j (+ $sums .jigdo sums)" "$jj" "$(ratio "$jf" "$jj")"
