//! Verification: replay a trust's whole log from genesis against its stored modules.

use std::path::Path;

use redb::ReadableDatabase;

use crate::engine::Runtime;
use crate::error::{Error, LoadError, Result, StoreError};
use crate::id::{EntryHash, ModuleHash, TrustId};
use crate::log::{Entry, EntryBody, TransitionRecord, entry_hash_of};
use crate::model::{Action, Verdict};
use crate::pipeline::{Asked, Judged, Mode, advance, ask, genesis_state};
use crate::state::TrustState;
use crate::store::{STORE_FILE, load_state, read_entries, read_intact_module};
use crate::transition::CheckedTransition;

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

/// Entries replayed per window: the host's checks and state changes run through a window
/// in order, then the window's bylaw calls run on every core. Bounds the views held at once.
const WINDOW: usize = 1024;

/// A transition whose host checks and state changes the replay has made, with the bylaw
/// call still to re-run: what the log says the bylaw answered, to compare.
struct Pending {
    index: u64,
    asked: Asked,
    verdict: Verdict,
    fuel: u64,
}

/// Replay the log in `db` (entries and modules; other tables only if `compare_state`),
/// calling `progress(done, total)` as entries are replayed. Returns the report and the
/// replayed state (as far as the replay got).
///
/// The state is rebuilt entry by entry, in order, applying the changes each entry's
/// *logged* verdict makes (checked against the entry's effects and changes digest); the
/// bylaw calls, whose views that state gives, are then re-run a window at a time on every
/// core and their verdicts and fuel compared with the log. Signatures are checked on every
/// core first. As long as every verdict matches, this is exactly the state a one-by-one
/// replay reaches; at the first entry whose verdict does not, the report names it (an
/// earlier divergence of any other kind is found first, as entries are checked in order).
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
    // The trust id the genesis entry defines, to check signatures against before the
    // replay reaches it (a log without a genesis entry diverges at entry 0 anyway).
    let trust = stored
        .first()
        .and_then(|(_, bytes)| Entry::from_bytes(bytes).ok())
        .and_then(|e| match &e.body {
            EntryBody::Genesis(g) => Some(genesis_state(g, &e).0.id),
            EntryBody::Transition(_) => None,
        })
        .unwrap_or_default();
    for window in stored.chunks(WINDOW) {
        let first = window[0].0;
        // Decode every entry, and check every transition's signature, on every core.
        let decoded = crate::par::map(window, |(_, bytes)| {
            let entry = Entry::from_bytes(bytes);
            let checked = match &entry {
                Ok(Entry {
                    body: EntryBody::Transition(rec),
                    ..
                }) => Some(CheckedTransition::check(rec.signed.clone(), &trust)),
                _ => None,
            };
            (entry, checked)
        });
        let mut pending: Vec<Pending> = Vec::new();
        let mut found: Option<(u64, String)> = None;
        for ((key, bytes), (entry, checked)) in window.iter().zip(decoded) {
            let i = report.checked;
            if let Some(reason) = check_entry(i, *key, &entry, &state, prev_time) {
                found = Some((i, reason));
                break;
            }
            let entry = entry.expect("check_entry checked it decodes");
            prev_time = entry.time;
            match &entry.body {
                EntryBody::Genesis(g) => {
                    report.engine_matches = g.engine.replay_compatible(runtime.profile());
                    if let Err(reason) = load(db, runtime, &g.module) {
                        found = Some((i, reason));
                        break;
                    }
                    report.modules.push(g.module);
                    state = genesis_state(g, &entry).0;
                    report.trust_id = state.id;
                    state.head = entry_hash_of(bytes);
                }
                EntryBody::Transition(rec) => {
                    let checked = checked.expect("transitions are checked");
                    match step(runtime, db, &mut state, &entry, rec, checked) {
                        Ok(asked) => {
                            pending.push(Pending {
                                index: i,
                                asked,
                                verdict: rec.verdict.clone(),
                                fuel: rec.fuel,
                            });
                            if rec.verdict.is_allowed() {
                                report.allowed += 1;
                            } else {
                                report.denied += 1;
                            }
                            if !report.modules.contains(&state.module) {
                                report.modules.push(state.module);
                            }
                        }
                        Err(reason) => {
                            found = Some((i, reason));
                            break;
                        }
                    }
                }
            }
            report.checked = i + 1;
            report.head = state.head;
        }
        // Re-run the window's bylaw calls on every core; the earliest disagreement wins.
        let engine_matches = report.engine_matches;
        let judged = crate::par::map(&pending, |p| rejudge(runtime, p, engine_matches));
        if let Some((p, reason)) = pending
            .iter()
            .zip(judged)
            .find_map(|(p, r)| r.err().map(|reason| (p, reason)))
            && found.as_ref().is_none_or(|(i, _)| p.index <= *i)
        {
            found = Some((p.index, reason));
        }
        if let Some((index, reason)) = found {
            // Entries from `index` on were not verified: count only those before it.
            for p in pending.iter().filter(|p| p.index >= index) {
                if p.verdict.is_allowed() {
                    report.allowed -= 1;
                } else {
                    report.denied -= 1;
                }
            }
            report.checked = index;
            report.head = if index == 0 {
                EntryHash::default()
            } else {
                stored
                    .get(index as usize - 1)
                    .map(|(_, b)| entry_hash_of(b))
                    .unwrap_or_default()
            };
            return diverge(&mut report, &state, index, reason);
        }
        progress(first + window.len() as u64, report.size);
    }
    if stored.is_empty() {
        return diverge(&mut report, &state, 0, "the log is empty".into());
    }
    // The balances the replay recomputed must balance against the payments it recorded.
    if let Err(reason) = crate::economy::audit(&state) {
        let size = report.size;
        return diverge(&mut report, &state, size, reason);
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
        (on_disk.rosters != state.rosters, "frozen electorates"),
        (on_disk.rolls != state.rolls, "electorates and ballots"),
        (on_disk.grants != state.grants, "access grants"),
        (on_disk.nonces != state.nonces, "sequence numbers"),
        (
            on_disk.economy != state.economy,
            "treasury, licences and rounds",
        ),
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

/// The checks of an entry's place in the log: stored at index `i` under its own index,
/// decodable, chained to the previous entry, not going back in time, the genesis entry
/// first and only first. The reason if not.
pub(crate) fn check_entry(
    i: u64,
    key: u64,
    entry: &std::result::Result<Entry, StoreError>,
    state: &TrustState,
    prev_time: u64,
) -> Option<String> {
    if key != i {
        return Some(format!(
            "entry {i} is missing: the next stored entry is {key}"
        ));
    }
    let entry = match entry {
        Ok(e) => e,
        Err(e) => return Some(format!("does not decode: {e}")),
    };
    if entry.index != i {
        return Some(format!(
            "entry stored at {i} claims index {}: entries were reordered",
            entry.index
        ));
    }
    if entry.prev != state.head {
        return Some(format!(
            "hash chain broken: entry stores previous hash {}, but entry {} hashes to {}",
            hex::encode(entry.prev),
            i.saturating_sub(1),
            hex::encode(state.head)
        ));
    }
    if entry.time < prev_time {
        return Some(format!(
            "time goes backwards ({} after {prev_time})",
            entry.time
        ));
    }
    match (&entry.body, i) {
        (EntryBody::Genesis(_), 0) | (EntryBody::Transition(_), 1..) => None,
        (EntryBody::Genesis(_), _) => Some("a second genesis entry".into()),
        (EntryBody::Transition(_), 0) => Some("the first entry is not a genesis entry".into()),
    }
}

/// Replay one transition's host checks and state changes, taking the bylaw's answer from
/// the log: the changes must be the ones the entry records. Returns the bylaw call to re-run.
fn step(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &mut TrustState,
    entry: &Entry,
    rec: &TransitionRecord,
    checked: std::result::Result<CheckedTransition, crate::error::RefusalError>,
) -> std::result::Result<Asked, String> {
    let (asked, judged) = replay_transition(runtime, db, state, entry, rec, checked)?;
    advance(state, &judged);
    Ok(asked)
}

/// [`step`] without applying it: the bylaw call to re-run, and the judgement that follows
/// the logged entry (its changes are the ones the entry's digest records).
pub(crate) fn replay_transition(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    entry: &Entry,
    rec: &TransitionRecord,
    checked: std::result::Result<CheckedTransition, crate::error::RefusalError>,
) -> std::result::Result<(Asked, Judged), String> {
    let refused = |e: Error| format!("the replay does not accept this transition: {e}");
    let checked = checked.map_err(|e| refused(e.into()))?;
    let asked = ask(runtime, db, state, &checked, entry.time, Mode::Replay).map_err(refused)?;
    if asked.module != rec.module {
        return Err(format!(
            "judged by module {}, but the rules for this action are module {}",
            hex::encode(rec.module),
            hex::encode(asked.module)
        ));
    }
    // The one shape the state changes rely on; any other misshapen verdict is caught when
    // the bylaw is asked again (it cannot give one: the host would log `bylaw-failed`).
    if let (Action::Close(_), Verdict::Allow(a)) = (&checked.body().action, &rec.verdict)
        && a.decision.is_none()
    {
        return Err(format!(
            "verdict differs: logged {:?}, which does not decide the proposal it closes",
            rec.verdict
        ));
    }
    let judged = asked
        .conclude(
            runtime,
            db,
            state,
            rec.verdict.clone(),
            rec.fuel,
            entry.time,
        )
        .map_err(refused)?;
    let EntryBody::Transition(again) = &judged.entry.body else {
        unreachable!("judging makes transitions")
    };
    if again.effects != rec.effects {
        return Err(format!(
            "effects differ: logged {:?}, replay gives {:?}",
            rec.effects, again.effects
        ));
    }
    if again.changes != rec.changes {
        return Err("state changes differ from the logged digest".to_string());
    }
    let judged = judged.logged(entry);
    Ok((asked, judged))
}

/// Ask the bylaw again and compare its answer with the log's. The reason if they differ.
fn rejudge(
    runtime: &Runtime,
    p: &Pending,
    engine_matches: bool,
) -> std::result::Result<(), String> {
    compare_answer(runtime, &p.asked, &p.verdict, p.fuel, engine_matches)
}

/// Ask the bylaw of `asked` again: the reason if its verdict is not `verdict`, or (when the
/// engine profile matches the log's) its fuel is not `fuel`.
pub(crate) fn compare_answer(
    runtime: &Runtime,
    asked: &Asked,
    verdict: &Verdict,
    fuel: u64,
    engine_matches: bool,
) -> std::result::Result<(), String> {
    let (again, used) = asked
        .answer(runtime)
        .map_err(|e| format!("the replay does not accept this transition: {e}"))?;
    if &again != verdict {
        return Err(format!(
            "verdict differs: logged {verdict:?}, replay gives {again:?}"
        ));
    }
    if engine_matches && used != fuel {
        return Err(format!("fuel differs: logged {fuel}, replay used {used}"));
    }
    Ok(())
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
