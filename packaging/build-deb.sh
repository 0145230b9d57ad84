#!/usr/bin/env bash
# packaging/build-deb.sh [--profile PROFILE] — the jigsmith .deb.
#
# Generates the man pages and shell completions from the binary's own clap
# definitions (so they match it), then runs `cargo deb --no-build`; the
# package metadata is [package.metadata.deb] in Cargo.toml. Prints the path
# of the .deb. PROFILE defaults to release; CI uses dev to reuse its build.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
[ "${1:-}" = --profile ] && profile=${2:?--profile needs a name}
command -v cargo-deb >/dev/null || cargo install cargo-deb --locked --quiet

target=${CARGO_TARGET_DIR:-$PWD/target}
case $profile in dev) dir=debug ;; *) dir=$profile ;; esac
cargo build --profile "$profile" --bin jigsmith --quiet
bin="$target/$dir/jigsmith"
dist="$target/$dir/dist"
rm -rf "$dist"
mkdir -p "$dist/man" "$dist/completions"
"$bin" manpages "$dist/man" 2>/dev/null
gzip -9n "$dist"/man/*.1
"$bin" completions bash > "$dist/completions/jigsmith.bash"
"$bin" completions zsh > "$dist/completions/_jigsmith"
"$bin" completions fish > "$dist/completions/jigsmith.fish"
cargo deb --no-build --profile "$profile" --output "$target/debian/" 2>&1 | tail -1
