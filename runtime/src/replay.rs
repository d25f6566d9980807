//! Verification: replay a trust's whole log from genesis against its stored modules.

use std::path::Path;

use redb::ReadableDatabase;

use crate::engine::Runtime;
use crate::error::{Error, LoadError, Result, StoreError};
use crate::id::{EntryHash, ModuleHash, TrustId};
use crate::log::{Entry, EntryBody, entry_hash_of};
use crate::pipeline::{Mode, advance, genesis_state, judge};
use crate::state::TrustState;
use crate::store::{STORE_FILE, load_state, read_entries, read_intact_module};

/// Where a replay first disagrees with the stored log or state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The log index where the disagreement was found (the log size for a state mismatch).
    pub index: u64,
    /// What disagrees, in plain language.
    pub reason: String,
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.index, self.reason)
    }
}

/// What `verify` checked and found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// The trust id the genesis entry defines.
    pub trust_id: TrustId,
    /// Entries checked (before any divergence).
    pub checked: u64,
    /// Entries stored.
    pub size: u64,
    /// Hash of the last entry checked.
    pub head: EntryHash,
    /// Transitions the bylaws allowed.
    pub allowed: u64,
    /// Transitions the bylaws denied.
    pub denied: u64,
    /// Modules put in force (at genesis and by amendments), in order of first use.
    pub modules: Vec<ModuleHash>,
    /// False when the log was written under a different engine profile (fuel figures are
    /// then not compared).
    pub engine_matches: bool,
    /// The first disagreement, if any.
    pub divergence: Option<Divergence>,
}

impl VerifyReport {
    /// True when every entry and the stored state agree with the replay.
    pub fn is_ok(&self) -> bool {
        self.divergence.is_none()
    }
}

fn diverge(
    report: &mut VerifyReport,
    state: &TrustState,
    index: u64,
    reason: String,
) -> Result<(VerifyReport, TrustState)> {
    report.divergence = Some(Divergence { index, reason });
    Ok((std::mem::take(report), state.clone()))
}

/// Replay the log stored in `db` from genesis, re-executing every transition with the module
/// that was in force, and compare each entry, the hash chain and the final stored state.
/// `Err` only for failures of the verifier itself; a tampered store yields a report whose
/// [`VerifyReport::divergence`] says where and how.
pub fn verify(db: &impl ReadableDatabase, runtime: &Runtime) -> Result<VerifyReport> {
    Ok(replay(db, runtime, true, &mut |_, _| {})?.0)
}

/// What [`verify_store`] found: the replay's report, and whether the store had to be
/// repaired before it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreVerification {
    /// The replay's report.
    pub report: VerifyReport,
    /// True when the store was not closed cleanly (its writer stopped abruptly: a crash,
    /// SIGKILL) and opening it repaired it. Repair rebuilds redb's allocator state from the
    /// last durable commit; it writes nothing of the trust's own.
    pub repaired: bool,
}

/// [`verify`] the trust stored in the data directory `dir`, opening the store read-only,
/// or, when its writer stopped abruptly, opening it for writing once so that redb repairs
/// it. `progress(done, total)` is called after each entry replayed.
pub fn verify_store(
    dir: &Path,
    runtime: &Runtime,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<StoreVerification> {
    let path = dir.join(STORE_FILE);
    if !path.exists() {
        return Err(StoreError::NotFound(dir.display().to_string()).into());
    }
    let (report, repaired) = match redb::ReadOnlyDatabase::open(&path) {
        Ok(db) => (replay(&db, runtime, true, progress)?.0, false),
        Err(redb::DatabaseError::RepairAborted) => {
            let db = redb::Database::open(&path)?;
            (replay(&db, runtime, true, progress)?.0, true)
        }
        Err(e) => return Err(e.into()),
    };
    Ok(StoreVerification { report, repaired })
}

/// Replay the log in `db` (entries and modules; other tables only if `compare_state`),
/// calling `progress(done, total)` after each entry. Returns the report and the replayed
/// state (as far as the replay got).
pub(crate) fn replay(
    db: &impl ReadableDatabase,
    runtime: &Runtime,
    compare_state: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(VerifyReport, TrustState)> {
    let mut report = VerifyReport {
        engine_matches: true,
        ..VerifyReport::default()
    };
    let stored = read_entries(db)?;
    report.size = stored.len() as u64;
    let mut state = TrustState::default();
    let mut prev_time = 0;
    for (i, (key, bytes)) in stored.iter().enumerate() {
        let i = i as u64;
        if *key != i {
            return diverge(
                &mut report,
                &state,
                i,
                format!("entry {i} is missing: the next stored entry is {key}"),
            );
        }
        let entry = match Entry::from_bytes(bytes) {
            Ok(e) => e,
            Err(e) => {
                return diverge(&mut report, &state, i, format!("does not decode: {e}"));
            }
        };
        if entry.index != i {
            return diverge(
                &mut report,
                &state,
                i,
                format!(
                    "entry stored at {i} claims index {}: entries were reordered",
                    entry.index
                ),
            );
        }
        if entry.prev != state.head {
            return diverge(
                &mut report,
                &state,
                i,
                format!(
                    "hash chain broken: entry stores previous hash {}, but entry {} hashes to {}",
                    hex::encode(entry.prev),
                    i.saturating_sub(1),
                    hex::encode(state.head)
                ),
            );
        }
        if entry.time < prev_time {
            return diverge(
                &mut report,
                &state,
                i,
                format!("time goes backwards ({} after {prev_time})", entry.time),
            );
        }
        prev_time = entry.time;
        match &entry.body {
            EntryBody::Genesis(g) => {
                if i != 0 {
                    return diverge(&mut report, &state, i, "a second genesis entry".into());
                }
                report.engine_matches = g.engine.replay_compatible(runtime.profile());
                if let Err(reason) = load(db, runtime, &g.module) {
                    return diverge(&mut report, &state, i, reason);
                }
                report.modules.push(g.module);
                state = genesis_state(g, &entry).0;
                report.trust_id = state.id;
            }
            EntryBody::Transition(rec) => {
                if i == 0 {
                    return diverge(
                        &mut report,
                        &state,
                        0,
                        "the first entry is not a genesis entry".into(),
                    );
                }
                let judged = match judge(runtime, db, &state, &rec.signed, entry.time, Mode::Replay)
                {
                    Ok(j) => j,
                    Err(e) => {
                        return diverge(
                            &mut report,
                            &state,
                            i,
                            format!("the replay does not accept this transition: {e}"),
                        );
                    }
                };
                let EntryBody::Transition(again) = &judged.entry.body else {
                    unreachable!("judge makes transitions")
                };
                let mismatch = if again.module != rec.module {
                    Some(format!(
                        "judged by module {}, but the rules for this action are module {}",
                        hex::encode(rec.module),
                        hex::encode(again.module)
                    ))
                } else if again.verdict != rec.verdict {
                    Some(format!(
                        "verdict differs: logged {:?}, replay gives {:?}",
                        rec.verdict, again.verdict
                    ))
                } else if again.effects != rec.effects {
                    Some(format!(
                        "effects differ: logged {:?}, replay gives {:?}",
                        rec.effects, again.effects
                    ))
                } else if again.changes != rec.changes {
                    Some("state changes differ from the logged digest".to_string())
                } else if report.engine_matches && again.fuel != rec.fuel {
                    Some(format!(
                        "fuel differs: logged {}, replay used {}",
                        rec.fuel, again.fuel
                    ))
                } else {
                    None
                };
                if let Some(reason) = mismatch {
                    return diverge(&mut report, &state, i, reason);
                }
                if again.verdict.is_allowed() {
                    report.allowed += 1;
                } else {
                    report.denied += 1;
                }
                // Keep the logged fuel when engines differ, so the entry hash is the logged one.
                let mut judged = judged;
                judged.entry = entry.clone();
                advance(&mut state, &judged);
                if !report.modules.contains(&state.module) {
                    report.modules.push(state.module);
                }
                report.checked = i + 1;
                report.head = state.head;
                progress(i + 1, report.size);
                continue;
            }
        }
        state.head = entry_hash_of(bytes);
        report.checked = i + 1;
        report.head = state.head;
        progress(i + 1, report.size);
    }
    if stored.is_empty() {
        return diverge(&mut report, &state, 0, "the log is empty".into());
    }
    if !compare_state {
        return Ok((report, state));
    }
    let size = report.size;
    let on_disk = match load_state(db) {
        Ok(s) => s,
        Err(e) => {
            return diverge(
                &mut report,
                &state,
                size,
                format!("stored state unreadable: {e}"),
            );
        }
    };
    let what = [
        (on_disk.id != state.id, "trust id"),
        (
            on_disk.size != state.size || on_disk.head != state.head || on_disk.time != state.time,
            "log head",
        ),
        (on_disk.module != state.module, "active module"),
        (on_disk.charter != state.charter, "charter"),
        (on_disk.entrenched != state.entrenched, "entrenched clauses"),
        (on_disk.members != state.members, "members"),
        (on_disk.assets != state.assets, "assets"),
        (on_disk.proposals != state.proposals, "proposals"),
        (on_disk.grants != state.grants, "access grants"),
        (on_disk.nonces != state.nonces, "sequence numbers"),
    ];
    if let Some((_, name)) = what.iter().find(|(differs, _)| *differs) {
        return diverge(
            &mut report,
            &state,
            size,
            format!("stored {name} differ from the replayed state"),
        );
    }
    // The stored Merkle tree (what checkpoints and proofs are made from) must be exactly
    // what the entries give.
    if let Err(reason) = crate::tree::check(db)? {
        return diverge(&mut report, &state, size, reason);
    }
    Ok((report, state))
}

fn load(
    db: &impl ReadableDatabase,
    runtime: &Runtime,
    hash: &ModuleHash,
) -> std::result::Result<(), String> {
    let bytes = match read_intact_module(db, hash) {
        Ok(Some(b)) => b,
        Ok(None) => return Err(format!("module {} is not stored", hex::encode(hash))),
        Err(Error::Load(LoadError::HashMismatch { calculated, .. })) => {
            return Err(format!(
                "module {} was swapped: its stored bytes hash to {calculated}",
                hex::encode(hash)
            ));
        }
        Err(e) => return Err(format!("module {} unreadable: {e}", hex::encode(hash))),
    };
    runtime
        .prepare(&bytes)
        .map(|_| ())
        .map_err(|e| format!("module {} does not load: {e}", hex::encode(hash)))
}
