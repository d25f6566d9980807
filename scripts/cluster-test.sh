#!/usr/bin/env bash
# The cluster test (issue 18): three NATS JetStream servers and three `cltd serve --cluster`
# nodes on loopback, under load, with the stream leader, the trust's writer and both killed
# and the writer stopped past its heartbeat; then a fourth node from an empty directory.
# Every node must end with the same log, verified, holding every acknowledged receipt; an
# amendment goes through four nodes, its window and timelock run out on clocks moved ahead
# with Debian's libfaketime (installed here when missing: the nodes' code is not changed).
# Installs the pinned engine itself (scripts/engine-setup.sh); stops all it started.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
nats="$("$root/scripts/engine-setup.sh")"
faketime_lib() { dpkg -L libfaketime 2>/dev/null | grep '/libfaketime\.so\.1$' || true; }
if [ -z "$(faketime_lib)" ]; then
    echo "== installing Debian's libfaketime" >&2
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq libfaketime >/dev/null
fi
cargo build --quiet --locked -p cltd
export CLTD_BYLAWS_DIR="${CLTD_BYLAWS_DIR:-$root/target/bylaws}"
exec python3 "$root/tests/cluster/cluster_test.py" "$root/target/debug/cltd" "$nats" "$(faketime_lib)"
