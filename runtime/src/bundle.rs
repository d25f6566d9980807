//! Audit bundles: one file holding a trust's log entries, every module its replay needs, a
//! signed checkpoint and the trust's keys, for auditors who have nothing else.
//!
//! ```text
//! bundle  = MAGIC (16 bytes) section*
//! section = kind u8 ‖ index u64 LE ‖ length u32 LE ‖ digest [32] ‖ payload [length]
//! digest  = blake3::derive_key("cltd 2026-11 bundle section v1", kind ‖ index ‖ payload)
//!           for the manifest, checkpoint and modules;
//!           blake3::derive_key("cltd 2026-12 bundle entry section v2", index ‖ entry hash)
//!           for an entry, its entry hash being the log's (`log::entry_hash_of`)
//! ```
//!
//! Version 2 digests an entry through its entry hash so that reading a bundle hashes each
//! entry's bytes once: the hash that checks the section is the one the hash chain and the
//! Merkle leaves need ([`Bundle::parse_hashed`]). Version 1 bundles (every digest over the
//! payload, magic `cltd-bundle-v1`) are still read.
//!
//! Sections come in a fixed order: the manifest, the checkpoint (a C2SP signed note), the
//! entries `0..n` (their stored bytes), the modules `0..m` (component bytes). The digests do
//! not replace any of the log's own checks (an attacker can recompute them); they let a
//! damaged bundle be attributed to the section that was damaged.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::id::{EntryHash, TrustId};
use crate::log::entry_hash_of;
use crate::model::Key;

/// The first 16 bytes of every bundle written now (version 2).
pub const BUNDLE_MAGIC: &[u8; 16] = b"cltd-bundle-v2\n\0";
/// The first 16 bytes of a version 1 bundle, whose entry digests are over the entry's bytes.
pub const BUNDLE_MAGIC_V1: &[u8; 16] = b"cltd-bundle-v1\n\0";

const DIGEST_CONTEXT: &str = "cltd 2026-11 bundle section v1";
const ENTRY_DIGEST_CONTEXT: &str = "cltd 2026-12 bundle entry section v2";
const HEADER: usize = 1 + 8 + 4 + 32;
const MAX_SECTION: usize = 4 << 20;

/// What a bundle says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The trust id (which the genesis entry must reproduce).
    pub trust_id: TrustId,
    /// The host key that signs checkpoints (which the genesis entry must name).
    pub host_key: Key,
    /// Entries in the bundle.
    pub entries: u64,
    /// Modules in the bundle.
    pub modules: u64,
}

/// A parsed bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The manifest.
    pub manifest: Manifest,
    /// The signed checkpoint, as a note.
    pub checkpoint: String,
    /// Each entry's stored bytes, in log order.
    pub entries: Vec<Vec<u8>>,
    /// Component bytes of every module the replay needs.
    pub modules: Vec<Vec<u8>>,
}

/// A part of a bundle, for saying where something is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Location {
    /// The magic bytes at the start.
    Header,
    /// The manifest section.
    Manifest,
    /// The checkpoint section.
    Checkpoint,
    /// Log entry `i`.
    Entry(u64),
    /// Module section `i`.
    Module(u64),
    /// After the last section.
    End,
    /// The history as a whole (a fork or rewrite against an earlier checkpoint).
    History,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Header => write!(f, "bundle header"),
            Location::Manifest => write!(f, "manifest"),
            Location::Checkpoint => write!(f, "checkpoint"),
            Location::Entry(i) => write!(f, "entry {i}"),
            Location::Module(i) => write!(f, "module section {i}"),
            Location::End => write!(f, "end of the bundle"),
            Location::History => write!(f, "history"),
        }
    }
}

/// A bundle that cannot be read, and where.
#[derive(Debug, Error, Clone, PartialEq, Eq, Serialize)]
#[error("{location}: {reason}")]
pub struct BundleError {
    /// Where.
    pub location: Location,
    /// What is wrong.
    pub reason: String,
}

const KIND_MANIFEST: u8 = 1;
const KIND_CHECKPOINT: u8 = 2;
const KIND_ENTRY: u8 = 3;
const KIND_MODULE: u8 = 4;

/// A section's digest over its payload (every section of a version 1 bundle; the
/// manifest, checkpoint and modules of a version 2 one).
fn digest(kind: u8, index: u64, payload: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(DIGEST_CONTEXT);
    h.update(&[kind]);
    h.update(&index.to_le_bytes());
    h.update(payload);
    *h.finalize().as_bytes()
}

/// A version 2 entry section's digest, over its entry hash.
fn entry_digest(index: u64, hash: &EntryHash) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key(ENTRY_DIGEST_CONTEXT);
    h.update(&index.to_le_bytes());
    h.update(hash.as_slice());
    *h.finalize().as_bytes()
}

fn push(out: &mut Vec<u8>, kind: u8, index: u64, payload: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&index.to_le_bytes());
    let len = u32::try_from(payload.len()).expect("sections are at most 4 MiB");
    out.extend_from_slice(&len.to_le_bytes());
    let digest = match kind {
        KIND_ENTRY => entry_digest(index, &entry_hash_of(payload)),
        _ => digest(kind, index, payload),
    };
    out.extend_from_slice(&digest);
    out.extend_from_slice(payload);
}

impl Bundle {
    /// The bundle's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = BUNDLE_MAGIC.to_vec();
        let manifest = postcard::to_stdvec(&self.manifest).expect("in-memory encoding");
        push(&mut out, KIND_MANIFEST, 0, &manifest);
        push(&mut out, KIND_CHECKPOINT, 0, self.checkpoint.as_bytes());
        for (i, e) in self.entries.iter().enumerate() {
            push(&mut out, KIND_ENTRY, i as u64, e);
        }
        for (i, m) in self.modules.iter().enumerate() {
            push(&mut out, KIND_MODULE, i as u64, m);
        }
        out
    }

    /// Where each part of [`Bundle::to_bytes`]'s output lies: the header, then each section
    /// (its framing and payload), in order.
    pub fn layout(&self) -> Vec<(Location, std::ops::Range<usize>)> {
        let manifest = postcard::to_stdvec(&self.manifest).expect("in-memory encoding");
        let sizes = std::iter::once((Location::Manifest, manifest.len()))
            .chain(std::iter::once((
                Location::Checkpoint,
                self.checkpoint.len(),
            )))
            .chain(
                self.entries
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (Location::Entry(i as u64), e.len())),
            )
            .chain(
                self.modules
                    .iter()
                    .enumerate()
                    .map(|(i, m)| (Location::Module(i as u64), m.len())),
            );
        let mut out = vec![(Location::Header, 0..BUNDLE_MAGIC.len())];
        let mut at = BUNDLE_MAGIC.len();
        for (location, len) in sizes {
            out.push((location, at..at + HEADER + len));
            at += HEADER + len;
        }
        out
    }

    /// Parse bundle bytes; a damaged bundle is reported with the section it damages (the
    /// first damaged section, as if read from the start). The entries' and modules' framing
    /// is read in order and their digests are then checked on every core.
    pub fn parse(bytes: &[u8]) -> Result<Bundle, BundleError> {
        Bundle::parse_hashed(bytes).map(|(bundle, _)| bundle)
    }

    /// [`Bundle::parse`], with each entry's hash (`log::entry_hash_of` of its bytes), in log
    /// order: computed once, while the section digests are checked, for the hash chain and
    /// the Merkle leaves to use.
    pub fn parse_hashed(bytes: &[u8]) -> Result<(Bundle, Vec<EntryHash>), BundleError> {
        let err = |location, reason: String| BundleError { location, reason };
        let version = match bytes.get(..16) {
            Some(m) if m == BUNDLE_MAGIC.as_slice() => 2,
            Some(m) if m == BUNDLE_MAGIC_V1.as_slice() => 1,
            _ => {
                return Err(err(
                    Location::Header,
                    "not a cltd audit bundle (bad magic bytes)".into(),
                ));
            }
        };
        let mut reader = Sections { rest: &bytes[16..] };
        let manifest: Manifest = postcard::from_bytes(
            reader
                .frame(Location::Manifest, KIND_MANIFEST, 0)?
                .checked()?,
        )
        .map_err(|e| err(Location::Manifest, format!("does not decode: {e}")))?;
        let checkpoint = String::from_utf8(
            reader
                .frame(Location::Checkpoint, KIND_CHECKPOINT, 0)?
                .checked()?
                .to_vec(),
        )
        .map_err(|_| err(Location::Checkpoint, "not UTF-8 text".into()))?;
        // The manifest's counts are untrusted: the framing ends the loop at the bundle's end.
        let wanted = (0..manifest.entries)
            .map(|i| (Location::Entry(i), KIND_ENTRY, i))
            .chain((0..manifest.modules).map(|i| (Location::Module(i), KIND_MODULE, i)));
        let mut framed = Vec::new();
        let mut framing = Ok(());
        for (location, kind, index) in wanted {
            match reader.frame(location, kind, index) {
                Ok(section) => framed.push(section),
                Err(e) => {
                    framing = Err(e);
                    break;
                }
            }
        }
        if framing.is_ok() && !reader.rest.is_empty() {
            framing = Err(err(
                Location::End,
                format!(
                    "{} unexpected bytes after the last section",
                    reader.rest.len()
                ),
            ));
        }
        // A damaged section before a framing fault is the first fault.
        let checked = crate::par::map(&framed, |s| s.checked_hashed(version));
        let mut hashes = Vec::with_capacity(framed.len());
        for c in checked {
            if let Some(hash) = c? {
                hashes.push(hash);
            }
        }
        framing?;
        let entries = framed.len().min(manifest.entries as usize);
        let modules = framed.split_off(entries);
        let payloads = |sections: Vec<Section<'_>>| -> Vec<Vec<u8>> {
            sections.into_iter().map(|s| s.payload.to_vec()).collect()
        };
        let bundle = Bundle {
            manifest,
            checkpoint,
            entries: payloads(framed),
            modules: payloads(modules),
        };
        Ok((bundle, hashes))
    }
}

/// The bundle's sections not yet read.
struct Sections<'a> {
    rest: &'a [u8],
}

impl<'a> Sections<'a> {
    /// The next section, which must be of `kind` and numbered `index`: its framing checked,
    /// its digest not yet.
    fn frame(
        &mut self,
        location: Location,
        kind: u8,
        index: u64,
    ) -> Result<Section<'a>, BundleError> {
        let err = |reason: String| BundleError { location, reason };
        if self.rest.len() < HEADER {
            return Err(err("the bundle ends inside this section".into()));
        }
        let (header, tail) = self.rest.split_at(HEADER);
        if header[0] != kind {
            return Err(err(format!(
                "expected section kind {kind}, found {}",
                header[0]
            )));
        }
        let found = u64::from_le_bytes(header[1..9].try_into().expect("8 bytes"));
        if found != index {
            return Err(err(format!(
                "section numbered {found} where {index} belongs"
            )));
        }
        let len = u32::from_le_bytes(header[9..13].try_into().expect("4 bytes")) as usize;
        if len > MAX_SECTION || len > tail.len() {
            return Err(err(format!(
                "section length {len} runs past the bundle ({} bytes left)",
                tail.len()
            )));
        }
        let (payload, after) = tail.split_at(len);
        self.rest = after;
        Ok(Section {
            location,
            kind,
            index,
            digest: &header[13..],
            payload,
        })
    }
}

/// A framed section.
struct Section<'a> {
    location: Location,
    kind: u8,
    index: u64,
    digest: &'a [u8],
    payload: &'a [u8],
}

impl<'a> Section<'a> {
    /// The payload, once its digest (over the payload) matches.
    fn checked(&self) -> Result<&'a [u8], BundleError> {
        if self.digest != digest(self.kind, self.index, self.payload) {
            return Err(self.damaged());
        }
        Ok(self.payload)
    }

    /// Check the digest as a bundle of `version` defines it; an entry's hash, for an entry.
    fn checked_hashed(&self, version: u8) -> Result<Option<EntryHash>, BundleError> {
        if self.kind != KIND_ENTRY {
            return self.checked().map(|_| None);
        }
        if version == 1 {
            self.checked()?;
        }
        let hash = entry_hash_of(self.payload);
        if version >= 2 && self.digest != entry_digest(self.index, &hash) {
            return Err(self.damaged());
        }
        Ok(Some(hash))
    }

    fn damaged(&self) -> BundleError {
        BundleError {
            location: self.location,
            reason: "the section's bytes do not match its digest: it was damaged or altered".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Bundle {
        Bundle {
            manifest: Manifest {
                trust_id: TrustId([1; 32]),
                host_key: [2; 32],
                entries: 3,
                modules: 2,
            },
            checkpoint: "o\n3\nAAAA\n\n— o AAAA\n".into(),
            entries: vec![vec![1, 2, 3], vec![4; 100], vec![]],
            modules: vec![vec![9; 50], vec![8; 7]],
        }
    }

    #[test]
    fn round_trips() {
        let b = sample();
        assert_eq!(Bundle::parse(&b.to_bytes()).unwrap(), b);
    }

    /// `b` as version 1 wrote it: its magic, and every digest over its payload.
    fn v1_bytes(b: &Bundle) -> Vec<u8> {
        let mut bytes = b.to_bytes();
        bytes[..16].copy_from_slice(BUNDLE_MAGIC_V1);
        for (location, range) in b.layout() {
            if let Location::Entry(i) = location {
                let d = digest(KIND_ENTRY, i, &b.entries[i as usize]);
                bytes[range.start + 13..range.start + HEADER].copy_from_slice(&d);
            }
        }
        bytes
    }

    #[test]
    fn version_1_bundles_are_still_read_with_the_same_entry_hashes() {
        let b = sample();
        let hashes: Vec<EntryHash> = b.entries.iter().map(|e| entry_hash_of(e)).collect();
        let v2 = b.to_bytes();
        let v1 = v1_bytes(&b);
        assert_ne!(v1, v2);
        assert_eq!(
            Bundle::parse_hashed(&v2).unwrap(),
            (b.clone(), hashes.clone())
        );
        assert_eq!(Bundle::parse_hashed(&v1).unwrap(), (b.clone(), hashes));
        // A damaged entry of a version 1 bundle is still named.
        let (_, entry1) = b.layout()[4].clone();
        let mut damaged = v1.clone();
        damaged[entry1.start + HEADER + 5] ^= 1;
        assert_eq!(
            Bundle::parse(&damaged).unwrap_err().location,
            Location::Entry(1)
        );
        // One version's digests under the other's magic are refused at the first entry.
        let mut mixed = v2;
        mixed[..16].copy_from_slice(BUNDLE_MAGIC_V1);
        assert_eq!(
            Bundle::parse(&mixed).unwrap_err().location,
            Location::Entry(0)
        );
        let mut mixed = v1;
        mixed[..16].copy_from_slice(BUNDLE_MAGIC);
        assert_eq!(
            Bundle::parse(&mixed).unwrap_err().location,
            Location::Entry(0)
        );
    }

    #[test]
    fn every_single_byte_change_is_attributed_to_its_section() {
        let b = sample();
        let bytes = b.to_bytes();
        let layout = b.layout();
        assert_eq!(layout.last().unwrap().1.end, bytes.len());
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x5a;
            let e = Bundle::parse(&damaged).unwrap_err();
            let expected = layout.iter().find(|(_, r)| r.contains(&i)).unwrap().0;
            assert_eq!(e.location, expected, "byte {i}: {e}");
        }
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 1);
        assert_eq!(
            Bundle::parse(&truncated).unwrap_err().location,
            Location::Module(1)
        );
        let mut longer = bytes;
        longer.push(0);
        assert_eq!(Bundle::parse(&longer).unwrap_err().location, Location::End);
    }

    #[test]
    fn the_first_fault_is_reported_when_digests_are_checked_on_every_core() {
        let b = Bundle {
            manifest: Manifest {
                entries: 200,
                ..sample().manifest
            },
            entries: (0..200u8).map(|i| vec![i; 40]).collect(),
            ..sample()
        };
        let bytes = b.to_bytes();
        assert_eq!(Bundle::parse(&bytes).unwrap(), b);
        let layout = b.layout();
        let payload_of = |location| {
            let (_, r) = layout.iter().find(|(l, _)| *l == location).unwrap();
            r.start + HEADER
        };
        // Two damaged entries: the earlier one is named.
        let mut damaged = bytes.clone();
        damaged[payload_of(Location::Entry(170))] ^= 1;
        damaged[payload_of(Location::Entry(40))] ^= 1;
        assert_eq!(
            Bundle::parse(&damaged).unwrap_err().location,
            Location::Entry(40)
        );
        // A damaged entry before a framing fault: the entry is named, then the framing.
        let mut truncated = bytes.clone();
        truncated.truncate(bytes.len() - 1);
        let mut both = truncated.clone();
        both[payload_of(Location::Entry(150))] ^= 1;
        assert_eq!(
            Bundle::parse(&both).unwrap_err().location,
            Location::Entry(150)
        );
        assert_eq!(
            Bundle::parse(&truncated).unwrap_err().location,
            Location::Module(1)
        );
    }
}
