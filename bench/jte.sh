#!/usr/bin/env bash
# bench/jte.sh — jigsmith mkisofs + JTE against xorriso with libjte's default image checksums.
#
#   bench/jte.sh [CORPUS_DIR]      RUNS=N (default 3, best of N), JIGSMITH_BIN to skip the build
#
# Both get debian-cd's JTE options without -checksum_algorithm_iso, so the .jigdo carries the
# image's MD5, SHA-1, SHA-256 and SHA-512; the image is written to a real file on the corpus's
# disk (BENCH_WORKDIR, default the corpus's parent directory), warm page cache, `sync` before
# each run. Runs alternate (xorriso, jigsmith, xorriso, ...) so load changes hit both alike.
# Prints each run, the best times, CPU (user+sys), peak RSS, the ratio, jigsmith's stages
# (RUST_LOG=jigsmith=info) for its best run, and checks that both wrote the same image,
# the same image checksums and [Parts], and that jigit-mkimage rebuilds jigsmith's image.
set -euo pipefail
default_corpus=${1:-${JIGSMITH_CORPUS:-$HOME/.cache/jigsmith-corpus}}
export BENCH_WORKDIR=${BENCH_WORKDIR:-$(dirname "$default_corpus")}
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init jte "${1:-}"
RUNS=${RUNS:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer"
for t in xorriso jigit-mkimage /usr/bin/time; do command -v "$t" > /dev/null || die "needs $t"; done

mkdir -p "$work/x" "$work/j"
# jte_args DIR — debian-cd's options, default image checksums, outputs named alike in DIR
jte_args() {
  ARGS=(-r -V 'jigsmith bench' -o "$1/IMG.iso"
    -md5-list "$corpus/md5.list" -jigdo-force-md5 /pool/ -jigdo-min-file-size 1024
    -jigdo-jigdo "$1/IMG.jigdo" -jigdo-template "$1/IMG.template" -jigdo-map "Debian=$map_from"
    -J -joliet-long -cache-inodes "$corpus/CD1")
}
clean() { rm -f -- "$1/IMG.iso" "$1/IMG.jigdo" "$1/IMG.template"; }

# timed NAME LOG CMD... — run once; sets WALL CPU RSS (seconds, seconds, MiB)
timed() {
  local name=$1 log=$2 t u s m
  shift 2
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$work/time.txt" "$@" > /dev/null 2> "$log" \
    || die "$name failed: $(tail -n 3 "$log")"
  read -r t u s m < <(tail -n 1 "$work/time.txt")
  WALL=$t
  CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
  RSS=$(awk -v k="$m" 'BEGIN {printf "%.0f", k / 1024}')
}

lt() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a < b)}'; }

echo "corpus:  $corpus"
echo "workdir: $work ($(stat -f -c %T "$work"), $(df --output=source "$work" | tail -n 1))"
echo "jigsmith: $js"
echo "$(nproc) CPUs; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "warming the page cache ..."
find "$corpus/CD1" "$corpus/md5.list" -type f -print0 | xargs -0 cat > /dev/null

xbest="" jbest="" xcpu="" jcpu="" xrss=0 jrss=0
for ((i = 1; i <= RUNS; i++)); do
  jte_args "$work/x"; clean "$work/x"
  timed xorriso "$work/x.log" xorriso -as mkisofs "${ARGS[@]}"
  xw=$WALL; xc=$CPU
  if [ -z "$xbest" ] || lt "$WALL" "$xbest"; then xbest=$WALL; xcpu=$CPU; fi
  if [ "$RSS" -gt "$xrss" ]; then xrss=$RSS; fi

  jte_args "$work/j"; clean "$work/j"
  RUST_LOG=jigsmith=info timed jigsmith "$work/j.log" "$js" mkisofs "${ARGS[@]}"
  if [ -z "$jbest" ] || lt "$WALL" "$jbest"; then
    jbest=$WALL; jcpu=$CPU; cp "$work/j.log" "$work/j.best.log"
  fi
  if [ "$RSS" -gt "$jrss" ]; then jrss=$RSS; fi
  echo "run $i: xorriso $xw s (CPU $xc s), jigsmith $WALL s (CPU $CPU s), load $(cut -d' ' -f1 /proc/loadavg)"
done

# checks on the last run's outputs
parts() { sed -n '/^\[Parts\]/,/^\[/p' "$1" | grep '=' | sort; }
hexes() { grep '^# Image Hex' "$1" | sort; }
check="image $( [ "$(md5sum < "$work/x/IMG.iso")" = "$(md5sum < "$work/j/IMG.iso")" ] && echo identical || echo DIFFERS)"
check+=", Image Hex lines $(cmp -s <(hexes "$work/x/IMG.jigdo") <(hexes "$work/j/IMG.jigdo") && echo "identical ($(hexes "$work/j/IMG.jigdo" | wc -l))" || echo DIFFER)"
check+=", [Parts] $(cmp -s <(parts "$work/x/IMG.jigdo") <(parts "$work/j/IMG.jigdo") && echo "identical ($(parts "$work/j/IMG.jigdo" | wc -l))" || echo DIFFER)"
if jigit-mkimage -j "$work/j/IMG.jigdo" -t "$work/j/IMG.template" -m "Debian=$corpus/mirror" -o "$work/rt.iso" 2> "$work/rt.log" \
   && cmp -s "$work/rt.iso" "$work/j/IMG.iso"; then check+=", jigit-mkimage roundtrip OK"
else check+=", jigit-mkimage roundtrip FAILED"; fi
rm -f -- "$work/rt.iso"

echo
echo "== mkisofs + JTE, default image checksums (MD5, SHA-1, SHA-256, SHA-512), image $(( $(stat -c %s "$work/j/IMG.iso") / 1048576 )) MiB on disk, best of $RUNS"
printf '%-28s | %8s | %14s | %12s\n' tool seconds "CPU s (u+s)" "peak RSS MiB"
printf '%-28s | %8s | %14s | %12s\n' "xorriso -as mkisofs + JTE" "$xbest" "$xcpu" "$xrss"
printf '%-28s | %8s | %14s | %12s\n' "jigsmith mkisofs + JTE" "$jbest" "$jcpu" "$jrss"
awk -v o="$xbest" -v n="$jbest" -v oc="$xcpu" -v nc="$jcpu" 'BEGIN { r = o / (n > 0 ? n : 0.005)
  printf "ratio: %.2fx faster than xorriso (target >= 5x: %s); CPU seconds %.2fx fewer\n", r,
    (r >= 5 ? "MET" : "NOT MET"), oc / (nc > 0 ? nc : 0.005) }'
echo "check: $check"
echo "jigsmith stages, best run (stages overlap: CPU figures add up to more than the wall time):"
sed -n 's/.*stage /  /p' "$work/j.best.log"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$(cat /proc/sys/kernel/sched_autogroup_enabled 2> /dev/null)" = 1 ]; then
  echo "note: autogroup scheduling is on: while other sessions are busy, this one (both tools) gets"
  echo "only its share of the CPUs, so under load the CPU ratio is the fairer figure."
fi
