#!/usr/bin/env bash
# bench/get.sh — `jigsmith get` against jigdo-lite, aria2c and the disk, on the ~1 GB corpus
# image served by a local nginx (issue 8).
#
#   bench/get.sh [CORPUS_DIR]
#
# Two cases, one run each:
#   distant mirror: a delaying TCP proxy on loopback adds 50 ms per round trip (25 ms each way,
#     and 50 ms before each connection is made) in front of nginx with `limit_rate 8m` per
#     connection. jigsmith get vs `jigdo-lite --noask` (its mirror pointed at the same proxy)
#     vs `aria2c -x16 -s16` fetching the finished ISO (the floor for 16 connections).
#   unthrottled mirror: nginx directly; jigsmith get vs the disk floor (curl of the ISO into a
#     file, then sync).
# Every result is checked against the ISO's MD5; peak RSS is reported.
# Environment: JIGSMITH_BIN (skip the release build), BENCH_WORKDIR (scratch parent dir),
# SKIP_JIGDO_LITE=1 (it takes minutes on the distant mirror).
set -euo pipefail
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

for t in xorriso nginx aria2c curl jigdo-lite python3 awk; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install xorriso nginx-light aria2 curl jigdo-file)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install time)"
bench_init get "${1:-}"

echo "== making the corpus image with xorriso JTE"
mkdir -p "$work/site/jigdo" "$work/site/iso" "$work/out"
ln -s "$map_from" "$work/site/mirror"
corpus_image "$work/site/iso/corpus.iso" "$work/site/jigdo/corpus.jigdo" "$work/site/jigdo/corpus.template"
len=$(stat -c %s "$work/site/iso/corpus.iso")
ref=$(md5sum < "$work/site/iso/corpus.iso" | cut -c1-32)
parts=$(grep -c '^[A-Za-z0-9_-]*=Debian:' "$work/site/jigdo/corpus.jigdo" || true)
cat "$work/site/iso/corpus.iso" > /dev/null
find "$map_from" -type f -exec cat {} + > /dev/null
echo "image: $len bytes, $parts parts, md5 $ref"

echo "== starting nginx (direct, and rate-limited behind a 50 ms proxy)"
port=$(free_port); slow_port=$(free_port); proxy_port=$(free_port)
mkdir -p "$work/nginx/logs"
cat > "$work/nginx/nginx.conf" <<EOF
user root;
worker_processes 2;
error_log $work/nginx/logs/error.log;
pid $work/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on; tcp_nodelay on; keepalive_requests 100000; disable_symlinks off;
  types { application/octet-stream iso deb template; text/plain jigdo; }
  server { listen 127.0.0.1:$port; root $work/site; }
  server { listen 127.0.0.1:$slow_port; root $work/site; limit_rate 8m; }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

cat > "$work/delay.py" <<'EOF'
# A TCP proxy adding latency: each chunk is forwarded 25 ms after it arrived (both ways),
# and the upstream connection is made 50 ms after the client's (the handshake round trip).
import asyncio, sys, time
listen, upstream, one_way = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
async def pump(reader, writer):
    q = asyncio.Queue()
    async def read():
        while True:
            data = await reader.read(1 << 18)
            await q.put((time.monotonic() + one_way, data))
            if not data:
                return
    async def write():
        while True:
            due, data = await q.get()
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not data:
                try:
                    writer.write_eof()
                except OSError:
                    pass
                return
            writer.write(data)
            await writer.drain()
    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        pass
async def handle(cr, cw):
    await asyncio.sleep(2 * one_way)
    try:
        ur, uw = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        cw.close(); return
    await asyncio.gather(pump(cr, uw), pump(ur, cw))
    cw.close(); uw.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()
asyncio.run(main())
EOF
python3 "$work/delay.py" "$proxy_port" "$slow_port" 0.025 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$port/iso/corpus.iso" &&
    curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$proxy_port/iso/corpus.iso" && break
  sleep 0.1
done

# A .jigdo per mirror: [Servers] point at it (what jigdo-lite follows).
for p in "$port" "$proxy_port"; do
  sed "s#^\[Servers\].*#[Servers]\nDebian=http://127.0.0.1:$p/mirror/#" \
    "$work/site/jigdo/corpus.jigdo" > "$work/site/jigdo/corpus-$p.jigdo"
done

declare -A SECS RSS
# timed KEY OUTPUT CMD... — wall seconds and peak RSS; checks OUTPUT's md5, then removes it
timed() {
  local key=$1 out=$2 t m sum
  shift 2
  rm -rf "$work/out" && mkdir -p "$work/out"
  sync
  if ! ( cd "$work/out" && /usr/bin/time -f '%e %M' -o "$work/time.txt" "$@" ) \
      > "$work/$key.log" 2>&1; then
    echo "$key failed:"; tail -n 20 "$work/$key.log"; SECS[$key]=n/a; RSS[$key]=n/a; return
  fi
  read -r t m < <(tail -n 1 "$work/time.txt")
  sum=$(md5sum < "$out" | cut -c1-32)
  [ "$sum" = "$ref" ] || die "$key produced a wrong image ($sum)"
  SECS[$key]=$t
  RSS[$key]=$(awk -v k="$m" 'BEGIN { printf "%.0f", k / 1024 }')
  printf '%-28s %8s s %7s MiB peak RSS  (md5 ok)\n' "$key" "$t" "${RSS[$key]}"
  rm -rf "$work/out" && mkdir -p "$work/out"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "== distant mirror: 50 ms round trip, 8 MB/s per connection"
timed get-distant "$work/out/corpus.iso" \
  "$js" get --quiet --no-apt-cache "http://127.0.0.1:$proxy_port/jigdo/corpus-$proxy_port.jigdo"
timed aria2c-distant "$work/out/corpus.iso" \
  aria2c -q -x16 -s16 -k1M --file-allocation=none -d "$work/out" -o corpus.iso \
  "http://127.0.0.1:$proxy_port/iso/corpus.iso"
if [ -z "${SKIP_JIGDO_LITE:-}" ]; then
  # apt-get download names files with an epoch `pkg_1%3a2.0_all.deb`; jigdo-lite's wget
  # sends that `%3a` as is, nginx decodes it to `:` and answers 404, and jigdo-lite retries
  # forever. Its mirror is a view of the same files that also has the `:` names.
  cp -rs "$map_from" "$work/site/mirror-jl"
  find "$work/site/mirror-jl" -name '*%3a*' | while read -r f; do ln -s "$(readlink "$f")" "${f//%3a/:}"; done
  sed "s#^\[Servers\].*#[Servers]\nDebian=http://127.0.0.1:$proxy_port/mirror-jl/#" \
    "$work/site/jigdo/corpus.jigdo" > "$work/site/jigdo/corpus-jl.jigdo"
  mkdir -p "$work/jl-home"
  cat > "$work/jl-home/.jigdo-lite" <<EOF
jigdo=''
debianMirror='http://127.0.0.1:$proxy_port/mirror-jl/'
nonusMirror=''
tmpDir='.'
jigdoOpts='--cache jigdo-file-cache.db'
wgetOpts='--passive-ftp --dot-style=mega --continue --timeout=30'
scanMenu=''
EOF
  timed jigdo-lite-distant "$work/out/corpus.iso" \
    env HOME="$work/jl-home" jigdo-lite --noask "http://127.0.0.1:$proxy_port/jigdo/corpus-jl.jigdo"
else
  SECS[jigdo-lite-distant]=n/a
fi

echo "== unthrottled mirror"
timed get-direct "$work/out/corpus.iso" \
  "$js" get --quiet --no-apt-cache "http://127.0.0.1:$port/jigdo/corpus-$port.jigdo"
timed disk-floor "$work/out/corpus.iso" \
  sh -c "curl -s -o corpus.iso http://127.0.0.1:$port/iso/corpus.iso && sync"

echo
echo "== summary ($len bytes, $parts parts)"
printf '%-52s %s\n' \
  "get / jigdo-lite, distant (want <= 0.10):" "$(ratio "${SECS[get-distant]}" "${SECS[jigdo-lite-distant]}")" \
  "get / aria2c -x16 -s16 of the ISO, distant (want <= 1.5):" "$(ratio "${SECS[get-distant]}" "${SECS[aria2c-distant]}")" \
  "get / disk floor, unthrottled (want <= 2):" "$(ratio "${SECS[get-direct]}" "${SECS[disk-floor]}")"
printf 'peak RSS of jigsmith get: %s MiB distant, %s MiB unthrottled\n' \
  "${RSS[get-distant]}" "${RSS[get-direct]}"
