//! Entrenched clauses: invariants named in the charter at a trust's founding that no ordinary
//! amendment can remove, and the conformance suite that checks a candidate bylaw keeps them.
//!
//! The host runs every candidate against scenario vectors before an amendment may open and
//! again when it activates. A vector builds a synthetic trust in the real trust's name (15
//! members, 5 per class, one perpetual dataset), proposes through the candidate, casts
//! ballots through it and closes through it, exactly as the host would, at the check's host
//! time, a year later and ten years later (so a rule that weakens on a date is caught). A vector *fails* when the candidate lets through
//! what the clause forbids; a candidate that refuses to open such a proposal at all keeps
//! the clause. Releasing a clause needs the stricter [`entrenched procedure`](procedure).

use serde::{Deserialize, Serialize};

use crate::engine::Runtime;
use crate::host_rules;
use crate::model::{
    Action, Amendment, Asset, AssetKind, Ballot, Choice, ClassCounts, Disposal, Elector, Hash,
    LockStatus, Member, Outcome, Parameter, Proposal, ProposalBody, ProposalDraft, ProposalState,
    ProposalStatus, StakeholderClass, Verdict, View, Vote, percent,
};
use crate::state::TrustState;

/// An invariant the host enforces on every bylaw module the trust may adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Clause {
    /// Perpetual assets cannot be disposed of without two thirds of the votes cast in each
    /// class.
    AssetLock,
    /// Amendments need at least two thirds of the votes cast.
    AmendmentSupermajority,
    /// One member, one vote: the outcome of an ordinary resolution depends only on how many
    /// yes, no and abstain ballots there are, never on who cast them.
    OneMemberOneVote,
}

impl Clause {
    /// Every clause, in canonical order (the default entrenchment of a new trust).
    pub const ALL: [Clause; 3] = [
        Clause::AssetLock,
        Clause::AmendmentSupermajority,
        Clause::OneMemberOneVote,
    ];

    /// The clause's name, as written on the command line and in amendments.
    pub fn name(self) -> &'static str {
        match self {
            Clause::AssetLock => "asset-lock",
            Clause::AmendmentSupermajority => "amendment-supermajority",
            Clause::OneMemberOneVote => "one-member-one-vote",
        }
    }

    /// Parse a clause name.
    pub fn parse(name: &str) -> Option<Clause> {
        Clause::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the clause guarantees, in plain language.
    pub fn description(self) -> &'static str {
        match self {
            Clause::AssetLock => {
                "a perpetual asset cannot be disposed of without two thirds of the votes cast in each class"
            }
            Clause::AmendmentSupermajority => {
                "an amendment to the bylaws needs at least two thirds of the votes cast"
            }
            Clause::OneMemberOneVote => {
                "one member, one vote: who casts a ballot never changes an ordinary resolution's outcome"
            }
        }
    }
}

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

/// Shortest voting window for an amendment that releases an entrenched clause.
pub const PROCEDURE_MIN_WINDOW_DAYS: u64 = 60;

/// Share of each class's yes-or-no votes a releasing amendment needs, as (numerator,
/// denominator).
pub const PROCEDURE_CLASS_THRESHOLD: (u64, u64) = (3, 4);

/// Share of each class's electors who must take part in a releasing amendment.
pub const PROCEDURE_CLASS_TURNOUT: (u64, u64) = (1, 2);

/// The entrenched procedure, checked by the host when a proposal that releases entrenched
/// clauses is closed as passed: in **every** class with electors, at least half of the class
/// took part and at least three quarters of its yes-or-no votes were yes. `Err` explains
/// which class fell short.
pub fn procedure(proposal: &Proposal) -> Result<(), String> {
    let mut shortfalls = Vec::new();
    for class in StakeholderClass::ALL {
        let electors: Vec<&[u8]> = proposal
            .electorate
            .iter()
            .filter(|e| e.class == class)
            .map(|e| e.key.as_slice())
            .collect();
        if electors.is_empty() {
            continue;
        }
        let (mut yes, mut no, mut abstain) = (0u64, 0u64, 0u64);
        for b in &proposal.ballots {
            if electors.contains(&b.voter.as_slice()) {
                match b.choice {
                    Choice::Yes => yes += 1,
                    Choice::No => no += 1,
                    Choice::Abstain => abstain += 1,
                }
            }
        }
        let n = electors.len() as u64;
        let turnout = yes + no + abstain;
        let (tn, td) = PROCEDURE_CLASS_TURNOUT;
        let (an, ad) = PROCEDURE_CLASS_THRESHOLD;
        if turnout * td < n * tn {
            shortfalls.push(format!(
                "{} class: {turnout} of {n} took part, fewer than {tn}/{td}",
                class.name()
            ));
        } else if yes * ad < (yes + no) * an || yes == 0 {
            shortfalls.push(format!(
                "{} class: {yes} of {} yes-or-no votes were yes, fewer than {an}/{ad}",
                class.name(),
                yes + no
            ));
        }
    }
    if shortfalls.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "entrenched procedure: releasing an entrenched clause needs, in every class, a turnout of {}/{} and {}/{} of yes-or-no votes in favour; {}",
            PROCEDURE_CLASS_TURNOUT.0,
            PROCEDURE_CLASS_TURNOUT.1,
            PROCEDURE_CLASS_THRESHOLD.0,
            PROCEDURE_CLASS_THRESHOLD.1,
            shortfalls.join("; ")
        ))
    }
}

/// Share of each class's votes cast (yes and no) that a disposal of a perpetual asset needs
/// while `asset-lock` is entrenched, whatever the bylaws say.
pub const ASSET_LOCK_THRESHOLD: (u64, u64) = (2, 3);

/// Share of the votes cast (yes and no) that an amendment needs while
/// `amendment-supermajority` is entrenched, whatever the bylaws say.
pub const AMENDMENT_THRESHOLD: (u64, u64) = (2, 3);

/// Yes, no and abstain counts, overall or in one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Count {
    electors: u64,
    yes: u64,
    no: u64,
    abstain: u64,
}

impl Count {
    fn add(&mut self, choice: Choice) {
        match choice {
            Choice::Yes => self.yes += 1,
            Choice::No => self.no += 1,
            Choice::Abstain => self.abstain += 1,
        }
    }

    fn cast(&self) -> u64 {
        self.yes + self.no
    }

    /// At least `n/d` of the votes cast were yes (and some vote was cast).
    fn reaches(&self, (n, d): (u64, u64)) -> bool {
        self.cast() > 0 && self.yes * d >= self.cast() * n
    }

    /// `2 of 3 (67%)`, or what stands for it when no yes-or-no vote was cast.
    fn words(&self) -> String {
        match (self.cast(), self.abstain) {
            (0, 0) => "no votes".to_string(),
            (0, a) => format!("no yes-or-no votes ({a} abstained)"),
            (cast, _) => format!("{} of {cast} ({}%)", self.yes, percent(self.yes, cast)),
        }
    }
}

/// The host's own count of a proposal, per class and overall: each elector's own ballot, or,
/// for an elector who did not vote, the ballot of the delegate frozen with the electorate if
/// the delegation lasted until voting closed (as `bylaws_sdk::Tally::with_proxies` counts:
/// no chains). Ballots from outside the electorate, and second ballots, do not count.
fn count(proposal: &Proposal) -> (Count, Vec<(StakeholderClass, Count)>) {
    use std::collections::BTreeMap;
    let mut choices: BTreeMap<&[u8], Option<Choice>> = BTreeMap::new();
    for e in &proposal.electorate {
        choices.insert(&e.key, None);
    }
    for b in &proposal.ballots {
        if let Some(slot) = choices.get_mut(b.voter.as_slice())
            && slot.is_none()
        {
            *slot = Some(b.choice);
        }
    }
    let mut all = Count::default();
    let mut classes: Vec<(StakeholderClass, Count)> = Vec::new();
    for e in &proposal.electorate {
        let own = choices.get(e.key.as_slice()).copied().flatten();
        let by_proxy = || {
            let proxy = e.proxy.as_ref().filter(|p| p.until >= proposal.closes_at)?;
            choices.get(proxy.delegate.as_slice()).copied().flatten()
        };
        let i = match classes.iter().position(|(c, _)| *c == e.class) {
            Some(i) => i,
            None => {
                classes.push((e.class, Count::default()));
                classes.len() - 1
            }
        };
        classes[i].1.electors += 1;
        all.electors += 1;
        if let Some(choice) = own.or_else(by_proxy) {
            classes[i].1.add(choice);
            all.add(choice);
        }
    }
    classes.sort_by_key(|(c, _)| StakeholderClass::ALL.iter().position(|x| x == c));
    (all, classes)
}

/// The outcome floors of the entrenched clauses, checked by the host on every proposal that
/// closes as passed (and again when a disposal is executed), whatever module judged it: a
/// clause entrenched when the proposal opened (frozen in its rules) holds for it.
///
/// - `asset-lock`: disposing of an asset that is perpetual now needs at least 2/3 of the
///   votes cast (yes and no) in every class of the frozen electorate;
/// - `amendment-supermajority`: an amendment needs at least 2/3 of the votes cast.
///
/// `one-member-one-vote` has no numeric floor (the host cannot know the outcome a bylaw
/// should give); it is kept by the conformance vectors at founding and at every activation,
/// and by the rules being frozen with each proposal. `Err` says which clause falls short,
/// and by how much.
pub(crate) fn floor(state: &TrustState, p: &ProposalState) -> Result<(), String> {
    let kept = |c: Clause| p.rules.entrenched.contains(&c);
    match &p.proposal.body {
        ProposalBody::DisposeAsset(d)
            if kept(Clause::AssetLock)
                && state
                    .assets
                    .get(&d.asset_id)
                    .is_some_and(|a| a.lock == LockStatus::Perpetual) =>
        {
            let (_, classes) = count(&p.proposal);
            let short: Vec<String> = classes
                .iter()
                .filter(|(_, c)| !c.reaches(ASSET_LOCK_THRESHOLD))
                .map(|(class, c)| {
                    format!(
                        "{} class: {}, needs {}/{}",
                        class.name(),
                        c.words(),
                        ASSET_LOCK_THRESHOLD.0,
                        ASSET_LOCK_THRESHOLD.1
                    )
                })
                .collect();
            if short.is_empty() {
                return Ok(());
            }
            Err(format!(
                "entrenched clause `asset-lock`: disposing of the perpetual asset `{}` needs {}/{} of the votes cast in each class; {}",
                d.asset_id,
                ASSET_LOCK_THRESHOLD.0,
                ASSET_LOCK_THRESHOLD.1,
                short.join("; ")
            ))
        }
        ProposalBody::AmendBylaws(_) if kept(Clause::AmendmentSupermajority) => {
            let (all, _) = count(&p.proposal);
            if all.reaches(AMENDMENT_THRESHOLD) {
                return Ok(());
            }
            Err(format!(
                "entrenched clause `amendment-supermajority`: an amendment needs {}/{} of the votes cast; {}",
                AMENDMENT_THRESHOLD.0,
                AMENDMENT_THRESHOLD.1,
                all.words()
            ))
        }
        _ => Ok(()),
    }
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
    pub trust_id: Hash,
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
    module: &'a Hash,
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
    fn view(&self, actor: usize, action: &Action, proposal: Option<&Proposal>, now: u64) -> View {
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
            asset,
            subject: None,
        }
    }

    fn judge(
        &self,
        actor: usize,
        action: &Action,
        proposal: Option<&Proposal>,
        now: u64,
    ) -> Result<Verdict, String> {
        let view = self.view(actor, action, proposal, now);
        let eval = self
            .runtime
            .evaluate(self.module, &view, action)
            .map_err(|e| format!("the candidate failed to run: {e}"))?;
        host_rules::check_verdict(action, &eval.verdict)
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
        let mut proposal = Proposal {
            id: 1,
            body: body.clone(),
            proposer: self.members[0].key.clone(),
            title: title(body).into(),
            text: "As discussed at the general meeting.".into(),
            opened_at: t0,
            closes_at: t0 + window,
            status: ProposalStatus::Open,
            electorate: self
                .members
                .iter()
                .map(|m| Elector {
                    key: m.key.clone(),
                    class: m.class,
                    proxy: None,
                })
                .collect(),
            ballots: Vec::new(),
        };
        for &(voter, choice) in ballots {
            let action = Action::Vote(Vote {
                proposal: 1,
                choice,
            });
            if self
                .judge(voter, &action, Some(&proposal), t0 + 1)?
                .is_allowed()
            {
                proposal.ballots.push(Ballot {
                    voter: self.members[voter].key.clone(),
                    choice,
                });
            }
        }
        let close = Action::Close(1);
        Ok(
            match self.judge(0, &close, Some(&proposal), proposal.closes_at)? {
                Verdict::Deny(d) => Run::NotClosed(format!("{}: {}", d.code, d.explanation)),
                Verdict::Allow(a) => {
                    let d = a.decision.expect("check_verdict requires a decision");
                    Run::Closed(d.outcome, d.explanation)
                }
            },
        )
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
    module: &Hash,
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
    module: &Hash,
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
    module: &Hash,
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
            h.update(&setting.trust_id);
            h.update(&(i as u64).to_le_bytes());
            let key = h.finalize().as_bytes().to_vec();
            Member {
                key,
                name: format!("{} {}", class.name(), i % per + 1),
                class,
                admitted_at: setting.now.saturating_sub(365 * DAY),
                proxy: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(
        ballots: &[(u8, StakeholderClass, Choice)],
        electors: &[(u8, StakeholderClass)],
    ) -> Proposal {
        Proposal {
            id: 1,
            body: ProposalBody::Ordinary,
            proposer: vec![0; 32],
            title: String::new(),
            text: String::new(),
            opened_at: 0,
            closes_at: 1,
            status: ProposalStatus::Open,
            electorate: electors
                .iter()
                .map(|&(k, class)| Elector {
                    key: vec![k; 32],
                    class,
                    proxy: None,
                })
                .collect(),
            ballots: ballots
                .iter()
                .map(|&(k, _, choice)| Ballot {
                    voter: vec![k; 32],
                    choice,
                })
                .collect(),
        }
    }

    #[test]
    fn names_round_trip() {
        for c in Clause::ALL {
            assert_eq!(Clause::parse(c.name()), Some(c));
        }
        assert_eq!(Clause::parse("asset lock"), None);
    }

    #[test]
    fn the_procedure_needs_every_class() {
        use StakeholderClass::*;
        let electors = [(1, Resident), (2, Resident), (3, Community), (4, Community)];
        let all_yes = [
            (1, Resident, Choice::Yes),
            (2, Resident, Choice::Yes),
            (3, Community, Choice::Yes),
            (4, Community, Choice::Yes),
        ];
        assert_eq!(procedure(&proposal(&all_yes, &electors)), Ok(()));
        // Community turnout is one of two (meets 1/2) but its only vote is no.
        let split = [
            (1, Resident, Choice::Yes),
            (2, Resident, Choice::Yes),
            (3, Community, Choice::No),
        ];
        let err = procedure(&proposal(&split, &electors)).unwrap_err();
        assert!(err.contains("community class: 0 of 1"), "{err}");
        // Nobody from the community class voted.
        let absent = [(1, Resident, Choice::Yes), (2, Resident, Choice::Yes)];
        let err = procedure(&proposal(&absent, &electors)).unwrap_err();
        assert!(err.contains("community class: 0 of 2 took part"), "{err}");
        // Three of four yes in a class is enough.
        let electors4 = [(1, Public), (2, Public), (3, Public), (4, Public)];
        let three = [
            (1, Public, Choice::Yes),
            (2, Public, Choice::Yes),
            (3, Public, Choice::Yes),
            (4, Public, Choice::No),
        ];
        assert_eq!(procedure(&proposal(&three, &electors4)), Ok(()));
    }
}
