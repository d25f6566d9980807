"""Seed the decoders' corpora from a real audit bundle (`cltd export`).

Usage: python3 fuzz/seeds.py BUNDLE OUT_DIR. Writes OUT_DIR/bundle/ (the bundle),
OUT_DIR/checkpoint/ (its signed checkpoint), OUT_DIR/entry/ (every log entry) and
OUT_DIR/transition/ (the signed transition each transition entry records). The layout
read here is the one `runtime/src/bundle.rs` and `runtime/src/log.rs` write.
"""

import pathlib
import sys

MAGIC_LEN = 16
HEADER = 1 + 8 + 4 + 32
KIND_CHECKPOINT, KIND_ENTRY = 2, 3


def varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def sections(bundle):
    at = MAGIC_LEN
    while at < len(bundle):
        kind = bundle[at]
        length = int.from_bytes(bundle[at + 9 : at + 13], "little")
        yield kind, bundle[at + HEADER : at + HEADER + length]
        at += HEADER + length


def signed_transition(entry):
    """The signed bytes of a transition entry, or None for the genesis entry."""
    _, at = varint(entry, 0)  # format
    _, at = varint(entry, at)  # index
    at += 32  # prev
    _, at = varint(entry, at)  # time
    variant, at = varint(entry, at)
    if variant != 1:
        return None
    length, at = varint(entry, at)
    return entry[at : at + length]


def main():
    bundle = pathlib.Path(sys.argv[1]).read_bytes()
    out = pathlib.Path(sys.argv[2])
    for name in ("bundle", "checkpoint", "entry", "transition"):
        (out / name).mkdir(parents=True, exist_ok=True)
    (out / "bundle" / "demo").write_bytes(bundle)
    entries = 0
    for kind, payload in sections(bundle):
        if kind == KIND_CHECKPOINT:
            (out / "checkpoint" / "demo").write_bytes(payload)
        elif kind == KIND_ENTRY:
            (out / "entry" / f"{entries:04}").write_bytes(payload)
            signed = signed_transition(payload)
            if signed is not None:
                (out / "transition" / f"{entries:04}").write_bytes(signed)
            entries += 1
    if entries == 0:
        sys.exit("the bundle holds no entries: is it a cltd audit bundle?")
    print(f"fuzz seeds: {entries} entries from {sys.argv[1]}", file=sys.stderr)


main()
