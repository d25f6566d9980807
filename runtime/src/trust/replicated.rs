//! A trust whose log is replicated through an engine ([`Replicator`]): attaching one,
//! appending each batch there before it is committed here, and applying what other nodes
//! appended (re-executing every entry, as `verify` does) before judging anything new.
//!
//! Why no sequence of nodes, faults and retries can fork the log or lose an acknowledged
//! transition:
//! - A batch is acknowledged only after the engine stored it (an append returned, or a read
//!   back found it) and this store committed it with the engine's sequence (the cursor) in
//!   the same durable transaction. So an acknowledged entry is in the engine, and a store's
//!   log is always a prefix of the engine's stream of this trust. (The transaction is filled
//!   while the append is in flight, but committed only after it returned; if it failed, the
//!   transaction is aborted and nothing of the batch is written.)
//! - Every append names the cursor it extends, and the engine refuses it if anything came
//!   after: two nodes that judged against the same log cannot both append. The one refused
//!   undoes its batch in memory (nothing of it was written), applies what it missed, and
//!   judges the batch again: a transition whose sequence number the other node used is then
//!   refused as it would be on one machine.
//! - An append whose outcome is unknown is resolved by reading the stream's last envelope:
//!   if it is ours, it counts; if nothing came after the cursor, nothing was stored; if
//!   the read fails, the batch is undone here and refused as ambiguous, and if it had been
//!   stored after all, the next append conflicts and catching up applies it, judged
//!   exactly as it was. The batch is never judged again blind.
//! - An envelope is applied only if it continues this store's log (index and previous
//!   hash), every entry is canonically encoded and chained, every signature checks, and
//!   re-executing every transition gives the logged verdict, effects, state changes and
//!   (with the same engine profile) fuel. Anything else stops the trust on this node
//!   (`diverged`): it applies and writes nothing more until an operator looks.

use std::path::Path;
use std::sync::Arc;

use redb::ReadableDatabase;

use super::{Receipt, STORE_FILE, Trust, read_host_key, write_founding};
use crate::ModuleHash;
use crate::clock::Clock;
use crate::engine::{Runtime, to_component};
use crate::error::{Error, RefusalError, Result, StoreError};
use crate::id::TrustId;
use crate::log::{Entry, EntryBody};
use crate::model::{Action, ProposalBody};
use crate::pipeline::{Judged, advance, check_founding, genesis_state};
use crate::replay::{Divergence, check_entry, compare_answer, replay_transition};
use crate::replica::{Envelope, ReplicaError, Replicator};
use crate::schema::{META, META_CURSOR, MODULES};
use crate::state::Change;
use crate::store::read_entry_bytes;
use crate::transition::CheckedTransition;

/// How many times a batch refused by a conflict is judged again after catching up.
pub(crate) const CONFLICT_RETRIES: u32 = 2;

/// Envelopes read from the engine at a time while catching up, and entries per envelope
/// when a store's existing log is first appended.
const CHUNK: usize = 256;

/// The engine a trust is replicated through, and where this store is in it.
pub(crate) struct Replica {
    engine: Arc<dyn Replicator>,
    /// The engine's sequence of the last envelope this store holds (0: none).
    pub(crate) cursor: u64,
    /// The log size that envelope ends at.
    pub(crate) end: u64,
}

/// The stored cursor: sequence and log end, little-endian.
pub(super) fn cursor_bytes(seq: u64, end: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&seq.to_le_bytes());
    b[8..].copy_from_slice(&end.to_le_bytes());
    b
}

/// The signed transition a judgement logs.
fn signed_bytes(j: &Judged) -> &[u8] {
    match &j.entry.body {
        EntryBody::Transition(rec) => &rec.signed,
        EntryBody::Genesis(_) => unreachable!("judgements are of transitions"),
    }
}

impl Trust {
    /// Found in `dir` a new node of trust `trust` from its log in `engine`: the genesis
    /// entry the stream starts with (which must found `trust`) governed by `component`
    /// (which must be the module it names), then every entry after it, each re-executed as
    /// [`Trust::catch_up`] does, so the new store ends byte for byte the same as the
    /// others'. Nothing is written if the stream or the component is refused; a divergence
    /// found while catching up leaves the store stopped, as on any node.
    pub fn follow(
        dir: impl AsRef<Path>,
        runtime: Arc<Runtime>,
        clock: Box<dyn Clock>,
        engine: Arc<dyn Replicator>,
        trust: TrustId,
        component: &[u8],
    ) -> Result<Trust> {
        let dir = dir.as_ref();
        let path = dir.join(STORE_FILE);
        if path.exists() {
            return Err(StoreError::Exists(path.display().to_string()).into());
        }
        let Some((_, bytes)) = engine.read_after(&trust, 0, 1)?.pop() else {
            return Err(ReplicaError::NoLog(trust).into());
        };
        let not_founding = |reason: String| Error::Diverged(Divergence { index: 0, reason });
        let envelope = Envelope::from_bytes(&bytes)?;
        let first = &envelope.entries[0];
        let entry = Entry::from_bytes(first)
            .map_err(|e| not_founding(format!("the stream's first entry: {e}")))?;
        let genesis = match &entry.body {
            EntryBody::Genesis(g)
                if envelope.trust == trust
                    && envelope.first == 0
                    && entry.index == 0
                    && &entry.to_bytes() == first =>
            {
                g
            }
            _ => {
                return Err(not_founding(format!(
                    "the stream of trust {trust} does not start with its genesis entry"
                )));
            }
        };
        let (state, changes) = genesis_state(genesis, &entry);
        if state.id != trust {
            return Err(not_founding(format!(
                "the stream's genesis entry founds trust {}, not {trust}",
                state.id
            )));
        }
        let component = to_component(component)?;
        let module = runtime.prepare(&component)?;
        if module != genesis.module {
            return Err(RefusalError::Invalid(format!(
                "the bylaw given is module {module}, but the genesis entry names module {}",
                genesis.module
            ))
            .into());
        }
        check_founding(&runtime, &module, &state)?;
        std::fs::create_dir_all(dir).map_err(StoreError::from)?;
        let db = write_founding(&path, &state, &entry, &changes, &component)?;
        let mut node = Trust::on(db, dir, runtime, state, clock, read_host_key(dir));
        node.replicate(engine)?;
        Ok(node)
    }

    /// Replicate this trust's log through `engine` from now on: apply what the engine holds
    /// beyond this store's cursor, and append what this store holds beyond the engine (a
    /// trust replicated for the first time puts its whole log there). From then on every
    /// batch is appended to the engine before it is committed here. Returns the entries
    /// applied from the engine.
    pub fn replicate(&mut self, engine: Arc<dyn Replicator>) -> Result<u64> {
        self.writable()?;
        let (cursor, end) = {
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(META).map_err(StoreError::from)?;
            match meta.get(META_CURSOR).map_err(StoreError::from)? {
                Some(v) if v.value().len() == 16 => {
                    let b = v.value();
                    let word = |r: std::ops::Range<usize>| {
                        u64::from_le_bytes(b[r].try_into().expect("8 bytes"))
                    };
                    (word(0..8), word(8..16))
                }
                Some(_) => {
                    return Err(StoreError::Corrupt(
                        "the replication cursor is not 16 bytes".into(),
                    )
                    .into());
                }
                None => (0, 0),
            }
        };
        self.replica = Some(Replica {
            engine,
            cursor,
            end,
        });
        let applied = self.catch_up()?;
        // What this store holds and the engine does not: its log from before it was
        // replicated (nothing else is ever committed before it is appended).
        while let Some(r) = &self.replica
            && r.end < self.state.size
        {
            let entries =
                read_entry_bytes(&*self.db, r.end..self.state.size.min(r.end + CHUNK as u64))?;
            let first = r.end;
            let prev = if first == 0 {
                crate::EntryHash::default()
            } else {
                self.entry_hash_at(first - 1)?
            };
            let envelope = Envelope {
                trust: self.state.id,
                first,
                prev,
                entries,
            };
            let seq = self.append_resolved(&envelope)?;
            let end = envelope.end();
            self.write(|txn| {
                txn.open_table(META)?
                    .insert(META_CURSOR, cursor_bytes(seq, end).as_slice())?;
                Ok(())
            })?;
            if let Some(r) = self.replica.as_mut() {
                r.cursor = seq;
                r.end = end;
            }
        }
        Ok(applied)
    }

    /// Store a bylaw module another node took as an upload, fetched from the cluster's module
    /// store, so that entries naming it (an amendment proposed or put in force there) can be
    /// re-executed here. The bytes must hash to `expected` (the engine is trusted for
    /// availability, never for content). Like an upload it changes no governance state.
    /// Returns whether it was new.
    pub fn store_replicated_module(&self, expected: &ModuleHash, component: &[u8]) -> Result<bool> {
        let calculated = crate::engine::module_hash(component);
        if &calculated != expected {
            return Err(crate::error::LoadError::HashMismatch {
                expected: hex::encode(expected),
                calculated: hex::encode(calculated),
            }
            .into());
        }
        if crate::store::read_module(&*self.db, expected)?.is_some() {
            return Ok(false);
        }
        self.write(|txn| {
            txn.open_table(MODULES)?
                .insert(expected.as_bytes(), component)?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Whether a replication engine is attached, and this store's sequence in it.
    pub fn replication_cursor(&self) -> Option<u64> {
        self.replica.as_ref().map(|r| r.cursor)
    }

    /// Apply every envelope the engine holds beyond this store's cursor (what other nodes
    /// appended), each re-executed before it is committed. Returns the entries applied; 0
    /// when no engine is attached.
    pub fn catch_up(&mut self) -> Result<u64> {
        Ok(self.catch_up_receipts()?.len() as u64)
    }

    /// [`Trust::catch_up`], returning the receipt of each entry applied, by its signed bytes.
    pub(super) fn catch_up_receipts(&mut self) -> Result<Vec<(Vec<u8>, Receipt)>> {
        let Some(r) = &self.replica else {
            return Ok(Vec::new());
        };
        let engine = r.engine.clone();
        let mut applied = Vec::new();
        loop {
            self.writable()?;
            let cursor = self.cursor();
            let batch = engine.read_after(&self.state.id, cursor, CHUNK)?;
            if batch.is_empty() {
                return Ok(applied);
            }
            for (seq, bytes) in batch {
                applied.extend(self.apply_envelope(seq, &bytes)?);
            }
        }
    }

    /// Answer the transitions of a batch refused by a conflict, now that the log other
    /// nodes extended is applied (`applied`: the receipts of what catching up applied, by
    /// signed bytes). A transition found among them was this node's own append, stored
    /// though unconfirmed: its receipt is the logged one. The others are judged again
    /// against the extended log (their signatures checked again: a conflict is rare), with
    /// `retries` more conflicts allowed.
    pub(super) fn judge_again(
        &mut self,
        accepted: &[(usize, Judged)],
        mut applied: Vec<(Vec<u8>, Receipt)>,
        retries: u32,
    ) -> Vec<Result<Receipt>> {
        let mut answers: Vec<Option<Result<Receipt>>> = Vec::with_capacity(accepted.len());
        let mut again = Vec::new();
        for (_, j) in accepted {
            let bytes = signed_bytes(j).to_vec();
            match applied.iter().position(|(b, _)| *b == bytes) {
                Some(at) => answers.push(Some(Ok(applied.swap_remove(at).1))),
                None => {
                    answers.push(None);
                    again.push(CheckedTransition::check(bytes, &self.state.id).map_err(Into::into));
                }
            }
        }
        let mut judged = if again.is_empty() {
            Vec::new()
        } else {
            self.judge_and_commit(again, retries)
        }
        .into_iter();
        answers
            .into_iter()
            .map(|a| a.unwrap_or_else(|| judged.next().expect("an answer for each judged again")))
            .collect()
    }

    /// Whether the engine holds envelopes of this trust beyond this store's cursor (a read
    /// of the stream's last one; `false` without an engine or when it cannot be read).
    pub(super) fn behind_engine(&self) -> bool {
        let Some(r) = &self.replica else {
            return false;
        };
        matches!(r.engine.last(&self.state.id), Ok(Some((seq, _))) if seq > r.cursor)
    }

    /// Judge again, after catching up, a batch judged behind the engine (its state already
    /// rolled back): its accepted and `refused` transitions in their order, with `retries`
    /// more conflicts allowed; the transitions refused for their signature keep their
    /// answers.
    pub(super) fn judge_behind(
        &mut self,
        mut results: Vec<Option<Result<Receipt>>>,
        accepted: Vec<(usize, Judged)>,
        refused: Vec<(usize, CheckedTransition)>,
        retries: u32,
    ) -> Vec<Result<Receipt>> {
        let mut again: Vec<(usize, CheckedTransition)> = refused;
        for (i, j) in &accepted {
            match CheckedTransition::check(signed_bytes(j).to_vec(), &self.state.id) {
                Ok(c) => again.push((*i, c)),
                Err(e) => results[*i] = Some(Err(e.into())),
            }
        }
        again.sort_by_key(|(i, _)| *i);
        let answers: Vec<(usize, Result<Receipt>)> = match self.catch_up_receipts() {
            Ok(_) => {
                let (at, batch): (Vec<usize>, Vec<_>) =
                    again.into_iter().map(|(i, c)| (i, Ok(c))).unzip();
                at.into_iter()
                    .zip(self.judge_and_commit(batch, retries))
                    .collect()
            }
            Err(e) => {
                let why = format!("this node is behind the engine, and catching up failed: {e}");
                again
                    .into_iter()
                    .map(|(i, _)| (i, Err(ReplicaError::Unavailable(why.clone()).into())))
                    .collect()
            }
        };
        for (i, answer) in answers {
            results[i] = Some(answer);
        }
        results
            .into_iter()
            .map(|r| r.expect("every transition of the batch is answered"))
            .collect()
    }

    /// Apply the envelope at sequence `seq`: check it continues this log (entries this
    /// store already holds must be byte for byte its own), re-execute every new entry, and
    /// commit them with the cursor. A divergence stops the trust here. Returns the receipt
    /// of each entry applied, by its signed bytes.
    fn apply_envelope(&mut self, seq: u64, bytes: &[u8]) -> Result<Vec<(Vec<u8>, Receipt)>> {
        let cursor = self.cursor();
        if seq <= cursor {
            return Ok(Vec::new());
        }
        let envelope = match Envelope::from_bytes(bytes) {
            Ok(e) => e,
            Err(e) => return Err(self.diverge(self.state.size, format!("sequence {seq}: {e}"))),
        };
        if envelope.trust != self.state.id {
            return Err(self.diverge(
                envelope.first,
                format!("sequence {seq} is an envelope of trust {}", envelope.trust),
            ));
        }
        if envelope.first > self.state.size {
            return Err(self.diverge(
                self.state.size,
                format!(
                    "sequence {seq} starts at entry {}, but this node holds {} entries",
                    envelope.first, self.state.size
                ),
            ));
        }
        // Entries this store holds already (its log from before replication) must be the
        // envelope's, byte for byte.
        let held = (self.state.size - envelope.first).min(envelope.entries.len() as u64);
        let ours = read_entry_bytes(&*self.db, envelope.first..envelope.first + held)?;
        if let Some(k) = (0..held as usize).find(|&k| ours.get(k) != envelope.entries.get(k)) {
            let i = envelope.first + k as u64;
            return Err(self.diverge(
                i,
                format!("sequence {seq} holds another entry {i} than this node's log"),
            ));
        }
        let engine_matches = self.genesis_facts()?.engine_matches;
        let mut undo: Vec<(Vec<Change>, (u64, crate::EntryHash, u64))> = Vec::new();
        let mut judged: Vec<(usize, Judged)> = Vec::new();
        for (k, entry_bytes) in envelope.entries.iter().enumerate().skip(held as usize) {
            let i = envelope.first + k as u64;
            self.fetch_named_module(entry_bytes);
            match self.replay_one(i, entry_bytes, engine_matches) {
                Ok(j) => {
                    undo.push(advance(self.state_mut(), &j));
                    judged.push((k, j));
                }
                Err(reason) => {
                    self.roll_back(undo);
                    return Err(self.diverge(i, format!("sequence {seq}: {reason}")));
                }
            }
        }
        if let Err(e) = self.commit(&judged, Some(seq)) {
            self.roll_back(undo);
            return Err(e.into());
        }
        let size = self.state.size;
        if let Some(r) = self.replica.as_mut() {
            r.cursor = seq;
            r.end = size;
        }
        Ok(judged
            .into_iter()
            .map(|(_, j)| (signed_bytes(&j).to_vec(), super::receipt(j)))
            .collect())
    }

    /// Store the candidate module an entry's amendment proposal names, fetched from the
    /// engine, if this store lacks it (a node that was away, or new, when it was uploaded
    /// elsewhere). Best effort: if it cannot be had, the replay says the module is missing.
    fn fetch_named_module(&self, entry_bytes: &[u8]) {
        let Ok(Entry {
            body: EntryBody::Transition(rec),
            ..
        }) = Entry::from_bytes(entry_bytes)
        else {
            return;
        };
        let Ok(checked) = CheckedTransition::check(rec.signed.clone(), &self.state.id) else {
            return;
        };
        let Action::Propose(draft) = &checked.body().action else {
            return;
        };
        let ProposalBody::AmendBylaws(amendment) = &draft.body else {
            return;
        };
        let (Ok(module), Some(r)) = (
            crate::host_rules::amendment_module(amendment),
            self.replica.as_ref(),
        ) else {
            return;
        };
        if !matches!(crate::store::read_module(&*self.db, &module), Ok(None)) {
            return;
        }
        match r.engine.module(&module) {
            Ok(Some(bytes)) => {
                if let Err(e) = self.store_replicated_module(&module, &bytes) {
                    tracing::warn!(trust = %hex::encode(self.state.id), %module, error = %e, "the engine's copy of a module an entry names was not stored");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(trust = %hex::encode(self.state.id), %module, error = %e, "a module an entry names was not fetched from the engine");
            }
        }
    }

    /// Check and re-execute the entry `bytes` at index `i` against the state as it stands:
    /// the judgement that applies it, or why it does not replay.
    fn replay_one(
        &self,
        i: u64,
        bytes: &[u8],
        engine_matches: bool,
    ) -> std::result::Result<Judged, String> {
        let entry = Entry::from_bytes(bytes);
        if let Some(reason) = check_entry(i, i, &entry, &self.state, self.state.time) {
            return Err(reason);
        }
        let entry = entry.expect("check_entry checked it decodes");
        if entry.to_bytes() != bytes {
            return Err("the entry is not canonically encoded".into());
        }
        let EntryBody::Transition(rec) = &entry.body else {
            return Err("a genesis entry in a replicated batch".into());
        };
        let checked = CheckedTransition::check(rec.signed.clone(), &self.state.id);
        let (asked, judged) =
            replay_transition(&self.runtime, &*self.db, &self.state, &entry, rec, checked)?;
        compare_answer(
            &self.runtime,
            &asked,
            &rec.verdict,
            rec.fuel,
            engine_matches,
        )?;
        Ok(judged)
    }

    /// Stop the trust on this node for a divergence at entry `index`, and say so.
    fn diverge(&self, index: u64, reason: String) -> Error {
        let divergence = Divergence { index, reason };
        tracing::error!(trust = %hex::encode(self.state.id), %divergence, "the replicated log does not replay here: this node stopped the trust");
        let _ = self.stopped.set(format!(
            "the replicated log diverges from this node's replay at {divergence}"
        ));
        Error::Diverged(divergence)
    }

    /// This store's cursor (0 without an engine).
    fn cursor(&self) -> u64 {
        self.replica.as_ref().map_or(0, |r| r.cursor)
    }

    /// The hash of the stored entry `i`.
    fn entry_hash_at(&self, i: u64) -> Result<crate::EntryHash> {
        match read_entry_bytes(&*self.db, i..i + 1)?.pop() {
            Some(bytes) => Ok(crate::log::entry_hash_of(&bytes)),
            None => Err(StoreError::Corrupt(format!("entry {i} is missing")).into()),
        }
    }

    /// Append a judged batch to the engine, if one is attached: its sequence (`None`
    /// without an engine).
    pub(super) fn append_batch(
        &self,
        accepted: &[(usize, Judged)],
    ) -> std::result::Result<Option<u64>, ReplicaError> {
        if self.replica.is_none() {
            return Ok(None);
        }
        let first = &accepted.first().expect("a batch has an accepted entry").1;
        let envelope = Envelope {
            trust: self.state.id,
            first: first.entry.index,
            prev: first.entry.prev,
            entries: accepted.iter().map(|(_, j)| j.bytes.clone()).collect(),
        };
        self.append_resolved(&envelope).map(Some)
    }

    /// Append `envelope` after this store's cursor; an unconfirmed append is resolved by
    /// reading the stream's last envelope back, never by judging again.
    fn append_resolved(&self, envelope: &Envelope) -> std::result::Result<u64, ReplicaError> {
        let r = self.replica.as_ref().expect("an engine is attached");
        let id = envelope.last_hash().expect("an envelope has entries");
        match r
            .engine
            .append(&self.state.id, r.cursor, &id, &envelope.to_bytes())
        {
            Err(ReplicaError::Ambiguous(why)) => match r.engine.last(&self.state.id) {
                Ok(Some((seq, bytes)))
                    if seq > r.cursor
                        && Envelope::from_bytes(&bytes)
                            .ok()
                            .and_then(|e| e.last_hash())
                            == Some(id) =>
                {
                    Ok(seq)
                }
                Ok(Some((seq, _))) if seq > r.cursor => Err(ReplicaError::Conflict {
                    expected: r.cursor,
                    found: seq,
                }),
                Ok(_) => Err(ReplicaError::Unavailable(format!(
                    "{why}; reading back shows it was not stored"
                ))),
                Err(e) => Err(ReplicaError::Ambiguous(format!(
                    "{why}; reading back failed too ({e}), so it may yet appear in the log: resubmit the same signed bytes rather than signing again"
                ))),
            },
            other => other,
        }
    }
}
