#!/usr/bin/env bash
# bench/mount.sh — jigsmith mount against the FUSE anchor: the real ISO read through a
# bindfs passthrough mount of its directory (issue 9, "Speed").
#
#   bench/mount.sh [CORPUS_DIR]
#
# CORPUS_DIR defaults to $JIGSMITH_CORPUS, then ~/.cache/jigsmith-corpus (built by
# ../shared/corpus/build-corpus.sh, as for bench.sh). The image is the corpus CD made by
# `xorriso -as mkisofs` with debian-cd's JTE options (as bench.sh's reference image).
# Environment:
#   JIGSMITH_BIN=PATH   use this jigsmith binary instead of `cargo build --release`
#   BENCH_WORKDIR=DIR   parent of the scratch dir (default: the corpus's parent directory)
#   RANDOM_READS=N      64 KiB reads per thread in the random test (default 2000, 4 threads)
#
# Each measurement starts from the same cache state: the page cache is dropped (root:
# /proc/sys/vm/drop_caches), then the mirror files and the real ISO are read once, so the
# sources are warm and nothing of the FUSE files is cached. Targets: sequential read at
# least 70% of bindfs, random 64 KiB reads from 4 threads at least 50%.
set -euo pipefail
export LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$script_dir/.." && pwd)
corpus=${1:-${JIGSMITH_CORPUS:-$HOME/.cache/jigsmith-corpus}}
reads=${RANDOM_READS:-2000}

say() { printf '%s\n' "$*"; }
die() { printf 'bench/mount: %s\n' "$*" >&2; exit 1; }

for t in xorriso bindfs fusermount3 python3 dd awk; do
  command -v "$t" >/dev/null || die "missing tool: $t"
done
[ -e /dev/fuse ] || die "/dev/fuse is absent"
[ "$(id -u)" -eq 0 ] || die "run as root (drops the page cache between measurements)"
[ -s "$corpus/md5.list" ] && [ -d "$corpus/CD1" ] && [ -d "$corpus/mirror" ] ||
  die "no corpus in $corpus (run ../shared/corpus/build-corpus.sh)"
corpus=$(cd "$corpus" && pwd)

if [ -n "${JIGSMITH_BIN:-}" ]; then
  js=$JIGSMITH_BIN
else
  say "building jigsmith (release) ..."
  (cd "$repo" && cargo build --release --quiet)
  js="${CARGO_TARGET_DIR:-$repo/target}/release/jigsmith"
fi
[ -x "$js" ] || die "no jigsmith binary at $js"

work=$(mktemp -d "${BENCH_WORKDIR:-$(dirname "$corpus")}/jigsmith-mount-bench.XXXXXX")
js_pid=""
cleanup() {
  for m in "$work/js" "$work/bind"; do
    if [ -d "$m" ] && mountpoint -q "$m"; then fusermount3 -u -z "$m" 2>/dev/null || true; fi
  done
  if [ -n "$js_pid" ]; then kill "$js_pid" 2>/dev/null || true; fi
  rm -rf -- "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$work/iso" "$work/js" "$work/bind"

# the reference image, as bench.sh makes it (-jigdo-map uses md5.list's own prefix)
first=$(sed -n '1s/^[0-9a-f]*[[:space:]]*[0-9]*[[:space:]]*//p' "$corpus/md5.list")
map_from="${first%%/pool/*}/"
say "making the image, .jigdo and .template with xorriso ..."
xorriso -as mkisofs -r -checksum_algorithm_iso md5,sha256 -V 'jigsmith bench' \
  -o "$work/iso/IMG.iso" -md5-list "$corpus/md5.list" -jigdo-force-md5 /pool/ \
  -jigdo-min-file-size 1024 -jigdo-jigdo "$work/IMG.jigdo" -jigdo-template "$work/IMG.template" \
  -jigdo-map "Debian=$map_from" -J -joliet-long -cache-inodes "$corpus/CD1" 2>"$work/xorriso.log" ||
  die "xorriso failed: $(tail -n 3 "$work/xorriso.log")"
# the catalog names the image after Filename=; keep the .jigdo and template apart from it
size=$(stat -c %s "$work/iso/IMG.iso")
say "image: $((size / 1048576)) MiB, template $(stat -c %s "$work/IMG.template") bytes"

warm() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
  find "$corpus/mirror" -type f -print0 | xargs -0 cat > /dev/null
  cat "$work/iso/IMG.iso" > /dev/null
}

# seconds FILE — time to read FILE with dd bs=1M
seq_read() {
  local t0 t1
  t0=$(date +%s.%N)
  dd if="$1" of=/dev/null bs=1M status=none
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

cat > "$work/random.py" <<'EOF'
import os, random, sys, threading, time
path, per_thread, size, threads = sys.argv[1], int(sys.argv[2]), 65536, 4
length = os.stat(path).st_size
def work(seed):
    fd = os.open(path, os.O_RDONLY)
    rng = random.Random(seed)
    for _ in range(per_thread):
        at = rng.randrange(0, length - size) // 4096 * 4096
        if len(os.pread(fd, size, at)) != size:
            raise SystemExit("short read at %d" % at)
    os.close(fd)
workers = [threading.Thread(target=work, args=(seed,)) for seed in range(threads)]
start = time.monotonic()
for w in workers: w.start()
for w in workers: w.join()
print("%.3f" % (time.monotonic() - start))
EOF
rand_read() { python3 "$work/random.py" "$1" "$reads"; }
mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
rand_bytes=$((reads * 4 * 65536))

mount_js() {
  "$js" mount --foreground -m "Debian=$corpus/mirror" "$work/IMG.jigdo" "$work/js" 2>>"$work/js.log" &
  js_pid=$!
  for _ in $(seq 500); do mountpoint -q "$work/js" && return 0; sleep 0.02; done
  die "jigsmith mount did not come up: $(tail -n 5 "$work/js.log")"
}
umount_js() {
  kill -TERM "$js_pid"; wait "$js_pid" || die "jigsmith mount exited non-zero"
  js_pid=""
}
mount_bind() { bindfs -r "$work/iso" "$work/bind"; }
umount_bind() { fusermount3 -u "$work/bind"; }

img_js="$work/js/IMG.iso"
img_bind="$work/bind/IMG.iso"

say "sequential read (dd bs=1M) ..."
mount_bind; warm; s_bind=$(seq_read "$img_bind"); umount_bind
mount_js;   warm; s_first=$(seq_read "$img_js")
[ "$(md5sum < "$img_js" | cut -d' ' -f1)" = "$(md5sum < "$work/iso/IMG.iso" | cut -d' ' -f1)" ] ||
  die "the mounted image differs from the real one"
warm; s_js=$(seq_read "$img_js")

say "random 64 KiB reads, 4 threads x $reads ..."
warm; r_js=$(rand_read "$img_js")
umount_js
mount_js; warm; r_first=$(rand_read "$img_js")
rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$js_pid/status")
umount_js
mount_bind; warm; r_bind=$(rand_read "$img_bind"); umount_bind

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * b / a }'; }
say ""
say "| read | bindfs (real ISO) MB/s | jigsmith mount MB/s | jigsmith / bindfs |"
say "|---|---:|---:|---:|"
say "| sequential dd bs=1M, files already checked | $(mbs "$size" "$s_bind") | $(mbs "$size" "$s_js") | $(ratio "$s_js" "$s_bind") |"
say "| sequential dd bs=1M, first read (checks every file) | $(mbs "$size" "$s_bind") | $(mbs "$size" "$s_first") | $(ratio "$s_first" "$s_bind") |"
say "| random 64 KiB x 4 threads, files already checked | $(mbs "$rand_bytes" "$r_bind") | $(mbs "$rand_bytes" "$r_js") | $(ratio "$r_js" "$r_bind") |"
say "| random 64 KiB x 4 threads, first touch (checks the files hit) | $(mbs "$rand_bytes" "$r_bind") | $(mbs "$rand_bytes" "$r_first") | $(ratio "$r_first" "$r_bind") |"
say ""
say "jigsmith mount peak RSS (VmHWM, after a random-read run): $((rss_kib / 1024)) MiB"
