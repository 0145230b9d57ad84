#!/bin/sh
# Makes seed corpora for the fuzz targets from the real tools:
#   xorriso -as mkisofs -jigdo-* (libjte: templates 1.1/2.0, zlib and bzip2, -md5-list)
#   jigdo-file make-template      (templates 1.2/2.0, quoted .jigdo values)
# into fuzz/corpus/<target>/ (git-ignored). Needs xorriso, jigdo-file and
# jigdo-gen-checksum-list. Usage: fuzz/seeds.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
corpus=$here/corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$corpus/template_read" "$corpus/jigdo_parse" \
    "$corpus/checksum_list_parse" "$corpus/desc_entry_decode"

# a small tree whose names need quoting in .jigdo files
tree=$work/tree
mkdir -p "$tree/sub dir"
head -c 3000 /dev/urandom >"$tree/a.bin"
head -c 1500 /dev/urandom >"$tree/sub dir/b c=d#e.bin"
head -c 2100 /dev/urandom >"$tree/q'u\"ote.bin"
printf 'small, stays in the template\n' >"$tree/small.txt"

n=0
for alg in md5 sha256; do
    for comp in gzip bzip2; do
        n=$((n + 1))
        out=$work/x$n
        mkdir "$out"
        files=$(cd "$tree" && find . -type f | sort)
        if [ "$alg" = md5 ]; then listopt=-md5-list; gen="jigdo-gen-checksum-list"
        else listopt="-jigdo-checksum-algorithm sha256 -checksum-list"; gen="jigdo-gen-checksum-list -c sha256"; fi
        (cd "$tree" && find "$tree" -type f | sort | while read -r f; do $gen "$f"; done) >"$out/list"
        # shellcheck disable=SC2086
        xorriso -as mkisofs -quiet -R -J -o "$out/image.iso" \
            -jigdo-jigdo "$out/image.jigdo" -jigdo-template "$out/image.template" \
            $listopt "$out/list" -jigdo-map "Debian=$tree/" \
            -jigdo-min-file-size 1024 -jigdo-template-compress "$comp" \
            "$tree" 2>/dev/null
        cp "$out/image.template" "$corpus/template_read/xorriso-$alg-$comp.template"
        cp "$out/image.jigdo" "$corpus/jigdo_parse/xorriso-$alg-$comp.jigdo"
        gzip -9n <"$out/image.jigdo" >"$corpus/jigdo_parse/xorriso-$alg-$comp.jigdo.gz"
        cp "$out/list" "$corpus/checksum_list_parse/xorriso-$alg.list"

        # jigdo-file on the same image
        for jf in 1; do
            jopt=""
            [ "$alg" = sha256 ] && jopt="$jopt -C sha256"
            [ "$comp" = bzip2 ] && jopt="$jopt --bzip2"
            # shellcheck disable=SC2086
            jigdo-file make-template -f -r quiet $jopt -i "$out/image.iso" \
                -j "$out/jf.jigdo" -t "$out/jf.template" \
                --label "Debian=$tree" "$tree//" >/dev/null 2>&1 || true
            if [ -s "$out/jf.template" ]; then
                cp "$out/jf.template" "$corpus/template_read/jigdo-file-$alg-$comp.template"
                cp "$out/jf.jigdo" "$corpus/jigdo_parse/jigdo-file-$alg-$comp.jigdo"
            fi
        done
    done
done

# jigdo-file takes any file as the "image": a small one whose unmatched
# stream is a few KiB keeps template_read fast (an ISO's is ~400 KiB of zeros)
small=$work/small
mkdir "$small"
{ printf 'head'; cat "$tree/a.bin"; head -c 700 /dev/zero; cat "$tree/sub dir/b c=d#e.bin"; printf 'tail'; } >"$small/image"
for jopt in "" "--bzip2" "-C sha256" "-C sha256 --bzip2"; do
    name=small$(echo "$jopt" | tr -d ' -')
    # shellcheck disable=SC2086
    jigdo-file make-template -f -r quiet $jopt -i "$small/image" \
        -j "$small/$name.jigdo" -t "$small/$name.template" \
        --label "Debian=$tree" "$tree//" >/dev/null 2>&1 || true
    [ -s "$small/$name.template" ] && cp "$small/$name.template" "$corpus/template_read/jigdo-file-$name.template"
done

# plain md5sum/sha256sum output
(cd "$tree" && md5sum -- *.* "sub dir"/* >"$corpus/checksum_list_parse/md5sum.txt"
 sha256sum -b -- *.* >"$corpus/checksum_list_parse/sha256sum-b.txt")

# DESC entries: the DESC tables of the templates, cut into entries by the
# trailer layout (DESC id, 6-byte length, table, 6-byte length) -- the
# desc_entry_decode target reads an 8-byte offset first, then entries.
for t in "$corpus"/template_read/*.template; do
    python3 - "$t" "$corpus/desc_entry_decode/$(basename "$t" .template).desc" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
desc_len = int.from_bytes(data[-6:], "little")
table = data[len(data) - desc_len + 10:-6]
open(sys.argv[2], "wb").write((len(data) - desc_len + 10).to_bytes(8, "little") + table)
PY
done
ls -l "$corpus"/*
