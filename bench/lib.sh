# bench/lib.sh — what the bench scripts share; source it after `set -euo pipefail`.
#
#   bench_init NAME [CORPUS_DIR]   sets corpus, map_from, js (the jigsmith binary), work (a
#                                  scratch dir removed at exit, with every pid in `pids` killed)
#   corpus_image ISO JIGDO TEMPLATE   the corpus image with debian-cd's xorriso JTE options; the
#                                  .jigdo names the template and the image by their base names
#   free_port                      a free TCP port on 127.0.0.1
#   die MESSAGE
export LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

bench_init() {
  local name=$1
  bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  repo=$(cd "$bench_dir/.." && pwd)
  corpus=${2:-${JIGSMITH_CORPUS:-$HOME/.cache/jigsmith-corpus}}
  if [ ! -s "$corpus/md5.list" ]; then
    bash "$repo/../shared/corpus/build-corpus.sh" "$corpus"
  fi
  corpus=$(cd "$corpus" && pwd)
  local first
  first=$(sed -n '1s/^[0-9a-f]*[[:space:]]*[0-9]*[[:space:]]*//p' "$corpus/md5.list")
  map_from="${first%%/pool/*}/"
  [ -d "$map_from" ] || die "md5.list points to $map_from, which does not exist (rebuild the corpus)"
  if [ -n "${JIGSMITH_BIN:-}" ]; then
    js=$JIGSMITH_BIN
  else
    (cd "$repo" && cargo build --release --quiet)
    js="${CARGO_TARGET_DIR:-$repo/target}/release/jigsmith"
  fi
  work=$(mktemp -d "${BENCH_WORKDIR:-${TMPDIR:-/tmp}}/jigsmith-$name-bench.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf -- "$work"
}

corpus_image() {
  local iso=$1 jigdo=$2 template=$3
  xorriso -as mkisofs -quiet -r -V 'jigsmith bench' -o "$iso" \
    -md5-list "$corpus/md5.list" -jigdo-force-md5 /pool/ -jigdo-min-file-size 1024 \
    -jigdo-jigdo "$jigdo" -jigdo-template "$template" \
    -jigdo-map "Debian=$map_from" -J -joliet-long -cache-inodes "$corpus/CD1" 2>/dev/null
  sed -i "s#^Template=.*#Template=$(basename "$template")#; s#^Filename=.*#Filename=$(basename "$iso")#" "$jigdo"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
