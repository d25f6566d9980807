//! A trust on disk: creating and opening its store, judging transitions and committing them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};
use serde::{Serialize, de::DeserializeOwned};

use crate::amendment::{self, Upload};
use crate::bundle::{Bundle, Manifest};
use crate::checkpoint::{Checkpoint, SignedNote, origin};
use crate::clock::Clock;
use crate::engine::{Runtime, module_hash, to_component};
use crate::entrenched::{Setting, first_failure};
use crate::error::{CharterError, Error, EvalError, LoadError, RefusalError, Result, StoreError};
use crate::host_rules;
use crate::keyfile::{read_secret_key, write_secret_key};
use crate::log::{
    ENTRY_FORMAT, Entry, EntryBody, Genesis, Predecessor, TransitionRecord, encode, entry_hash,
    entry_hash_of,
};
use crate::merkle;
use crate::model::{
    Action, Charter, Constitution, Effect, Hash, Key, Parameter, ProposalBody, ProposalStatus,
    Verdict,
};
use crate::preview::{ImpactPreview, preview, preview_key};
use crate::schema::*;
use crate::state::{Change, TrustState, changes_digest};
use crate::transition::{CheckedTransition, Keypair, SignedTransition, UploadSignature};

/// The file inside a trust's data directory that holds its store.
pub const STORE_FILE: &str = "trust.redb";

/// The file inside a trust's data directory that holds the host's secret key (hex, readable
/// only by its owner), which signs checkpoints.
pub const HOST_KEY_FILE: &str = "host.key";

fn read_host_key(dir: &Path) -> Option<Keypair> {
    read_secret_key(&dir.join(HOST_KEY_FILE))
}

/// What a committed transition did: returned only after its entry is durable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The entry's position in the log.
    pub index: u64,
    /// The entry's hash (the new head).
    pub entry_hash: Hash,
    /// Host time stamped on the transition.
    pub time: u64,
    /// The bylaw's verdict.
    pub verdict: Verdict,
    /// What the transition did.
    pub effects: Vec<Effect>,
    /// Fuel the bylaw used.
    pub fuel: u64,
    /// Hash of the bylaw component that judged it.
    pub module: Hash,
    /// The signer.
    pub signer: Key,
    /// The action judged.
    pub action: Action,
    /// Wall-clock time the bylaw took to judge it (instantiation and call): a measurement
    /// for operators, never logged.
    pub bylaw_time: std::time::Duration,
}

/// A transition judged against a state, ready to commit.
pub(crate) struct Judged {
    pub entry: Entry,
    pub changes: Vec<Change>,
    pub signer: Key,
    pub action: Action,
    pub bylaw_time: std::time::Duration,
}

/// Whether a transition is judged live (as submitted) or replayed from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Submitted now: advisory checks that are not part of the verified history apply too
    /// (an amendment needs a stored impact preview before it may open).
    Live,
    /// Re-executed from the log by `verify`.
    Replay,
}

/// Judge the signed transition `bytes` at host time `now` against `state`: the host's
/// checks, then the bylaw in force. Pure with respect to `state`; writes nothing. `db` is
/// read for amendment candidates (stored modules and, live, their previews).
pub(crate) fn judge(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    bytes: &[u8],
    now: u64,
    mode: Mode,
) -> Result<Judged> {
    let checked = CheckedTransition::check(bytes.to_vec(), &state.id)?;
    judge_checked(runtime, db, state, &checked, now, mode)
}

/// [`judge`] a transition whose encoding, trust and signature are already checked.
pub(crate) fn judge_checked(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    checked: &CheckedTransition,
    now: u64,
    mode: Mode,
) -> Result<Judged> {
    let (bytes, body) = (checked.bytes(), checked.body().clone());
    let rules = host_rules::rules(state, &body.action);
    let member = state.members.contains_key(&body.signer);
    // Strangers are refused before anything else, without trace: only the kinds of action
    // the rules open to non-members reach the bylaw.
    if !member
        && !runtime
            .open_to_non_members(rules.module, rules.charter)
            .contains(&body.action.kind())
    {
        return Err(RefusalError::NotAMember {
            who: host_rules::who(state, &body.signer),
            action: body.action.name(),
        }
        .into());
    }
    let expected = state.next_seq(&body.signer);
    if body.seq != expected {
        return Err(RefusalError::BadSequence {
            key: host_rules::who(state, &body.signer),
            expected,
            found: body.seq,
        }
        .into());
    }
    host_rules::check(state, &body.signer, &body.action, now)?;
    if let Action::Propose(d) = &body.action
        && let ProposalBody::AmendBylaws(a) = &d.body
    {
        amendment::candidate(runtime, db, state, a, now)?;
        if mode == Mode::Live {
            let module = host_rules::amendment_module(a)?;
            if read_preview(db, &preview_key(&module, &a.charter))?.is_none() {
                return Err(RefusalError::Amendment(format!(
                    "no impact preview of module {} with this charter: members must be able to read it before voting opens (run `cltd amend preview`)",
                    hex::encode(module)
                ))
                .into());
            }
        }
    }
    let view = host_rules::view(state, &body.signer, &body.action, now);
    let started = std::time::Instant::now();
    let (result, fuel) = runtime.evaluate_metered(rules.module, &view, &body.action);
    let bylaw_time = started.elapsed();
    let verdict = match result.and_then(|v| host_rules::check_verdict(&body.action, &v).map(|()| v))
    {
        Ok(v) => v,
        // The bylaw failed: logged as the host's denial, so the sequence number is spent and
        // the same signed bytes cannot be made to burn the fuel budget again.
        Err(e) if e.is_guest_failure() => host_rules::failure_verdict(&e),
        Err(e) => return Err(e.into()),
    };
    if !member && let Verdict::Deny(d) = &verdict {
        return Err(RefusalError::NotAllowedToNonMember {
            who: host_rules::who(state, &body.signer),
            action: body.action.name(),
            code: d.code.clone(),
            explanation: d.explanation.clone(),
        }
        .into());
    }
    let activation = match (&body.action, verdict.is_allowed()) {
        (Action::Execute(id), true) => match &state.proposals[id].proposal.body {
            ProposalBody::AmendBylaws(a) => Some(amendment::candidate(runtime, db, state, a, now)?),
            _ => None,
        },
        _ => None,
    };
    let (effects, changes) = host_rules::effects(
        state,
        &body.signer,
        body.seq,
        &body.action,
        &verdict,
        now,
        activation.as_ref(),
    );
    let entry = Entry {
        format: ENTRY_FORMAT,
        index: state.size,
        prev: state.head,
        time: now,
        body: EntryBody::Transition(TransitionRecord {
            signed: bytes.to_vec(),
            module: *rules.module,
            verdict,
            effects,
            fuel,
            changes: changes_digest(&changes),
        }),
    };
    Ok(Judged {
        entry,
        changes,
        signer: body.signer,
        action: body.action,
        bylaw_time,
    })
}

/// Apply a judged entry to `state`; returns what undoes it.
pub(crate) fn advance(state: &mut TrustState, judged: &Judged) -> (Vec<Change>, (u64, Hash, u64)) {
    let before = (state.size, state.head, state.time);
    let undo = state.apply_all(&judged.changes);
    state.size += 1;
    state.head = entry_hash(&judged.entry);
    state.time = judged.entry.time;
    (undo, before)
}

/// The state a genesis entry founds.
pub(crate) fn genesis_state(genesis: &Genesis, entry: &Entry) -> (TrustState, Vec<Change>) {
    let mut entrenched = genesis.charter.entrenched.clone();
    entrenched.sort();
    entrenched.dedup();
    let mut state = TrustState {
        id: genesis.trust_id(),
        name: genesis.charter.name.clone(),
        charter: genesis.charter.params.clone(),
        module: genesis.module,
        entrenched,
        ..TrustState::default()
    };
    let mut changes = Vec::new();
    for f in &genesis.charter.founders {
        let key: Key = f
            .key
            .as_slice()
            .try_into()
            .expect("founder keys are checked at creation");
        changes.push(Change::Member {
            key,
            member: Some(f.admit(entry.time)),
        });
    }
    for a in &genesis.charter.assets {
        changes.push(Change::Asset {
            id: a.id.clone(),
            asset: Some(a.to_asset()),
        });
    }
    state.apply_all(&changes);
    state.size = 1;
    state.head = entry_hash(entry);
    state.time = entry.time;
    (state, changes)
}

fn check_charter(charter: &Charter) -> Result<(), CharterError> {
    let bad = |m: String| Err(CharterError::Invalid(m));
    if charter.name.trim().is_empty() || charter.name.len() > 200 {
        return bad("a trust needs a name of 1 to 200 bytes".into());
    }
    let mut keys = std::collections::BTreeMap::new();
    for f in &charter.founders {
        if f.key.len() != 32 {
            return bad(format!(
                "founder `{}` has a {}-byte key; keys are 32 bytes",
                f.name,
                f.key.len()
            ));
        }
        if let Some(other) = keys.insert(f.key.clone(), f.name.clone()) {
            return bad(format!(
                "founders `{other}` and `{}` have the same key",
                f.name
            ));
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for a in &charter.assets {
        if a.id.trim().is_empty() || !ids.insert(a.id.clone()) {
            return bad(format!("asset id `{}` is empty or appears twice", a.id));
        }
    }
    host_rules::check_params(&charter.params).map_err(|e| CharterError::Invalid(e.to_string()))?;
    let mut clauses = std::collections::BTreeSet::new();
    for c in &charter.entrenched {
        if !clauses.insert(c) {
            return bad(format!("entrenched clause `{}` appears twice", c.name()));
        }
    }
    Ok(())
}

/// The checks an amendment's activation runs, run on a founding: the bylaw `module` can run
/// with the charter (every key known, every value valid), and with it the bylaw keeps every
/// clause the charter entrenches (the conformance vectors, in the trust's own name and
/// classes, at its founding time). A trust therefore never claims a guarantee it does not
/// keep, and never starts with rules its bylaw cannot read.
fn check_founding(
    runtime: &Runtime,
    module: &Hash,
    state: &TrustState,
) -> Result<(), CharterError> {
    match amendment::charter_problems(runtime, module, &state.charter) {
        Ok(None) => {}
        Ok(Some(problems)) => return Err(CharterError::Problems(problems)),
        Err(e) => {
            return Err(CharterError::Invalid(format!(
                "the bylaw failed to describe itself with this charter: {e}"
            )));
        }
    }
    let setting = Setting::of(state, state.time);
    match first_failure(runtime, module, &state.charter, &state.entrenched, &setting) {
        None => Ok(()),
        Some(failed) => Err(CharterError::Entrenched {
            clause: failed.clause.name().to_string(),
            vector: failed.vector,
            detail: failed.detail,
        }),
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn head_bytes(state: &TrustState) -> Vec<u8> {
    let mut b = Vec::with_capacity(48);
    b.extend_from_slice(&state.size.to_le_bytes());
    b.extend_from_slice(&state.head);
    b.extend_from_slice(&state.time.to_le_bytes());
    b
}

/// The state tables of one write transaction, opened once for all the changes it writes.
struct StateTables<'txn> {
    meta: redb::Table<'txn, &'static str, &'static [u8]>,
    members: redb::Table<'txn, &'static [u8; 32], &'static [u8]>,
    assets: redb::Table<'txn, &'static str, &'static [u8]>,
    proposals: redb::Table<'txn, u64, &'static [u8]>,
    grants: redb::Table<'txn, u64, &'static [u8]>,
    nonces: redb::Table<'txn, &'static [u8; 32], u64>,
}

impl<'txn> StateTables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(StateTables {
            meta: txn.open_table(META)?,
            members: txn.open_table(MEMBERS)?,
            assets: txn.open_table(ASSETS)?,
            proposals: txn.open_table(PROPOSALS)?,
            grants: txn.open_table(GRANTS)?,
            nonces: txn.open_table(NONCES)?,
        })
    }

    /// Write one state change to its table.
    fn write(&mut self, change: &Change) -> Result<(), StoreError> {
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
            Change::Member { key, member } => put(&mut self.members, key, member.as_ref()),
            Change::Asset { id, asset } => put(&mut self.assets, id.as_str(), asset.as_ref()),
            Change::Proposal { id, proposal } => put(&mut self.proposals, *id, proposal.as_deref()),
            Change::Grant { id, grant } => put(&mut self.grants, *id, grant.as_ref()),
            Change::Nonce { key, next } => {
                match next {
                    Some(n) => self.nonces.insert(key, *n)?,
                    None => self.nonces.remove(key)?,
                };
                Ok(())
            }
            Change::Constitution(c) => {
                self.meta
                    .insert(META_CONSTITUTION, encode(c.as_ref()).as_slice())?;
                Ok(())
            }
        }
    }
}

/// What a store's `meta` table and genesis entry say, in any store format.
pub(crate) struct StoredMeta {
    /// The store format.
    pub format: u32,
    /// The trust id.
    pub id: Hash,
    /// The rules in force.
    pub constitution: Constitution,
    /// Entries in the log.
    pub size: u64,
    /// Hash of the last entry.
    pub head: Hash,
    /// Host time of the last entry.
    pub time: u64,
    /// The trust's name, from its genesis entry.
    pub name: String,
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
    let id: Hash = get(META_TRUST_ID)?
        .try_into()
        .map_err(|_| StoreError::Corrupt("meta trust-id".into()))?;
    let constitution: Constitution = decode(&get(META_CONSTITUTION)?, "meta constitution")?;
    let head = get(META_HEAD)?;
    if head.len() != 48 {
        return Err(StoreError::Corrupt("meta head".into()));
    }
    let genesis = txn
        .open_table(LOG)?
        .get(0)?
        .ok_or_else(|| StoreError::Corrupt("genesis entry missing".into()))?;
    let name = match Entry::from_bytes(genesis.value())?.body {
        EntryBody::Genesis(g) => g.charter.name,
        EntryBody::Transition(_) => {
            return Err(StoreError::Corrupt("entry 0 is not a genesis entry".into()));
        }
    };
    Ok(StoredMeta {
        format,
        id,
        constitution,
        size: u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
        head: head[8..40].try_into().expect("32 bytes"),
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
        state
            .members
            .insert(*k.value(), decode(v.value(), "member")?);
    }
    for row in txn.open_table(ASSETS)?.iter()? {
        let (k, v) = row?;
        state
            .assets
            .insert(k.value().to_string(), decode(v.value(), "asset")?);
    }
    for row in txn.open_table(PROPOSALS)?.iter()? {
        let (k, v) = row?;
        state
            .proposals
            .insert(k.value(), decode(v.value(), "proposal")?);
    }
    for row in txn.open_table(GRANTS)?.iter()? {
        let (k, v) = row?;
        state.grants.insert(k.value(), decode(v.value(), "grant")?);
    }
    for row in txn.open_table(NONCES)?.iter()? {
        let (k, v) = row?;
        state.nonces.insert(*k.value(), v.value());
    }
    Ok(state)
}

/// The format a store file says it has, read without opening it for writing (`None` if it
/// cannot be read so: a store left unclean by a crash must be opened for writing, which
/// repairs it, and is then checked as usual).
fn stored_format(path: &Path) -> Option<u32> {
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

/// Read a stored impact preview.
pub(crate) fn read_preview(
    db: &impl ReadableDatabase,
    key: &Hash,
) -> Result<Option<ImpactPreview>, StoreError> {
    let txn = db.begin_read()?;
    let previews = txn.open_table(PREVIEWS)?;
    previews
        .get(key)?
        .map(|v| decode(v.value(), "impact preview"))
        .transpose()
}

/// Read a stored module and check that its bytes still hash to `hash` (`None` if absent).
pub(crate) fn read_intact_module(
    db: &impl ReadableDatabase,
    hash: &Hash,
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
    hash: &Hash,
) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read()?;
    let modules = txn.open_table(MODULES)?;
    Ok(modules.get(hash)?.map(|v| v.value().to_vec()))
}

/// A trust: its store, its state in memory, the engine that runs its bylaws, its clock and,
/// when this host holds it, the host key that signs checkpoints.
pub struct Trust {
    db: Database,
    path: PathBuf,
    runtime: Arc<Runtime>,
    state: TrustState,
    clock: Box<dyn Clock>,
    host: Option<Keypair>,
    /// Set when a storage write failed: this handle then writes nothing more.
    stopped: std::sync::OnceLock<String>,
}

/// A write transaction as every write to a trust's store uses it: two-phase commit (the
/// header on disk is valid after a crash without trusting checksums) and quick repair (the
/// allocator state is saved with each commit, so reopening after a crash is fast).
fn durable_write(db: &Database) -> Result<redb::WriteTransaction, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_two_phase_commit(true);
    txn.set_quick_repair(true);
    Ok(txn)
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("path", &self.path)
            .field("id", &self.id_hex())
            .finish_non_exhaustive()
    }
}

impl Trust {
    /// Found a trust in the data directory `dir` (created if needed) with `charter`, governed by
    /// the bylaw `wasm` (a component, or a core module built with wit-bindgen). Writes the
    /// genesis entry durably. Fails if `dir` already holds a trust.
    pub fn create(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        charter: Charter,
        wasm: &[u8],
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        Trust::found(dir.as_ref(), runtime, charter, wasm, clock, None)
    }

    /// Found in `dir` the successor of the trust whose earlier store was read into
    /// `earlier` (see [`crate::read_earlier`]): the earlier trust's name, members, assets
    /// and entrenched clauses, governed by `wasm`, with the earlier charter changed by `set`
    /// (each parameter set to its value, added if absent) and `unset` (removed). Its genesis
    /// names the earlier trust. The founding checks of [`Trust::create`] apply, so the
    /// successor keeps every clause the earlier trust entrenched, and a charter the new
    /// bylaw cannot read is refused naming each problem; nothing is written then.
    pub fn succeed(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        earlier: &crate::Earlier,
        set: &[Parameter],
        unset: &[String],
        wasm: &[u8],
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        let mut params: Vec<Parameter> = earlier
            .charter
            .iter()
            .filter(|p| !unset.contains(&p.key))
            .cloned()
            .collect();
        for p in set {
            match params.iter_mut().find(|q| q.key == p.key) {
                Some(q) => q.value = p.value.clone(),
                None => params.push(p.clone()),
            }
        }
        let charter = Charter {
            name: earlier.name.clone(),
            params,
            founders: earlier
                .members
                .iter()
                .map(|m| crate::model::Applicant {
                    key: m.key.clone(),
                    name: m.name.clone(),
                    class: m.class,
                })
                .collect(),
            assets: earlier
                .assets
                .iter()
                .map(|a| crate::model::AssetDraft {
                    id: a.id.clone(),
                    kind: a.kind,
                    lock: a.lock,
                    description: a.description.clone(),
                    fields: a.fields.clone(),
                })
                .collect(),
            entrenched: earlier.entrenched.clone(),
        };
        let predecessor = Predecessor {
            trust_id: earlier.trust_id,
            size: earlier.size,
            head: earlier.head,
        };
        Trust::found(
            dir.as_ref(),
            runtime,
            charter,
            wasm,
            clock,
            Some(predecessor),
        )
    }

    fn found(
        dir: &Path,
        runtime: Arc<Runtime>,
        charter: Charter,
        wasm: &[u8],
        clock: Box<dyn Clock>,
        predecessor: Option<Predecessor>,
    ) -> Result<Trust> {
        check_charter(&charter)?;
        let component = to_component(wasm)?;
        let module = runtime.prepare(&component)?;
        let path = dir.join(STORE_FILE);
        if path.exists() {
            return Err(StoreError::Exists(path.display().to_string()).into());
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| StoreError::Io(std::io::Error::other(e.to_string())))?;
        // A host key already in the directory is kept; a new one is written only once the
        // founding checks have passed, so a refused founding writes nothing.
        let (host, new_host_key) = match read_host_key(dir) {
            Some(k) => (k, false),
            None => (Keypair::generate().map_err(StoreError::Io)?, true),
        };
        let genesis = Genesis {
            salt,
            charter,
            module,
            engine: runtime.profile().clone(),
            host_key: host.public(),
            predecessor,
        };
        let entry = Entry {
            format: ENTRY_FORMAT,
            index: 0,
            prev: [0; 32],
            time: clock.now(),
            body: EntryBody::Genesis(genesis.clone()),
        };
        let (state, changes) = genesis_state(&genesis, &entry);
        check_founding(&runtime, &module, &state)?;
        std::fs::create_dir_all(dir).map_err(StoreError::from)?;
        if new_host_key {
            write_secret_key(&dir.join(HOST_KEY_FILE), &host).map_err(StoreError::Io)?;
        }
        let db = Database::create(&path)?;
        let txn = durable_write(&db)?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert(META_HEAD, head_bytes(&state).as_slice())?;
            meta.insert(META_FORMAT, STORE_FORMAT.to_le_bytes().as_slice())?;
            meta.insert(META_TRUST_ID, state.id.as_slice())?;
            meta.insert(META_CONSTITUTION, encode(&state.constitution()).as_slice())?;
            drop(meta);
            txn.open_table(PREVIEWS)?;
            txn.open_table(MODULES)?
                .insert(&module, component.as_slice())?;
            txn.open_table(LOG)?
                .insert(0, entry.to_bytes().as_slice())?;
            // Opening every table creates it, so readers never meet a missing one.
            let mut tables = StateTables::open(&txn)?;
            for c in &changes {
                tables.write(c)?;
            }
        }
        txn.commit()?;
        Ok(Trust {
            db,
            path: dir.to_path_buf(),
            runtime,
            state,
            clock,
            host: Some(host),
            stopped: std::sync::OnceLock::new(),
        })
    }

    /// Open the trust in data directory `dir`. Loads and re-hashes the active bylaw module.
    pub fn open(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        let dir = dir.as_ref();
        let path = dir.join(STORE_FILE);
        if !path.exists() {
            return Err(StoreError::NotFound(dir.display().to_string()).into());
        }
        // A store of another format is refused before it is opened for writing, which
        // would touch the file: it is left exactly as it was.
        if let Some(found) = stored_format(&path)
            && found != STORE_FORMAT
        {
            return Err(StoreError::Format {
                found,
                supported: STORE_FORMAT,
            }
            .into());
        }
        Trust::open_db(dir, Database::open(&path)?, runtime, clock)
    }

    /// Open the trust in `dir` with its store on `backend` (the store file's bytes through
    /// another storage layer: for fault injection, or storage other than a local file).
    pub fn open_with_backend(
        dir: impl AsRef<Path>,
        backend: impl redb::StorageBackend,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        let db = Database::builder().create_with_backend(backend)?;
        Trust::open_db(dir.as_ref(), db, runtime, clock)
    }

    fn open_db(
        dir: &Path,
        db: Database,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        let state = load_state(&db)?;
        let trust = Trust {
            db,
            path: dir.to_path_buf(),
            runtime,
            state,
            clock,
            host: read_host_key(dir),
            stopped: std::sync::OnceLock::new(),
        };
        trust.load_module(&trust.state.module)?;
        // Pending proposals are judged by the module they were opened under.
        let frozen: std::collections::BTreeSet<Hash> = trust
            .state
            .proposals
            .values()
            .filter(|p| {
                matches!(
                    p.proposal.status,
                    ProposalStatus::Open | ProposalStatus::Passed
                )
            })
            .map(|p| p.rules.module)
            .collect();
        for module in frozen {
            trust.load_module(&module)?;
        }
        Ok(trust)
    }

    /// Why this handle stopped writing, if a storage write failed (see [`StoreError::Stopped`]).
    pub fn writes_stopped(&self) -> Option<&str> {
        self.stopped.get().map(String::as_str)
    }

    /// `Err` once a storage write has failed on this handle.
    fn writable(&self) -> Result<(), StoreError> {
        match self.stopped.get() {
            Some(why) => Err(StoreError::Stopped(why.clone())),
            None => Ok(()),
        }
    }

    /// Write to the store in one durable transaction. If anything fails, this handle stops
    /// writing: a failed commit (a failed fsync above all) is never retried, since what is on
    /// disk is unknown until the store is reopened and repaired.
    fn write(
        &self,
        fill: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.writable()?;
        let result = durable_write(&self.db).and_then(|txn| {
            fill(&txn)?;
            txn.commit()?;
            Ok(())
        });
        if let Err(e) = &result {
            let _ = self.stopped.set(e.to_string());
        }
        result
    }

    /// Compile the candidates of pending (open or passed) amendments now, so that a
    /// long-running host does not compile them on the write path when they are executed.
    /// A candidate that is missing or altered is reported when its amendment is executed.
    pub fn prepare_candidates(&self) {
        for p in self.state.proposals.values() {
            if let ProposalBody::AmendBylaws(a) = &p.proposal.body
                && matches!(
                    p.proposal.status,
                    ProposalStatus::Open | ProposalStatus::Passed
                )
                && let Ok(module) = host_rules::amendment_module(a)
            {
                let _ = amendment::load_stored(&self.runtime, &self.db, &module);
            }
        }
    }

    /// Load the stored module `hash` into the engine, checking that its bytes hash to `hash`.
    /// The bytes are re-hashed even when the engine has the module cached, so a swapped store
    /// is always noticed.
    pub fn load_module(&self, hash: &Hash) -> Result<()> {
        let bytes = read_intact_module(&self.db, hash)?
            .ok_or_else(|| LoadError::Missing(hex::encode(hash)))?;
        self.runtime.prepare(&bytes)?;
        Ok(())
    }

    /// The trust's id, hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.state.id)
    }

    /// The trust's id.
    pub fn id(&self) -> Hash {
        self.state.id
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trust's current state.
    pub fn state(&self) -> &TrustState {
        &self.state
    }

    /// The snapshot of state the bylaw would be given if `signer` took `action` at host
    /// time `now` (for explaining and previewing decisions; nothing is evaluated).
    pub fn view(&self, signer: &Key, action: &Action, now: u64) -> crate::model::View {
        host_rules::view(&self.state, signer, action, now)
    }

    /// Host time now: the clock, never earlier than the last entry (what a transition
    /// submitted now would be stamped with).
    pub fn now(&self) -> u64 {
        self.clock.now().max(self.state.time)
    }

    /// What closing open proposal `number` now would decide, as the bylaw it was opened
    /// under judges it and with the host's entrenched floors and procedure applied: a dry run
    /// that writes nothing. `None` unless the proposal is open; `Err` if the bylaw failed.
    pub fn dry_run_close(&self, number: u64) -> Option<Result<Verdict, EvalError>> {
        let p = self.state.proposals.get(&number)?;
        if p.proposal.status != ProposalStatus::Open {
            return None;
        }
        let action = Action::Close(number);
        let rules = host_rules::rules(&self.state, &action);
        let view = host_rules::view(&self.state, &[0; 32], &action, self.state.time);
        let verdict = match self
            .runtime
            .evaluate(rules.module, &view, &action)
            .and_then(|e| host_rules::check_verdict(&action, &e.verdict).map(|()| e.verdict))
        {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let Verdict::Allow(mut allowance) = verdict else {
            return Some(Ok(verdict));
        };
        // The host's own say on the outcome (entrenched floors, the entrenched procedure).
        let (_, changes) = host_rules::effects(
            &self.state,
            &[0; 32],
            0,
            &action,
            &Verdict::Allow(allowance.clone()),
            self.state.time,
            None,
        );
        allowance.decision = changes.iter().find_map(|c| match c {
            Change::Proposal {
                id,
                proposal: Some(p),
            } if *id == number => p.decision.clone(),
            _ => None,
        });
        Some(Ok(Verdict::Allow(allowance)))
    }

    /// The engine running this trust's bylaws.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The underlying store, for read-only inspection and verification.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Judge and commit one signed transition (canonical envelope bytes). Returns after the
    /// entry is durable. A refusal (`Err(Error::Refused)`) or a bylaw failure
    /// (`Err(Error::Eval)`) writes nothing; a denial by the bylaw is logged and returned in
    /// the receipt's verdict.
    pub fn submit(&mut self, bytes: &[u8]) -> Result<Receipt> {
        self.submit_batch(&[bytes])
            .pop()
            .expect("a batch of one gives one result")
    }

    /// Judge several transitions in order and commit all the accepted ones in one durable
    /// write transaction (group commit). Each result is `Ok` only once the batch is durable;
    /// refused or failed transitions in the batch leave no trace and do not affect the others.
    pub fn submit_batch(&mut self, batch: &[&[u8]]) -> Vec<Result<Receipt>> {
        let checked: Vec<Result<CheckedTransition>> = batch
            .iter()
            .map(|b| Ok(CheckedTransition::check(b.to_vec(), &self.state.id)?))
            .collect();
        self.submit_checked_batch(checked)
    }

    /// [`Trust::submit_batch`] for transitions checked beforehand (on other threads, say),
    /// each either checked or refused already: the refusals are answered in place.
    pub fn submit_checked_batch(
        &mut self,
        batch: Vec<Result<CheckedTransition>>,
    ) -> Vec<Result<Receipt>> {
        if let Err(e) = self.writable() {
            let why = e.to_string();
            return batch
                .iter()
                .map(|_| Err(StoreError::Stopped(why.clone()).into()))
                .collect();
        }
        let now = self.clock.now().max(self.state.time);
        // `None` marks an accepted transition whose receipt waits for the durable commit.
        let mut results: Vec<Option<Result<Receipt>>> = Vec::with_capacity(batch.len());
        let mut accepted: Vec<(usize, Judged)> = Vec::new();
        let mut undo: Vec<(Vec<Change>, (u64, Hash, u64))> = Vec::new();
        for checked in batch {
            let judged = checked.and_then(|c| {
                judge_checked(&self.runtime, &self.db, &self.state, &c, now, Mode::Live)
            });
            match judged {
                Ok(j) => {
                    undo.push(advance(&mut self.state, &j));
                    accepted.push((results.len(), j));
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(e))),
            }
        }
        if !accepted.is_empty() {
            self.finish_batch(accepted, undo, &mut results);
        }
        results
            .into_iter()
            .map(|r| r.expect("every accepted transition is answered by finish_batch"))
            .collect()
    }

    /// Commit the accepted transitions of a batch and fill in their results; on failure,
    /// roll the in-memory state back and answer each with the error.
    fn finish_batch(
        &mut self,
        accepted: Vec<(usize, Judged)>,
        undo: Vec<(Vec<Change>, (u64, Hash, u64))>,
        results: &mut [Option<Result<Receipt>>],
    ) {
        match self.commit(&accepted) {
            Ok(()) => {
                for (i, j) in accepted {
                    let EntryBody::Transition(rec) = j.entry.body.clone() else {
                        unreachable!("judge makes transitions")
                    };
                    results[i] = Some(Ok(Receipt {
                        index: j.entry.index,
                        entry_hash: entry_hash(&j.entry),
                        time: j.entry.time,
                        verdict: rec.verdict,
                        effects: rec.effects,
                        fuel: rec.fuel,
                        module: rec.module,
                        signer: j.signer,
                        action: j.action,
                        bylaw_time: j.bylaw_time,
                    }));
                }
            }
            Err(e) => {
                for (changes, (size, head, time)) in undo.into_iter().rev() {
                    self.state.apply_all(&changes);
                    self.state.size = size;
                    self.state.head = head;
                    self.state.time = time;
                }
                let msg = e.to_string();
                for (i, _) in accepted {
                    results[i] = Some(Err(StoreError::Db(format!(
                        "commit failed, nothing was written: {msg}"
                    ))
                    .into()));
                }
            }
        }
    }

    fn commit(&self, accepted: &[(usize, Judged)]) -> Result<(), StoreError> {
        self.write(|txn| {
            {
                let mut log = txn.open_table(LOG)?;
                for (_, j) in accepted {
                    log.insert(j.entry.index, j.entry.to_bytes().as_slice())?;
                }
            }
            {
                let mut tables = StateTables::open(txn)?;
                for c in accepted.iter().flat_map(|(_, j)| &j.changes) {
                    tables.write(c)?;
                }
            }
            txn.open_table(META)?
                .insert(META_HEAD, head_bytes(&self.state).as_slice())?;
            Ok(())
        })
    }

    /// Upload a candidate bylaw (a component, or a core module built with wit-bindgen),
    /// approved by a member's [`UploadSignature`] over this trust and the component's hash.
    /// Checked before anything is stored: size, then the signature and membership (before
    /// any compiling), then world, imports and a bounded compile. Stored content-addressed
    /// by its blake3 hash; uploading the same bytes twice is harmless. Uploading changes no
    /// governance state: only an `amend-bylaws` proposal that the members pass can put the
    /// module in force.
    pub fn upload_module(&self, wasm: &[u8], approval: &UploadSignature) -> Result<Upload> {
        let component = amendment::upload_component(wasm)?;
        let hash = module_hash(&component);
        approval.verify(&self.state.id, &hash)?;
        if !self.state.members.contains_key(&approval.signer) {
            return Err(RefusalError::Amendment(format!(
                "only members may upload bylaw modules; {} is not a member",
                self.state.who(&approval.signer)
            ))
            .into());
        }
        amendment::compile_bounded(&self.runtime, &component)?;
        let info = self
            .runtime
            .describe(&hash, &self.state.charter)
            .map_err(Error::from)?;
        let new = read_module(&self.db, &hash)?.is_none();
        if new {
            self.write(|txn| {
                txn.open_table(MODULES)?
                    .insert(&hash, component.as_slice())?;
                Ok(())
            })?;
        }
        Ok(Upload {
            hash,
            size: component.len(),
            new,
            uploader: approval.signer,
            info,
        })
    }

    /// Compute the impact preview of the uploaded candidate `module` with the `proposed`
    /// charter over the whole log (a dry run), and store it so that an amendment naming
    /// them may open and members can read it. Replaces an older preview of the same pair.
    pub fn preview_amendment(
        &self,
        module: &Hash,
        proposed: &[Parameter],
    ) -> Result<ImpactPreview> {
        host_rules::check_params(proposed)?;
        let report = preview(&self.runtime, &self.db, &self.state, module, proposed)?;
        self.write(|txn| {
            txn.open_table(PREVIEWS)?
                .insert(&preview_key(module, proposed), encode(&report).as_slice())?;
            Ok(())
        })?;
        Ok(report)
    }

    /// The stored impact preview of `module` with the `proposed` charter, if one was made.
    pub fn stored_preview(
        &self,
        module: &Hash,
        proposed: &[Parameter],
    ) -> Result<Option<ImpactPreview>> {
        Ok(read_preview(&self.db, &preview_key(module, proposed))?)
    }

    /// The Merkle tree's leaf hashes: one per entry, `SHA-256(0x00 ‖ entry hash)`.
    pub fn leaves(&self) -> Result<Vec<merkle::TreeHash>> {
        let txn = self.db.begin_read()?;
        let log = txn.open_table(LOG)?;
        let mut leaves = Vec::with_capacity(usize::try_from(self.state.size).unwrap_or(0));
        for row in log.iter()? {
            let (_, v) = row?;
            leaves.push(merkle::leaf_hash(&entry_hash_of(v.value())));
        }
        Ok(leaves)
    }

    /// A checkpoint of the whole log, signed with the host key as a C2SP signed note.
    pub fn checkpoint(&self) -> Result<SignedNote> {
        let genesis = self.genesis()?;
        let host = self
            .host
            .as_ref()
            .filter(|k| k.public() == genesis.host_key)
            .ok_or_else(|| {
                Error::HostKey(format!(
                    "{} is missing or holds another key (the trust's is {})",
                    self.path.join(HOST_KEY_FILE).display(),
                    hex::encode(genesis.host_key)
                ))
            })?;
        let checkpoint = Checkpoint {
            origin: origin(&self.state.id),
            size: self.state.size,
            root: merkle::root(&self.leaves()?),
        };
        Ok(SignedNote::sign(
            &checkpoint.text(),
            &checkpoint.origin,
            host,
        ))
    }

    /// Store `note` as the log's latest checkpoint with the cosignatures it carries. It must
    /// be this log's current checkpoint, signed by the host key; its signatures are merged
    /// with those already stored for the same checkpoint.
    pub fn store_checkpoint(&self, note: &SignedNote) -> Result<()> {
        let fresh = self.checkpoint()?;
        if note.text != fresh.text {
            return Err(Error::HostKey(
                "the note is not this log's current checkpoint".into(),
            ));
        }
        let genesis = self.genesis()?;
        note.verify(&origin(&self.state.id), &genesis.host_key)
            .map_err(|e| Error::HostKey(e.to_string()))?;
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
        for (_, bytes) in read_entries(&self.db)? {
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
            let bytes = read_module(&self.db, hash)?
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

    /// Log entries `from..` (at most `limit`), decoded.
    pub fn entries(&self, from: u64, limit: usize) -> Result<Vec<Entry>> {
        let txn = self.db.begin_read()?;
        let log = txn.open_table(LOG)?;
        let mut out = Vec::new();
        for row in log.range(from..)?.take(limit) {
            let (_, v) = row?;
            out.push(Entry::from_bytes(v.value())?);
        }
        Ok(out)
    }

    /// The genesis entry's contents.
    pub fn genesis(&self) -> Result<Genesis> {
        match self.entries(0, 1)?.pop().map(|e| e.body) {
            Some(EntryBody::Genesis(g)) => Ok(g),
            _ => Err(StoreError::Corrupt("entry 0 is not a genesis entry".into()).into()),
        }
    }

    /// The stored bytes of the bylaw component `hash`.
    pub fn module_bytes(&self, hash: &Hash) -> Result<Option<Vec<u8>>> {
        Ok(read_module(&self.db, hash)?)
    }

    /// Every stored bylaw component (in force, past, or uploaded as a candidate): its hash and
    /// size in bytes, in hash order.
    pub fn stored_modules(&self) -> Result<Vec<(Hash, usize)>> {
        let txn = self.db.begin_read()?;
        let modules = txn.open_table(MODULES).map_err(StoreError::from)?;
        let mut out = Vec::new();
        for row in modules.iter().map_err(StoreError::from)? {
            let (k, v) = row.map_err(StoreError::from)?;
            out.push((*k.value(), v.value().len()));
        }
        Ok(out)
    }

    /// A canonical dump of every table's raw bytes, for byte-for-byte comparisons of the store.
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
                for row in txn.open_table($table)?.iter()? {
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
            PREVIEWS, |k| k, |v| v;
            MEMBERS, |k| k, |v| v;
            ASSETS, |k| k.as_bytes(), |v| v;
            PROPOSALS, |k| &k.to_le_bytes(), |v| v;
            GRANTS, |k| &k.to_le_bytes(), |v| v;
            NONCES, |k| k, |v| &v.to_le_bytes();
        );
        Ok(out)
    }
}
