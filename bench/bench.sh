#!/usr/bin/env bash
# bench/bench.sh — compare jigsmith against the old jigdo tools on a real ~1 GB Debian corpus.
#
#   bench/bench.sh [CORPUS_DIR]
#
# CORPUS_DIR defaults to $JIGSMITH_CORPUS, then ~/.cache/jigsmith-corpus; it is built by
# ../shared/corpus/build-corpus.sh when missing. Environment:
#   BENCH_RUNS=N        best-of-N wall time per measurement (default 1); peak RSS is the max over runs
#   BENCH_WORKDIR=DIR   parent of the scratch dir (default $TMPDIR or /tmp, unless that is tmpfs
#                       or another disk than the corpus: then the corpus's parent dir is used)
#   JIGSMITH_BIN=PATH   use this jigsmith binary instead of running `cargo build --release`
#   SOURCE_DATE_EPOCH   fixed for all mkisofs runs (default 1700000000) so images are reproducible
#
# One run prints every step, then a table `task | tool | seconds | peak RSS MiB | ratio | check`.
# A jigsmith subcommand that is missing or fails never aborts the run: its row says so.
set -euo pipefail
export LC_ALL=C
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

RUNS=${BENCH_RUNS:-1}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 2; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$script_dir/.." && pwd))
corpus_script="$repo/../shared/corpus/build-corpus.sh"
corpus=${1:-${JIGSMITH_CORPUS:-$HOME/.cache/jigsmith-corpus}}

work=""            # scratch dir, removed on exit
js=""              # jigsmith binary; empty when the build failed
js_note=""         # why jigsmith rows are n/a
map_from=""        # path prefix of the mirror as written in md5.list (the -jigdo-map From side)
ref_md5=""         # md5 of the reference image made by xorriso

declare -A T=() R=() CHK=() ROWTASK=() ROWTOOL=() BASE=()
ROWS=()

say()  { printf '%s\n' "$*"; }
step() { printf '\n== %s\n' "$*"; }
die()  { printf 'bench: %s\n' "$*" >&2; exit 1; }

cleanup() { if [ -n "$work" ] && [ -d "$work" ]; then rm -rf -- "$work"; fi; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- setup

need_tools() {
  local t missing=()
  if [ ! -x /usr/bin/time ]; then
    say "installing the 'time' package (for /usr/bin/time) ..."
    if [ "$(id -u)" -eq 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    else
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
    fi
  fi
  for t in xorriso genisoimage jigit-mkimage jigdo-file parallel-sums md5sum sha1sum sha256sum \
           sha512sum cargo git awk; do
    command -v "$t" >/dev/null || missing+=("$t")
  done
  [ ${#missing[@]} -eq 0 ] || die "missing tools: ${missing[*]}"
}

ensure_corpus() {
  if [ ! -s "$corpus/md5.list" ] || [ ! -d "$corpus/CD1/pool" ] || [ ! -d "$corpus/mirror/pool" ]; then
    step "corpus missing in $corpus: building it with $corpus_script"
    [ -f "$corpus_script" ] || die "corpus script not found: $corpus_script"
    bash "$corpus_script" "$corpus"
  fi
  corpus=$(cd "$corpus" && pwd)
  # md5.list holds the absolute paths of the mirror files as they were when the corpus was built;
  # -jigdo-map must use exactly that prefix, so take it from the file rather than from $corpus.
  local first
  first=$(sed -n '1s/^[0-9a-f]*[[:space:]]*[0-9]*[[:space:]]*//p' "$corpus/md5.list")
  case $first in
    */pool/*) map_from="${first%%/pool/*}/" ;;
    *) die "cannot find a /pool/ path in the first line of $corpus/md5.list" ;;
  esac
  [ -d "$map_from" ] || die "md5.list points to $map_from, which does not exist (corpus moved? rebuild it)"
}

make_workdir() {
  local parent=${BENCH_WORKDIR:-${TMPDIR:-/tmp}}
  if [ "$(stat -f -c %T "$parent")" = tmpfs ] || [ "$(stat -c %d "$parent")" != "$(stat -c %d "$corpus")" ]; then
    parent=$(dirname "$corpus")
  fi
  work=$(mktemp -d "$parent/jigsmith-bench.XXXXXX")
  mkdir "$work/log"
}

build_jigsmith() {
  if [ -n "${JIGSMITH_BIN:-}" ]; then
    js=$JIGSMITH_BIN; say "jigsmith: $js (JIGSMITH_BIN, not rebuilt)"; return
  fi
  step "cargo build --release ($repo)"
  if (cd "$repo" && cargo build --release 2>&1 | tail -n 3); then
    js="${CARGO_TARGET_DIR:-$repo/target}/release/jigsmith"
    [[ $js == /* ]] || js="$repo/$js"
    [ -x "$js" ] || { js=""; js_note="n/a (binary not found)"; }
  else
    js_note="n/a (cargo build failed)"
  fi
  if [ -n "$js" ]; then say "jigsmith: $js"; else say "jigsmith: $js_note — all jigsmith rows will be n/a"; fi
}

warm_cache() {
  step "warming the page cache"
  local n bytes
  n=$(find "$corpus" -type f | wc -l)
  bytes=$(find "$corpus/debs" "$corpus/CD1" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f", s/1048576}')
  find "$corpus" -type f -print0 | xargs -0 cat > /dev/null
  say "read all $n corpus files once (~$bytes MiB of data; mirror/ and CD1/ are hard links to debs/)."
  say "All runs below are warm: nothing is dropped from the page cache. 'sync' runs before each measurement."
}

# ---------------------------------------------------------------- measuring

# row KEY TASK TOOL [BASELINE_KEY] — declare a table row (in print order)
row() {
  ROWS+=("$1"); ROWTASK[$1]=$2; ROWTOOL[$1]=$3; BASE[$1]=${4:-}
  T[$1]=""; R[$1]=""; CHK[$1]=""
}

# timed KEY STDOUT PREP CMD... — run CMD $RUNS times with stdout to STDOUT and stderr to the log.
# PREP (a command, e.g. a function removing old outputs) runs before every run.
# Keeps the best wall time and the max peak RSS (MiB) of successful runs; returns CMD's status.
timed() {
  local key=$1 out=$2 prep=$3 i rc=0 t m
  shift 3
  : > "$work/log/$key.err"
  for ((i = 1; i <= RUNS; i++)); do
    $prep
    sync
    rc=0
    /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" > "$out" 2>> "$work/log/$key.err" || rc=$?
    [ "$rc" -eq 0 ] || break
    read -r t m < <(tail -n 1 "$work/time.txt")
    m=$(awk -v k="$m" 'BEGIN {printf "%.0f", k/1024}')
    if [ -z "${T[$key]}" ] || awk -v a="$t" -v b="${T[$key]}" 'BEGIN {exit !(a < b)}'; then T[$key]=$t; fi
    if [ -z "${R[$key]}" ] || [ "$m" -gt "${R[$key]}" ]; then R[$key]=$m; fi
  done
  if [ "$rc" -ne 0 ]; then T[$key]=""; R[$key]=""; fi
  return "$rc"
}

# js_timed KEY STDOUT PREP OUTPUT_FILE ARGS... — time `jigsmith ARGS...`; if it is missing or fails,
# mark the row n/a and return 1 (never abort). OUTPUT_FILE must exist afterwards for success
# ("-" = do not check; the stub binary exits 0 and writes nothing).
js_timed() {
  local key=$1 out=$2 prep=$3 want=$4 rc=0
  shift 4
  if [ -z "$js" ]; then CHK[$key]=$js_note; return 1; fi
  timed "$key" "$out" "$prep" "$js" "$@" || rc=$?
  if [ "$rc" -eq 0 ] && { [ "$want" = - ] || [ -s "$want" ]; }; then return 0; fi
  T[$key]=""; R[$key]=""
  # exit 0 without output: the stub; exit 2 with clap's complaint: the subcommand does not exist yet
  if [ "$rc" -eq 0 ] || { [ "$rc" -eq 2 ] && grep -qiE 'unrecognized subcommand|not implemented|unexpected argument' "$work/log/$key.err"; }; then
    CHK[$key]="n/a (not implemented)"
  else
    CHK[$key]="FAILED (exit $rc)"
    say "  jigsmith $1 failed; last lines of stderr:"
    tail -n 3 "$work/log/$key.err" | sed 's/^/    /'
  fi
  return 1
}

md5_of() { md5sum < "$1" | cut -d' ' -f1; }

# check_image KEY FILE — compare FILE's md5 with the reference image
check_image() {
  if [ -s "$2" ] && [ "$(md5_of "$2")" = "$ref_md5" ]; then CHK[$1]=OK; else CHK[$1]=MISMATCH; fi
  say "  ${ROWTOOL[$1]}: ${T[$1]:-?} s, ${R[$1]:-?} MiB, md5 ${CHK[$1]}"
}

report() { say "  ${ROWTOOL[$1]}: ${T[$1]:-n/a} s, ${R[$1]:-n/a} MiB, ${CHK[$1]}"; }

# ---------------------------------------------------------------- a. mkisofs + JTE

# jte_args PREFIX — the debian-cd style argument list (after `xorriso -as mkisofs`) into JTE_ARGS
jte_args() {
  local p="$work/$1"
  JTE_ARGS=(-r -checksum_algorithm_iso md5,sha256 -V 'jigsmith bench' -o "$p.iso"
    -md5-list "$corpus/md5.list" -jigdo-force-md5 /pool/ -jigdo-min-file-size 1024
    -jigdo-jigdo "$p.jigdo" -jigdo-template "$p.template" -jigdo-map "Debian=$map_from"
    -J -joliet-long -cache-inodes "$corpus/CD1")
}
rm_img() { rm -f -- "$work/IMG.iso" "$work/IMG.jigdo" "$work/IMG.template"; }
rm_gen() { rm -f -- "$work/GEN.iso" "$work/GEN.jigdo" "$work/GEN.template"; }
rm_js()  { rm -f -- "$work/JS.iso" "$work/JS.jigdo" "$work/JS.template"; }
rm_plain() { rm -f -- "$work/plain.iso"; }

# roundtrip PREFIX — rebuild PREFIX.iso from its own .jigdo/.template with jigit-mkimage
roundtrip() {
  local p="$work/$1" got
  [ -s "$p.jigdo" ] && [ -s "$p.template" ] || { echo "no .jigdo/.template"; return; }
  if jigit-mkimage -j "$p.jigdo" -t "$p.template" -m "Debian=$corpus/mirror" -o "$p.rt" 2>> "$work/log/roundtrip.err" \
     && [ "$(md5_of "$p.rt")" = "$(md5_of "$p.iso")" ]; then got="jigdo roundtrip OK"; else got="jigdo roundtrip FAILED"; fi
  rm -f -- "$p.rt"
  echo "$got"
}

bench_mkisofs() {
  step "a. ISO + jigdo (JTE), options as debian-cd (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
  row x_plain "mkisofs" "xorriso -as mkisofs (plain write, no JTE)"
  row x_jte   "mkisofs" "xorriso -as mkisofs + JTE"
  row g_jte   "mkisofs" "genisoimage + JTE"
  row j_jte   "mkisofs" "jigsmith mkisofs + JTE" x_jte

  timed x_plain "$work/log/x_plain.out" rm_plain xorriso -as mkisofs -r -J -joliet-long -cache-inodes \
    -o "$work/plain.iso" "$corpus/CD1" || die "xorriso plain write failed: $(tail -n 3 "$work/log/x_plain.err")"
  CHK[x_plain]="ok ($(( $(stat -c %s "$work/plain.iso") / 1048576 )) MiB image)"
  rm_plain; report x_plain

  jte_args IMG
  timed x_jte "$work/log/x_jte.out" rm_img xorriso -as mkisofs "${JTE_ARGS[@]}" \
    || die "xorriso + JTE failed: $(tail -n 3 "$work/log/x_jte.err")"
  ref_md5=$(md5_of "$work/IMG.iso")
  local nparts ndebs
  nparts=$(sed -n '/^\[Parts\]/,/^\[/p' "$work/IMG.jigdo" | grep -c '=Debian:pool/' || true)
  ndebs=$(find "$corpus/CD1/pool" -type f -name '*.deb' | wc -l)
  if [ "$nparts" -eq "$ndebs" ]; then CHK[x_jte]="reference; $nparts parts Debian:pool/..."
  else CHK[x_jte]="WARNING: $nparts Debian:pool parts for $ndebs .debs"; fi
  report x_jte
  say "  reference image md5 $ref_md5, $(stat -c %s "$work/IMG.iso") bytes; template $(stat -c %s "$work/IMG.template") bytes"
  say "  first part: $(sed -n '/^\[Parts\]/{n;p;q}' "$work/IMG.jigdo")"
  say "  [Image] $(grep -m1 '^Filename=' "$work/IMG.jigdo")  $(grep -m1 '^Template=' "$work/IMG.jigdo")"

  jte_args GEN
  if timed g_jte "$work/log/g_jte.out" rm_gen genisoimage "${JTE_ARGS[@]}"; then
    CHK[g_jte]=$(roundtrip GEN)
  else
    CHK[g_jte]="FAILED: $(tail -n 1 "$work/log/g_jte.err")"
  fi
  rm_gen; report g_jte

  jte_args JS
  if js_timed j_jte "$work/log/j_jte.out" rm_js "$work/JS.iso" mkisofs "${JTE_ARGS[@]}"; then
    if [ "$(md5_of "$work/JS.iso")" = "$ref_md5" ]; then CHK[j_jte]="identical to xorriso"
    else CHK[j_jte]="differs from xorriso; $(roundtrip JS)"; fi
  fi
  rm_js; report j_jte
}

# ---------------------------------------------------------------- b. make-image

rm_out() { rm -f -- "$work/out.iso" "$work/out.iso.tmp"; }

bench_make_image() {
  step "b. make-image from IMG.jigdo + IMG.template, verification on (warm cache)"
  row m_jigit "make-image" "jigit-mkimage"
  row m_jdf   "make-image" "jigdo-file make-image --no-cache"
  row m_cat   "make-image" "cat IMG.iso > out.iso (floor)"
  row m_js    "make-image" "jigsmith make-image" m_jigit
  row m_jsjm  "make-image" "jigsmith jigit-mkimage" m_jigit

  local J="$work/IMG.jigdo" TPL="$work/IMG.template" O="$work/out.iso"

  if timed m_jigit "$work/log/m_jigit.out" rm_out jigit-mkimage -j "$J" -t "$TPL" -m "Debian=$corpus/mirror" -o "$O"
  then check_image m_jigit "$O"; else CHK[m_jigit]="FAILED"; report m_jigit; fi
  rm_out

  # jigdo-file reads (and checksums) every file under the given directory and copies the matches.
  if timed m_jdf "$work/log/m_jdf.out" rm_out jigdo-file make-image --image="$O" --jigdo="$J" --template="$TPL" \
       --no-cache --report=quiet "$corpus/mirror/"
  then check_image m_jdf "$O"; else CHK[m_jdf]="FAILED"; report m_jdf; fi
  rm_out

  if timed m_cat "$O" rm_out cat "$work/IMG.iso"; then check_image m_cat "$O"; else CHK[m_cat]="FAILED"; report m_cat; fi
  rm_out

  if js_timed m_js "$work/log/m_js.out" rm_out "$O" make-image --jigdo "$J" --template "$TPL" \
       --map "Debian=$corpus/mirror" -o "$O"
  then check_image m_js "$O"; else report m_js; fi
  rm_out

  if js_timed m_jsjm "$work/log/m_jsjm.out" rm_out "$O" jigit-mkimage -j "$J" -t "$TPL" -m "Debian=$corpus/mirror" -o "$O"
  then check_image m_jsjm "$O"; else report m_jsjm; fi
  rm_out
}

# ---------------------------------------------------------------- c. checksums

ALGOS=(md5 sha1 sha256 sha512)
rm_ps() { local a; for a in "${ALGOS[@]}"; do rm -f -- "$work/ps.$a" "$work/jps.$a"; done; }

# same_sums PREFIX — are PREFIX.<algo> identical to the <algo>sum outputs?
same_sums() {
  local a
  for a in "${ALGOS[@]}"; do cmp -s "$work/$1.$a" "$work/ref.$a" || return 1; done
}

bench_sums() {
  step "c. md5+sha1+sha256+sha512 of all corpus .debs (warm cache)"
  row s_md5    "checksums" "md5sum"
  row s_sha1   "checksums" "sha1sum"
  row s_sha256 "checksums" "sha256sum"
  row s_sha512 "checksums" "sha512sum"
  row s_seq    "checksums" "md5sum+sha1sum+sha256sum+sha512sum (sequential)"
  row s_ps     "checksums" "jigit parallel-sums"
  row s_jps    "checksums" "jigsmith parallel-sums" s_ps
  row s_jsums  "checksums" "jigsmith sums" s_ps

  # relative names (debs/...) keep the argument list short and the outputs comparable
  pushd "$corpus" > /dev/null
  local files=() a
  shopt -s nullglob; files=(debs/*.deb); shopt -u nullglob
  [ ${#files[@]} -gt 0 ] || die "no .deb files in $corpus/debs"
  say "  ${#files[@]} files, $(du -cshL "${files[@]}" | tail -n 1 | cut -f1)"

  local tsum=0 rmax=0
  for a in "${ALGOS[@]}"; do
    timed "s_$a" "$work/ref.$a" : "${a}sum" -- "${files[@]}" || die "${a}sum failed"
    CHK[s_$a]="reference"; report "s_$a"
    tsum=$(awk -v a="$tsum" -v b="${T[s_$a]}" 'BEGIN {printf "%.2f", a + b}')
    if [ "${R[s_$a]}" -gt "$rmax" ]; then rmax=${R[s_$a]}; fi
  done
  T[s_seq]=$tsum; R[s_seq]=$rmax; CHK[s_seq]="old baseline (one after the other)"; report s_seq

  local ps_args=()
  for a in "${ALGOS[@]}"; do ps_args+=("--${a}sum" "$work/ps.$a"); done
  if timed s_ps "$work/log/s_ps.out" rm_ps parallel-sums "${ps_args[@]}" "${files[@]}"; then
    if same_sums ps; then CHK[s_ps]="OK (= *sum output)"; else CHK[s_ps]=MISMATCH; fi
  else CHK[s_ps]=FAILED; fi
  report s_ps

  ps_args=()
  for a in "${ALGOS[@]}"; do ps_args+=("--${a}sum" "$work/jps.$a"); done
  if js_timed s_jps "$work/log/s_jps.out" rm_ps "$work/jps.sha512" parallel-sums "${ps_args[@]}" "${files[@]}"; then
    if same_sums jps; then CHK[s_jps]="OK (= *sum output)"; else CHK[s_jps]=MISMATCH; fi
  fi
  rm_ps; report s_jps

  # `jigsmith sums` writes to stdout: accept the four reference outputs concatenated in order,
  # or the same lines in another order (e.g. grouped per file).
  if js_timed s_jsums "$work/jsums.out" : "$work/jsums.out" sums --md5 --sha1 --sha256 --sha512 -- "${files[@]}"; then
    local ref="$work/ref.all"
    cat "$work/ref.md5" "$work/ref.sha1" "$work/ref.sha256" "$work/ref.sha512" > "$ref"
    if cmp -s "$work/jsums.out" "$ref"; then CHK[s_jsums]="OK (= *sum outputs, concatenated)"
    elif cmp -s <(sort "$work/jsums.out") <(sort "$ref"); then CHK[s_jsums]="OK (same lines as *sum, other order)"
    else CHK[s_jsums]=MISMATCH; fi
    rm -f -- "$ref"
  fi
  rm -f -- "$work/jsums.out"; report s_jsums
  for a in "${ALGOS[@]}"; do rm -f -- "$work/ref.$a"; done
  popd > /dev/null
}

# ---------------------------------------------------------------- d. table

# ratio KEY — "2.40x faster than <baseline>" for rows that have a baseline and both times
ratio() {
  local k=$1 b=${BASE[$1]}
  [ -n "$b" ] || { echo "-"; return; }
  if [ -z "${T[$k]}" ] || [ -z "${T[$b]}" ]; then echo "see next run"; return; fi
  awk -v o="${T[$b]}" -v n="${T[$k]}" -v name="${ROWTOOL[$b]}" 'BEGIN {
    if (n <= 0) n = 0.005
    r = o / n
    if (r >= 1) printf "%.2fx faster than %s", r, name; else printf "%.2fx (%.2fx slower than %s)", r, 1 / r, name }'
}

# target KEY FACTOR TEXT
target() {
  local k=$1 f=$2 b=${BASE[$1]} verdict
  if [ -z "${T[$k]}" ] || [ -z "${T[$b]}" ]; then verdict=${CHK[$k]:-n/a (not measured)}
  else
    verdict=$(awk -v o="${T[$b]}" -v n="${T[$k]}" -v f="$f" 'BEGIN {
      if (n <= 0) n = 0.005; r = o / n; printf "%s (%.2fx)", (r >= f ? "MET" : "NOT MET"), r }')
    case ${CHK[$k]} in OK*|identical*|*"roundtrip OK"*) ;; *) verdict="$verdict, but check: ${CHK[$k]}";; esac
  fi
  printf '  %-62s %s\n' "$3" "$verdict"
}

print_table() {
  step "results ($(nproc) CPUs, best of $RUNS run(s), warm page cache; RSS = peak resident set)"
  local k w1=4 w2=4 w3=17 line
  local -A RAT=()
  for k in "${ROWS[@]}"; do
    RAT[$k]=$(ratio "$k")
    if [ ${#ROWTASK[$k]} -gt $w1 ]; then w1=${#ROWTASK[$k]}; fi
    if [ ${#ROWTOOL[$k]} -gt $w2 ]; then w2=${#ROWTOOL[$k]}; fi
    if [ ${#RAT[$k]} -gt $w3 ]; then w3=${#RAT[$k]}; fi
  done
  printf "%-${w1}s | %-${w2}s | %8s | %12s | %-${w3}s | %s\n" task tool seconds "peak RSS MiB" "ratio vs old tool" check
  line=$(printf "%-${w1}s-|-%-${w2}s-|-%8s-|-%12s-|-%-${w3}s-|-%s" "" "" "" "" "" "-----")
  printf '%s\n' "${line// /-}"
  for k in "${ROWS[@]}"; do
    printf "%-${w1}s | %-${w2}s | %8s | %12s | %-${w3}s | %s\n" "${ROWTASK[$k]}" "${ROWTOOL[$k]}" \
      "${T[$k]:-n/a}" "${R[$k]:-n/a}" "${RAT[$k]}" "${CHK[$k]}"
  done
  say ""
  say "targets:"
  target m_js  2 "jigsmith make-image >= 2x faster than jigit-mkimage"
  target s_jps 2 "jigsmith parallel-sums >= 2x faster than jigit parallel-sums"
  target j_jte 3 "jigsmith mkisofs+JTE >= 3x faster than xorriso + JTE"
}

# ---------------------------------------------------------------- main

main() {
  need_tools
  ensure_corpus
  make_workdir
  say "corpus:  $corpus  (md5.list prefix $map_from)"
  say "workdir: $work  ($(stat -f -c %T "$work"))"
  build_jigsmith
  warm_cache
  bench_mkisofs
  bench_make_image
  bench_sums
  rm_img
  print_table
}

main "$@"
