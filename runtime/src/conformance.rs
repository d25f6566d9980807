//! The entrenched clauses' conformance suite: the vectors the host runs against every bylaw
//! that would govern a trust (at founding, and for an amendment at preview, proposal and
//! activation) to check it keeps the clauses the trust entrenched.
//!
//! A vector builds a synthetic trust in the real trust's name (15 members, 5 per class, one
//! perpetual dataset), proposes through the candidate, casts ballots through it and closes
//! through it, exactly as the host would, at the check's host time, a year later and ten
//! years later (so a rule that weakens on a date is caught). A vector *fails* when the
//! candidate lets through what the clause forbids; a candidate that refuses to open such a
//! proposal at all keeps the clause (the rules frozen with each proposal mean it never
//! decides one opened before it). Releasing a clause needs the stricter entrenched
//! procedure ([`crate::procedure`]).

use serde::{Deserialize, Serialize};

use crate::engine::Runtime;
use crate::host_rules;
use crate::id::{MemberKey, ModuleHash, TrustId};
use crate::model::{
    Action, Amendment, Asset, AssetKind, Choice, ClassCounts, Clause, Disposal, LockStatus, Member,
    Outcome, Parameter, Proposal, ProposalBody, ProposalDraft, ProposalStatus, StakeholderClass,
    Verdict, View, Vote, percent,
};
use crate::roll::{ProposalRoll, Roster, Voter};

/// The result of one conformance vector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The clause the vector checks.
    pub clause: Clause,
    /// What the vector does, in plain language.
    pub vector: String,
    /// True when the candidate keeps the clause on this vector.
    pub passed: bool,
    /// What the candidate did.
    pub detail: String,
}

const DAY: u64 = 86_400;
/// Each vector runs now, a year from now and ten years from now, so a candidate that weakens
/// a clause only after some date is caught too.
const LATER_DAYS: [u64; 3] = [0, 365, 3_650];
/// Synthetic members per class, at least (more when the trust has fewer than three classes,
/// so every vector has its fifteen voters).
const PER_CLASS: usize = 5;
/// Windows tried, shortest first, until the candidate accepts the proposal.
const WINDOWS_DAYS: [u64; 8] = [7, 14, 30, 60, 90, 180, 365, 730];
const COMMONS: &str = "tenancy-records";

/// Where and when the vectors run: in the trust's own name, from its current host time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The trust's id.
    pub trust_id: TrustId,
    /// The trust's name.
    pub trust_name: String,
    /// Host time of the check (a transition's time, or the log's last time).
    pub now: u64,
    /// The stakeholder classes the synthetic trust has: those of the trust's members (the
    /// candidate is judged in the trust it would govern), or a classic land trust's three.
    pub classes: Vec<StakeholderClass>,
}

impl Setting {
    /// The setting of `state` at host time `now`.
    pub fn of(state: &crate::state::TrustState, now: u64) -> Setting {
        Setting {
            trust_id: state.id,
            trust_name: state.name.clone(),
            now,
            classes: {
                let present: Vec<StakeholderClass> = StakeholderClass::ALL
                    .into_iter()
                    .filter(|c| state.members.values().any(|m| m.class == *c))
                    .collect();
                if present.is_empty() {
                    vec![
                        StakeholderClass::Resident,
                        StakeholderClass::Community,
                        StakeholderClass::Public,
                    ]
                } else {
                    present
                }
            },
        }
    }
}

/// The synthetic trust the vectors run in.
struct Bench<'a> {
    runtime: &'a Runtime,
    module: &'a ModuleHash,
    charter: &'a [Parameter],
    setting: &'a Setting,
    members: Vec<Member>,
    /// Members per class.
    per: usize,
}

/// What happened to a synthetic proposal.
enum Run {
    /// The candidate would not open it.
    NotOpened(String),
    /// The candidate would not close it.
    NotClosed(String),
    /// Closed with this outcome.
    Closed(Outcome, String),
}

impl Run {
    fn passed(&self) -> bool {
        matches!(self, Run::Closed(Outcome::Passed, _))
    }

    fn describe(&self) -> String {
        match self {
            Run::NotOpened(why) => format!("would not open the proposal ({why})"),
            Run::NotClosed(why) => format!("would not close the proposal ({why})"),
            Run::Closed(outcome, why) => format!("{}: {why}", outcome.name()),
        }
    }
}

impl Setting {
    /// Members per class in the synthetic trust.
    fn per_class(&self) -> usize {
        PER_CLASS.max(15_usize.div_ceil(self.classes.len().max(1)))
    }

    /// The class of synthetic member `i`.
    fn class_of(&self, i: usize) -> StakeholderClass {
        self.classes[(i / self.per_class()).min(self.classes.len() - 1)]
    }
}

impl Bench<'_> {
    fn view(
        &self,
        actor: usize,
        action: &Action,
        poll: Option<&(Proposal, ProposalRoll)>,
        now: u64,
    ) -> View {
        let proposal = poll.map(|p| &p.0);
        let body = match action {
            Action::Propose(d) => Some(&d.body),
            _ => proposal.map(|p| &p.body),
        };
        let asset = matches!(body, Some(ProposalBody::DisposeAsset(_))).then(|| Asset {
            id: COMMONS.into(),
            kind: AssetKind::Dataset,
            lock: LockStatus::Perpetual,
            description: "a dataset held in trust for ever".into(),
            fields: Vec::new(),
        });
        let mut counts = ClassCounts::zero();
        for m in &self.members {
            *counts.get_mut(m.class) += 1;
        }
        View {
            trust_id: hex::encode(self.setting.trust_id),
            trust_name: self.setting.trust_name.clone(),
            charter: self.charter.to_vec(),
            now,
            actor: self.members[actor].key.clone(),
            actor_member: Some(self.members[actor].clone()),
            members: counts,
            proposal: proposal.cloned(),
            roll: poll
                .filter(|_| {
                    self.runtime
                        .needs_roll(self.module, self.charter, action.kind())
                })
                .map(|p| p.1.to_wit()),
            round: None,
            fees: Vec::new(),
            asset,
            subject: None,
        }
    }

    fn judge(
        &self,
        actor: usize,
        action: &Action,
        poll: Option<&(Proposal, ProposalRoll)>,
        now: u64,
    ) -> Result<Verdict, String> {
        let view = self.view(actor, action, poll, now);
        let eval = self
            .runtime
            .evaluate(self.module, &view, action)
            .map_err(|e| format!("the candidate failed to run: {e}"))?;
        host_rules::check_verdict(&view, action, &eval.verdict)
            .map_err(|e| format!("the candidate answered badly: {e}"))?;
        Ok(eval.verdict)
    }

    /// Run [`Bench::run_at`] at each of the check's times; the first run that passes the
    /// proposal (or fails) is the answer, otherwise the last.
    fn run(&self, body: &ProposalBody, ballots: &[(usize, Choice)]) -> Result<Run, String> {
        let mut last = None;
        for days in LATER_DAYS {
            let t0 = self.setting.now.saturating_add(days * DAY);
            let run = self
                .run_at(body, ballots, t0)
                .map_err(|e| format!("{e} (at {})", crate::clock::utc(t0)))?;
            if run.passed() {
                return Ok(run);
            }
            last = Some(run);
        }
        Ok(last.expect("at least one time"))
    }

    /// The outcome at each of the check's times (for comparing arrangements).
    fn outcomes(
        &self,
        body: &ProposalBody,
        ballots: &[(usize, Choice)],
    ) -> Result<Vec<Run>, String> {
        LATER_DAYS
            .iter()
            .map(|days| self.run_at(body, ballots, self.setting.now.saturating_add(days * DAY)))
            .collect()
    }

    /// Propose `body` as member 0 at `t0`, cast `ballots` (member index, choice) and close.
    fn run_at(
        &self,
        body: &ProposalBody,
        ballots: &[(usize, Choice)],
        t0: u64,
    ) -> Result<Run, String> {
        let mut window = None;
        let mut refusal = String::new();
        for days in WINDOWS_DAYS {
            let action = Action::Propose(ProposalDraft {
                body: body.clone(),
                title: title(body).into(),
                text: "As discussed at the general meeting.".into(),
                window: days * DAY,
            });
            match self.judge(0, &action, None, t0)? {
                Verdict::Allow(_) => {
                    window = Some(days * DAY);
                    break;
                }
                Verdict::Deny(d) => refusal = format!("{}: {}", d.code, d.explanation),
            }
        }
        let Some(window) = window else {
            return Ok(Run::NotOpened(refusal));
        };
        let key = |m: &Member| MemberKey(m.key.as_slice().try_into().expect("32-byte keys"));
        let roll = ProposalRoll::new(
            Roster::new(
                self.members
                    .iter()
                    .map(|m| Voter {
                        key: key(m),
                        class: m.class,
                        proxy: None,
                    })
                    .collect(),
            ),
            t0 + window,
        );
        let mut poll = (
            Proposal {
                id: 1,
                body: body.clone(),
                proposer: self.members[0].key.clone(),
                title: title(body).into(),
                text: "As discussed at the general meeting.".into(),
                opened_at: t0,
                closes_at: t0 + window,
                status: ProposalStatus::Open,
                votes: roll.count(),
            },
            roll,
        );
        for &(voter, choice) in ballots {
            let action = Action::Vote(Vote {
                proposal: 1,
                choice,
            });
            if self
                .judge(voter, &action, Some(&poll), t0 + 1)?
                .is_allowed()
            {
                let (proposal, roll) = &mut poll;
                roll.set(
                    &key(&self.members[voter]),
                    Some(choice),
                    &mut proposal.votes,
                );
            }
        }
        let close = Action::Close(1);
        let closes_at = poll.0.closes_at;
        Ok(match self.judge(0, &close, Some(&poll), closes_at)? {
            Verdict::Deny(d) => Run::NotClosed(format!("{}: {}", d.code, d.explanation)),
            Verdict::Allow(a) => {
                let d = a.decision.expect("check_verdict requires a decision");
                Run::Closed(d.outcome, d.explanation)
            }
        })
    }
}

/// A plausible title for a proposal of this kind.
fn title(body: &ProposalBody) -> &'static str {
    match body {
        ProposalBody::DisposeAsset(_) => "Sell the tenancy records",
        ProposalBody::AmendBylaws(_) => "Amend the bylaws",
        _ => "Adopt the annual plan",
    }
}

/// Ballots: the first `yes` of `order` vote yes, the next `no` vote no, then `abstain`.
fn ballots(order: &[usize], yes: usize, no: usize, abstain: usize) -> Vec<(usize, Choice)> {
    order
        .iter()
        .copied()
        .zip(
            std::iter::repeat_n(Choice::Yes, yes)
                .chain(std::iter::repeat_n(Choice::No, no))
                .chain(std::iter::repeat_n(Choice::Abstain, abstain)),
        )
        .collect()
}

fn must_not_pass(clause: Clause, vector: String, run: Result<Run, String>) -> CheckResult {
    match run {
        Err(e) => CheckResult {
            clause,
            vector,
            passed: false,
            detail: e,
        },
        Ok(run) => CheckResult {
            clause,
            vector,
            passed: !run.passed(),
            detail: run.describe(),
        },
    }
}

/// Run the conformance vectors of `clauses` against the prepared module `module`, running
/// with `charter`. Every vector runs (a failing one does not stop the others).
pub fn conformance(
    runtime: &Runtime,
    module: &ModuleHash,
    charter: &[Parameter],
    clauses: &[Clause],
    setting: &Setting,
) -> Vec<CheckResult> {
    suite(runtime, module, charter, clauses, setting, false)
}

/// The first vector the candidate fails, if any; stops there (a candidate that burns its
/// fuel on every call costs one call per vector at most, and no more vectors after it).
pub(crate) fn first_failure(
    runtime: &Runtime,
    module: &ModuleHash,
    charter: &[Parameter],
    clauses: &[Clause],
    setting: &Setting,
) -> Option<CheckResult> {
    suite(runtime, module, charter, clauses, setting, true)
        .into_iter()
        .find(|r| !r.passed)
}

fn suite(
    runtime: &Runtime,
    module: &ModuleHash,
    charter: &[Parameter],
    clauses: &[Clause],
    setting: &Setting,
    stop_at_failure: bool,
) -> Vec<CheckResult> {
    let per = setting.per_class();
    let total = per * setting.classes.len();
    let members = (0..total)
        .map(|i| {
            let class = setting.class_of(i);
            // Keys that look like any other: derived from the trust id and the position.
            let mut h = blake3::Hasher::new_derive_key("cltd 2026-11 conformance member v1");
            h.update(setting.trust_id.as_slice());
            h.update(&(i as u64).to_le_bytes());
            let key = h.finalize().as_bytes().to_vec();
            Member {
                key,
                name: format!("{} {}", class.name(), i % per + 1),
                class,
                admitted_at: setting.now.saturating_sub(365 * DAY),
                proxy: None,
                roles: Vec::new(),
            }
        })
        .collect();
    let bench = Bench {
        runtime,
        module,
        charter,
        setting,
        members,
        per,
    };
    let all: Vec<usize> = (0..total).collect();
    let mut results = Vec::new();
    for &clause in clauses {
        match clause {
            Clause::AssetLock => {
                let body = ProposalBody::DisposeAsset(Disposal {
                    asset_id: COMMONS.into(),
                    recipient: "a private buyer, outright".into(),
                });
                // Short of two thirds: 60% of the class votes yes, the rest no.
                let yes_in_weak = bench.per * 3 / 5;
                for weak in 0..setting.classes.len() {
                    // The weak class falls short; the others all vote yes.
                    let ballots: Vec<(usize, Choice)> = all
                        .iter()
                        .map(|&i| {
                            let split = i / bench.per == weak && i % bench.per >= yes_in_weak;
                            (i, if split { Choice::No } else { Choice::Yes })
                        })
                        .collect();
                    let vector = format!(
                        "disposing of a perpetual asset with {}% support in the {} class (100% elsewhere) must not pass",
                        percent(yes_in_weak as u64, bench.per as u64),
                        setting.classes[weak].name()
                    );
                    results.push(must_not_pass(clause, vector, bench.run(&body, &ballots)));
                    if stop_at_failure && results.iter().any(|r| !r.passed) {
                        return results;
                    }
                }
            }
            Clause::AmendmentSupermajority => {
                let body = ProposalBody::AmendBylaws(Amendment {
                    module: hex::encode(module),
                    charter: charter.to_vec(),
                    releases: Vec::new(),
                });
                for (yes, no, abstain) in [(9, 6, 0), (9, 5, 1), (6, 4, 0)] {
                    let share = percent(yes as u64, (yes + no) as u64);
                    let vector = format!(
                        "an amendment with {yes} yes, {no} no and {abstain} abstaining ({share}% of votes cast) must not pass"
                    );
                    let run = bench.run(&body, &ballots(&all, yes, no, abstain));
                    results.push(must_not_pass(clause, vector, run));
                    if stop_at_failure && results.iter().any(|r| !r.passed) {
                        return results;
                    }
                }
            }
            Clause::OneMemberOneVote => {
                let reversed: Vec<usize> = all.iter().rev().copied().collect();
                let interleaved: Vec<usize> = (0..all.len()).map(|i| i * 7 % all.len()).collect();
                for (yes, no, abstain) in [(8, 7, 0), (7, 8, 0), (5, 4, 3)] {
                    let vector = format!(
                        "an ordinary resolution with {yes} yes, {no} no and {abstain} abstaining must come out the same whoever casts them"
                    );
                    let runs: Vec<Result<Vec<Run>, String>> = [&all, &reversed, &interleaved]
                        .into_iter()
                        .map(|order| {
                            bench.outcomes(
                                &ProposalBody::Ordinary,
                                &ballots(order, yes, no, abstain),
                            )
                        })
                        .collect();
                    let result = match runs.iter().find_map(|r| r.as_ref().err()) {
                        Some(e) => CheckResult {
                            clause,
                            vector,
                            passed: false,
                            detail: e.clone(),
                        },
                        None => {
                            let runs: Vec<&Vec<Run>> = runs.iter().flatten().collect();
                            let outcome = |r: &Run| match r {
                                Run::Closed(o, _) => Some(*o),
                                _ => None,
                            };
                            // The first time at which the arrangements disagree, if any.
                            let differs = (0..LATER_DAYS.len()).find(|&t| {
                                runs.windows(2)
                                    .any(|w| outcome(&w[0][t]) != outcome(&w[1][t]))
                            });
                            let t = differs.unwrap_or(0);
                            let detail = runs
                                .iter()
                                .zip(["in class order", "reversed", "interleaved"])
                                .map(|(r, how)| format!("{how}: {}", r[t].describe()))
                                .collect::<Vec<_>>()
                                .join("; ");
                            let when = bench.setting.now.saturating_add(LATER_DAYS[t] * DAY);
                            CheckResult {
                                clause,
                                vector,
                                passed: differs.is_none(),
                                detail: format!("{detail} (at {})", crate::clock::utc(when)),
                            }
                        }
                    };
                    results.push(result);
                    if stop_at_failure && results.iter().any(|r| !r.passed) {
                        return results;
                    }
                }
            }
        }
    }
    results
}
