//! What the host owns: input limits, the proposal lifecycle, one vote per elector, the
//! snapshot passed to the bylaw, and turning an allowed verdict into state changes.
//!
//! These are pure functions of the state, so live execution and replay share them.
//!
//! Why one file of ~750 lines (and its unit tests): `check` is one table of what the host refuses for each kind
//! of action, and `effects` the matching table of what an allowed action changes; a reviewer
//! reads each rule beside its neighbours, and the entrenched procedure they defer to is in
//! `outcome.rs`.

use crate::clock::utc;
use crate::economy;
use crate::error::{EvalError, LifecycleError, RefusalError};
use crate::id::{MemberKey, ModuleHash};
use crate::model::{
    Action, Amendment, Applicant, Clause, Constitution, Denial, Effect, Grant, LockStatus, Outcome,
    Parameter, Proposal, ProposalBody, ProposalState, ProposalStatus, Proxy, Verdict, View,
};
use crate::outcome::{self, PROCEDURE_MIN_WINDOW_DAYS};
use crate::state::{Change, TrustState};

const MAX_TITLE: usize = 200;
const MAX_TEXT: usize = 16 * 1024;
const MAX_ID: usize = 128;
const MAX_NAME: usize = 200;
const MAX_WINDOW: u64 = 10 * 365 * 86_400;
const MAX_EXPLANATION: usize = 4 * 1024;
const MAX_NOTES: usize = 16;
const MAX_PARAMS: usize = 64;
const MAX_PARAM_KEY: usize = 64;
const MAX_PARAM_VALUE: usize = 1024;
const MAX_FIELDS: usize = 256;
/// Open proposals one member may have at once: a flood of proposals from one member is
/// refused (and leaves no trace) rather than logged.
pub const MAX_OPEN_PER_PROPOSER: usize = 256;

/// Most applicants one `admit-members` proposal may list (its transition's size bounds it
/// too: [`crate::MAX_TRANSITION_BYTES`]).
pub const MAX_APPLICANTS: usize = 1_000;

/// Check a list of field names: bounded, non-empty names, no repeats.
fn check_fields<'a>(
    what: &str,
    names: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), RefusalError> {
    if names.len() > MAX_FIELDS {
        return Err(invalid(format!(
            "{what}: at most {MAX_FIELDS} fields, this one {}",
            names.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in names {
        if name.trim().is_empty() || name.len() > MAX_ID {
            return Err(invalid(format!(
                "{what}: a field name has 1-{MAX_ID} bytes"
            )));
        }
        if !seen.insert(name) {
            return Err(invalid(format!("{what}: field `{name}` appears twice")));
        }
    }
    Ok(())
}

/// Check a charter parameter list: bounded, keys unique.
pub(crate) fn check_params(params: &[Parameter]) -> Result<(), RefusalError> {
    if params.len() > MAX_PARAMS {
        return Err(invalid(format!(
            "a charter has at most {MAX_PARAMS} parameters, this one {}",
            params.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for p in params {
        if p.key.is_empty() || p.key.len() > MAX_PARAM_KEY || p.value.len() > MAX_PARAM_VALUE {
            return Err(invalid(format!(
                "charter parameter `{}` needs a key of 1-{MAX_PARAM_KEY} bytes and a value of at most {MAX_PARAM_VALUE}",
                p.key
            )));
        }
        if !seen.insert(p.key.as_str()) {
            return Err(invalid(format!(
                "charter parameter `{}` appears twice",
                p.key
            )));
        }
    }
    Ok(())
}

/// The module hash an amendment names.
pub(crate) fn amendment_module(a: &Amendment) -> Result<ModuleHash, RefusalError> {
    a.module
        .parse()
        .ok()
        .ok_or_else(|| invalid("an amendment names its module by a 64-digit hex blake3 hash"))
}

/// The entrenched clauses an amendment releases, checked against those in force.
pub(crate) fn released(state: &TrustState, a: &Amendment) -> Result<Vec<Clause>, RefusalError> {
    let mut out = Vec::new();
    for name in &a.releases {
        let clause = Clause::parse(name).ok_or_else(|| {
            invalid(format!(
                "`{name}` is not an entrenched clause (known: {})",
                Clause::ALL.map(Clause::name).join(", ")
            ))
        })?;
        if !state.entrenched.contains(&clause) {
            return Err(invalid(format!(
                "clause `{name}` is not entrenched in this trust"
            )));
        }
        if out.contains(&clause) {
            return Err(invalid(format!("clause `{name}` is released twice")));
        }
        out.push(clause);
    }
    Ok(out)
}

fn invalid(msg: impl Into<String>) -> RefusalError {
    RefusalError::Invalid(msg.into())
}

fn check_len(what: &str, text: &str, max: usize) -> Result<(), RefusalError> {
    if text.len() > max {
        return Err(invalid(format!(
            "{what} is {} bytes; at most {max}",
            text.len()
        )));
    }
    Ok(())
}

/// Admit an applicant of an executed proposal: the member and the effect that says so.
fn admit(a: &Applicant, now: u64, changes: &mut Vec<Change>, effects: &mut Vec<Effect>) {
    let key = check_key("applicant", &a.key).expect("checked when proposed");
    changes.push(Change::Member {
        key,
        member: Some(a.admit(now)),
    });
    effects.push(Effect::MemberAdmitted {
        key: a.key.clone(),
        class: a.class,
    });
}

/// An `admit-members` list: 1 to [`MAX_APPLICANTS`] applicants, each with a key and a name
/// of bounded length, no key twice, nobody already a member.
fn check_applicants(state: &TrustState, list: &[Applicant]) -> Result<(), RefusalError> {
    if list.is_empty() {
        return Err(invalid(
            "an admit-members proposal lists at least one applicant",
        ));
    }
    if list.len() > MAX_APPLICANTS {
        return Err(invalid(format!(
            "an admit-members proposal lists at most {MAX_APPLICANTS} applicants, got {}",
            list.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, a) in list.iter().enumerate() {
        let n = i + 1;
        let key = check_key(&format!("applicant {n}'s key"), &a.key)?;
        check_len(&format!("applicant {n}'s name"), &a.name, MAX_NAME)?;
        if !seen.insert(key) {
            return Err(invalid(format!(
                "applicant {n} ({}) is listed twice",
                hex::encode(key)
            )));
        }
    }
    none_a_member(state, list)
}

/// Refuse a list of applicants naming a member (when proposed, and again when executed).
fn none_a_member(state: &TrustState, list: &[Applicant]) -> Result<(), RefusalError> {
    match list.iter().find(|a| state.member(&a.key).is_some()) {
        Some(a) => Err(lifecycle(LifecycleError::ApplicantIsMember {
            who: who(state, &a.key),
        })),
        None => Ok(()),
    }
}

fn check_key(what: &str, key: &[u8]) -> Result<MemberKey, RefusalError> {
    key.try_into().map(MemberKey).map_err(|_| {
        invalid(format!(
            "{what} must be a 32-byte ed25519 key, got {} bytes",
            key.len()
        ))
    })
}

/// A key as the trust knows it, for messages (see [`TrustState::who`]).
pub(crate) fn who(state: &TrustState, key: &[u8]) -> String {
    state.who(key)
}

/// The rules that judge an action: those frozen with the proposal it acts on (vote, close,
/// execute, withdraw), or else the rules in force.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    /// The bylaw module that judges it.
    pub module: &'a ModuleHash,
    /// The charter it runs with.
    pub charter: &'a [Parameter],
}

/// The rules that judge `action` in `state` (see [`Rules`]).
pub(crate) fn rules<'a>(state: &'a TrustState, action: &Action) -> Rules<'a> {
    match action.target().and_then(|id| state.proposals.get(&id)) {
        Some(p) => Rules {
            module: &p.rules.module,
            charter: &p.rules.charter,
        },
        None => Rules {
            module: &state.module,
            charter: &state.charter,
        },
    }
}

impl TrustState {
    /// The rules that judge `action`: those frozen with the proposal it acts on (vote,
    /// close, execute, withdraw), or else the rules in force.
    pub fn rules_for(&self, action: &Action) -> Constitution {
        match action.target().and_then(|id| self.proposals.get(&id)) {
            Some(p) => p.rules.clone(),
            None => self.constitution(),
        }
    }
}

fn proposal(state: &TrustState, id: u64) -> Result<&ProposalState, RefusalError> {
    state
        .proposals
        .get(&id)
        .map(|p| &**p)
        .ok_or_else(|| RefusalError::NotFound(format!("there is no proposal {id}")))
}

fn lifecycle(e: LifecycleError) -> RefusalError {
    RefusalError::Lifecycle(e)
}

/// Check what the host owns before the bylaw sees the action. A refusal leaves no trace.
pub(crate) fn check(
    state: &TrustState,
    signer: &MemberKey,
    action: &Action,
    now: u64,
) -> Result<(), RefusalError> {
    match action {
        Action::Propose(d) => {
            let open = state.open_by(signer.as_slice()) as usize;
            if open >= MAX_OPEN_PER_PROPOSER {
                return Err(lifecycle(LifecycleError::TooManyOpen {
                    who: who(state, signer.as_slice()),
                    open,
                }));
            }
            check_len("title", &d.title, MAX_TITLE)?;
            check_len("text", &d.text, MAX_TEXT)?;
            if d.window == 0 || d.window > MAX_WINDOW {
                return Err(invalid(format!(
                    "voting window must be between 1 second and 10 years, got {} s",
                    d.window
                )));
            }
            match &d.body {
                ProposalBody::Ordinary => {}
                ProposalBody::AdmitMember(a) => {
                    check_key("applicant key", &a.key)?;
                    check_len("applicant name", &a.name, MAX_NAME)?;
                }
                ProposalBody::AdmitMembers(list) => check_applicants(state, list)?,
                ProposalBody::RemoveMember(k) => {
                    check_key("member key", k)?;
                }
                ProposalBody::DisposeAsset(x) => {
                    check_len("asset id", &x.asset_id, MAX_ID)?;
                    check_len("recipient", &x.recipient, MAX_TEXT)?;
                }
                ProposalBody::GrantAccess(g) => {
                    check_key("grantee key", &g.grantee)?;
                    check_len("asset id", &g.asset_id, MAX_ID)?;
                    check_len("purpose", &g.purpose, MAX_TEXT)?;
                    check_fields("access request", g.fields.iter().map(String::as_str))?;
                    if g.duration > MAX_WINDOW {
                        return Err(invalid("access grants last at most 10 years"));
                    }
                }
                ProposalBody::Resolution(r) => {
                    if r.kind.trim().is_empty() {
                        return Err(invalid("a resolution names its kind"));
                    }
                    check_len("resolution kind", &r.kind, MAX_ID)?;
                    check_params(&r.terms)?;
                }
                ProposalBody::Appoint(_)
                | ProposalBody::Spend(_)
                | ProposalBody::Allocate(_)
                | ProposalBody::BudgetRound(_)
                | ProposalBody::License(_)
                | ProposalBody::RevokeLicence(_)
                | ProposalBody::SetFees(_) => economy::check_proposal(state, &d.body, d.window)?,
                ProposalBody::AmendBylaws(a) => {
                    let module = amendment_module(a)?;
                    check_params(&a.charter)?;
                    let releases = released(state, a)?;
                    if module == state.module && a.charter == state.charter && releases.is_empty() {
                        return Err(invalid(
                            "this amendment changes nothing: same module, same charter",
                        ));
                    }
                    if !releases.is_empty() && d.window < PROCEDURE_MIN_WINDOW_DAYS * 86_400 {
                        return Err(invalid(format!(
                            "releasing an entrenched clause follows the entrenched procedure: a window of at least {PROCEDURE_MIN_WINDOW_DAYS} days"
                        )));
                    }
                }
            }
        }
        Action::Vote(v) => {
            let p = proposal(state, v.proposal)?;
            economy::check_action(state, signer, action, now)?;
            if p.proposal.status != ProposalStatus::Open {
                return Err(lifecycle(LifecycleError::NotOpenForVoting {
                    proposal: v.proposal,
                    status: p.proposal.status.name(),
                }));
            }
            if now >= p.proposal.closes_at {
                return Err(lifecycle(LifecycleError::VotingClosed {
                    proposal: v.proposal,
                    closes_at: p.proposal.closes_at,
                    now,
                }));
            }
            let roll = state.rolls.get(&v.proposal);
            if !roll.is_some_and(|r| r.contains(signer)) {
                return Err(lifecycle(LifecycleError::NotInElectorate {
                    who: who(state, signer.as_slice()),
                    proposal: v.proposal,
                }));
            }
            if !state.members.contains_key(signer) {
                return Err(lifecycle(LifecycleError::NoLongerMember {
                    who: who(state, signer.as_slice()),
                    proposal: v.proposal,
                }));
            }
            if roll.is_some_and(|r| r.choice(signer).is_some()) {
                return Err(lifecycle(LifecycleError::AlreadyVoted {
                    who: who(state, signer.as_slice()),
                    proposal: v.proposal,
                }));
            }
        }
        Action::Close(id) => {
            let p = proposal(state, *id)?;
            if p.proposal.status != ProposalStatus::Open {
                return Err(lifecycle(LifecycleError::AlreadyClosed {
                    proposal: *id,
                    status: p.proposal.status.name(),
                }));
            }
            if now < p.proposal.closes_at {
                return Err(lifecycle(LifecycleError::StillOpen {
                    proposal: *id,
                    closes_at: p.proposal.closes_at,
                    now,
                }));
            }
        }
        Action::Execute(id) => {
            let p = proposal(state, *id)?;
            match p.proposal.status {
                ProposalStatus::Passed => {}
                ProposalStatus::Executed => {
                    return Err(lifecycle(LifecycleError::AlreadyExecuted { proposal: *id }));
                }
                other => {
                    return Err(lifecycle(LifecycleError::NotPassed {
                        proposal: *id,
                        status: other.name(),
                    }));
                }
            }
            if let Some(until) = p.decision.as_ref().and_then(|d| d.not_before)
                && now < until
            {
                return Err(lifecycle(LifecycleError::Timelocked {
                    proposal: *id,
                    until,
                    now,
                }));
            }
            match &p.proposal.body {
                ProposalBody::AdmitMember(a) if state.member(&a.key).is_some() => {
                    return Err(lifecycle(LifecycleError::AlreadyMember));
                }
                ProposalBody::AdmitMembers(list) => none_a_member(state, list)?,
                ProposalBody::RemoveMember(k) if state.member(k).is_none() => {
                    return Err(lifecycle(LifecycleError::AlreadyRemoved));
                }
                ProposalBody::DisposeAsset(x) if !state.assets.contains_key(&x.asset_id) => {
                    return Err(lifecycle(LifecycleError::AssetGone {
                        asset: x.asset_id.clone(),
                    }));
                }
                ProposalBody::DisposeAsset(_) => {
                    // The asset may have come under the lock after the disposal passed.
                    if let Err(shortfall) = outcome::floor(state, p) {
                        return Err(lifecycle(LifecycleError::LockedSinceDecided {
                            proposal: *id,
                            shortfall: shortfall.to_string(),
                        }));
                    }
                }
                ProposalBody::GrantAccess(g) if !state.assets.contains_key(&g.asset_id) => {
                    return Err(lifecycle(LifecycleError::AssetGone {
                        asset: g.asset_id.clone(),
                    }));
                }
                _ => economy::check_execution(state, p)?,
            }
        }
        Action::Withdraw(id) => {
            let p = proposal(state, *id)?;
            if p.proposal.status != ProposalStatus::Open {
                return Err(lifecycle(LifecycleError::NotWithdrawable {
                    proposal: *id,
                    status: p.proposal.status.name(),
                }));
            }
        }
        Action::RegisterAsset(a) => {
            if a.id.trim().is_empty() {
                return Err(invalid("an asset needs an id"));
            }
            check_len("asset id", &a.id, MAX_ID)?;
            check_len("description", &a.description, MAX_TEXT)?;
            check_fields("asset", a.fields.iter().map(|f| f.name.as_str()))?;
            if state.assets.contains_key(&a.id) {
                return Err(lifecycle(LifecycleError::AssetExists {
                    asset: a.id.clone(),
                }));
            }
        }
        Action::LockAsset(id) => {
            if !state.assets.contains_key(id) {
                return Err(RefusalError::NotFound(format!(
                    "the trust holds no asset `{id}`"
                )));
            }
        }
        Action::Delegate(d) => {
            if !state.members.contains_key(signer) {
                return Err(lifecycle(LifecycleError::NoVoteToDelegate {
                    who: who(state, signer.as_slice()),
                }));
            }
            if let Some(to) = &d.delegate {
                let to = check_key("delegate key", to)?;
                if &to == signer {
                    return Err(invalid("a member cannot delegate to themselves"));
                }
                if !state.members.contains_key(&to) {
                    return Err(lifecycle(LifecycleError::DelegateNotMember {
                        who: who(state, to.as_slice()),
                    }));
                }
                if d.until <= now {
                    return Err(invalid(format!(
                        "a delegation must last beyond now ({}); it lapses at {}",
                        utc(now),
                        utc(d.until)
                    )));
                }
            } else if state.members[signer].proxy.is_none() {
                return Err(lifecycle(LifecycleError::NoDelegation));
            }
        }
        Action::RecordPayment(_) | Action::SubmitProject(_) | Action::Approve(_) => {
            economy::check_action(state, signer, action, now)?;
        }
    }
    Ok(())
}

/// The snapshot of state the bylaw gets with `action`; with the proposal's roll if
/// `with_roll` (the bylaw lists the action's kind in `needs-roll`).
pub(crate) fn view(
    state: &TrustState,
    signer: &MemberKey,
    action: &Action,
    now: u64,
    with_roll: bool,
) -> View {
    let proposal = action
        .target()
        .and_then(|id| state.proposals.get(&id))
        .map(|p| &p.proposal);
    let body = match action {
        Action::Propose(d) => Some(&d.body),
        _ => proposal.map(|p| &p.body),
    };
    let asset_id = match (action, body) {
        (Action::RegisterAsset(a), _) => Some(a.id.as_str()),
        (Action::LockAsset(id), _) => Some(id.as_str()),
        (_, Some(ProposalBody::DisposeAsset(d))) => Some(d.asset_id.as_str()),
        (_, Some(ProposalBody::GrantAccess(g))) => Some(g.asset_id.as_str()),
        (_, Some(ProposalBody::License(l))) => Some(l.asset_id.as_str()),
        _ => None,
    };
    let subject = match (action, body) {
        (Action::Delegate(d), _) => d.delegate.as_deref().and_then(|k| state.member(k)),
        (_, Some(ProposalBody::AdmitMember(a))) => state.member(&a.key),
        (_, Some(ProposalBody::RemoveMember(k))) => state.member(k),
        (_, Some(ProposalBody::GrantAccess(g))) => state.member(&g.grantee),
        _ => None,
    };
    View {
        trust_id: hex::encode(state.id),
        trust_name: state.name.clone(),
        charter: rules(state, action).charter.to_vec(),
        now,
        actor: signer.to_vec(),
        actor_member: state.members.get(signer).map(|m| (**m).clone()),
        members: state.class_counts(),
        proposal: proposal.cloned(),
        roll: action
            .target()
            .filter(|_| with_roll)
            .and_then(|id| state.rolls.get(&id))
            .map(|r| r.to_wit()),
        asset: asset_id
            .and_then(|id| state.assets.get(id))
            .map(|a| (**a).clone()),
        subject: subject.cloned(),
        round: action
            .target()
            .and_then(|id| state.round(id, matches!(action, Action::Close(_)))),
        fees: state.fees().to_vec(),
    }
}

/// The reason code of the host's denial when the bylaw fails to judge a transition.
pub const BYLAW_FAILED: &str = "bylaw-failed";

/// The verdict logged when the bylaw fails to judge a signed transition (it ran out of fuel,
/// trapped, exceeded a limit or answered with the wrong shape): the host's denial
/// `bylaw-failed`, which spends the signer's sequence number and changes nothing else.
/// Failures are deterministic, so a replay fails the same way and gives the same verdict.
pub(crate) fn failure_verdict(error: &EvalError) -> Verdict {
    Verdict::Deny(Denial {
        code: BYLAW_FAILED.to_string(),
        clause: "host: the bylaw failed".to_string(),
        explanation: format!(
            "{error}; the transition is recorded as refused, and changed nothing but the signer's sequence number"
        ),
    })
}

/// Check that a verdict has the shape the action calls for, and bounded size.
pub(crate) fn check_verdict(
    view: &View,
    action: &Action,
    verdict: &Verdict,
) -> Result<(), EvalError> {
    let bad = |m: &str| Err(EvalError::BadVerdict(m.to_string()));
    match verdict {
        Verdict::Allow(a) => {
            match (action, &a.decision) {
                (Action::Close(_), None) => {
                    return bad("closing a proposal must decide its outcome");
                }
                (Action::Close(_), Some(_)) | (_, None) => {}
                (_, Some(_)) => return bad("only a close may carry a decision"),
            }
            if a.notes.len() > MAX_NOTES || a.notes.iter().any(|n| n.len() > MAX_EXPLANATION) {
                return bad("too many or too long notes");
            }
            if a.decision
                .as_ref()
                .is_some_and(|d| d.explanation.len() > MAX_EXPLANATION)
            {
                return bad("decision explanation too long");
            }
            if a.decision
                .as_ref()
                .is_some_and(|d| d.not_before.is_some() && d.outcome != Outcome::Passed)
            {
                return bad("only a passed proposal can carry a timelock");
            }
            if let Some(d) = &a.decision {
                economy::check_funded(view, action, &d.funded, d.outcome == Outcome::Passed)
                    .map_err(EvalError::BadVerdict)?;
            }
        }
        Verdict::Deny(d) => {
            if d.code == BYLAW_FAILED {
                return bad("the reason code `bylaw-failed` is the host's own");
            }
            if d.code.is_empty()
                || d.code.len() > 64
                || d.clause.len() > 200
                || d.explanation.len() > MAX_EXPLANATION
            {
                return bad(
                    "a denial needs a code of 1-64 bytes, a clause of at most 200 and an explanation of at most 4 KiB",
                );
            }
        }
    }
    Ok(())
}

/// The effects and state changes of a transition the bylaw has judged. A denial changes only
/// the signer's sequence number. `activation` is the constitution an executed amendment puts
/// in force (checked by the caller: see `amendment::activate`).
pub(crate) fn effects(
    state: &TrustState,
    signer: &MemberKey,
    seq: u64,
    action: &Action,
    verdict: &Verdict,
    now: u64,
    activation: Option<&Constitution>,
) -> (Vec<Effect>, Vec<Change>) {
    let mut changes = vec![Change::Nonce {
        key: *signer,
        next: Some(seq + 1),
    }];
    let mut effects = Vec::new();
    let Verdict::Allow(allowance) = verdict else {
        return (effects, changes);
    };
    let put = |changes: &mut Vec<Change>, p: ProposalState| {
        changes.push(Change::Proposal {
            id: p.proposal.id,
            proposal: Some(Box::new(p)),
        });
    };
    match action {
        Action::Propose(d) => {
            let id = state.next_proposal_id();
            let (roster, fresh) = state.roster_now(now);
            let closes_at = now.saturating_add(d.window);
            let votes = *roster.opening_count();
            effects.push(Effect::ProposalOpened {
                proposal: id,
                closes_at,
                electorate: roster.voters().len() as u64,
            });
            put(
                &mut changes,
                ProposalState {
                    proposal: Proposal {
                        id,
                        body: d.body.clone(),
                        proposer: signer.to_vec(),
                        title: d.title.clone(),
                        text: d.text.clone(),
                        opened_at: now,
                        closes_at,
                        status: ProposalStatus::Open,
                        votes,
                    },
                    rules: state.constitution(),
                    decision: None,
                    closed_at: None,
                    executed_at: None,
                },
            );
            let hash = *roster.hash();
            if fresh {
                changes.push(Change::Roster {
                    hash,
                    roster: Some(roster),
                });
            }
            changes.push(Change::Electorate {
                id,
                roster: Some(hash),
            });
        }
        Action::Vote(v) => {
            effects.push(Effect::VoteRecorded {
                proposal: v.proposal,
                choice: v.choice,
            });
            changes.push(Change::Ballot {
                id: v.proposal,
                voter: *signer,
                choice: Some(v.choice),
            });
        }
        Action::Close(id) => {
            let mut p = (*state.proposals[id]).clone();
            let mut decision = allowance
                .decision
                .clone()
                .expect("check_verdict requires a decision on close");
            let releases =
                matches!(&p.proposal.body, ProposalBody::AmendBylaws(a) if !a.releases.is_empty());
            let shortfall = if decision.outcome != Outcome::Passed {
                None
            } else if releases {
                outcome::procedure(&p.proposal)
                    .err()
                    .or_else(|| outcome::floor(state, &p).err())
            } else {
                outcome::floor(state, &p).err()
            };
            if let Some(shortfall) = shortfall {
                decision.outcome = Outcome::Rejected;
                decision.not_before = None;
                decision.explanation = format!(
                    "rejected by the host: {shortfall}. The bylaws alone would have passed it: {}",
                    decision.explanation
                );
            }
            p.proposal.status = match decision.outcome {
                Outcome::Passed => ProposalStatus::Passed,
                Outcome::Rejected => ProposalStatus::Rejected,
                Outcome::Expired => ProposalStatus::Expired,
            };
            effects.push(Effect::ProposalDecided {
                proposal: *id,
                outcome: decision.outcome,
            });
            p.decision = Some(decision);
            p.closed_at = Some(now);
            put(&mut changes, p);
        }
        Action::Withdraw(id) => {
            let mut p = (*state.proposals[id]).clone();
            p.proposal.status = ProposalStatus::Withdrawn;
            p.closed_at = Some(now);
            effects.push(Effect::ProposalWithdrawn { proposal: *id });
            put(&mut changes, p);
        }
        Action::Execute(id) => {
            let mut p = (*state.proposals[id]).clone();
            p.proposal.status = ProposalStatus::Executed;
            p.executed_at = Some(now);
            effects.push(Effect::ProposalExecuted { proposal: *id });
            match &p.proposal.body {
                ProposalBody::Ordinary | ProposalBody::Resolution(_) => {}
                ProposalBody::Appoint(_)
                | ProposalBody::Spend(_)
                | ProposalBody::Allocate(_)
                | ProposalBody::BudgetRound(_)
                | ProposalBody::License(_)
                | ProposalBody::RevokeLicence(_)
                | ProposalBody::SetFees(_) => {
                    economy::execute(state, &p, now, &mut changes, &mut effects)
                }
                ProposalBody::AdmitMember(a) => admit(a, now, &mut changes, &mut effects),
                ProposalBody::AdmitMembers(list) => {
                    for a in list {
                        admit(a, now, &mut changes, &mut effects);
                    }
                }
                ProposalBody::RemoveMember(k) => {
                    let key = check_key("member", k).expect("checked when proposed");
                    changes.push(Change::Member { key, member: None });
                    effects.push(Effect::MemberRemoved {
                        key: k.clone(),
                        name: state.members[&key].name.clone(),
                    });
                }
                ProposalBody::DisposeAsset(x) => {
                    changes.push(Change::Asset {
                        id: x.asset_id.clone(),
                        asset: None,
                    });
                    effects.push(Effect::AssetDisposed {
                        asset: x.asset_id.clone(),
                        recipient: x.recipient.clone(),
                    });
                }
                ProposalBody::AmendBylaws(_) => {
                    let c = activation
                        .expect("an executed amendment comes with its checked activation")
                        .clone();
                    effects.push(Effect::BylawsAmended {
                        module: c.module,
                        charter: c.charter.clone(),
                        entrenched: c.entrenched.clone(),
                    });
                    changes.push(Change::Constitution(Box::new(c)));
                }
                ProposalBody::GrantAccess(g) => {
                    let grant = Grant {
                        id: state.next_grant_id(),
                        grantee: g.grantee.clone(),
                        asset_id: g.asset_id.clone(),
                        fields: g.fields.clone(),
                        purpose: g.purpose.clone(),
                        proposal: *id,
                        granted_at: now,
                        expires_at: now.saturating_add(g.duration),
                    };
                    effects.push(Effect::AccessGranted {
                        grant: grant.id,
                        expires_at: grant.expires_at,
                    });
                    changes.push(Change::Grant {
                        id: grant.id,
                        grant: Some(grant),
                    });
                }
            }
            put(&mut changes, p);
        }
        Action::RegisterAsset(a) => {
            changes.push(Change::Asset {
                id: a.id.clone(),
                asset: Some(a.to_asset()),
            });
            effects.push(Effect::AssetRegistered {
                asset: a.id.clone(),
                lock: a.lock,
            });
        }
        Action::LockAsset(id) => {
            let mut asset = (*state.assets[id]).clone();
            asset.lock = LockStatus::Perpetual;
            changes.push(Change::Asset {
                id: id.clone(),
                asset: Some(asset),
            });
            effects.push(Effect::AssetLocked { asset: id.clone() });
        }
        Action::Delegate(d) => {
            let mut member = (*state.members[signer]).clone();
            member.proxy = d.delegate.as_ref().map(|to| Proxy {
                delegate: to.clone(),
                until: d.until,
            });
            effects.push(Effect::Delegated {
                member: signer.to_vec(),
                proxy: member.proxy.clone(),
            });
            changes.push(Change::Member {
                key: *signer,
                member: Some(member),
            });
        }
        Action::RecordPayment(_) | Action::SubmitProject(_) | Action::Approve(_) => {
            economy::act(state, signer, action, now, &mut changes, &mut effects);
        }
    }
    (effects, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AssetDraft, AssetKind, Delegation, LockStatus, Member, StakeholderClass};

    const NOW: u64 = 1_800_000_000;

    fn key(n: u8) -> MemberKey {
        MemberKey([n; 32])
    }

    /// Two members (1 and 2) and one dataset.
    fn state() -> TrustState {
        let mut s = TrustState::default();
        for (n, name) in [(1, "ada"), (2, "bo")] {
            s.members.insert(
                key(n),
                std::sync::Arc::new(Member {
                    roles: Vec::new(),
                    key: key(n).to_vec(),
                    name: name.into(),
                    class: StakeholderClass::Resident,
                    admitted_at: 0,
                    proxy: None,
                }),
            );
        }
        s.assets.insert(
            "census".into(),
            std::sync::Arc::new(crate::model::Asset {
                id: "census".into(),
                kind: AssetKind::Dataset,
                lock: LockStatus::Unlocked,
                description: String::new(),
                fields: vec![],
            }),
        );
        s
    }

    fn delegate(to: Option<u8>, until: u64) -> Action {
        Action::Delegate(Delegation {
            delegate: to.map(|n| key(n).to_vec()),
            until,
        })
    }

    fn lifecycle_of(r: Result<(), RefusalError>) -> LifecycleError {
        match r {
            Err(RefusalError::Lifecycle(e)) => e,
            other => panic!("expected a lifecycle refusal, got {other:?}"),
        }
    }

    #[test]
    fn delegations_are_between_members_last_beyond_now_and_can_be_withdrawn_once_made() {
        let s = state();
        check(&s, &key(1), &delegate(Some(2), NOW + 1), NOW).unwrap();
        assert!(matches!(
            lifecycle_of(check(&s, &key(9), &delegate(Some(2), NOW + 1), NOW)),
            LifecycleError::NoVoteToDelegate { .. }
        ));
        assert!(matches!(
            lifecycle_of(check(&s, &key(1), &delegate(Some(9), NOW + 1), NOW)),
            LifecycleError::DelegateNotMember { .. }
        ));
        assert!(matches!(
            check(&s, &key(1), &delegate(Some(1), NOW + 1), NOW),
            Err(RefusalError::Invalid(_))
        ));
        assert!(matches!(
            check(&s, &key(1), &delegate(Some(2), NOW), NOW),
            Err(RefusalError::Invalid(_))
        ));
        assert_eq!(
            lifecycle_of(check(&s, &key(1), &delegate(None, 0), NOW)),
            LifecycleError::NoDelegation
        );
    }

    #[test]
    fn assets_are_registered_once_and_locked_only_if_held() {
        let s = state();
        let register = |id: &str| {
            Action::RegisterAsset(AssetDraft {
                id: id.into(),
                kind: AssetKind::Dataset,
                lock: LockStatus::Unlocked,
                description: String::new(),
                fields: vec![],
            })
        };
        check(&s, &key(1), &register("tenancy"), NOW).unwrap();
        assert_eq!(
            lifecycle_of(check(&s, &key(1), &register("census"), NOW)),
            LifecycleError::AssetExists {
                asset: "census".into()
            }
        );
        assert!(matches!(
            check(&s, &key(1), &register("  "), NOW),
            Err(RefusalError::Invalid(_))
        ));
        check(&s, &key(1), &Action::LockAsset("census".into()), NOW).unwrap();
        assert!(matches!(
            check(&s, &key(1), &Action::LockAsset("nothing".into()), NOW),
            Err(RefusalError::NotFound(_))
        ));
    }

    #[test]
    fn actions_on_a_proposal_that_does_not_exist_are_not_found() {
        let s = state();
        for action in [
            Action::Close(7),
            Action::Execute(7),
            Action::Withdraw(7),
            Action::Vote(crate::model::Vote {
                proposal: 7,
                choice: crate::model::Choice::Yes,
            }),
        ] {
            assert!(
                matches!(
                    check(&s, &key(1), &action, NOW),
                    Err(RefusalError::NotFound(_))
                ),
                "{action:?}"
            );
        }
    }

    #[test]
    fn charter_parameters_are_bounded_and_unique() {
        let p = |k: &str, v: &str| Parameter {
            key: k.into(),
            value: v.into(),
        };
        check_params(&[p("quorum", "1/3"), p("window-days", "7")]).unwrap();
        for bad in [
            vec![p("quorum", "1/3"), p("quorum", "1/2")],
            vec![p("", "x")],
            vec![p("quorum", &"9".repeat(100_000))],
        ] {
            assert!(
                matches!(check_params(&bad), Err(RefusalError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn an_opening_with_the_remembered_roster_makes_the_changes_a_rebuilt_roster_makes() {
        use crate::model::{Allowance, ProposalDraft};
        let mut s = state();
        s.members.insert(
            key(3),
            std::sync::Arc::new(Member {
                roles: Vec::new(),
                key: key(3).to_vec(),
                name: "cy".into(),
                class: StakeholderClass::Community,
                admitted_at: 0,
                // Lapsed before anything opens: never frozen.
                proxy: Some(Proxy {
                    delegate: key(2).to_vec(),
                    until: NOW - 1,
                }),
            }),
        );
        std::sync::Arc::make_mut(s.members.get_mut(&key(1)).unwrap()).proxy = Some(Proxy {
            delegate: key(2).to_vec(),
            until: NOW + 100,
        });
        s.counts = s.count_members();
        s.name_counts = s.count_names();
        let allow = Verdict::Allow(Allowance {
            decision: None,
            notes: vec![],
        });
        let propose = Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "t".into(),
            text: String::new(),
            window: 10,
        });
        // The changes of an opening at `now`, checked against the same state without its
        // memo; and whether they freeze a new roster.
        let open = |s: &TrustState, now: u64| {
            let (_, changes) = effects(s, &key(2), 0, &propose, &allow, now, None);
            let mut cold = s.clone();
            cold.memo = crate::state::RosterMemo::default();
            let (_, rebuilt) = effects(&cold, &key(2), 0, &propose, &allow, now, None);
            assert_eq!(changes, rebuilt, "opening at {now}");
            let fresh = changes.iter().any(|c| matches!(c, Change::Roster { .. }));
            (changes, fresh)
        };
        let (c, fresh) = open(&s, NOW);
        assert!(fresh, "the first opening freezes the members");
        s.apply_all(&c);
        let (c, fresh) = open(&s, NOW + 99);
        assert!(!fresh, "the same members, 1's delegation still in force");
        s.apply_all(&c);
        let (c, fresh) = open(&s, NOW + 100);
        assert!(fresh, "1's delegation lapsed: a different electorate");
        s.apply_all(&c);
        assert_eq!(s.rosters.len(), 2);
        assert_eq!(s.rolls[&3].electorate()[0].proxy, None);
        assert!(s.rolls[&1].electorate()[0].proxy.is_some());
        // A member changes, an opening freezes them, and both are undone (a batch rolled
        // back): the next opening is what it would have been without them.
        let undo_member = s.apply(Change::Member {
            key: key(4),
            member: Some(Member {
                roles: Vec::new(),
                key: key(4).to_vec(),
                name: "di".into(),
                class: StakeholderClass::Public,
                admitted_at: 0,
                proxy: None,
            }),
        });
        let (c, fresh) = open(&s, NOW + 200);
        assert!(fresh);
        let undo = s.apply_all(&c);
        s.apply_all(&undo);
        s.apply(undo_member);
        let (c, fresh) = open(&s, NOW + 200);
        assert!(!fresh, "the members of the third opening");
        s.apply_all(&c);
        assert_eq!(s.rosters.len(), 2);
        // Undoing an opening that froze a roster takes the roster away, memo and all.
        let (c, _) = open(&s, NOW + 300);
        s.apply_all(&c);
        s.apply(Change::Member {
            key: key(3),
            member: None,
        });
        let (c, fresh) = open(&s, NOW + 300);
        assert!(fresh);
        let undo = s.apply_all(&c);
        assert_eq!(s.rosters.len(), 3);
        s.apply_all(&undo);
        assert_eq!(s.rosters.len(), 2);
        let (_, fresh) = open(&s, NOW + 300);
        assert!(fresh);
    }
}
