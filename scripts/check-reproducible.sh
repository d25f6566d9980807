#!/usr/bin/env bash
# Check that the bylaws build reproducibly: a second build from a copy of the sources, at a
# different path with a fresh target directory, must give byte-identical Wasm (and so the
# same blake3 hash in the log). This is what lets an auditor rebuild a bylaw and compare.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/build-bylaws.sh"
copy="$(mktemp -d /tmp/cltd-repro-XXXXXX)"
trap 'rm -rf "$copy"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy")
"$copy/scripts/build-bylaws.sh" 2>/dev/null
status=0
for wasm in "$root"/target/bylaws/*.wasm; do
    name="$(basename "$wasm")"
    if cmp -s "$wasm" "$copy/target/bylaws/$name"; then
        echo "reproducible: $name $(sha256sum < "$wasm" | cut -c1-16)" >&2
    else
        echo "NOT reproducible: $name differs when built at another path" >&2
        status=1
    fi
done
exit $status
