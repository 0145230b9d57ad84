#!/usr/bin/env bash
# Template compression (issue 11, part 3): size of gzip, bzip2, xz and zstd
# templates, and how fast each is read back, on two inputs:
#   1. grub-rescue-cdrom.iso (from Debian's grub-rescue-pc) with no candidate
#      files: every byte is template data;
#   2. the corpus CD image made by `jigsmith mkisofs` with JTE: template data is
#      the ISO's metadata and sector padding.
# Targets: xz at most 80% of bzip2's template size; zstd no bigger than bzip2
# and at least 5x faster to read back.
#
#   bench/compress.sh [CORPUS_DIR]      (default $JIGSMITH_CORPUS or ~/.cache/jigsmith-corpus)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
corpus=${1:-${JIGSMITH_CORPUS:-$HOME/.cache/jigsmith-corpus}}
[ -d "$corpus/CD1" ] || bash "$here/../../shared/corpus/build-corpus.sh" "$corpus"
if [ -z "${JIGSMITH_BIN:-}" ]; then
  (cd "$here/.." && cargo build --release --quiet)
  JIGSMITH_BIN=$(cd "$here/.." && pwd)/target/release/jigsmith
fi
J=$JIGSMITH_BIN
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

apt-get download grub-rescue-pc >/dev/null 2>&1 || { apt-get update -qq && apt-get download grub-rescue-pc >/dev/null 2>&1; }
dpkg-deb -x grub-rescue-pc_*.deb grub
grub_iso=$(find grub -name grub-rescue-cdrom.iso | head -1)

algos=(gzip bzip2 xz zstd)
declare -A gsize csize readt
for c in "${algos[@]}"; do
  "$J" make-template -q --image "$grub_iso" --jigdo "g-$c.jigdo" --template "g-$c.template" --compress "$c" 2>/dev/null
  gsize[$c]=$(stat -c %s "g-$c.template")
  "$J" mkisofs -quiet -r -J -V X -o "c-$c.iso" -md5-list "$corpus/md5.list" \
    -jigdo-jigdo "c-$c.jigdo" -jigdo-template "c-$c.template" -jigdo-map "Debian=$corpus/mirror/" \
    -jigdo-template-compress "$c" "$corpus/CD1" 2>/dev/null
  csize[$c]=$(stat -c %s "c-$c.template")
  rm -f "c-$c.iso"
  # read back: rebuild the all-template grub image 20 times (best of 3)
  best=
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    for _ in $(seq 20); do "$J" make-image -t "g-$c.template" -o - >/dev/null; done
    t=$(echo "$(date +%s.%N) - $s" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  readt[$c]=$best
done

printf '%-6s %14s %10s %16s %10s %14s\n' algo "grub template" "vs bzip2" "corpus template" "vs bzip2" "read 20x (s)"
for c in "${algos[@]}"; do
  printf '%-6s %14d %9.0f%% %16d %9.0f%% %14.2f\n' "$c" "${gsize[$c]}" \
    "$(echo "100 * ${gsize[$c]} / ${gsize[bzip2]}" | bc -l)" "${csize[$c]}" \
    "$(echo "100 * ${csize[$c]} / ${csize[bzip2]}" | bc -l)" "${readt[$c]}"
done
printf 'zstd reads back %.1fx faster than bzip2 (target 5x); xz is %.0f%% / %.0f%% of bzip2 (target <= 80%%)\n' \
  "$(echo "${readt[bzip2]} / ${readt[zstd]}" | bc -l)" \
  "$(echo "100 * ${gsize[xz]} / ${gsize[bzip2]}" | bc -l)" "$(echo "100 * ${csize[xz]} / ${csize[bzip2]}" | bc -l)"
