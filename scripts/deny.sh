#!/usr/bin/env bash
# Check the dependency tree's licences, duplicate versions and sources with cargo-deny
# (deny.toml), installed from crates.io into target/tools on first use. Not part of the test
# command: installing cargo-deny compiles it (a few minutes of CPU).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools="$root/target/tools"
if [ ! -x "$tools/bin/cargo-deny" ]; then
    echo "deny: installing cargo-deny (one time)..." >&2
    cargo install cargo-deny --locked --root "$tools" --quiet
fi
exec "$tools/bin/cargo-deny" check licenses bans sources
