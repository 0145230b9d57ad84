#!/usr/bin/env bash
# packaging/check-deb.sh DEB — what CI checks of the package: lintian shows
# no errors, it installs, the man pages and completions work, the old tools'
# names run jigsmith, and it removes cleanly.
set -euo pipefail
deb=${1:?usage: check-deb.sh DEB}
fail() { echo "check-deb: $*" >&2; exit 1; }

echo "== lintian"
lintian --no-tag-display-limit "$deb" | tee /tmp/lintian.out || true
if grep -q '^E: ' /tmp/lintian.out; then fail "lintian reports errors"; fi

echo "== dpkg -i"
dpkg -i "$deb"
trap 'dpkg -r jigsmith >/dev/null 2>&1 || true' EXIT
jigsmith --version
man -w jigsmith-make-image >/dev/null || fail "man -w jigsmith-make-image finds no page"
man -w jigsmith >/dev/null || fail "no jigsmith(1)"
MANWIDTH=80 man jigsmith-serve 2>/dev/null | grep -q EXAMPLES || fail "jigsmith-serve(1) has no EXAMPLES"

echo "== bash completion"
bash -c 'set -e; source /usr/share/bash-completion/completions/jigsmith; complete -p jigsmith' ||
  fail "the bash completion does not load"

echo "== old tools' names"
for t in jigdo-lite jigdo-file jigit-mkimage jigdump parallel-sums jigsum jigsum-sha256 jigdo-gen-checksum-list mkjigsnap mkisofs xorrisofs genisoimage; do
  [ -L "/usr/lib/jigsmith/compat/$t" ] || fail "no compat link $t"
done
out=$(PATH=/usr/lib/jigsmith/compat:$PATH jigsum /usr/share/doc/jigsmith/copyright)
[ -n "$out" ] || fail "jigsum through the compat link printed nothing"
PATH=/usr/lib/jigsmith/compat:$PATH jigdump --help >/dev/null || fail "jigdump --help"
out=$(PATH=/usr/lib/jigsmith/compat:$PATH jigdo-file md5sum --report=quiet /usr/share/doc/jigsmith/copyright)
[ -n "$out" ] || fail "jigdo-file md5sum through the compat link printed nothing"

[ -s /usr/share/doc/jigsmith/examples/config.toml ] || fail "no example config"

echo "== dpkg -r"
dpkg -r jigsmith
trap - EXIT
[ ! -e /usr/bin/jigsmith ] || fail "/usr/bin/jigsmith left behind"
echo "package OK: $deb"
