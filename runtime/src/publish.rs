//! What a trust publishes of its log: checkpoints signed by the host key (and those
//! witnesses cosigned), the Merkle leaves proofs are built from, audit bundles, entries,
//! stored modules, and a raw dump for byte-for-byte comparisons.

use redb::{ReadableDatabase, ReadableTable};

use crate::bundle::{Bundle, Manifest};
use crate::checkpoint::{Checkpoint, SignedNote, origin};
use crate::error::{CheckpointError, Error, LoadError, Result, StoreError};
use crate::host_rules;
use crate::id::ModuleHash;
use crate::log::{Entry, EntryBody, Genesis, entry_hash_of};
use crate::merkle;
use crate::model::{Action, ProposalBody, ProposalState};
use crate::schema::*;
use crate::snapshot::{GenesisFacts, Snapshot};
use crate::store::{read_entries, read_module};
use crate::transition::SignedTransition;
use crate::tree;
use crate::trust::{HOST_KEY_FILE, Trust};

impl Snapshot {
    /// The Merkle tree's leaf hashes: one per entry, `SHA-256(0x00 ‖ entry hash)`.
    pub fn leaves(&self) -> Result<Vec<merkle::TreeHash>> {
        let txn = self.db.begin_read()?;
        let log = txn.open_table(LOG)?;
        let mut leaves = Vec::with_capacity(usize::try_from(self.state.size).unwrap_or(0));
        for row in log.range(..self.state.size)? {
            let (_, v) = row?;
            leaves.push(merkle::leaf_hash(entry_hash_of(v.value()).as_slice()));
        }
        Ok(leaves)
    }

    /// The stored Merkle tree, if it covers the whole log (it does once a writer has opened
    /// the store; a store from before the tree was kept, opened only for reading, does not).
    /// It may cover more, when commits followed this snapshot: its nodes never change once
    /// written, so the tree of the snapshot's size is read from the same table.
    fn full_tree(
        &self,
        txn: &redb::ReadTransaction,
    ) -> Result<Option<redb::ReadOnlyTable<u64, &'static [u8; 32]>>> {
        let table = match txn.open_table(TREE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(StoreError::from(e).into()),
        };
        Ok((tree::covered(&table)? >= self.state.size).then_some(table))
    }

    /// The Merkle root of the whole log: O(log n) reads of the stored tree, or every
    /// entry's hash when there is no complete stored tree.
    pub fn root(&self) -> Result<merkle::TreeHash> {
        self.root_at(self.state.size)?
            .ok_or_else(|| StoreError::Corrupt("the log is shorter than its state".into()).into())
    }

    /// The Merkle root of the log's first `size` entries (what a checkpoint of that size
    /// signs), or `None` when `size` is past this snapshot's log: O(log n) reads of the
    /// stored tree, or every entry's hash when there is no complete stored tree.
    pub fn root_at(&self, size: u64) -> Result<Option<merkle::TreeHash>> {
        if size > self.state.size {
            return Ok(None);
        }
        let txn = self.db.begin_read()?;
        match self.full_tree(&txn)? {
            Some(table) => Ok(Some(tree::range_root(&mut tree::reader(&table), 0, size)?)),
            None => {
                let leaves = self.leaves()?;
                Ok(leaves
                    .get(..usize::try_from(size).unwrap_or(usize::MAX))
                    .map(merkle::root))
            }
        }
    }

    /// A checkpoint of the whole log, signed with the host key as a C2SP signed note.
    pub fn checkpoint(&self) -> Result<SignedNote> {
        let host_key = self.host_key()?;
        let host = self
            .host
            .as_ref()
            .filter(|k| k.public() == host_key)
            .ok_or_else(|| {
                Error::HostKey(format!(
                    "{} is missing or holds another key (the trust's is {})",
                    self.path.join(HOST_KEY_FILE).display(),
                    hex::encode(host_key)
                ))
            })?;
        let checkpoint = Checkpoint {
            origin: origin(&self.state.id),
            size: self.state.size,
            root: self.root()?,
        };
        Ok(SignedNote::sign(
            &checkpoint.text(),
            &checkpoint.origin,
            host,
        ))
    }

    /// The stored checkpoint (with its cosignatures), if it still covers the whole log.
    pub fn stored_checkpoint(&self) -> Result<Option<SignedNote>> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let Some(stored) = meta.get(META_CHECKPOINT)? else {
            return Ok(None);
        };
        let text = String::from_utf8(stored.value().to_vec())
            .map_err(|_| StoreError::Corrupt("stored checkpoint is not text".into()))?;
        let note = SignedNote::parse(&text)
            .map_err(|e| StoreError::Corrupt(format!("stored checkpoint: {e}")))?;
        let current = Checkpoint::parse(&note.text)
            .map(|c| c.size == self.state.size)
            .unwrap_or(false);
        Ok(current.then_some(note))
    }

    /// The inclusion proof of entry `index` in the current log, checked against the log's
    /// root before it is returned.
    pub fn inclusion_proof(&self, index: u64) -> Result<LogProof> {
        let size = self.state.size;
        if index >= size {
            return Err(CheckpointError::NoSuchEntry { index, size }.into());
        }
        let txn = self.db.begin_read()?;
        let (root, leaf, hashes) = match self.full_tree(&txn)? {
            Some(table) => {
                let mut get = tree::reader(&table);
                (
                    tree::range_root(&mut get, 0, size)?,
                    get(0, index)?,
                    tree::inclusion_proof(&mut get, size, index)?,
                )
            }
            None => {
                let leaves = self.leaves()?;
                let at = usize::try_from(index).expect("below the log's size");
                let hashes = merkle::inclusion_proof(&leaves, at).map_err(CheckpointError::from)?;
                (merkle::root(&leaves), leaves[at], hashes)
            }
        };
        merkle::verify_inclusion(index, size, &leaf, &hashes, &root)
            .map_err(CheckpointError::from)?;
        Ok(LogProof {
            kind: ProofKind::Inclusion(index),
            size,
            root,
            hashes,
        })
    }

    /// The consistency proof from the log's first `old` entries to the current log, checked
    /// against both roots before it is returned.
    pub fn consistency_proof(&self, old: u64) -> Result<LogProof> {
        let size = self.state.size;
        if old > size {
            return Err(CheckpointError::Larger { old, size }.into());
        }
        let txn = self.db.begin_read()?;
        let (root, old_root, hashes) = match self.full_tree(&txn)? {
            Some(table) => {
                let mut get = tree::reader(&table);
                (
                    tree::range_root(&mut get, 0, size)?,
                    tree::range_root(&mut get, 0, old)?,
                    tree::consistency_proof(&mut get, size, old)?,
                )
            }
            None => {
                let leaves = self.leaves()?;
                let at = usize::try_from(old).expect("at most the log's size");
                let hashes =
                    merkle::consistency_proof(&leaves, at).map_err(CheckpointError::from)?;
                (merkle::root(&leaves), merkle::root(&leaves[..at]), hashes)
            }
        };
        merkle::verify_consistency(old, size, &old_root, &root, &hashes)
            .map_err(CheckpointError::from)?;
        Ok(LogProof {
            kind: ProofKind::Consistency(old),
            size,
            root,
            hashes,
        })
    }

    /// Every module that has been in force, oldest first: the genesis module, then each
    /// executed amendment's, with the time it came into force.
    pub fn module_history(&self) -> Result<Vec<InForce<'_>>> {
        let mut out = vec![InForce {
            module: self.genesis_facts()?.module,
            since: self.genesis_facts()?.time,
            by: None,
        }];
        for (number, p) in self.state.proposals.iter() {
            if let (ProposalBody::AmendBylaws(a), Some(at)) = (&p.proposal.body, p.executed_at) {
                let module = a.module.parse::<ModuleHash>().map_err(|_| {
                    StoreError::Corrupt(format!(
                        "executed amendment {} names module `{}`, not a hash",
                        number, a.module
                    ))
                })?;
                out.push(InForce {
                    module,
                    since: at,
                    by: Some(p),
                });
            }
        }
        Ok(out)
    }

    /// The checkpoint to publish: the stored one with its cosignatures while it still covers
    /// the whole log, else a fresh one signed by the host key.
    pub fn latest_checkpoint(&self) -> Result<SignedNote> {
        match self.stored_checkpoint()? {
            Some(cosigned) => Ok(cosigned),
            None => self.checkpoint(),
        }
    }

    /// An audit bundle of the whole log: every entry, every module its replay needs (the
    /// genesis module and every amendment's candidate), the checkpoint (with the witnesses'
    /// cosignatures gathered for it, if it is still current) and the trust's keys.
    pub fn export(&self) -> Result<Bundle> {
        let genesis = self.genesis()?;
        let checkpoint = self.latest_checkpoint()?.to_string();
        let mut entries = Vec::new();
        let mut needed = vec![genesis.module];
        for (_, bytes) in read_entries(&*self.db)?
            .into_iter()
            .filter(|(i, _)| *i < self.state.size)
        {
            let entry = Entry::from_bytes(&bytes)?;
            if let EntryBody::Transition(rec) = &entry.body
                && let Ok((_, body)) = SignedTransition::decode(&rec.signed)
                && let Action::Propose(d) = &body.action
                && let ProposalBody::AmendBylaws(a) = &d.body
                && let Ok(module) = host_rules::amendment_module(a)
                && !needed.contains(&module)
            {
                needed.push(module);
            }
            entries.push(bytes);
        }
        let mut modules = Vec::new();
        for hash in &needed {
            let bytes = read_module(&*self.db, hash)?
                .ok_or_else(|| LoadError::Missing(hex::encode(hash)))?;
            modules.push(bytes);
        }
        Ok(Bundle {
            manifest: Manifest {
                trust_id: self.state.id,
                host_key: genesis.host_key,
                entries: entries.len() as u64,
                modules: modules.len() as u64,
            },
            checkpoint,
            entries,
            modules,
        })
    }

    /// Log entries `from..` (at most `limit`) up to this snapshot's size, decoded.
    pub fn entries(&self, from: u64, limit: usize) -> Result<Vec<Entry>> {
        let txn = self.db.begin_read()?;
        let log = txn.open_table(LOG)?;
        let mut out = Vec::new();
        if from >= self.state.size {
            return Ok(out);
        }
        for row in log.range(from..self.state.size)?.take(limit) {
            let (_, v) = row?;
            out.push(Entry::from_bytes(v.value())?);
        }
        Ok(out)
    }

    /// The host's public key, as the genesis entry records it: the key every checkpoint of
    /// this log is signed with.
    pub fn host_key(&self) -> Result<crate::model::Key> {
        Ok(self.genesis_facts()?.host_key)
    }

    /// What reads need of the genesis entry, decoded on first use (see [`GenesisFacts`]).
    pub(crate) fn genesis_facts(&self) -> Result<GenesisFacts> {
        if let Some(facts) = self.genesis_facts.get() {
            return Ok(*facts);
        }
        let facts = match self.entries(0, 1)?.pop() {
            Some(Entry {
                time,
                body: EntryBody::Genesis(g),
                ..
            }) => GenesisFacts {
                host_key: g.host_key,
                module: g.module,
                time,
                engine_matches: g.engine.replay_compatible(self.runtime.profile()),
            },
            _ => return Err(StoreError::Corrupt("entry 0 is not a genesis entry".into()).into()),
        };
        Ok(*self.genesis_facts.get_or_init(|| facts))
    }

    /// The genesis entry's contents.
    pub fn genesis(&self) -> Result<Genesis> {
        match self.entries(0, 1)?.pop().map(|e| e.body) {
            Some(EntryBody::Genesis(g)) => Ok(g),
            _ => Err(StoreError::Corrupt("entry 0 is not a genesis entry".into()).into()),
        }
    }

    /// The stored bytes of the bylaw component `hash`.
    pub fn module_bytes(&self, hash: &ModuleHash) -> Result<Option<Vec<u8>>> {
        Ok(read_module(&*self.db, hash)?)
    }

    /// Every stored bylaw component (in force, past, or uploaded as a candidate): its hash and
    /// size in bytes, in hash order.
    pub fn stored_modules(&self) -> Result<Vec<(ModuleHash, usize)>> {
        let txn = self.db.begin_read()?;
        let modules = txn.open_table(MODULES).map_err(StoreError::from)?;
        let mut out = Vec::new();
        for row in modules.iter().map_err(StoreError::from)? {
            let (k, v) = row.map_err(StoreError::from)?;
            out.push((ModuleHash(*k.value()), v.value().len()));
        }
        Ok(out)
    }

    /// A canonical dump of every table's raw bytes, for byte-for-byte comparisons of the store
    /// in tests and fuzzing (the `testing` feature).
    #[cfg(feature = "testing")]
    pub fn dump(&self) -> Result<Vec<u8>> {
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        let mut push = |k: &[u8], v: &[u8]| {
            out.extend_from_slice(&(k.len() as u64).to_le_bytes());
            out.extend_from_slice(k);
            out.extend_from_slice(&(v.len() as u64).to_le_bytes());
            out.extend_from_slice(v);
        };
        // Every table in schema order; keys and values as the bytes they are stored as.
        macro_rules! dump {
            ($($table:expr, |$k:ident| $key:expr, |$v:ident| $value:expr;)*) => {$(
                let table = match txn.open_table($table) {
                    Ok(t) => Some(t),
                    Err(redb::TableError::TableDoesNotExist(_)) => None,
                    Err(e) => return Err(StoreError::from(e).into()),
                };
                for row in table.iter().flat_map(|t| t.iter()).flatten() {
                    let (k, v) = row?;
                    let ($k, $v) = (k.value(), v.value());
                    push($key, $value);
                }
            )*};
        }
        dump!(
            META, |k| k.as_bytes(), |v| v;
            LOG, |k| &k.to_le_bytes(), |v| v;
            MODULES, |k| k, |v| v;
            PREVIEW_RECORDS, |k| &[k.0.as_slice(), &k.1.to_le_bytes()].concat(), |v| v;
            PREVIEWS, |k| k, |v| v;
            MEMBERS, |k| k, |v| v;
            ASSETS, |k| k.as_bytes(), |v| v;
            PROPOSALS, |k| &k.to_le_bytes(), |v| v;
            GRANTS, |k| &k.to_le_bytes(), |v| v;
            NONCES, |k| k, |v| &v.to_le_bytes();
            ECONOMY, |k| k, |v| v;
            TREE, |k| &k.to_le_bytes(), |v| v;
        );
        Ok(out)
    }
}

/// What a [`LogProof`] proves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofKind {
    /// That entry N is in the log.
    Inclusion(u64),
    /// That the log's first N entries are unchanged in the current log.
    Consistency(u64),
}

impl std::fmt::Display for ProofKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProofKind::Inclusion(i) => write!(f, "inclusion of entry {i}"),
            ProofKind::Consistency(m) => write!(f, "consistency of the first {m} entries"),
        }
    }
}

/// A proof about a trust's current log (RFC 6962), checked against its root before it is
/// handed out.
#[derive(Debug, Clone)]
pub struct LogProof {
    /// What it proves.
    pub kind: ProofKind,
    /// The log's size.
    pub size: u64,
    /// The log's root.
    pub root: merkle::TreeHash,
    /// The proof's hashes.
    pub hashes: Vec<merkle::TreeHash>,
}

/// A module that was in force: since when, and by which executed amendment (none for the
/// genesis module).
#[derive(Debug, Clone)]
pub struct InForce<'a> {
    /// The module's hash.
    pub module: ModuleHash,
    /// When it came into force (host time, seconds).
    pub since: u64,
    /// The amendment that put it in force.
    pub by: Option<&'a ProposalState>,
}

impl Trust {
    /// Store `note` as the log's latest checkpoint with the cosignatures it carries. It must
    /// be this log's current checkpoint, signed by the host key; its signatures are merged
    /// with those already stored for the same checkpoint.
    pub fn store_checkpoint(&self, note: &SignedNote) -> Result<()> {
        let fresh = self.checkpoint()?;
        if note.text != fresh.text {
            return Err(CheckpointError::NotCurrent.into());
        }
        note.verify(&origin(&self.state.id), &self.host_key()?)
            .map_err(|e| CheckpointError::Unsigned(e.to_string()))?;
        let mut merged = self.stored_checkpoint()?.unwrap_or(fresh);
        for s in &note.signatures {
            if !merged.signatures.contains(s) {
                merged.signatures.push(s.clone());
            }
        }
        self.write(|txn| {
            txn.open_table(META)?
                .insert(META_CHECKPOINT, merged.to_string().as_bytes())?;
            Ok(())
        })?;
        Ok(())
    }
}
