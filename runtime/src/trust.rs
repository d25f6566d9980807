//! The `Trust` handle: a trust on disk, its state in memory, the engine that runs its bylaws
//! and its clock. It founds and opens a store, judges transitions with the pipeline and
//! commits them to the store, and answers what auditors and members ask of the log.
//!
//! Why one file of ~720 lines: these are the methods that touch the handle's private fields
//! (the store, the in-memory state, the clock) and keep them in step, so the rollback after
//! a failed commit sits beside the commit it undoes. What only reads the log lives in
//! `publish`, judging in `pipeline`, table I/O in `store`.

use std::path::Path;
use std::sync::Arc;

use redb::{Database, ReadableDatabase};

use crate::amendment::{self, Upload};
use crate::clock::Clock;
use crate::engine::{Runtime, to_component};
use crate::error::{RefusalError, Result, StoreError};
use crate::host_rules;
use crate::id::{EntryHash, MemberKey, ModuleHash};
use crate::keyfile::{read_secret_key, write_secret_key};
use crate::log::{
    ENTRY_FORMAT, Entry, EntryBody, Genesis, Predecessor, encode, entry_hash, entry_hash_of,
};
use crate::model::{Action, Charter, Effect, Parameter, ProposalBody, ProposalStatus, Verdict};
use crate::pipeline::{
    Judged, Mode, advance, check_charter, check_founding, genesis_state, judge_checked,
};
use crate::preview::ImpactPreview;
use crate::replica::ReplicaError;
use crate::schema::*;
pub use crate::snapshot::{CheckedUpload, Snapshot};
use crate::state::{Change, TrustState};
pub use crate::store::STORE_FILE;
use crate::store::{
    PAGE_CACHE_BYTES, StateTables, durable_write, head_bytes, load_state, preview_key,
    read_entry_bytes, read_module, stored_format,
};
use crate::transition::{CheckedTransition, Keypair, UploadSignature};

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
    pub entry_hash: EntryHash,
    /// Host time stamped on the transition.
    pub time: u64,
    /// The bylaw's verdict.
    pub verdict: Verdict,
    /// What the transition did.
    pub effects: Vec<Effect>,
    /// Fuel the bylaw used.
    pub fuel: u64,
    /// Hash of the bylaw component that judged it.
    pub module: ModuleHash,
    /// The signer.
    pub signer: MemberKey,
    /// The action judged.
    pub action: Action,
    /// Wall-clock time the bylaw took to judge it (instantiation and call): a measurement
    /// for operators, never logged.
    pub bylaw_time: std::time::Duration,
}

/// A trust: its latest [`Snapshot`] (store, state, engine, clock, host key) and the right to
/// write. Every read method is the snapshot's (through `Deref`); the methods here judge,
/// commit and store. A commit changes the state copy-on-write, so a [`Trust::snapshot`]
/// taken before it is unchanged by it.
pub struct Trust {
    snap: Snapshot,
    /// The replication engine and this store's cursor in it, once [`Trust::replicate`]
    /// attached one: every batch is then appended there before it is committed here.
    replica: Option<replicated::Replica>,
}

mod replicated;

impl std::ops::Deref for Trust {
    type Target = Snapshot;

    fn deref(&self) -> &Snapshot {
        &self.snap
    }
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
            treasury: earlier.treasury.clone(),
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
            prev: EntryHash::default(),
            time: clock.now(),
            body: EntryBody::Genesis(genesis.clone()),
        };
        let (state, changes) = genesis_state(&genesis, &entry);
        check_founding(&runtime, &module, &state)?;
        std::fs::create_dir_all(dir).map_err(StoreError::from)?;
        if new_host_key {
            write_secret_key(&dir.join(HOST_KEY_FILE), &host).map_err(StoreError::Io)?;
        }
        let db = write_founding(&path, &state, &entry, &changes, &component)?;
        Ok(Trust::on(db, dir, runtime, state, clock, Some(host)))
    }

    /// Open the trust in data directory `dir`. Loads and re-hashes the active bylaw module.
    pub fn open(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        Trust::open_file(dir.as_ref(), runtime, clock, true)
    }

    /// Open the trust in `dir` to read its state, log and checkpoints, without compiling
    /// its bylaw modules (which [`Trust::open`] does, and which takes most of the time of
    /// opening). Whatever runs a bylaw on this handle (a submission, a dry-run close, a
    /// preview) fails with a host error, writing nothing, until [`Trust::load_module`] has
    /// prepared the module it needs.
    pub fn open_for_reading(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
    ) -> Result<Trust> {
        Trust::open_file(dir.as_ref(), runtime, clock, false)
    }

    fn open_file(
        dir: &Path,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
        prepare: bool,
    ) -> Result<Trust> {
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
        let db = Database::builder()
            .set_cache_size(PAGE_CACHE_BYTES)
            .open(&path)?;
        Trust::open_db(dir, db, runtime, clock, prepare)
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
        Trust::open_db(dir.as_ref(), db, runtime, clock, true)
    }

    fn open_db(
        dir: &Path,
        db: Database,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
        prepare: bool,
    ) -> Result<Trust> {
        let state = load_state(&db)?;
        let host = read_host_key(dir);
        let trust = Trust::on(db, dir, runtime, state, clock, host);
        tracing::debug!(trust = %hex::encode(trust.state.id), size = trust.state.size, dir = %dir.display(), "opened");
        if !prepare {
            return Ok(trust);
        }
        trust.complete_tree()?;
        trust.load_module(&trust.state.module)?;
        // Pending proposals are judged by the module they were opened under.
        let frozen: std::collections::BTreeSet<ModuleHash> = trust
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

    /// Fill in the stored Merkle tree for entries it does not cover yet: a store written
    /// before the tree was kept, once, when it is first opened for writing.
    fn complete_tree(&self) -> Result<()> {
        let covered = {
            let txn = self.db.begin_read()?;
            match txn.open_table(TREE) {
                Ok(table) => crate::tree::covered(&table)?,
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(StoreError::from(e).into()),
            }
        };
        if covered >= self.state.size {
            return Ok(());
        }
        let entries = read_entry_bytes(&*self.db, covered..self.state.size)?;
        tracing::info!(
            from = covered,
            to = self.state.size,
            "filling in the stored Merkle tree"
        );
        self.write(|txn| {
            crate::tree::append(
                &mut txn.open_table(TREE)?,
                covered,
                entries.iter().map(|e| entry_hash_of(e)),
            )
        })?;
        Ok(())
    }

    /// A handle on the store `db` in `dir`, holding `state`, writing, not replicated.
    fn on(
        db: Database,
        dir: &Path,
        runtime: Arc<Runtime>,
        state: TrustState,
        clock: Box<dyn Clock>,
        host: Option<Keypair>,
    ) -> Trust {
        Trust {
            snap: Snapshot {
                db: Arc::new(db),
                path: dir.to_path_buf(),
                runtime,
                state: Arc::new(state),
                clock: Arc::from(clock),
                host,
                stopped: Arc::default(),
                genesis_facts: Arc::default(),
            },
            replica: None,
        }
    }

    /// The trust as of its last durable commit, to read on any thread while this handle
    /// goes on writing: later commits do not change it.
    pub fn snapshot(&self) -> Snapshot {
        self.snap.clone()
    }

    /// The state, to change in place: copied first if a snapshot still shares it.
    fn state_mut(&mut self) -> &mut TrustState {
        Arc::make_mut(&mut self.snap.state)
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
    pub(crate) fn write(
        &self,
        fill: impl FnOnce(&redb::WriteTransaction) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.writable()?;
        self.stop_on_failure(durable_write(&self.db).and_then(|txn| {
            fill(&txn)?;
            txn.commit()?;
            Ok(())
        }))
    }

    /// `result` of a storage write; a failure stops this trust's writes (logged).
    fn stop_on_failure(&self, result: Result<(), StoreError>) -> Result<(), StoreError> {
        if let Err(e) = &result {
            tracing::error!(trust = %hex::encode(self.state.id), error = %e, "a storage write failed: this trust takes no more writes until it is reopened");
            let _ = self.stopped.set(format!("a storage write failed: {e}"));
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
                let _ = amendment::load_stored(&self.runtime, &*self.db, &module);
            }
        }
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
        self.judge_and_commit(batch, replicated::CONFLICT_RETRIES)
    }

    /// Judge `batch` in order and commit what is accepted; a replication conflict is
    /// retried, after catching up, `retries` more times.
    fn judge_and_commit(
        &mut self,
        batch: Vec<Result<CheckedTransition>>,
        retries: u32,
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
        let mut undo: Vec<(Vec<Change>, (u64, EntryHash, u64))> = Vec::new();
        // Refused by the bylaw or the host's rules (not for their signature): kept, so that
        // a replicated node that judged them behind the engine can judge them again.
        let mut refused = Vec::new();
        for checked in batch {
            let judged = match checked {
                Ok(c) => {
                    let judged =
                        judge_checked(&self.runtime, &*self.db, &self.state, &c, now, Mode::Live);
                    if judged.is_err() && self.replica.is_some() {
                        refused.push((results.len(), c));
                    }
                    judged
                }
                Err(e) => Err(e),
            };
            match judged {
                Ok(j) => {
                    undo.push(advance(self.state_mut(), &j));
                    accepted.push((results.len(), j));
                    results.push(None);
                }
                Err(e) => {
                    tracing::debug!(trust = %hex::encode(self.state.id), code = e.code(), error = %e, "transition refused, nothing written");
                    results.push(Some(Err(e)));
                }
            }
        }
        if !refused.is_empty() && retries > 0 && self.behind_engine() {
            // A refusal may come from a log this node had not caught up with (it has just
            // become the trust's writer, or judges a transition its writer did not take):
            // as after a conflict, undo the batch, catch up and judge it all again.
            self.roll_back(undo);
            return self.judge_behind(results, accepted, refused, retries - 1);
        }
        if !accepted.is_empty() {
            self.finish_batch(accepted, undo, &mut results, retries);
        }
        results
            .into_iter()
            .map(|r| r.expect("every accepted transition is answered by finish_batch"))
            .collect()
    }

    /// Commit the accepted transitions of a batch and fill in their results; on failure,
    /// roll the in-memory state back and answer each with the error. With a replication
    /// engine attached, the batch is appended there first and committed here only once
    /// the engine holds it; a conflict (another node appended first) is undone, caught up
    /// and judged again, up to `retries` times.
    fn finish_batch(
        &mut self,
        accepted: Vec<(usize, Judged)>,
        undo: Vec<(Vec<Change>, (u64, EntryHash, u64))>,
        results: &mut [Option<Result<Receipt>>],
        retries: u32,
    ) {
        // Replicated, the engine's append (a network round trip to a quorum) runs beside
        // filling this store's write transaction; the transaction is committed only once
        // the engine holds the batch, and dropped (nothing written) if it does not.
        let (appended, prepared) = if self.replica.is_some() {
            std::thread::scope(|scope| {
                let append = scope.spawn(|| self.append_batch(&accepted));
                let prepared = self.writable().and_then(|()| {
                    let txn = durable_write(&self.db)?;
                    self.fill_commit(&txn, &accepted)?;
                    Ok(txn)
                });
                let appended = append
                    .join()
                    .unwrap_or_else(|_| Err(ReplicaError::Ambiguous("the append panicked".into())));
                (appended, Some(prepared))
            })
        } else {
            (Ok(None), None)
        };
        let cursor = match appended {
            Ok(cursor) => cursor,
            Err(e) => {
                if let Some(Ok(txn)) = prepared {
                    let _ = txn.abort(); // nothing of the batch is written here
                }
                self.roll_back(undo);
                let answers: Vec<Result<Receipt>> = match e {
                    ReplicaError::Conflict { .. } if retries > 0 => {
                        match self.catch_up_receipts() {
                            Ok(applied) => self.judge_again(&accepted, applied, retries - 1),
                            Err(caught) => {
                                let why = format!("{e}, and catching up failed: {caught}");
                                accepted
                                    .iter()
                                    .map(|_| Err(ReplicaError::Unavailable(why.clone()).into()))
                                    .collect()
                            }
                        }
                    }
                    e => accepted.iter().map(|_| Err(e.clone().into())).collect(),
                };
                for ((i, _), answer) in accepted.iter().zip(answers) {
                    results[*i] = Some(answer);
                }
                return;
            }
        };
        let committed = match prepared {
            None => self.commit(&accepted, cursor),
            Some(prepared) => self.stop_on_failure(prepared.and_then(|txn| {
                if let Some(seq) = cursor {
                    txn.open_table(META)?.insert(
                        META_CURSOR,
                        replicated::cursor_bytes(seq, self.state.size).as_slice(),
                    )?;
                }
                txn.commit()?;
                Ok(())
            })),
        };
        match committed {
            Ok(()) => {
                let size = self.state.size;
                if let (Some(r), Some(seq)) = (self.replica.as_mut(), cursor) {
                    r.cursor = seq;
                    r.end = size;
                }
                tracing::debug!(
                    trust = %hex::encode(self.state.id),
                    entries = accepted.len(),
                    size = self.state.size,
                    "committed"
                );
                for (i, j) in accepted {
                    results[i] = Some(Ok(receipt(j)));
                }
            }
            Err(e) => {
                self.roll_back(undo);
                let msg = match cursor {
                    None => format!("commit failed, nothing was written: {e}"),
                    Some(seq) => format!(
                        "the replication engine holds this batch (sequence {seq}), but this node failed to store it: {e}; it is applied here when the trust is reopened"
                    ),
                };
                for (i, _) in accepted {
                    results[i] = Some(Err(StoreError::Unavailable(msg.clone()).into()));
                }
            }
        }
    }

    /// Undo, newest first, what advancing the state by a batch's entries did.
    fn roll_back(&mut self, undo: Vec<(Vec<Change>, (u64, EntryHash, u64))>) {
        let state = self.state_mut();
        for (changes, (size, head, time)) in undo.into_iter().rev() {
            state.apply_all(&changes);
            state.size = size;
            state.head = head;
            state.time = time;
        }
    }

    /// Store the accepted entries and their state changes in one durable transaction,
    /// with the replication cursor they were appended at, if any.
    fn commit(&self, accepted: &[(usize, Judged)], cursor: Option<u64>) -> Result<(), StoreError> {
        self.write(|txn| {
            self.fill_commit(txn, accepted)?;
            if let Some(seq) = cursor {
                let end = self.state.size;
                txn.open_table(META)?
                    .insert(META_CURSOR, replicated::cursor_bytes(seq, end).as_slice())?;
            }
            Ok(())
        })
    }

    /// Write the accepted entries, their Merkle leaves, their state changes and the new
    /// head into `txn` (everything a commit writes but the replication cursor).
    fn fill_commit(
        &self,
        txn: &redb::WriteTransaction,
        accepted: &[(usize, Judged)],
    ) -> Result<(), StoreError> {
        {
            let mut log = txn.open_table(LOG)?;
            for (_, j) in accepted {
                log.insert(j.entry.index, j.bytes.as_slice())?;
            }
            if let Some((_, first)) = accepted.first() {
                crate::tree::append(
                    &mut txn.open_table(TREE)?,
                    first.entry.index,
                    accepted.iter().map(|(_, j)| j.hash),
                )?;
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
    }

    /// Upload a candidate bylaw (a component, or a core module built with wit-bindgen),
    /// approved by a member's [`UploadSignature`] over this trust and the component's hash:
    /// [`Snapshot::check_upload`], then [`Trust::store_upload`]. Uploading the same bytes
    /// twice is harmless. Uploading changes no governance state: only an `amend-bylaws`
    /// proposal that the members pass can put the module in force.
    pub fn upload_module(&self, wasm: &[u8], approval: &UploadSignature) -> Result<Upload> {
        let checked = self.check_upload(wasm, approval)?;
        self.store_upload(checked)
    }

    /// Store an upload checked on this trust or a snapshot of it, content-addressed by its
    /// blake3 hash (one small write: a server checks and compiles off the trust's lock and
    /// takes the lock only for this). The uploader must still be a member.
    pub fn store_upload(&self, checked: CheckedUpload) -> Result<Upload> {
        let CheckedUpload {
            component,
            hash,
            uploader,
            info,
        } = checked;
        if !self.state.members.contains_key(&uploader) {
            return Err(RefusalError::Amendment(format!(
                "only members may upload bylaw modules; {} is not a member",
                self.state.who(uploader.as_slice())
            ))
            .into());
        }
        let new = read_module(&*self.db, &hash)?.is_none();
        if new {
            self.write(|txn| {
                txn.open_table(MODULES)?
                    .insert(hash.as_bytes(), component.as_slice())?;
                Ok(())
            })?;
        }
        Ok(Upload {
            hash,
            size: component.len(),
            new,
            uploader,
            info,
        })
    }

    /// Compute the impact preview of the uploaded candidate `module` with the `proposed`
    /// charter over the whole log (a dry run), and store it so that an amendment naming
    /// them may open and members can read it (see [`Trust::store_preview`]).
    pub fn preview_amendment(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
    ) -> Result<ImpactPreview> {
        self.preview_amendment_with(module, proposed, &mut |_, _| {})
    }

    /// [`Trust::preview_amendment`], calling `progress(entries_done, entries)` as the log is
    /// re-judged.
    pub fn preview_amendment_with(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImpactPreview> {
        let report = self.compute_preview(module, proposed, progress)?;
        self.store_preview(&report)?;
        Ok(report)
    }

    /// [`Trust::preview_amendment`] approved by a member's signature over the pair
    /// ([`UploadSignature::sign_preview`]), checked before anything is computed.
    pub fn preview_amendment_signed(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
        approval: &UploadSignature,
    ) -> Result<ImpactPreview> {
        self.check_preview_approval(module, proposed, approval)?;
        self.preview_amendment(module, proposed)
    }

    /// Store `report`, a preview computed on this trust or on a snapshot of it, as the
    /// immutable record of its module and proposed charter at the log size it covered.
    /// Nothing is ever overwritten: a record already stored at that size stays, and once an
    /// amendment proposal names the pair ([`Snapshot::preview_is_bound`]) nothing more is
    /// stored for it, so the preview members read before they voted is the one they read
    /// afterwards. True if this call stored it. A report that does not match this trust's
    /// log (another trust's, or a log it is not a prefix of) is refused.
    pub fn store_preview(&self, report: &ImpactPreview) -> Result<bool> {
        let matches = report.entries >= 1
            && report.entries <= self.state.size
            && self
                .entries(report.entries - 1, 1)?
                .first()
                .is_some_and(|e| entry_hash(e) == report.head);
        if !matches {
            return Err(RefusalError::Amendment(format!(
                "this impact preview covers {} entries ending in {}, which is not a prefix of this trust's log",
                report.entries, report.head
            ))
            .into());
        }
        if self.preview_is_bound(&report.module, &report.proposed) {
            return Ok(false);
        }
        let key = preview_key(&report.module, &report.proposed);
        let mut stored = false;
        self.write(|txn| {
            stored = crate::store::insert_preview(txn, &key, report.entries, &encode(report))?;
            Ok(())
        })?;
        Ok(stored)
    }
}

/// Create the store at `path` holding the genesis `entry` of the trust it founds (`state`,
/// reached by `changes`) and its bylaw `component`, in one durable transaction.
fn write_founding(
    path: &Path,
    state: &TrustState,
    entry: &Entry,
    changes: &[Change],
    component: &[u8],
) -> Result<Database> {
    let db = Database::builder()
        .set_cache_size(PAGE_CACHE_BYTES)
        .create(path)?;
    let txn = durable_write(&db)?;
    {
        let mut meta = txn.open_table(META)?;
        meta.insert(META_HEAD, head_bytes(state).as_slice())?;
        meta.insert(META_FORMAT, STORE_FORMAT.to_le_bytes().as_slice())?;
        meta.insert(META_TRUST_ID, state.id.as_slice())?;
        meta.insert(META_CONSTITUTION, encode(&state.constitution()).as_slice())?;
        drop(meta);
        txn.open_table(PREVIEW_RECORDS)?;
        txn.open_table(MODULES)?
            .insert(state.module.as_bytes(), component)?;
        let genesis_bytes = entry.to_bytes();
        txn.open_table(LOG)?.insert(0, genesis_bytes.as_slice())?;
        crate::tree::append(
            &mut txn.open_table(TREE)?,
            0,
            [entry_hash_of(&genesis_bytes)],
        )?;
        // Opening every table creates it, so readers never meet a missing one.
        let mut tables = StateTables::open(&txn)?;
        for c in changes {
            tables.write(c)?;
        }
    }
    txn.commit()?;
    Ok(db)
}

/// The receipt of a committed judgement.
fn receipt(j: Judged) -> Receipt {
    let EntryBody::Transition(rec) = j.entry.body else {
        unreachable!("judge makes transitions")
    };
    Receipt {
        index: j.entry.index,
        entry_hash: j.hash,
        time: j.entry.time,
        verdict: rec.verdict,
        effects: rec.effects,
        fuel: rec.fuel,
        module: rec.module,
        signer: j.signer,
        action: j.action,
        bylaw_time: j.bylaw_time,
    }
}
