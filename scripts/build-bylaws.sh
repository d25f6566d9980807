#!/usr/bin/env bash
# Build every bylaw crate (and the hostile test bylaw) to Wasm with the pinned guest toolchain.
# Output: target/bylaws/<crate>.wasm (core modules carrying their component type; cltd turns
# them into components). Reproducible: paths are remapped, codegen is single-unit, deps locked.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/guest-toolchain.sh"

crates=(classic-clt hostile-bylaw)
out="$root/target/bylaws"
mkdir -p "$out"
cd "$root"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
export RUSTFLAGS="--remap-path-prefix=$root=/cltd --remap-path-prefix=$cargo_home=/cargo"
unset RUSTC_WRAPPER CARGO_BUILD_RUSTFLAGS
args=()
for c in "${crates[@]}"; do args+=(-p "$c"); done
/usr/bin/cargo build --locked --quiet --profile guest --target wasm32-unknown-unknown \
    -Zbuild-std=std,panic_abort --target-dir "$root/target/guest" "${args[@]}"
for c in "${crates[@]}"; do
    cp "$root/target/guest/wasm32-unknown-unknown/guest/${c//-/_}.wasm" "$out/$c.wasm"
done
echo "bylaws built in $out: ${crates[*]}" >&2
