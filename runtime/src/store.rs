//! The store: a trust's redb tables (named in [`crate::schema`]) and every read and write of
//! them, so the rest of the runtime never touches redb's tables directly.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Serialize, de::DeserializeOwned};

use crate::engine::module_hash;
use crate::error::{LoadError, Result, StoreError};
use crate::id::{EntryHash, MemberKey, ModuleHash, TrustId};
use crate::log::encode;
use crate::model::{Choice, Constitution, Hash, Parameter};
use crate::roll::{ProposalRoll, Roster};
use crate::schema::*;

/// The file inside a trust's data directory that holds its store.
pub const STORE_FILE: &str = "trust.redb";

/// redb's own page cache per trust store (reads and the write buffer). A server keeps many
/// trusts open and the kernel's page cache already holds their files, so each store keeps
/// little of its own. Measured (`cltd bench --http`, `--members`): 1,000 idle trusts in one
/// server took 232 MiB with redb's default cache and 107 MiB with this; durable votes are
/// as fast; bytes written per vote went from 63 to 66 KB at 30 members and from 77 to
/// 108 KB at 100,000 (a large trust's pages no longer all stay buffered). 64 KiB saved no
/// more memory and wrote 107 KB per vote at 30 members.
pub(crate) const PAGE_CACHE_BYTES: usize = 128 << 10;
use crate::state::{Change, TrustState};

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn head_bytes(state: &TrustState) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(&state.size.to_le_bytes());
    b.extend_from_slice(state.head.as_slice());
    b.extend_from_slice(&state.time.to_le_bytes());
    b
}

/// The state tables of one write transaction, opened once for all the changes it writes.
pub(crate) struct StateTables<'txn> {
    meta: redb::Table<'txn, &'static str, &'static [u8]>,
    members: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    assets: redb::Table<'txn, &'static str, &'static [u8]>,
    proposals: redb::Table<'txn, u64, &'static [u8]>,
    rosters: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    electorates: redb::Table<'txn, u64, &'static [u8; 32]>,
    ballots: redb::Table<'txn, (u64, &'static [u8; 32]), u8>,
    grants: redb::Table<'txn, u64, &'static [u8]>,
    nonces: redb::Table<'txn, &'static [u8; 32], u64>,
    economy: redb::Table<'txn, &'static [u8], &'static [u8]>,
}

impl<'txn> StateTables<'txn> {
    pub(crate) fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(StateTables {
            meta: txn.open_table(META)?,
            members: txn.open_table(MEMBERS)?,
            assets: txn.open_table(ASSETS)?,
            proposals: txn.open_table(PROPOSALS)?,
            rosters: txn.open_table(ROSTERS)?,
            electorates: txn.open_table(ELECTORATES)?,
            ballots: txn.open_table(BALLOTS)?,
            grants: txn.open_table(GRANTS)?,
            nonces: txn.open_table(NONCES)?,
            economy: txn.open_table(ECONOMY)?,
        })
    }

    /// Write one state change to its table.
    pub(crate) fn write(&mut self, change: &Change) -> Result<(), StoreError> {
        fn put<K: redb::Key + 'static, V: Serialize>(
            table: &mut redb::Table<'_, K, &'static [u8]>,
            key: K::SelfType<'_>,
            value: Option<&V>,
        ) -> Result<(), StoreError> {
            match value {
                Some(v) => table.insert(key, encode(v).as_slice())?,
                None => table.remove(key)?,
            };
            Ok(())
        }
        match change {
            Change::Member { key, member } => {
                put(&mut self.members, key.as_bytes(), member.as_ref())
            }
            Change::Asset { id, asset } => put(&mut self.assets, id.as_str(), asset.as_ref()),
            Change::Proposal { id, proposal } => put(&mut self.proposals, *id, proposal.as_deref()),
            Change::Roster { hash, roster } => put(&mut self.rosters, hash, roster.as_ref()),
            Change::Electorate { id, roster } => {
                match roster {
                    Some(hash) => self.electorates.insert(*id, hash)?,
                    None => self.electorates.remove(*id)?,
                };
                Ok(())
            }
            Change::Ballot { id, voter, choice } => {
                match choice {
                    Some(c) => self.ballots.insert((*id, voter.as_bytes()), c.to_byte())?,
                    None => self.ballots.remove((*id, voter.as_bytes()))?,
                };
                Ok(())
            }
            Change::Grant { id, grant } => put(&mut self.grants, *id, grant.as_ref()),
            Change::Nonce { key, next } => {
                match next {
                    Some(n) => self.nonces.insert(key.as_bytes(), *n)?,
                    None => self.nonces.remove(key.as_bytes())?,
                };
                Ok(())
            }
            Change::Constitution(c) => {
                self.meta
                    .insert(META_CONSTITUTION, encode(c.as_ref()).as_slice())?;
                Ok(())
            }
            Change::Economy { key, record } => {
                put(&mut self.economy, encode(key).as_slice(), record.as_deref())
            }
        }
    }
}

/// What a store's `meta` table and genesis entry say, in any store format.
pub(crate) struct StoredMeta {
    /// The store format.
    pub format: u32,
    /// The trust id.
    pub id: TrustId,
    /// The rules in force.
    pub constitution: Constitution,
    /// Entries in the log.
    pub size: u64,
    /// Hash of the last entry.
    pub head: EntryHash,
    /// Host time of the last entry.
    pub time: u64,
    /// The trust's name, from its genesis entry.
    pub name: String,
}

/// The trust's name from its genesis entry's bytes, read from the fields that lead every
/// entry format so far (format, index, previous hash, time, the body's case, the salt, the
/// charter's name), so that a store of an earlier entry format still names its trust.
fn genesis_name(bytes: &[u8]) -> Result<String, StoreError> {
    #[derive(serde::Deserialize)]
    struct Leading {
        _format: u32,
        _index: u64,
        _prev: EntryHash,
        _time: u64,
        body: u32,
        _salt: [u8; 16],
        name: String,
    }
    let (leading, _) = postcard::take_from_bytes::<Leading>(bytes)
        .map_err(|e| StoreError::Corrupt(format!("genesis entry: {e}")))?;
    if leading.body != 0 {
        return Err(StoreError::Corrupt("entry 0 is not a genesis entry".into()));
    }
    Ok(leading.name)
}

/// Read the `meta` table and the genesis entry's name, first asking `accept` whether the
/// store's format is one the caller reads (before anything else is decoded).
pub(crate) fn read_meta(
    txn: &redb::ReadTransaction,
    accept: impl FnOnce(u32) -> Result<(), StoreError>,
) -> Result<StoredMeta, StoreError> {
    let meta = txn.open_table(META)?;
    let get = |k: &str| -> Result<Vec<u8>, StoreError> {
        Ok(meta
            .get(k)?
            .ok_or_else(|| StoreError::Corrupt(format!("meta `{k}` missing")))?
            .value()
            .to_vec())
    };
    let format = u32::from_le_bytes(
        get(META_FORMAT)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("meta format".into()))?,
    );
    accept(format)?;
    let id = TrustId(
        get(META_TRUST_ID)?
            .try_into()
            .map_err(|_| StoreError::Corrupt("meta trust-id".into()))?,
    );
    let constitution: Constitution = decode(&get(META_CONSTITUTION)?, "meta constitution")?;
    let head = get(META_HEAD)?;
    if head.len() != 48 {
        return Err(StoreError::Corrupt("meta head".into()));
    }
    let genesis = txn
        .open_table(LOG)?
        .get(0)?
        .ok_or_else(|| StoreError::Corrupt("genesis entry missing".into()))?;
    let name = genesis_name(genesis.value())?;
    Ok(StoredMeta {
        format,
        id,
        constitution,
        size: u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
        head: EntryHash(head[8..40].try_into().expect("32 bytes")),
        time: u64::from_le_bytes(head[40..].try_into().expect("8 bytes")),
        name,
    })
}

/// Read a trust's state from its tables (what the store says, not what the log says).
pub(crate) fn load_state(db: &impl ReadableDatabase) -> Result<TrustState, StoreError> {
    let txn = db.begin_read()?;
    let meta = read_meta(&txn, |found| {
        if found == STORE_FORMAT {
            Ok(())
        } else {
            Err(StoreError::Format {
                found,
                supported: STORE_FORMAT,
            })
        }
    })?;
    let mut state = TrustState {
        id: meta.id,
        name: meta.name,
        module: meta.constitution.module,
        charter: meta.constitution.charter,
        entrenched: meta.constitution.entrenched,
        size: meta.size,
        head: meta.head,
        time: meta.time,
        ..TrustState::default()
    };
    for row in txn.open_table(MEMBERS)?.iter()? {
        let (k, v) = row?;
        state.members.insert(
            MemberKey(*k.value()),
            Arc::new(decode(v.value(), "member")?),
        );
    }
    for row in txn.open_table(ASSETS)?.iter()? {
        let (k, v) = row?;
        state
            .assets
            .insert(k.value().to_string(), Arc::new(decode(v.value(), "asset")?));
    }
    for row in txn.open_table(PROPOSALS)?.iter()? {
        let (k, v) = row?;
        state
            .proposals
            .insert(k.value(), Arc::new(decode(v.value(), "proposal")?));
    }
    for row in txn.open_table(ROSTERS)?.iter()? {
        let (k, v) = row?;
        let roster: Roster = decode(v.value(), "roster")?;
        if roster.hash() != k.value() {
            return Err(StoreError::Corrupt(format!(
                "the roster stored as {} has digest {}",
                hex::encode(k.value()),
                hex::encode(roster.hash())
            )));
        }
        state.rosters.insert(*roster.hash(), roster);
    }
    for row in txn.open_table(ELECTORATES)?.iter()? {
        let (k, v) = row?;
        let id = k.value();
        let roster = state.rosters.get(v.value()).cloned().ok_or_else(|| {
            StoreError::Corrupt(format!("proposal {id} names a roster the store lacks"))
        })?;
        let closes_at = state
            .proposals
            .get(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("electorate of no proposal {id}")))?
            .proposal
            .closes_at;
        state
            .rolls
            .insert(id, Arc::new(ProposalRoll::new(roster, closes_at)));
    }
    for row in txn.open_table(BALLOTS)?.iter()? {
        let (k, v) = row?;
        let (id, voter) = k.value();
        let choice = Choice::from_byte(v.value())
            .ok_or_else(|| StoreError::Corrupt(format!("ballot on proposal {id}")))?;
        let roll = state
            .rolls
            .get_mut(&id)
            .ok_or_else(|| StoreError::Corrupt(format!("ballot on proposal {id}")))?;
        if !roll.contains(&MemberKey(*voter)) {
            return Err(StoreError::Corrupt(format!(
                "a ballot on proposal {id} from a key outside its electorate"
            )));
        }
        let mut scratch = crate::model::Votes::zero();
        Arc::make_mut(roll).set(&MemberKey(*voter), Some(choice), &mut scratch);
    }
    // The count each proposal carries is the count of its roll.
    for (id, roll) in state.rolls.iter() {
        if let Some(p) = state.proposals.get_mut(id) {
            Arc::make_mut(p).proposal.votes = roll.count();
        }
    }
    state.counts = state.count_members();
    state.name_counts = state.count_names();
    state.open_counts = state.count_open();
    for row in txn.open_table(GRANTS)?.iter()? {
        let (k, v) = row?;
        state
            .grants
            .insert(k.value(), Arc::new(decode(v.value(), "grant")?));
    }
    for row in txn.open_table(NONCES)?.iter()? {
        let (k, v) = row?;
        state.nonces.insert(MemberKey(*k.value()), v.value());
    }
    for row in txn.open_table(ECONOMY)?.iter()? {
        let (k, v) = row?;
        state.economy.insert(
            decode(k.value(), "economy key")?,
            Arc::new(decode(v.value(), "economy record")?),
        );
    }
    Ok(state)
}

/// The format a store file says it has, read without opening it for writing (`None` if it
/// cannot be read so: a store left unclean by a crash must be opened for writing, which
/// repairs it, and is then checked as usual).
pub(crate) fn stored_format(path: &Path) -> Option<u32> {
    let db = redb::ReadOnlyDatabase::open(path).ok()?;
    let txn = db.begin_read().ok()?;
    let meta = txn.open_table(META).ok()?;
    let bytes = meta.get(META_FORMAT).ok()??;
    Some(u32::from_le_bytes(bytes.value().try_into().ok()?))
}

/// Read every log entry, in index order, as stored.
pub(crate) fn read_entries(db: &impl ReadableDatabase) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
    let txn = db.begin_read()?;
    let log = txn.open_table(LOG)?;
    let mut out = Vec::new();
    for row in log.iter()? {
        let (k, v) = row?;
        out.push((k.value(), v.value().to_vec()));
    }
    Ok(out)
}

/// The stored bytes of the log entries with indexes in `range`, in order (fewer if the log
/// ends first).
pub(crate) fn read_entry_bytes(
    db: &impl ReadableDatabase,
    range: std::ops::Range<u64>,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let txn = db.begin_read()?;
    let log = txn.open_table(LOG)?;
    log.range(range)?
        .map(|row| row.map(|(_, v)| v.value().to_vec()))
        .collect::<std::result::Result<_, _>>()
        .map_err(StoreError::from)
}

/// Whether any impact preview of the pair `key` is stored.
pub(crate) fn has_preview(db: &impl ReadableDatabase, key: &Hash) -> Result<bool, StoreError> {
    let txn = db.begin_read()?;
    if let Some(records) = open_if_present(&txn, PREVIEW_RECORDS)?
        && records.range((key, 0)..=(key, u64::MAX))?.next().is_some()
    {
        return Ok(true);
    }
    Ok(match open_if_present(&txn, PREVIEWS)? {
        Some(legacy) => legacy.get(key)?.is_some(),
        None => false,
    })
}

/// The latest stored impact preview of the pair `key` (an `ImpactPreview`, postcard): the
/// record at the greatest log size, else the one a store from before the records kept.
pub(crate) fn read_preview<T: DeserializeOwned>(
    db: &impl ReadableDatabase,
    key: &Hash,
) -> Result<Option<T>, StoreError> {
    let txn = db.begin_read()?;
    if let Some(records) = open_if_present(&txn, PREVIEW_RECORDS)?
        && let Some(row) = records.range((key, 0)..=(key, u64::MAX))?.next_back()
    {
        return decode(row?.1.value(), "impact preview").map(Some);
    }
    let Some(legacy) = open_if_present(&txn, PREVIEWS)? else {
        return Ok(None);
    };
    legacy
        .get(key)?
        .map(|v| {
            // These predate the record's last field, an `Option` (`in_force`): postcard
            // writes `None` as one zero byte, so appending it reads them as records that
            // did not record the charter in force.
            let mut bytes = v.value().to_vec();
            bytes.push(0);
            decode(&bytes, "impact preview")
        })
        .transpose()
}

/// Store `bytes` as the impact preview of the pair `key` computed at log size `size`,
/// unless one is stored there already (records are never overwritten). True if stored.
pub(crate) fn insert_preview(
    txn: &redb::WriteTransaction,
    key: &Hash,
    size: u64,
    bytes: &[u8],
) -> Result<bool, StoreError> {
    let mut records = txn.open_table(PREVIEW_RECORDS)?;
    if records.get((key, size))?.is_some() {
        return Ok(false);
    }
    records.insert((key, size), bytes)?;
    Ok(true)
}

/// Open a table that a store written by an older cltd may not have.
fn open_if_present<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: redb::TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, StoreError> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Read a stored module and check that its bytes still hash to `hash` (`None` if absent).
pub(crate) fn read_intact_module(
    db: &impl ReadableDatabase,
    hash: &ModuleHash,
) -> Result<Option<Vec<u8>>> {
    let Some(bytes) = read_module(db, hash)? else {
        return Ok(None);
    };
    let calculated = module_hash(&bytes);
    if &calculated != hash {
        return Err(LoadError::HashMismatch {
            expected: hex::encode(hash),
            calculated: hex::encode(calculated),
        }
        .into());
    }
    Ok(Some(bytes))
}

/// Read a stored module's bytes.
pub(crate) fn read_module(
    db: &impl ReadableDatabase,
    hash: &ModuleHash,
) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read()?;
    let modules = txn.open_table(MODULES)?;
    Ok(modules.get(hash.as_bytes())?.map(|v| v.value().to_vec()))
}

/// A write transaction as every write to a trust's store uses it: two-phase commit (the
/// header on disk is valid after a crash without trusting checksums) and quick repair (the
/// allocator state is saved with each commit, so reopening after a crash is fast).
pub(crate) fn durable_write(db: &Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_two_phase_commit(true);
    txn.set_quick_repair(true);
    Ok(txn)
}

/// The key a preview is stored under: the candidate and the charter it proposes.
pub fn preview_key(module: &ModuleHash, proposed: &[Parameter]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key("cltd 2026-11 impact preview key v1");
    h.update(module.as_slice());
    h.update(&postcard::to_stdvec(proposed).expect("in-memory encoding cannot fail"));
    *h.finalize().as_bytes()
}
