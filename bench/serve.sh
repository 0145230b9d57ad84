#!/usr/bin/env bash
# bench/serve.sh — `jigsmith serve` (image built on request) against nginx serving the real ISO.
#
#   bench/serve.sh [CORPUS_DIR]
#
# The corpus image (~1 GB, debian-cd's xorriso JTE options) is made once; nginx serves the .iso,
# jigsmith serves the .jigdo + .template with the corpus mirror as its source. Both listen on
# 127.0.0.1 only, on free ports, and are stopped at exit. Each load run is bounded in time.
# Environment: JIGSMITH_BIN (skip the release build), SECS (seconds per load run, default 5),
# BENCH_WORKDIR (scratch parent dir).
#
# Prints, for both servers side by side with the ratio jigsmith/nginx:
#   - random 1 MiB ranges over 1, 8 and 64 connections (wrk): MB/s
#   - 8 connections with 64 KiB, 1 MiB and 16 MiB ranges: MB/s
#   - median time to first byte of a random 1 MiB range (curl, 200 requests)
#   - a full download (curl to /dev/null), best of 3: MB/s
#   - jigsmith's first full download, when every source file is still to be checked
#   - peak RSS of jigsmith (VmHWM) after the 64-connection run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
SECS=${SECS:-5}
for t in xorriso nginx wrk curl awk python3; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install xorriso nginx-light wrk curl)"
done
bench_init serve "${1:-}"

echo "== making the corpus image with xorriso JTE"
mkdir -p "$work/iso" "$work/jigdo"
corpus_image "$work/iso/corpus.iso" "$work/jigdo/corpus.jigdo" "$work/jigdo/corpus.template"
len=$(stat -c %s "$work/iso/corpus.iso")
cat "$work/iso/corpus.iso" > /dev/null
echo "image: $len bytes"

echo "== starting nginx and jigsmith serve"
ng_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<EOF
user root;
worker_processes $(nproc);
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log $work/nginx/logs/access.log;
  sendfile on; tcp_nodelay on; keepalive_requests 100000;
  types { application/x-iso9660-image iso; }
  server { listen 127.0.0.1:$ng_port; root $work/iso; }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

js_port=$(free_port)
"$js" serve --listen "127.0.0.1:$js_port" --map "Debian=$map_from" "$work/jigdo" 2> "$work/serve.log" &
js_pid=$!
pids+=($js_pid)
for _ in $(seq 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$ng_port/corpus.iso" -r 0-0 &&
    curl -sf -o /dev/null "http://127.0.0.1:$js_port/corpus.iso" -r 0-0 && break
  sleep 0.1
done
ng="http://127.0.0.1:$ng_port/corpus.iso"
jsu="http://127.0.0.1:$js_port/corpus.iso"

echo "== jigsmith: first full download (every source file checked on the way)"
cold=$(curl -s -o /dev/null -w '%{speed_download}' "$jsu")
cold_mb=$(awk -v b="$cold" 'BEGIN { printf "%.0f", b / 1e6 }')
echo "first download: $cold_mb MB/s"
md5_js=$(curl -s "$jsu" | md5sum | cut -c1-32)
md5_iso=$(md5sum < "$work/iso/corpus.iso" | cut -c1-32)
[ "$md5_js" = "$md5_iso" ] || die "jigsmith served wrong bytes: $md5_js != $md5_iso"
echo "md5 of the served image matches the ISO: $md5_iso"

cat > "$work/ranges.lua" <<'EOF'
local len = tonumber(os.getenv("IMG_LEN"))
local size = tonumber(os.getenv("RANGE_SIZE"))
math.randomseed(tonumber(os.getenv("SEED") or "1"))
request = function()
  local start = math.floor(math.random() * (len - size))
  return wrk.format("GET", nil, { ["Range"] = "bytes=" .. start .. "-" .. (start + size - 1) })
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d\n", summary.requests, summary.bytes,
    summary.duration, latency:percentile(50)))
  io.write(string.format("ERRORS %d %d %d\n", summary.errors.status, summary.errors.read,
    summary.errors.connect))
end
EOF

# load URL CONNECTIONS RANGE_SIZE -> "MB/s"
load() {
  local out
  local threads=$(( $2 < 2 ? $2 : 2 ))
  out=$(IMG_LEN=$len RANGE_SIZE=$3 wrk -t"$threads" -c"$2" -d"${SECS}s" -s "$work/ranges.lua" "$1" 2>&1)
  local errors
  errors=$(awk '/^ERRORS/ { print $2 + $3 + $4 }' <<<"$out")
  [ "${errors:-1}" = 0 ] || { echo "wrk errors against $1: $out" >&2; }
  awk '/^RESULT/ { printf "%.0f", $3 / ($4 / 1e6) / 1e6 }' <<<"$out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

rows=()
row() { rows+=("$(printf '%-44s %10s %10s %7s' "$1" "$2" "$3" "$(ratio "$3" "$2")")"); }

echo "== random ranges (wrk, ${SECS}s per run)"
for c in 1 8 64; do
  a=$(load "$ng" "$c" 1048576); b=$(load "$jsu" "$c" 1048576)
  row "random 1 MiB ranges, $c connections (MB/s)" "$a" "$b"
  if [ "$c" = 64 ]; then rss=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$js_pid/status"); fi
done
for size in 65536 16777216; do
  a=$(load "$ng" 8 "$size"); b=$(load "$jsu" 8 "$size")
  row "random $((size / 1024)) KiB ranges, 8 connections (MB/s)" "$a" "$b"
done

echo "== time to first byte (200 random 1 MiB ranges, one client)"
ttfb() {
  python3 - "$1" "$len" <<'EOF'
import random, subprocess, sys, statistics
url, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
args = []
for _ in range(200):
    s = random.randrange(0, n - (1 << 20))
    args += ["-r", f"{s}-{s + (1 << 20) - 1}", "-o", "/dev/null", "-w", "%{time_starttransfer}\n", url]
out = subprocess.run(["curl", "-s", "--parallel-max", "1"] + args, capture_output=True, text=True).stdout
times = [float(t) * 1000 for t in out.split()]
print(f"{statistics.median(times):.2f}")
EOF
}
a=$(ttfb "$ng"); b=$(ttfb "$jsu")
rows+=("$(printf '%-44s %10s %10s %7s' "median time to first byte, 1 MiB range (ms)" "$a" "$b" "$(ratio "$b" "$a")")")

echo "== full downloads (best of 3)"
full() {
  local best=0 s
  for _ in 1 2 3; do
    s=$(curl -s -o /dev/null -w '%{speed_download}' "$1")
    best=$(awk -v a="$best" -v b="$s" 'BEGIN { print (b > a ? b : a) }')
  done
  awk -v b="$best" 'BEGIN { printf "%.0f", b / 1e6 }'
}
a=$(full "$ng"); b=$(full "$jsu")
row "full download, one client (MB/s)" "$a" "$b"
rss_end=$(awk '/VmHWM/ { print int($2 / 1024) }' "/proc/$js_pid/status")

echo
printf '%-44s %10s %10s %7s\n' "measurement" "nginx" "jigsmith" "ratio"
printf '%s\n' "${rows[@]}"
echo "jigsmith first full download (checking every source file): $cold_mb MB/s"
echo "jigsmith peak RSS: ${rss:-?} MiB after 64 connections, $rss_end MiB at the end"
echo "(ratio: jigsmith/nginx for throughput, jigsmith/nginx for time to first byte)"
