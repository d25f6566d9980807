#!/usr/bin/env bash
# The main job: found a trust on a fresh embedded redb store, admit members of all three
# classes, vote, hold the asset lock, grant data access, lock a new asset, and verify the
# whole history, narrated in plain language. Pass --data-dir DIR to keep the store there
# (default: a new temporary directory, printed at the end).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
"$root/scripts/build-bylaws.sh"
export CLTD_BYLAWS_DIR="$root/target/bylaws"
cargo build --locked --quiet -p cltd
exec "$root/target/debug/cltd" "$@" demo
