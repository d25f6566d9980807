#!/usr/bin/env bash
# Build every bylaw crate (and the test bylaws) to Wasm with the pinned guest toolchain,
# through `cltd bylaws build` (the one build recipe; see host/src/guest.rs).
# Output: target/bylaws/<package>.wasm, the components a trust stores (`b3sum` of a file is
# the hash a log records for it). Reproducible: paths are remapped, codegen is single-unit,
# dependencies locked; tests/all/amendments.rs proves it by building in another directory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/guest-toolchain.sh"
cd "$root"
cargo build --locked --quiet -p cltd
for crate in bylaws/classic-clt bylaws/minimal bylaws/civic-data-trust bylaws/platform-coop tests/bylaws/hostile tests/bylaws/reasoned; do
    "$root/target/debug/cltd" bylaws build "$crate" --out "$root/target/bylaws" >&2
done
