#!/usr/bin/env bash
# Every test: formatting, lints, unit tests in every crate, and the integration tests that
# drive real Wasm bylaws through the real runtime and store. Sets up what it needs (the
# guest toolchain from Debian's packages, the bylaws built to Wasm) on a fresh machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

"$root/scripts/build-bylaws.sh"
"$root/scripts/browser-setup.sh"
# The replication engine (the NATS server, pinned): tests/all/jetstream.rs and the cluster test.
"$root/scripts/engine-setup.sh" >/dev/null
export CLTD_BYLAWS_DIR="$root/target/bylaws"

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --locked --workspace --all-targets -- -D warnings
echo "== cargo test" >&2
cargo test --locked --workspace
echo "== schemathesis: the API against its OpenAPI document" >&2
"$root/scripts/schemathesis.sh"
echo "== cluster test: 3 NATS JetStream servers, 3 cltd nodes, kills and a late joiner" >&2
"$root/scripts/cluster-test.sh"
echo "== fuzz smoke run" >&2
"$root/scripts/fuzz.sh" "${CLTD_FUZZ_SECONDS:-20}"
