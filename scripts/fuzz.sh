#!/usr/bin/env bash
# Fuzz every decoder of untrusted bytes and the transition pipeline against a reference model
# (the cargo-fuzz targets in fuzz/). Usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
# (default: 20 s for each of transition, entry, checkpoint, bundle, pipeline). Installs
# cargo-fuzz from crates.io into target/tools on first use; seeds the decoders' corpora from
# a real trust (the demo's log, exported as an audit bundle). Findings go to fuzz/artifacts/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${1:-20}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(transition entry checkpoint bundle pipeline)
fi

tools="$root/target/tools"
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
    echo "fuzz: installing cargo-fuzz (one time)..." >&2
    cargo install cargo-fuzz --locked --version 0.13.2 --root "$tools" --quiet
fi
export PATH="$tools/bin:$PATH"
export CLTD_BYLAWS_DIR="${CLTD_BYLAWS_DIR:-$root/target/bylaws}"
[ -f "$CLTD_BYLAWS_DIR/minimal.wasm" ] || "$root/scripts/build-bylaws.sh"

seeds="$root/target/fuzz-seeds"
if [ ! -d "$seeds/transition" ]; then
    cltd="$root/target/debug/cltd"
    [ -x "$cltd" ] || cargo build --locked -p cltd --quiet
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    "$cltd" demo --data-dir "$tmp/trust" > /dev/null
    "$cltd" export --data-dir "$tmp/trust" --out "$tmp/bundle" > /dev/null
    python3 "$root/fuzz/seeds.py" "$tmp/bundle" "$seeds"
fi

cd fuzz
# Coverage instrumentation only (-s none): cltd's own crates forbid unsafe code, and the
# address sanitizer would need a nightly compiler.
echo "== cargo fuzz build" >&2
cargo fuzz build -s none -O
for t in "${targets[@]}"; do
    corpus=("corpus/$t")
    mkdir -p "corpus/$t"
    for d in "seeds/$t" "$seeds/$t"; do
        if [ -d "$d" ]; then corpus+=("$d"); fi
    done
    echo "== fuzz $t (${seconds} s)" >&2
    if ! cargo fuzz run -s none -O "$t" "${corpus[@]}" -- -max_total_time="$seconds" \
        > "$root/target/fuzz-$t.log" 2>&1; then
        grep -v '^ *[0-9]*: \|^ *at ' "$root/target/fuzz-$t.log" | tail -n 40 >&2
        echo "fuzz: target $t failed; the input is in fuzz/artifacts/$t/, the log in target/fuzz-$t.log" >&2
        exit 1
    fi
    grep -E '^(Done|#[0-9]+ *DONE)' "$root/target/fuzz-$t.log" | tail -n 1 >&2
done
