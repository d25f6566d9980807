#!/usr/bin/env bash
# What the end-to-end browser test needs: Debian's chromium and playwright-core from npm
# (never a browser download: playwright-core drives the system's Chromium). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
    echo "== installing Debian's chromium" >&2
    sudo_=""
    [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null; then
    echo "browser-setup: Node.js is needed (the machine's, or Debian's nodejs package)" >&2
    exit 1
fi
if [ ! -d "$root/tests/e2e/node_modules/playwright-core" ]; then
    echo "== installing playwright-core (npm ci)" >&2
    (cd "$root/tests/e2e" && npm ci --no-audit --no-fund --silent)
fi
