#!/usr/bin/env bash
# Rebuilds the example: a tiny "mirror" of three files, and the .jigdo and
# .template that xorriso's JTE writes for an image of them (README, first command).
set -euo pipefail
cd "$(dirname "$0")"
export SOURCE_DATE_EPOCH=1700000000
rm -rf mirror tree hello.jigdo hello.template
mkdir -p mirror/pool/main/h/hello tree/pool/main/h/hello
for i in 1 2 3; do
  awk -v n=$((40 * i)) -v i=$i 'BEGIN { for (k = 1; k <= n; k++) printf "jigsmith example file %d, line %d: rebuilt from the mirror, bit for bit.\n", i, k }' \
    > "mirror/pool/main/h/hello/hello_$i.txt"
done
cp mirror/pool/main/h/hello/* tree/pool/main/h/hello/
echo "A small image made by xorriso -as mkisofs with jigdo export." > tree/README.txt
list=$(mktemp)
jigdo-gen-checksum-list "$PWD"/mirror/pool/main/h/hello/* > "$list"
xorriso -as mkisofs -r -J -V HELLO -o /dev/null -md5-list "$list" \
  -jigdo-jigdo hello.jigdo -jigdo-template hello.template \
  -jigdo-map "Debian=$PWD/mirror/" tree 2>/dev/null
rm -rf tree "$list"
# the .jigdo names the template by URL; name it relative, as Debian does
sed -i 's#^Template=.*#Template=hello.template#' hello.jigdo
