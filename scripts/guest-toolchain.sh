#!/usr/bin/env bash
# Make sure the pinned guest toolchain (Debian's rustc-web, its std source and lld) is
# installed. Installs it with apt-get when it is missing; idempotent and quiet when present.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=guest-toolchain.env
. "$here/guest-toolchain.env"

have_toolchain() {
    local p
    for p in rustc-web cargo-web rust-web-src rust-web-llvm "$GUEST_LLD_PACKAGE"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || return 1
    done
}

if ! have_toolchain; then
    echo "guest toolchain: installing Debian's rustc-web $GUEST_DEB_VERSION (one time)..." >&2
    sudo_cmd=()
    if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
    "${sudo_cmd[@]}" apt-get update -qq >&2
    pkgs=(rustc-web cargo-web rust-web-src rust-web-llvm)
    pinned=()
    for p in "${pkgs[@]}"; do pinned+=("$p=$GUEST_DEB_VERSION"); done
    if ! DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${pinned[@]}" "$GUEST_LLD_PACKAGE" >&2; then
        echo "guest toolchain: pinned version $GUEST_DEB_VERSION unavailable; installing the current one" >&2
        DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${pkgs[@]}" "$GUEST_LLD_PACKAGE" >&2
    fi
fi

actual="$(/usr/bin/rustc --version)"
if [ "$actual" != "$GUEST_RUSTC_VERSION" ]; then
    echo "warning: guest compiler is '$actual', pinned is '$GUEST_RUSTC_VERSION':" >&2
    echo "         bylaws will build, but their hashes may differ from ones recorded elsewhere" >&2
fi
