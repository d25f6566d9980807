//! Replication of a trust's log through an ordered, durable engine (NATS JetStream in
//! production; [`MemoryReplicator`] in tests): what a node appends, and what it reads back.
//!
//! The unit is an [`Envelope`]: the entries one group commit judged, exactly as the log
//! stores them, with the trust they belong to, the index of the first and the hash of the
//! entry before it. Entries authenticate themselves (signed transitions, hash chain, the
//! bylaws' verdicts re-executed on apply), so the engine is trusted only for order,
//! durability and availability, never for content. A refusal is never judged into an
//! envelope, so it leaves no trace in the engine either.
//!
//! An append is a compare-and-append: it names the stream sequence of the trust's last
//! envelope the node has applied (its cursor), and the engine refuses it if anything was
//! appended since ([`ReplicaError::Conflict`]). That one rule is what keeps the log from
//! forking whatever the nodes believe about who writes: two nodes appending after the same
//! cursor cannot both succeed, and the loser rolls back, applies what it missed, and judges
//! again (see `Trust::submit_checked_batch`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::id::{EntryHash, ModuleHash, TrustId};
use crate::log::entry_hash_of;

/// Domain prefix of an encoded envelope.
const ENVELOPE_MAGIC: &[u8] = b"cltd/envelope/v1\0";

/// Largest envelope this runtime decodes, in bytes (a group commit of transitions of at
/// most 64 KiB each stays far below it).
pub const MAX_ENVELOPE_BYTES: usize = 64 << 20;

/// The entries of one group commit, as replicated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The trust whose log they extend.
    pub trust: TrustId,
    /// Index of the first entry.
    pub first: u64,
    /// Hash of the entry before the first (all zeros before the genesis entry).
    pub prev: EntryHash,
    /// The entries' stored bytes, in log order.
    pub entries: Vec<Vec<u8>>,
}

impl Envelope {
    /// The hash of its last entry: the log's head once it is applied, and the message id
    /// an engine deduplicates a re-sent append by. `None` for an empty envelope.
    pub fn last_hash(&self) -> Option<EntryHash> {
        self.entries.last().map(|e| entry_hash_of(e))
    }

    /// The log size once it is applied.
    pub fn end(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    /// Its bytes on the wire.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = ENVELOPE_MAGIC.to_vec();
        out.extend(postcard::to_stdvec(self).expect("in-memory encoding cannot fail"));
        out
    }

    /// Decode bytes read from the engine.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, ReplicaError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(ReplicaError::Malformed(format!(
                "an envelope of {} bytes is over the {MAX_ENVELOPE_BYTES}-byte limit",
                bytes.len()
            )));
        }
        let body = bytes
            .strip_prefix(ENVELOPE_MAGIC)
            .ok_or_else(|| ReplicaError::Malformed("not a cltd envelope".into()))?;
        let (envelope, rest): (Envelope, &[u8]) = postcard::take_from_bytes(body)
            .map_err(|e| ReplicaError::Malformed(format!("undecodable envelope: {e}")))?;
        if !rest.is_empty() {
            return Err(ReplicaError::Malformed(format!(
                "{} bytes after the envelope",
                rest.len()
            )));
        }
        if envelope.entries.is_empty() {
            return Err(ReplicaError::Malformed(
                "an envelope with no entries".into(),
            ));
        }
        Ok(envelope)
    }
}

/// Why the engine did not take or give an envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplicaError {
    /// The compare-and-append failed: the trust's stream has envelopes after the cursor the
    /// append named, so this node is behind. Nothing of the append was stored.
    #[error(
        "another node extended this trust's log first (stream sequence {found}, expected {expected})"
    )]
    Conflict {
        /// The sequence the append expected to be last.
        expected: u64,
        /// The sequence that is last.
        found: u64,
    },
    /// The engine did not answer in time, or the connection dropped after sending: the
    /// append may or may not be stored. Resolved by reading the stream's last envelope.
    #[error("the replication engine did not confirm the append: {0}")]
    Ambiguous(String),
    /// No quorum or no connection: nothing was appended.
    #[error("the replication engine is unavailable: {0}")]
    Unavailable(String),
    /// Bytes in the stream are not an envelope this runtime reads.
    #[error("malformed envelope: {0}")]
    Malformed(String),
    /// The engine holds no log of this trust.
    #[error("the replication engine holds no log of trust {0}")]
    NoLog(TrustId),
}

/// An ordered, durable log of envelopes per trust, with compare-and-append.
///
/// Sequences are the engine's: increasing per trust, starting at 1 (0 names "nothing yet").
/// Implementations must store an envelope durably on a quorum before `append` returns it.
pub trait Replicator: Send + Sync {
    /// Append `envelope` to `trust`'s stream if its last sequence is `expected` (0: the
    /// stream is empty). `id` is the envelope's last entry hash: an engine that sees the same
    /// id again within its deduplication window answers with the first append's sequence
    /// instead of storing it twice. Returns the envelope's sequence.
    fn append(
        &self,
        trust: &TrustId,
        expected: u64,
        id: &EntryHash,
        envelope: &[u8],
    ) -> Result<u64, ReplicaError>;

    /// The stream's last envelope and its sequence, if any.
    fn last(&self, trust: &TrustId) -> Result<Option<(u64, Vec<u8>)>, ReplicaError>;

    /// Envelopes after sequence `after`, in order, at most `limit` of them.
    fn read_after(
        &self,
        trust: &TrustId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ReplicaError>;

    /// The bylaw module `module` (as uploaded) from the engine's module store, for an entry
    /// to apply that names it (an amendment proposed on another node); `None` when the
    /// engine keeps no modules or lacks this one. The engine is trusted for availability
    /// only: the bytes are stored only if they hash to `module`.
    fn module(&self, module: &ModuleHash) -> Result<Option<Vec<u8>>, ReplicaError> {
        let _ = module;
        Ok(None)
    }
}

/// What [`MemoryReplicator`] does with the next append (fault injection for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NextAppend {
    /// Behave as a healthy engine.
    #[default]
    Normal,
    /// Store the envelope, then answer [`ReplicaError::Ambiguous`] (the reply was lost).
    StoreThenAmbiguous,
    /// Store nothing and answer [`ReplicaError::Ambiguous`] (the request was lost).
    LoseThenAmbiguous,
    /// Store the envelope, answer [`ReplicaError::Ambiguous`], and go down (every call
    /// answers unavailable until [`MemoryReplicator::set_down`] brings it back).
    StoreThenDown,
    /// Store nothing and answer [`ReplicaError::Unavailable`] (no quorum).
    Unavailable,
}

/// An in-process engine: each trust's stream in memory, with compare-and-append and
/// deduplication by id, and faults to inject. For tests and single-process use; it
/// survives nothing.
#[derive(Debug, Default)]
pub struct MemoryReplicator {
    inner: Mutex<MemoryStreams>,
}

#[derive(Debug, Default)]
struct MemoryStreams {
    streams: BTreeMap<TrustId, Vec<(EntryHash, Vec<u8>)>>,
    /// Its module store: modules by the hash they are stored under (unchecked, as an
    /// engine's would be).
    modules: BTreeMap<ModuleHash, Vec<u8>>,
    next: NextAppend,
    /// Reads fail while set (as when the engine is down).
    down: bool,
}

impl MemoryReplicator {
    /// An empty engine.
    pub fn new() -> MemoryReplicator {
        MemoryReplicator::default()
    }

    /// Make the next append behave as `what` (then healthy again).
    pub fn inject(&self, what: NextAppend) {
        self.lock().next = what;
    }

    /// Keep `bytes` in the engine's module store under `module` (a node puts every module
    /// it takes as an upload there before any entry names it).
    pub fn put_module(&self, module: ModuleHash, bytes: Vec<u8>) {
        self.lock().modules.insert(module, bytes);
    }

    /// Take the engine down (every call answers unavailable) or bring it back.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Replace the stored envelope at `seq` (tampering, for tests of what a follower does
    /// with an envelope that does not replay). Returns false if there is none.
    pub fn replace(&self, trust: &TrustId, seq: u64, bytes: Vec<u8>) -> bool {
        let mut g = self.lock();
        let Some(slot) = g
            .streams
            .get_mut(trust)
            .and_then(|s| s.get_mut(index(seq)?))
        else {
            return false;
        };
        slot.1 = bytes;
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryStreams> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The position in a stream of sequence `seq` (1-based).
fn index(seq: u64) -> Option<usize> {
    usize::try_from(seq.checked_sub(1)?).ok()
}

impl Replicator for MemoryReplicator {
    fn module(&self, module: &ModuleHash) -> Result<Option<Vec<u8>>, ReplicaError> {
        let g = self.lock();
        if g.down {
            return Err(ReplicaError::Unavailable("the engine is down".into()));
        }
        Ok(g.modules.get(module).cloned())
    }

    fn append(
        &self,
        trust: &TrustId,
        expected: u64,
        id: &EntryHash,
        envelope: &[u8],
    ) -> Result<u64, ReplicaError> {
        let mut g = self.lock();
        if g.down {
            return Err(ReplicaError::Unavailable("the engine is down".into()));
        }
        let next = std::mem::take(&mut g.next);
        let stream = g.streams.entry(*trust).or_default();
        if let Some(at) = stream.iter().position(|(i, _)| i == id) {
            return Ok(at as u64 + 1);
        }
        let found = stream.len() as u64;
        match next {
            NextAppend::Unavailable => {
                return Err(ReplicaError::Unavailable("no quorum".into()));
            }
            NextAppend::LoseThenAmbiguous => {
                return Err(ReplicaError::Ambiguous("the request timed out".into()));
            }
            NextAppend::Normal | NextAppend::StoreThenAmbiguous | NextAppend::StoreThenDown => {}
        }
        if found != expected {
            return Err(ReplicaError::Conflict { expected, found });
        }
        stream.push((*id, envelope.to_vec()));
        match next {
            NextAppend::StoreThenAmbiguous => {
                return Err(ReplicaError::Ambiguous("the reply was lost".into()));
            }
            NextAppend::StoreThenDown => {
                g.down = true;
                return Err(ReplicaError::Ambiguous("the connection dropped".into()));
            }
            _ => {}
        }
        Ok(found + 1)
    }

    fn last(&self, trust: &TrustId) -> Result<Option<(u64, Vec<u8>)>, ReplicaError> {
        let g = self.lock();
        if g.down {
            return Err(ReplicaError::Unavailable("the engine is down".into()));
        }
        Ok(g.streams
            .get(trust)
            .and_then(|s| s.last().map(|(_, b)| (s.len() as u64, b.clone()))))
    }

    fn read_after(
        &self,
        trust: &TrustId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ReplicaError> {
        let g = self.lock();
        if g.down {
            return Err(ReplicaError::Unavailable("the engine is down".into()));
        }
        let Some(stream) = g.streams.get(trust) else {
            return Ok(Vec::new());
        };
        Ok(stream
            .iter()
            .enumerate()
            .skip(usize::try_from(after).unwrap_or(usize::MAX))
            .take(limit)
            .map(|(i, (_, b))| (i as u64 + 1, b.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(first: u64, n: u8) -> Envelope {
        Envelope {
            trust: TrustId([7; 32]),
            first,
            prev: EntryHash([1; 32]),
            entries: (0..n).map(|i| vec![i; 3]).collect(),
        }
    }

    #[test]
    fn an_envelope_round_trips_and_refuses_what_is_not_one() {
        let e = envelope(4, 2);
        assert_eq!(Envelope::from_bytes(&e.to_bytes()).unwrap(), e);
        assert_eq!(e.end(), 6);
        let mut trailing = e.to_bytes();
        trailing.push(0);
        for bad in [
            b"nonsense".to_vec(),
            trailing,
            envelope(1, 0).to_bytes(),
            e.to_bytes()[..20].to_vec(),
        ] {
            assert!(matches!(
                Envelope::from_bytes(&bad),
                Err(ReplicaError::Malformed(_))
            ));
        }
    }

    #[test]
    fn appends_compare_deduplicate_and_fail_as_injected() {
        let r = MemoryReplicator::new();
        let t = TrustId([7; 32]);
        let (a, b) = (EntryHash([1; 32]), EntryHash([2; 32]));
        assert_eq!(r.append(&t, 0, &a, b"a"), Ok(1));
        // The same id again: the first append's sequence, nothing stored twice.
        assert_eq!(r.append(&t, 0, &a, b"a"), Ok(1));
        assert_eq!(
            r.append(&t, 0, &b, b"b"),
            Err(ReplicaError::Conflict {
                expected: 0,
                found: 1
            })
        );
        r.inject(NextAppend::Unavailable);
        assert!(matches!(
            r.append(&t, 1, &b, b"b"),
            Err(ReplicaError::Unavailable(_))
        ));
        r.inject(NextAppend::LoseThenAmbiguous);
        assert!(matches!(
            r.append(&t, 1, &b, b"b"),
            Err(ReplicaError::Ambiguous(_))
        ));
        assert_eq!(r.last(&t).unwrap().unwrap().0, 1);
        r.inject(NextAppend::StoreThenAmbiguous);
        assert!(matches!(
            r.append(&t, 1, &b, b"b"),
            Err(ReplicaError::Ambiguous(_))
        ));
        assert_eq!(r.last(&t).unwrap(), Some((2, b"b".to_vec())));
        assert_eq!(r.read_after(&t, 1, 10).unwrap(), vec![(2, b"b".to_vec())]);
        assert_eq!(r.read_after(&t, 0, 1).unwrap().len(), 1);
        r.set_down(true);
        assert!(matches!(r.last(&t), Err(ReplicaError::Unavailable(_))));
    }
}
