//! The proposal pages: the list, and one proposal with its tally, requirements and steps.

use askama::Template;
use cltd_runtime::{
    Choice, Outcome, ProposalBody, ProposalState, ProposalStatus, Snapshot, TrustState, Verdict,
};

use crate::render::{self, Turnout, when};
use crate::server::error::ApiError;
use crate::wire::PROPOSALS_PAGE_MAX;

use super::*;

/// A proposal in a list.
pub struct ProposalRow {
    /// Number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// What it would do.
    pub summary: String,
    /// Status name.
    pub status: &'static str,
    /// Ballots cast.
    pub voted: u64,
    /// Electorate.
    pub eligible: u64,
    /// Turnout in whole percent.
    pub pct: u64,
    /// When voting ends.
    pub closes: String,
}

impl ProposalRow {
    pub(super) fn of(s: &TrustState, p: &ProposalState) -> ProposalRow {
        let (eligible, voted) = Turnout::of(p).totals();
        ProposalRow {
            id: p.proposal.id,
            title: p.proposal.title.clone(),
            summary: render::body_text(s, &p.proposal.body),
            status: p.proposal.status.name(),
            voted,
            eligible,
            pct: percent(voted, eligible),
            closes: when(p.proposal.closes_at),
        }
    }
}

/// `/trusts/{id}/proposals`.
#[derive(Template)]
#[template(path = "proposals.html")]
pub struct ProposalsPage {
    /// Navigation.
    pub nav: Nav,
    /// Newest first, at most [`PROPOSALS_PAGE_MAX`].
    pub proposals: Vec<ProposalRow>,
    /// Proposals in the whole trust.
    pub total: usize,
    /// Whether this page starts before the newest proposal (`?before=`).
    pub older: bool,
    /// The number to ask `?before=` for the next (older) page, when more remain.
    pub next: Option<u64>,
}

impl ProposalsPage {
    /// The proposals of `t` numbered below `before` (all when `None`), newest first.
    pub fn of(t: &Snapshot, before: Option<u64>) -> ProposalsPage {
        let s = t.state();
        let mut page: Vec<_> = s
            .proposals
            .range(..before.unwrap_or(u64::MAX))
            .rev()
            .take(PROPOSALS_PAGE_MAX + 1)
            .map(|(_, p)| ProposalRow::of(s, p))
            .collect();
        let next = (page.len() > PROPOSALS_PAGE_MAX).then(|| {
            page.truncate(PROPOSALS_PAGE_MAX);
            page.last().map_or(0, |p| p.id)
        });
        ProposalsPage {
            nav: Nav::of(t, "proposals"),
            proposals: page,
            total: s.proposals.len(),
            older: before.is_some(),
            next,
        }
    }
}

/// A share the bylaw requires, as the charter the proposal was opened under sets it.
pub struct Requirement {
    /// As written, e.g. `1/3`.
    pub text: String,
    /// In whole percent, rounded (beside the exact fraction, for reading).
    pub pct: u64,
    /// Where a bar's marker goes: percent with one decimal (`66.7`).
    pub at: String,
    /// `more than` or `at least`.
    pub strict: bool,
    /// Numerator and denominator, to compare counts with exactly.
    ratio: (u64, u64),
}

impl Requirement {
    /// Whether `part` of `whole` reaches it, exactly as the bylaws' ratios compare (an
    /// empty whole reaches only a zero share, and never a strict one).
    pub fn reached_by(&self, part: u64, whole: u64) -> bool {
        let (n, d) = (u128::from(self.ratio.0), u128::from(self.ratio.1));
        let (part, whole) = (u128::from(part), u128::from(whole));
        if self.strict {
            whole != 0 && part * d > n * whole
        } else if whole == 0 {
            n == 0
        } else {
            part * d >= n * whole
        }
    }
}

pub(super) fn requirement(text: String, strict: bool) -> Option<Requirement> {
    let (n, d) = text.split_once('/')?;
    let (n, d): (u64, u64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    (d > 0).then(|| Requirement {
        pct: percent(n, d),
        at: tenths(n, d),
        text,
        strict,
        ratio: (n, d),
    })
}

/// `part` of `whole` as a percentage with one decimal, rounded half up (`66.7`); `0` for an
/// empty whole. For drawing and reading only.
pub(super) fn tenths(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0".into();
    }
    let (part, whole) = (u128::from(part), u128::from(whole));
    let t = (part * 2000 + whole) / (whole * 2);
    format!("{}.{}", t / 10, t % 10)
}

/// `part` of `whole` exactly and rounded: `2/3 (67%)`.
fn share(part: u64, whole: u64) -> String {
    format!("{part}/{whole} ({}%)", percent(part, whole))
}

/// What proposal `p` needs, as the bylaw that judges it counts: the quorum (of the
/// electorate, abstentions included), the threshold (of votes cast: yes and no), and
/// whether the threshold applies in each stakeholder class rather than overall.
pub(super) struct Needs {
    pub(super) quorum: Option<Requirement>,
    pub(super) threshold: Option<Requirement>,
    pub(super) per_class: bool,
}

/// The quorum and threshold proposal `p` needs, read from the charter it was opened under
/// with the parameters of the bylaw that judges it, when that is one of the models cltd is
/// built with (classic-clt, civic-data-trust, platform-coop); `None` for any other bylaw,
/// whose thresholds the host cannot know: its explanation is then the only word.
pub(super) fn requirements(t: &Snapshot, p: &ProposalState) -> Needs {
    let rules = &p.rules;
    let body = &p.proposal.body;
    let amend = matches!(body, ProposalBody::AmendBylaws(_));
    let dispose = matches!(body, ProposalBody::DisposeAsset(_));
    let none = Needs {
        quorum: None,
        threshold: None,
        per_class: false,
    };
    let Ok(info) = t.runtime().describe(&rules.module, &rules.charter) else {
        return none;
    };
    // The built-in bylaws apply a disposal's threshold in each class, and platform-coop a
    // resolution's (a surplus allocation) too.
    let per_class =
        dispose || (info.name == "platform-coop" && matches!(body, ProposalBody::Resolution(_)));
    let charter: Vec<bylaws_sdk::Parameter> = crate::native::cross(&rules.charter);
    // (quorum, threshold, whether the threshold must be exceeded rather than met)
    let needs = match info.name.as_str() {
        "classic-clt" => classic_clt::Params::from_charter(&charter).ok().map(|p| {
            if amend {
                (p.amendments.quorum, p.amendments.threshold, false)
            } else if dispose {
                (p.disposal_quorum, p.disposal_threshold, false)
            } else {
                (p.ordinary_quorum, p.ordinary_majority, true)
            }
        }),
        "civic-data-trust" => civic_data_trust::Params::from_charter(&charter)
            .ok()
            .map(|p| {
                if amend {
                    (p.amendments.quorum, p.amendments.threshold, false)
                } else if dispose {
                    (p.ordinary_quorum, p.disposal_threshold, false)
                } else {
                    (p.ordinary_quorum, p.ordinary_majority, true)
                }
            }),
        "platform-coop" => platform_coop::Params::from_charter(&charter).ok().map(|p| {
            if amend {
                (p.amendments.quorum, p.amendments.threshold, false)
            } else if dispose {
                (p.quorum, p.disposal_threshold, false)
            } else {
                (p.quorum, p.majority, true)
            }
        }),
        _ => None,
    };
    match needs {
        Some((quorum, threshold, strict)) => Needs {
            quorum: requirement(quorum.to_string(), false),
            threshold: requirement(threshold.to_string(), strict),
            per_class,
        },
        None => none,
    }
}

/// One class's tally.
pub struct ClassTally {
    /// Class name.
    pub class: &'static str,
    /// Electors in the class.
    pub electors: u64,
    /// Yes, no, abstain.
    pub yes: u64,
    /// No.
    pub no: u64,
    /// Abstain.
    pub abstain: u64,
    /// Yes of votes cast (yes and no), exactly and rounded: `2/3 (67%)`.
    pub share: String,
    /// Under a rule that applies in each class: whether this class reaches the threshold.
    pub meets: Option<bool>,
}

/// A ballot.
pub struct BallotRow {
    /// Voter's name.
    pub name: String,
    /// Voter's class.
    pub class: &'static str,
    /// Their choice.
    pub choice: &'static str,
}

/// A step of a proposal's life.
pub struct Step {
    /// What happened or will.
    pub label: String,
    /// When.
    pub when: String,
    /// Already happened.
    pub done: bool,
}

/// `/trusts/{id}/proposals/{n}`.
#[derive(Template)]
#[template(path = "proposal.html")]
pub struct ProposalPage {
    /// Navigation.
    pub nav: Nav,
    /// This server's URL as the browser reached it, for the command a member without
    /// JavaScript runs instead (`cltd --server URL ...`).
    pub server: String,
    /// Number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// What it would do.
    pub summary: String,
    /// Status.
    pub status: &'static str,
    /// Proposer's name.
    pub proposer: String,
    /// Ballots cast.
    pub voted: u64,
    /// Electorate.
    pub eligible: u64,
    /// Turnout, whole percent.
    pub turnout: u64,
    /// Turnout for the bar: percent with one decimal.
    pub turnout_at: String,
    /// Quorum required.
    pub quorum: Option<Requirement>,
    /// Share of votes cast required.
    pub threshold: Option<Requirement>,
    /// Yes, no, abstain across classes.
    pub totals: (u64, u64, u64),
    /// Yes and no as shares of votes cast (abstentions are not votes cast), for the bar:
    /// percent with one decimal.
    pub shares: (String, String),
    /// Yes of votes cast, exactly and rounded: `2/3 (67%)`.
    pub yes_share: String,
    /// The threshold applies in each class (the table says which class falls short).
    pub per_class: bool,
    /// Per class.
    pub classes: Vec<ClassTally>,
    /// Whom the proposal would admit, in its order (empty unless it admits members).
    pub applicants: Vec<crate::wire::ApplicantDoc>,
    /// The first ballots, in key order (at most [`crate::wire::BALLOTS_LISTED`]).
    pub ballots: Vec<BallotRow>,
    /// Ballots cast beyond those listed (read them from the API, a page at a time).
    pub ballots_unlisted: u64,
    /// Where the API's next page of ballots starts, when some are unlisted.
    pub ballots_next: Option<String>,
    /// Timeline.
    pub steps: Vec<Step>,
    /// The bylaw's decision, once closed.
    pub decision: Option<(&'static str, String)>,
    /// While open: what the bylaw would decide if closed now.
    pub dry_run: Option<(String, String)>,
    /// Open for votes.
    pub open: bool,
    /// Voting window has ended while open (it may be closed).
    pub closable: bool,
    /// Passed and not yet executed.
    pub executable: bool,
    /// The entry just logged by the member on this page.
    pub logged: Option<u64>,
    /// The candidate module, for amendments.
    pub module: Option<String>,
}

impl ProposalPage {
    /// Proposal `number` of `t`; `logged` is the entry a member's action just made.
    pub fn of(t: &Snapshot, number: u64, logged: Option<u64>) -> Result<ProposalPage, ApiError> {
        let s = t.state();
        let p = s
            .proposals
            .get(&number)
            .ok_or_else(|| ApiError::not_found(format!("there is no proposal {number}")))?;
        let pr = &p.proposal;
        let turnout = Turnout::of(p);
        let (eligible, voted) = turnout.totals();
        let totals = turnout.choices();
        let ballot_count = s.rolls.get(&number).map_or(0, |r| r.turnout());
        let (ballots, ballots_next) =
            crate::wire::ballot_page(s, number, None, crate::wire::BALLOTS_LISTED);
        let Needs {
            quorum,
            threshold,
            per_class,
        } = requirements(t, p);
        let classes = turnout
            .classes
            .iter()
            .map(|&(c, electors, yes, no, abstain)| ClassTally {
                class: c.name(),
                electors,
                yes,
                no,
                abstain,
                share: share(yes, yes + no),
                meets: threshold
                    .as_ref()
                    .filter(|_| per_class && electors > 0)
                    .map(|th| th.reached_by(yes, yes + no)),
            })
            .collect();
        // Votes cast as the bylaws count them: abstentions count towards the quorum only.
        let cast = totals.0 + totals.1;
        let mut steps = vec![
            Step {
                label: format!("opened by {}", render::who(s, &pr.proposer)),
                when: when(pr.opened_at),
                done: true,
            },
            Step {
                label: "voting ends".into(),
                when: when(pr.closes_at),
                done: s.time >= pr.closes_at,
            },
        ];
        // `closed_at` holds the latest of close, withdrawal and execution: the close's own
        // time is in the log, not the state, once a proposal is executed.
        match (&p.decision, p.closed_at, p.executed_at) {
            (Some(d), Some(at), None) => steps.push(Step {
                label: format!("closed and tallied: {}", d.outcome.name()),
                when: when(at),
                done: true,
            }),
            (Some(d), _, Some(_)) => steps.push(Step {
                label: format!("closed and tallied: {}", d.outcome.name()),
                when: "after voting ended".into(),
                done: true,
            }),
            (None, Some(at), _) => steps.push(Step {
                label: pr.status.name().to_string(),
                when: when(at),
                done: true,
            }),
            _ => {}
        }
        if let Some(until) = p.decision.as_ref().and_then(|d| d.not_before) {
            steps.push(Step {
                label: "timelock ends: executable".into(),
                when: when(until),
                done: s.time >= until,
            });
        }
        if let Some(at) = p.executed_at {
            steps.push(Step {
                label: "executed".into(),
                when: when(at),
                done: true,
            });
        }
        let dry_run = t.dry_run_close(number).map(|dry| match dry {
            Ok(Verdict::Allow(a)) => match a.decision {
                Some(d) => (
                    match d.outcome {
                        Outcome::Passed => "would pass if closed now",
                        Outcome::Rejected => "would be rejected if closed now",
                        Outcome::Expired => "would expire (quorum not met) if closed now",
                    }
                    .to_string(),
                    d.explanation,
                ),
                None => (
                    "the bylaw allows closing it without deciding".to_string(),
                    a.notes.join(" "),
                ),
            },
            Ok(Verdict::Deny(d)) => (format!("cannot be closed yet ({})", d.code), d.explanation),
            Err(e) => ("the bylaw could not judge it".to_string(), e.to_string()),
        });
        let passed = p
            .decision
            .as_ref()
            .is_some_and(|d| d.outcome == Outcome::Passed);
        Ok(ProposalPage {
            nav: Nav::of(t, "proposals"),
            server: "URL".into(),
            id: pr.id,
            title: pr.title.clone(),
            text: pr.text.clone(),
            summary: render::body_text(s, &pr.body),
            status: pr.status.name(),
            proposer: render::who(s, &pr.proposer),
            voted,
            eligible,
            turnout: percent(voted, eligible),
            turnout_at: tenths(voted, eligible),
            quorum,
            threshold,
            totals,
            shares: (tenths(totals.0, cast), tenths(totals.1, cast)),
            yes_share: share(totals.0, cast),
            per_class,
            classes,
            ballots_unlisted: (ballot_count as u64).saturating_sub(ballots.len() as u64),
            ballots: ballots
                .into_iter()
                .map(|(v, choice)| BallotRow {
                    name: render::who(s, v.key),
                    class: v.class.name(),
                    choice: match choice {
                        Choice::Yes => "yes",
                        Choice::No => "no",
                        Choice::Abstain => "abstain",
                    },
                })
                .collect(),
            ballots_next,
            applicants: crate::wire::ApplicantDoc::of(&pr.body),
            steps,
            decision: p
                .decision
                .as_ref()
                .map(|d| (d.outcome.name(), d.explanation.clone())),
            dry_run,
            open: pr.status == ProposalStatus::Open,
            closable: pr.status == ProposalStatus::Open && s.time >= pr.closes_at,
            executable: passed && p.executed_at.is_none(),
            logged,
            module: match &pr.body {
                ProposalBody::AmendBylaws(a) => Some(a.module.clone()),
                _ => None,
            },
        })
    }
}
