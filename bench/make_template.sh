#!/usr/bin/env bash
# bench/make_template.sh — `jigsmith make-template` against `jigdo-file make-template` on the
# ~1 GB corpus image, and a rescan of the whole mirror through each tool's checksum cache
# (issue 10).
#
#   bench/make_template.sh [CORPUS_DIR]
#
# The image is xorriso's plain (no JTE) Rock Ridge + Joliet image of the corpus CD tree, so
# neither tool gets help from a .jigdo. Both get the mirror directory as candidate files.
# Rows (one run each, warm page cache):
#   md5sum of the image                     the floor: make-template must at least hash it
#   jigdo-file make-template --no-cache     the peer
#   jigsmith make-template                  ISO-aware (the image's directory first)
#   jigsmith make-template --no-iso         the rolling scan of every byte, for reference
#   jigsmith make-template -f md5.list      candidates from a checksum list instead of the dir
#   jigsmith make-template --cache (cold, warm)
#   rescan of the mirror through a warm cache: make-template of a one-file image with the
#   whole mirror as candidates, jigsmith --cache vs jigdo-file --cache
# Every template is checked by rebuilding the image with jigsmith make-image (MD5 compared).
# Environment: JIGSMITH_BIN (skip the release build), BENCH_WORKDIR (scratch parent dir).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

for t in xorriso jigdo-file md5sum awk; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install xorriso jigdo-file)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install time)"
bench_init make-template "${1:-}"
mirror=${map_from%/}

echo "== making the corpus image (xorriso -r -J, no JTE)"
xorriso -as mkisofs -quiet -r -J -joliet-long -V 'jigsmith bench' -o "$work/c.iso" "$corpus/CD1" 2>/dev/null
ref=$(md5sum < "$work/c.iso" | cut -c1-32)
echo "image: $(stat -c %s "$work/c.iso") bytes, md5 $ref; mirror: $(find "$mirror" -type f | wc -l) files"
cat "$work/c.iso" > /dev/null
find "$mirror" -type f -exec cat {} + > /dev/null

declare -A T=() M=()
rows=()
# timed KEY LABEL CMD... — one run; wall seconds and peak RSS
timed() {
  local key=$1 label=$2; shift 2
  rows+=("$key"); L[$key]=$label
  # through bash -c so the helper functions below can be timed too
  if /usr/bin/time -f '%e %M' -o "$work/time" bash -c '"$@"' bash "$@" > "$work/$key.out" 2> "$work/$key.err"; then
    read -r T[$key] M[$key] < "$work/time"
  else
    T[$key]=FAILED; M[$key]=-
    echo "  $label failed:"; sed 's/^/    /' "$work/$key.err" | tail -5
  fi
  printf '  %-58s %8s s %6s MiB\n' "$label" "${T[$key]}" "$(( ${M[$key]/-/0} / 1024 ))"
}
declare -A L=()
declare -A CHK=()

# rebuilt KEY JIGDO TEMPLATE — the template rebuilds the image
rebuilt() {
  local key=$1
  if "$js" make-image -q --jigdo "$2" --template "$3" --map "Debian=$mirror" -o "$work/rt.iso" 2> "$work/rt.err" \
     && [ "$(md5sum < "$work/rt.iso" | cut -c1-32)" = "$ref" ]; then CHK[$key]="rebuilds"
  else CHK[$key]="DOES NOT REBUILD"; fi
  rm -f "$work/rt.iso"
}
files_in() { "$js" inspect "$1" | sed -n 's/^matched files: *\([0-9]*\).*/\1/p'; }

echo "== make-template of the whole image"
timed floor "md5sum of the image (floor)" md5sum "$work/c.iso"
timed jdf "jigdo-file make-template --no-cache" \
  jigdo-file make-template --no-cache --force -r quiet -i "$work/c.iso" -j "$work/jdf.jigdo" -t "$work/jdf.template" \
  --label "Debian=$mirror" "$mirror//"
rebuilt jdf "$work/jdf.jigdo" "$work/jdf.template"
js_mt() { "$js" make-template -q -i "$work/c.iso" --map "Debian=$mirror" "$@"; }
export js work mirror
export -f js_mt
timed iso "jigsmith make-template (ISO-aware)" js_mt -j "$work/iso.jigdo" -t "$work/iso.template" "$mirror"
rebuilt iso "$work/iso.jigdo" "$work/iso.template"
timed roll "jigsmith make-template --no-iso" js_mt --no-iso -j "$work/roll.jigdo" -t "$work/roll.template" "$mirror"
rebuilt roll "$work/roll.jigdo" "$work/roll.template"
timed list "jigsmith make-template -f md5.list" js_mt -f "$corpus/md5.list" -j "$work/list.jigdo" -t "$work/list.template"
rebuilt list "$work/list.jigdo" "$work/list.template"
timed cold "jigsmith make-template --cache (cold)" js_mt --cache "$work/sums.db" -j "$work/cold.jigdo" -t "$work/cold.template" "$mirror"
rebuilt cold "$work/cold.jigdo" "$work/cold.template"
timed warm "jigsmith make-template --cache (warm)" js_mt --cache "$work/sums.db" -j "$work/warm.jigdo" -t "$work/warm.template" "$mirror"
rebuilt warm "$work/warm.jigdo" "$work/warm.template"

echo "== rescan of the whole mirror through a warm cache (a one-file image)"
one=$(find "$mirror" -type f -name '*.deb' -print -quit)
mkdir -p "$work/one"; cp "$one" "$work/one/"
xorriso -as mkisofs -quiet -r -o "$work/one.iso" "$work/one" 2>/dev/null
jdf_one() {
  jigdo-file make-template --cache="$work/jdf-cache.db" --force -r quiet -i "$work/one.iso" \
    -j "$work/jone.jigdo" -t "$work/jone.template" "$mirror//"
}
js_one() {
  "$js" make-template -q --cache "$work/sums.db" -i "$work/one.iso" -j "$work/sone.jigdo" -t "$work/sone.template" "$mirror"
}
export -f jdf_one js_one
jdf_one > /dev/null 2>&1 || true   # fills jigdo-file's cache
timed jdf_rescan "jigdo-file make-template --cache (warm)" jdf_one
timed js_rescan "jigsmith make-template --cache (warm)" js_one

echo
echo "results ($(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), one run each)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0 > 0 && b+0 > 0) printf "%.2f", a / b; else print "n/a" }'; }
printf '%-46s | %8s | %8s | %-28s | %s\n' "tool" "seconds" "RSS MiB" "ratio" "check"
for k in "${rows[@]}"; do
  case $k in
    floor|jdf|jdf_rescan) r="-" ;;
    js_rescan) r="$(ratio "${T[jdf_rescan]}" "${T[$k]}")x jigdo-file's speed" ;;
    *) r="$(ratio "${T[jdf]}" "${T[$k]}")x faster; $(ratio "${T[$k]}" "${T[floor]}")x md5sum" ;;
  esac
  c=${CHK[$k]:-}
  if [ -f "$work/$k.template" ]; then c="$c, $(files_in "$work/$k.template") files"; fi
  printf '%-46s | %8s | %8s | %-28s | %s\n' "${L[$k]}" "${T[$k]}" "$(( ${M[$k]/-/0} / 1024 ))" "$r" "$c"
done
