#!/usr/bin/env bash
# bench/mount.sh — jigsmith mount against the FUSE anchor: the real ISO read through a
# bindfs passthrough mount of its directory (issue 9, "Speed").
#
#   bench/mount.sh [CORPUS_DIR]
#
# The corpus image (~1 GB, debian-cd's xorriso JTE options, bench/lib.sh) is read through
# `jigsmith mount` (the .jigdo + .template with the corpus mirror as its source) and, as the
# anchor, the real ISO through `bindfs -r`. Environment: JIGSMITH_BIN (skip the release
# build), BENCH_WORKDIR (scratch parent dir), RANDOM_READS (64 KiB reads per thread in the
# random test, default 2000, 4 threads).
#
# Each measurement starts from the same cache state: the page cache is dropped (root:
# /proc/sys/vm/drop_caches), then the mirror files and the real ISO are read once, so the
# sources are warm and nothing of either FUSE file is cached. Prints MB/s of both, the ratio
# and jigsmith's peak RSS. Targets: sequential at least 70% of bindfs, random at least 50%.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
reads=${RANDOM_READS:-2000}
for t in xorriso bindfs fusermount3 mountpoint python3 dd awk; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install xorriso bindfs fuse3)"
done
[ -e /dev/fuse ] || die "/dev/fuse is absent"
[ "$(id -u)" -eq 0 ] || die "run as root (drops the page cache between measurements)"
bench_init mount "${1:-}"
js_pid=""
unmount_all() {
  local m
  for m in "$work/js" "$work/bind"; do
    if [ -d "$m" ] && mountpoint -q "$m"; then fusermount3 -u -z "$m" 2>/dev/null || true; fi
  done
}
trap 'unmount_all; bench_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== making the corpus image with xorriso JTE"
mkdir -p "$work/iso" "$work/jigdo" "$work/js" "$work/bind"
corpus_image "$work/iso/corpus.iso" "$work/jigdo/corpus.jigdo" "$work/jigdo/corpus.template"
size=$(stat -c %s "$work/iso/corpus.iso")
echo "image: $((size / 1048576)) MiB, template $(stat -c %s "$work/jigdo/corpus.template") bytes"

warm() {
  sync
  echo 3 > /proc/sys/vm/drop_caches
  find "$corpus/mirror" -type f -print0 | xargs -0 cat > /dev/null
  cat "$work/iso/corpus.iso" > /dev/null
}

# seconds to read FILE with dd bs=1M
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
# seconds for 4 threads x $reads random 64 KiB preads of FILE
rand_read() { python3 "$work/random.py" "$1" "$reads"; }
rand_bytes=$((reads * 4 * 65536))

mount_js() {
  "$js" mount --foreground --rescan 0 -m "Debian=$corpus/mirror" "$work/jigdo/corpus.jigdo" "$work/js" \
    2>>"$work/js.log" &
  js_pid=$!
  pids+=("$js_pid")
  for _ in $(seq 500); do mountpoint -q "$work/js" && return 0; sleep 0.02; done
  die "jigsmith mount did not come up: $(tail -n 5 "$work/js.log")"
}
umount_js() {
  kill -TERM "$js_pid"
  wait "$js_pid" || die "jigsmith mount exited non-zero: $(tail -n 5 "$work/js.log")"
}
mount_bind() { bindfs -r "$work/iso" "$work/bind"; }
umount_bind() { fusermount3 -u "$work/bind"; }
img_js="$work/js/corpus.iso"
img_bind="$work/bind/corpus.iso"

echo "== sequential read (dd bs=1M)"
mount_bind; warm; s_bind=$(seq_read "$img_bind"); umount_bind
mount_js;   warm; s_first=$(seq_read "$img_js")
[ "$(md5sum < "$img_js")" = "$(md5sum < "$work/iso/corpus.iso")" ] ||
  die "the mounted image differs from the real one"
warm; s_js=$(seq_read "$img_js")

echo "== random 64 KiB reads, 4 threads x $reads"
warm; r_js=$(rand_read "$img_js")
umount_js
mount_js; warm; r_first=$(rand_read "$img_js")
rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$js_pid/status")
umount_js
mount_bind; warm; r_bind=$(rand_read "$img_bind"); umount_bind

mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.0f", b / 1048576 / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * b / a }'; }
row() { # what bytes bindfs_seconds jigsmith_seconds
  echo "| $1 | $(mbs "$2" "$3") | $(mbs "$2" "$4") | $(ratio "$4" "$3") |"
}
echo
echo "| read | bindfs (real ISO) MB/s | jigsmith mount MB/s | jigsmith / bindfs |"
echo "|---|---:|---:|---:|"
row "sequential dd bs=1M, files already checked" "$size" "$s_bind" "$s_js"
row "sequential dd bs=1M, first read (checks every file)" "$size" "$s_bind" "$s_first"
row "random 64 KiB x 4 threads, files already checked" "$rand_bytes" "$r_bind" "$r_js"
row "random 64 KiB x 4 threads, first touch (checks the files hit)" "$rand_bytes" "$r_bind" "$r_first"
echo
echo "jigsmith mount peak RSS (VmHWM, after a random-read run): $((rss_kib / 1024)) MiB"
