#!/usr/bin/env bash
# The API contract, checked from outside: Schemathesis (pinned, from PyPI, in a virtualenv
# under target/) generates requests from `cltd serve`'s own OpenAPI document and checks every
# answer (no server error, documented status, content type and headers, response bodies
# that match their schemas, 405s with a true Allow) against a served demo trust.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
here="$root/tests/schemathesis"
venv="$root/target/schemathesis-venv"

if [ ! -x "$venv/bin/st" ] || ! cmp -s "$here/requirements.txt" "$venv/requirements.txt"; then
    echo "== installing schemathesis (pinned, $here/requirements.txt)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    cp "$here/requirements.txt" "$venv/requirements.txt"
fi

cargo build --quiet --locked -p cltd
data="$(mktemp -d)"
pid=""
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT
target/debug/cltd demo --data-dir "$data" >/dev/null
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
# One client address generates every request: lift the per-client write limit.
target/debug/cltd serve --data-dir "$data" --listen "127.0.0.1:$port" \
    --writes-per-second 100000 --write-burst 100000 >/dev/null 2>&1 &
pid=$!

until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
read -r CLTD_TRUST CLTD_MODULE CLTD_AMENDMENT < <(python3 - "$port" <<'PY'
import json, sys, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}/v1/trusts"
trust = json.load(urllib.request.urlopen(base))["trusts"][0]
proposals = json.load(urllib.request.urlopen(f"{base}/{trust['id']}/proposals"))["proposals"]
amendment = next(p["id"] for p in proposals if p["kind"] == "amend-bylaws")
print(trust["id"], trust["module"], amendment)
PY
)
export CLTD_TRUST CLTD_MODULE CLTD_AMENDMENT

# Schemathesis keeps a cache in the directory it runs in: keep it under target/.
mkdir -p "$root/target/schemathesis"
cd "$root/target/schemathesis"
PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks "$venv/bin/st" --config-file "$here/schemathesis.toml" \
    run "http://127.0.0.1:$port/openapi.json" \
    --wait-for-schema 60 --max-examples "${CLTD_SCHEMATHESIS_EXAMPLES:-25}" \
    --seed 20261203 --no-color
