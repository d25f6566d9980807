//! The append-only log: entries, their encoding and their hashes.
//!
//! Entry `i` stores `prev = hash(entry i-1)` (all zeros for the genesis entry, index 0), so
//! the head hash commits to the whole history. Hashes are blake3 in derive-key mode with
//! the context [`ENTRY_HASH_CONTEXT`]; the trust id uses [`TRUST_ID_CONTEXT`]. Entries are
//! encoded with postcard (little-endian varints, no `usize`); see `docs/design.md`.

use serde::{Deserialize, Serialize};

use crate::engine::EngineProfile;
use crate::error::StoreError;
use crate::id::{EntryHash, ModuleHash, TrustId};
use crate::model::{Charter, Effect, Hash, Key, Verdict};

/// Version of the entry encoding written by this runtime. 2: a genesis charter may found a
/// treasury, a decision names the projects a budgeting round funds (contract 0.8).
pub(crate) const ENTRY_FORMAT: u32 = 2;

/// blake3 derive-key context for entry hashes.
pub(crate) const ENTRY_HASH_CONTEXT: &str = "cltd 2026-11 log entry v1";

/// blake3 derive-key context for trust ids.
pub(crate) const TRUST_ID_CONTEXT: &str = "cltd 2026-11 trust id v1";

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Encoding version ([`ENTRY_FORMAT`]).
    pub format: u32,
    /// Position in the log, from 0.
    pub index: u64,
    /// Hash of the previous entry (zeros for the genesis entry).
    pub prev: EntryHash,
    /// Host time, seconds since the Unix epoch; never decreases along the log.
    pub time: u64,
    /// What happened.
    pub body: EntryBody,
}

/// What an entry records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryBody {
    /// The trust's founding.
    Genesis(Genesis),
    /// A transition judged by the bylaw in force.
    Transition(TransitionRecord),
}

/// The founding entry: the charter, the first bylaw module and the engine profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// Random bytes that make two trusts with the same charter distinct.
    pub salt: [u8; 16],
    /// The charter.
    pub charter: Charter,
    /// Hash of the bylaw component in force from the start.
    pub module: ModuleHash,
    /// How bylaws are run.
    pub engine: EngineProfile,
    /// The host's ed25519 key, which signs the log's checkpoints. Part of the trust id, so
    /// whoever knows the trust id can check a checkpoint's signature.
    pub host_key: Key,
    /// The trust this one continues, when it was founded again from an earlier store
    /// (`cltd init --from`): its id and the size and head of its log then.
    pub predecessor: Option<Predecessor>,
}

/// A trust's log as it stood when a successor was founded from its store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Predecessor {
    /// The earlier trust's id.
    pub trust_id: TrustId,
    /// Entries in its log.
    pub size: u64,
    /// Hash of its last entry.
    pub head: EntryHash,
}

impl Genesis {
    /// The trust id this genesis defines.
    pub fn trust_id(&self) -> TrustId {
        let mut h = blake3::Hasher::new_derive_key(TRUST_ID_CONTEXT);
        h.update(&encode(self));
        TrustId(*h.finalize().as_bytes())
    }
}

/// A judged transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransitionRecord {
    /// The signed transition exactly as submitted (canonical envelope bytes).
    pub signed: Vec<u8>,
    /// Hash of the bylaw component that judged it.
    pub module: ModuleHash,
    /// The bylaw's verdict (a denial is a decision, and is logged).
    pub verdict: Verdict,
    /// What the transition did (empty for a denial).
    pub effects: Vec<Effect>,
    /// Fuel the bylaw call used.
    pub fuel: u64,
    /// Digest of the state changes the transition made (see [`crate::Change`]).
    pub changes: Hash,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    postcard::to_stdvec(value).expect("in-memory postcard encoding cannot fail")
}

/// The hash of `entry`, which the next entry stores as `prev`.
pub fn entry_hash(entry: &Entry) -> EntryHash {
    entry_hash_of(&encode(entry))
}

/// The hash of an entry's stored bytes, without decoding them: [`entry_hash`] of the entry
/// they encode. The log is its bytes: bytes that decode to the same entry in another
/// encoding hash differently, so they break the chain and the signed Merkle root.
pub fn entry_hash_of(bytes: &[u8]) -> EntryHash {
    let mut h = blake3::Hasher::new_derive_key(ENTRY_HASH_CONTEXT);
    h.update(bytes);
    EntryHash(*h.finalize().as_bytes())
}

impl Entry {
    /// The entry's stored bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decode stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, StoreError> {
        // The format comes first, so an entry of another format is named as such rather
        // than misread.
        if let Ok((found, _)) = postcard::take_from_bytes::<u32>(bytes)
            && found != ENTRY_FORMAT
        {
            return Err(StoreError::Format {
                found,
                supported: ENTRY_FORMAT,
            });
        }
        let entry: Entry = postcard::from_bytes(bytes)
            .map_err(|e| StoreError::Corrupt(format!("log entry: {e}")))?;
        if entry.format != ENTRY_FORMAT {
            return Err(StoreError::Format {
                found: entry.format,
                supported: ENTRY_FORMAT,
            });
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Charter, Parameter};

    fn genesis(salt: u8) -> Genesis {
        Genesis {
            salt: [salt; 16],
            charter: Charter {
                treasury: None,
                name: "t".into(),
                params: vec![Parameter {
                    key: "k".into(),
                    value: "v".into(),
                }],
                founders: vec![],
                assets: vec![],
                entrenched: vec![],
            },
            module: ModuleHash([1; 32]),
            engine: EngineProfile::default(),
            host_key: [2; 32],
            predecessor: None,
        }
    }

    fn entry() -> Entry {
        Entry {
            format: ENTRY_FORMAT,
            index: 0,
            prev: EntryHash::default(),
            time: 5,
            body: EntryBody::Genesis(genesis(0)),
        }
    }

    #[test]
    fn entries_round_trip_and_every_field_is_hashed() {
        let e = entry();
        assert_eq!(Entry::from_bytes(&e.to_bytes()).unwrap(), e);
        let base = entry_hash(&e);
        assert_eq!(
            entry_hash_of(&e.to_bytes()),
            base,
            "stored bytes hash as the entry"
        );
        let mut changed = e.clone();
        changed.time += 1;
        assert_ne!(entry_hash(&changed), base);
        let mut changed = e.clone();
        changed.prev.0[31] = 1;
        assert_ne!(entry_hash(&changed), base);
        let mut changed = e;
        changed.index = 1;
        assert_ne!(entry_hash(&changed), base);
    }

    #[test]
    fn the_salt_makes_trust_ids_distinct() {
        assert_ne!(genesis(0).trust_id(), genesis(1).trust_id());
        assert_eq!(genesis(2).trust_id(), genesis(2).trust_id());
    }

    #[test]
    fn unknown_formats_and_garbage_are_refused() {
        let mut e = entry();
        e.format = 99;
        assert!(matches!(
            Entry::from_bytes(&e.to_bytes()),
            Err(StoreError::Format {
                found: 99,
                supported: ENTRY_FORMAT
            })
        ));
        // An entry of the previous format is named as such, not misread.
        e.format = 1;
        assert!(matches!(
            Entry::from_bytes(&e.to_bytes()),
            Err(StoreError::Format {
                found: 1,
                supported: 2
            })
        ));
        assert!(matches!(
            Entry::from_bytes(&[0xff, 0xff]),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn hashes_are_domain_separated() {
        let bytes = entry().to_bytes();
        assert_ne!(entry_hash(&entry()), *blake3::hash(&bytes).as_bytes());
    }
}
