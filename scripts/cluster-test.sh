#!/usr/bin/env bash
# The cluster test (issue 18): three NATS JetStream servers and three `cltd serve --cluster`
# nodes on loopback, under load, with the stream leader, the trust's writer and both killed
# and the writer stopped past its heartbeat; then a fourth node from an empty directory.
# Every node must end with the same log, verified, holding every acknowledged receipt.
# Installs the pinned engine itself (scripts/engine-setup.sh); stops all it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
nats="$("$root/scripts/engine-setup.sh")"
cargo build --quiet --locked -p cltd
export CLTD_BYLAWS_DIR="${CLTD_BYLAWS_DIR:-$root/target/bylaws}"
exec python3 "$root/tests/cluster/cluster_test.py" "$root/target/debug/cltd" "$nats"
