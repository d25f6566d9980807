//! The judging pipeline: a signed transition checked by the host, judged by the bylaw whose
//! rules apply, and turned into a log entry and the state changes it makes, without writing
//! anything. Live submission and replay share it; committing is the store's (see
//! [`crate::Trust`]), so replication can sit between judging and committing.

use redb::ReadableDatabase;

use crate::amendment;
use crate::conformance::{Setting, first_failure};
use crate::engine::Runtime;
use crate::error::{CharterError, RefusalError, Result};
use crate::host_rules;
use crate::id::{EntryHash, MemberKey, ModuleHash};
use crate::log::{
    ENTRY_FORMAT, Entry, EntryBody, Genesis, TransitionRecord, entry_hash, entry_hash_of,
};
use crate::model::{Action, Charter, ProposalBody, Verdict, View};
use crate::state::{Change, TrustState, changes_digest};
use crate::store::{has_preview, preview_key};
use crate::transition::CheckedTransition;

/// A transition judged against a state, ready to commit.
pub(crate) struct Judged {
    pub entry: Entry,
    /// The entry's stored bytes and their hash, encoded once when judged (see
    /// [`Judged::logged`] for the one place an entry is replaced).
    pub bytes: Vec<u8>,
    /// [`entry_hash_of`] of `bytes`.
    pub hash: EntryHash,
    pub changes: Vec<Change>,
    pub signer: MemberKey,
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

/// Judge a signed transition, its encoding, trust and signature already checked (see
/// [`CheckedTransition::check`]), at host time `now` against `state`: the host's checks,
/// then the bylaw in force. Pure with respect to `state`; writes nothing. `db` is read for
/// amendment candidates (stored modules and, live, their previews).
pub(crate) fn judge_checked(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    checked: &CheckedTransition,
    now: u64,
    mode: Mode,
) -> Result<Judged> {
    let asked = ask(runtime, db, state, checked, now, mode)?;
    let started = std::time::Instant::now();
    let (verdict, fuel) = asked.answer(runtime)?;
    let bylaw_time = started.elapsed();
    let mut judged = asked.conclude(runtime, db, state, verdict, fuel, now)?;
    judged.bylaw_time = bylaw_time;
    Ok(judged)
}

/// A checked transition the host accepts for judging, with what the bylaw is asked: the
/// part of judging that reads the state. [`Asked::answer`] calls the bylaw and reads
/// nothing else, so a replay can ask the bylaws of many entries at once.
pub(crate) struct Asked {
    bytes: Vec<u8>,
    signer: MemberKey,
    seq: u64,
    action: Action,
    /// How messages name a signer who is not a member (`None` for a member).
    stranger: Option<String>,
    /// The module whose rules judge the action.
    pub module: ModuleHash,
    view: View,
}

/// The host's checks of `checked` against `state` at `now`, and the view the bylaw gets.
pub(crate) fn ask(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    state: &TrustState,
    checked: &CheckedTransition,
    now: u64,
    mode: Mode,
) -> Result<Asked> {
    let body = checked.body();
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
            who: host_rules::who(state, body.signer.as_slice()),
            action: body.action.name(),
        }
        .into());
    }
    let expected = state.next_seq(&body.signer);
    if body.seq != expected {
        return Err(RefusalError::BadSequence {
            key: host_rules::who(state, body.signer.as_slice()),
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
            if !has_preview(db, &preview_key(&module, &a.charter))? {
                return Err(RefusalError::Amendment(format!(
                    "no impact preview of module {} with this charter: members must be able to read it before voting opens (run `cltd amend preview`)",
                    hex::encode(module)
                ))
                .into());
            }
        }
    }
    let with_roll = runtime.needs_roll(rules.module, rules.charter, body.action.kind());
    let view = host_rules::view(state, &body.signer, &body.action, now, with_roll);
    Ok(Asked {
        bytes: checked.bytes().to_vec(),
        signer: body.signer,
        seq: body.seq,
        action: body.action.clone(),
        stranger: (!member).then(|| host_rules::who(state, body.signer.as_slice())),
        module: *rules.module,
        view,
    })
}

impl Asked {
    /// Ask the bylaw: its verdict, checked for shape (a failure becomes the host's denial
    /// `bylaw-failed`), and the fuel it used. A non-member's denied action is refused.
    pub(crate) fn answer(&self, runtime: &Runtime) -> Result<(Verdict, u64)> {
        let (result, fuel) = runtime.evaluate_metered(&self.module, &self.view, &self.action);
        let verdict = match result
            .and_then(|v| host_rules::check_verdict(&self.view, &self.action, &v).map(|()| v))
        {
            Ok(v) => v,
            // The bylaw failed: logged as the host's denial, so the sequence number is
            // spent and the same signed bytes cannot be made to burn the fuel budget again.
            Err(e) if e.is_guest_failure() => host_rules::failure_verdict(&e),
            Err(e) => return Err(e.into()),
        };
        if let Some(who) = &self.stranger
            && let Verdict::Deny(d) = &verdict
        {
            return Err(RefusalError::NotAllowedToNonMember {
                who: who.clone(),
                action: self.action.name(),
                code: d.code.clone(),
                explanation: d.explanation.clone(),
            }
            .into());
        }
        Ok((verdict, fuel))
    }

    /// The entry and state changes `verdict` (which used `fuel`) makes of this transition
    /// in `state`, the state it was asked in. `verdict` must have the shape the action
    /// calls for (see `host_rules::check_verdict`).
    pub(crate) fn conclude(
        &self,
        runtime: &Runtime,
        db: &impl ReadableDatabase,
        state: &TrustState,
        verdict: Verdict,
        fuel: u64,
        now: u64,
    ) -> Result<Judged> {
        let activation = match (&self.action, verdict.is_allowed()) {
            (Action::Execute(id), true) => match &state.proposals[id].proposal.body {
                ProposalBody::AmendBylaws(a) => {
                    Some(amendment::candidate(runtime, db, state, a, now)?)
                }
                _ => None,
            },
            _ => None,
        };
        let (effects, changes) = host_rules::effects(
            state,
            &self.signer,
            self.seq,
            &self.action,
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
                signed: self.bytes.clone(),
                module: self.module,
                verdict,
                effects,
                fuel,
                changes: changes_digest(&changes),
            }),
        };
        let bytes = entry.to_bytes();
        Ok(Judged {
            hash: entry_hash_of(&bytes),
            bytes,
            entry,
            changes,
            signer: self.signer,
            action: self.action.clone(),
            bylaw_time: std::time::Duration::ZERO,
        })
    }
}

impl Judged {
    /// This judgement with `entry` in place of the entry it made (a replay follows the
    /// logged entry, so the hash chain follows the log whatever the engine). Usually they
    /// are equal, and the encoding made when judging stands.
    pub(crate) fn logged(self, entry: &Entry) -> Judged {
        if *entry == self.entry {
            return self;
        }
        let entry = entry.clone();
        let bytes = entry.to_bytes();
        Judged {
            hash: entry_hash_of(&bytes),
            bytes,
            entry,
            ..self
        }
    }
}

/// Apply a judged entry to `state`; returns what undoes it.
pub(crate) fn advance(
    state: &mut TrustState,
    judged: &Judged,
) -> (Vec<Change>, (u64, EntryHash, u64)) {
    let before = (state.size, state.head, state.time);
    let undo = state.apply_all(&judged.changes);
    state.size += 1;
    state.head = judged.hash;
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
        let key = MemberKey(
            f.key
                .as_slice()
                .try_into()
                .expect("founder keys are checked at creation"),
        );
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
    changes.extend(crate::economy::founding(genesis.charter.treasury.as_ref()));
    state.apply_all(&changes);
    state.size = 1;
    state.head = entry_hash(entry);
    state.time = entry.time;
    (state, changes)
}

pub(crate) fn check_charter(charter: &Charter) -> Result<(), CharterError> {
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
    if let Some(t) = &charter.treasury {
        t.check().map_err(CharterError::Invalid)?;
    }
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
pub(crate) fn check_founding(
    runtime: &Runtime,
    module: &ModuleHash,
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
