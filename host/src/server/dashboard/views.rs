//! What each dashboard page shows, built from a trust's state, and the template that shows it.

use askama::Template;
use cltd_runtime::{
    Checkpoint, Choice, EntryBody, LockStatus, Outcome, ProposalBody, ProposalState,
    ProposalStatus, SignedTransition, Trust, TrustState, Verdict,
};

use crate::render::{self, Turnout, when};
use crate::server::error::ApiError;

/// Entries per log page.
const LOG_PAGE: u64 = 50;

/// The trust a page belongs to, for the header and navigation.
pub struct Nav {
    /// Trust id (hex).
    pub id: String,
    /// Trust name.
    pub name: String,
    /// Which section is current (`overview`, `members`, ...).
    pub current: &'static str,
}

impl Nav {
    fn of(t: &Trust, current: &'static str) -> Nav {
        Nav {
            id: t.id_hex(),
            name: t.state().name.clone(),
            current,
        }
    }

    /// The sections, as (label, href, whether it is the current one).
    pub fn sections(&self) -> Vec<(&'static str, String, bool)> {
        [
            ("overview", "Overview", ""),
            ("members", "Members", "/members"),
            ("assets", "Assets", "/assets"),
            ("proposals", "Proposals", "/proposals"),
            ("log", "Log", "/log"),
            ("bylaws", "Bylaws", "/bylaws"),
            ("audit", "Audit", "/audit"),
        ]
        .into_iter()
        .map(|(k, l, h)| (l, format!("/trusts/{}{h}", self.id), k == self.current))
        .collect()
    }
}

/// A trust in the list of trusts.
pub struct TrustRow {
    /// Id (hex).
    pub id: String,
    /// Name.
    pub name: String,
    /// Members.
    pub members: usize,
    /// Open proposals.
    pub open: usize,
    /// Log entries.
    pub size: u64,
}

impl TrustRow {
    /// The row for `t`.
    pub fn of(t: &Trust) -> TrustRow {
        let s = t.state();
        TrustRow {
            id: t.id_hex(),
            name: s.name.clone(),
            members: s.members.len(),
            open: open_count(s),
            size: s.size,
        }
    }
}

fn open_count(s: &TrustState) -> usize {
    s.proposals
        .values()
        .filter(|p| p.proposal.status == ProposalStatus::Open)
        .count()
}

/// `/`: every hosted trust.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    /// The trusts.
    pub trusts: Vec<TrustRow>,
}

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
    fn of(s: &TrustState, p: &ProposalState) -> ProposalRow {
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

fn percent(part: u64, whole: u64) -> u64 {
    cltd_runtime::percent(part, whole)
}

/// The latest checkpoint and what this server checked of it.
pub struct CheckpointView {
    /// The signed note, as text.
    pub note: String,
    /// Entries it covers.
    pub size: u64,
    /// Its root (base64).
    pub root: String,
    /// Witness cosignatures on it.
    pub cosignatures: usize,
    /// The host key's signature verifies.
    pub signed: bool,
    /// Its root is the root of the first `size` entries of the log as stored now.
    pub consistent: bool,
}

impl CheckpointView {
    fn of(t: &Trust) -> Result<CheckpointView, ApiError> {
        use base64::Engine;
        let note = t.latest_checkpoint()?;
        let cp = Checkpoint::parse(&note.text)
            .map_err(|e| ApiError::internal(format!("the stored checkpoint: {e}")))?;
        let origin = cltd_runtime::origin(&t.id());
        let signed = note.verify(&origin, &t.genesis()?.host_key).is_ok();
        let leaves = t.leaves()?;
        let consistent = usize::try_from(cp.size)
            .ok()
            .and_then(|n| leaves.get(..n))
            .is_some_and(|prefix| cltd_runtime::root(prefix) == cp.root);
        Ok(CheckpointView {
            note: note.to_string(),
            size: cp.size,
            root: base64::engine::general_purpose::STANDARD.encode(cp.root),
            cosignatures: note.signatures.len().saturating_sub(1),
            signed,
            consistent,
        })
    }
}

/// `/trusts/{id}`: the trust at a glance.
#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    /// Navigation.
    pub nav: Nav,
    /// Module in force (hex).
    pub module: String,
    /// Log entries.
    pub size: u64,
    /// Head hash (hex).
    pub head: String,
    /// Host time of the last entry.
    pub time: String,
    /// Charter parameters set explicitly.
    pub charter: Vec<(String, String)>,
    /// Entrenched clauses.
    pub entrenched: Vec<&'static str>,
    /// Members per class.
    pub classes: Vec<(&'static str, usize)>,
    /// Assets, and how many are locked.
    pub assets: (usize, usize),
    /// Open proposals.
    pub open: Vec<ProposalRow>,
    /// The latest checkpoint.
    pub checkpoint: CheckpointView,
}

impl OverviewPage {
    /// The overview of `t`.
    pub fn of(t: &Trust) -> Result<OverviewPage, ApiError> {
        let s = t.state();
        Ok(OverviewPage {
            nav: Nav::of(t, "overview"),
            module: hex::encode(s.module),
            size: s.size,
            head: hex::encode(s.head),
            time: when(s.time),
            charter: s
                .charter
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect(),
            entrenched: s.entrenched.iter().map(|c| c.name()).collect(),
            classes: render::classes_of(s)
                .iter()
                .map(|c| {
                    (
                        c.name(),
                        s.members.values().filter(|m| m.class == *c).count(),
                    )
                })
                .collect(),
            assets: (
                s.assets.len(),
                s.assets
                    .values()
                    .filter(|a| a.lock == LockStatus::Perpetual)
                    .count(),
            ),
            open: s
                .proposals
                .values()
                .filter(|p| p.proposal.status == ProposalStatus::Open)
                .map(|p| ProposalRow::of(s, p))
                .collect(),
            checkpoint: CheckpointView::of(t)?,
        })
    }
}

/// A member in a table.
pub struct MemberRow {
    /// Name.
    pub name: String,
    /// Key (hex).
    pub key: String,
    /// When admitted.
    pub admitted: String,
    /// Their delegation in force, in words (empty: they vote in person).
    pub proxy: String,
}

/// `/trusts/{id}/members`.
#[derive(Template)]
#[template(path = "members.html")]
pub struct MembersPage {
    /// Navigation.
    pub nav: Nav,
    /// Each class and its members.
    pub classes: Vec<(&'static str, Vec<MemberRow>)>,
}

impl MembersPage {
    /// The members of `t`.
    pub fn of(t: &Trust) -> MembersPage {
        let s = t.state();
        MembersPage {
            nav: Nav::of(t, "members"),
            classes: render::classes_of(s)
                .iter()
                .map(|c| {
                    let rows = s
                        .members
                        .values()
                        .filter(|m| m.class == *c)
                        .map(|m| MemberRow {
                            name: m.name.clone(),
                            key: hex::encode(&m.key),
                            admitted: when(m.admitted_at),
                            proxy: m.proxy.as_ref().map_or_else(String::new, |p| {
                                format!("{} until {}", render::who(s, &p.delegate), when(p.until))
                            }),
                        })
                        .collect();
                    (c.name(), rows)
                })
                .collect(),
        }
    }
}

/// An asset in a table.
pub struct AssetRow {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: &'static str,
    /// Lock status name.
    pub lock: &'static str,
    /// Under the perpetual lock.
    pub locked: bool,
    /// Description.
    pub description: String,
    /// A dataset's fields, personal ones marked.
    pub fields: String,
}

/// An access grant in a table.
pub struct GrantRow {
    /// Grant number.
    pub id: u64,
    /// The grantee's name.
    pub grantee: String,
    /// The dataset.
    pub asset: String,
    /// The fields granted, in words.
    pub fields: String,
    /// The personal fields among them (empty: none).
    pub personal: String,
    /// The stated purpose.
    pub purpose: String,
    /// The proposal that granted it.
    pub proposal: u64,
    /// When it expires.
    pub expires: String,
    /// Whether it has expired.
    pub expired: bool,
}

/// `/trusts/{id}/assets`.
#[derive(Template)]
#[template(path = "assets.html")]
pub struct AssetsPage {
    /// Navigation.
    pub nav: Nav,
    /// The assets.
    pub assets: Vec<AssetRow>,
    /// Every access grant, newest first: each member can see who uses which data.
    pub grants: Vec<GrantRow>,
}

impl AssetsPage {
    /// The assets of `t`.
    pub fn of(t: &Trust) -> AssetsPage {
        AssetsPage {
            nav: Nav::of(t, "assets"),
            assets: t
                .state()
                .assets
                .values()
                .map(|a| AssetRow {
                    id: a.id.clone(),
                    kind: a.kind.name(),
                    lock: a.lock.name(),
                    locked: a.lock == LockStatus::Perpetual,
                    description: a.description.clone(),
                    fields: render::dataset_fields(&a.fields),
                })
                .collect(),
            grants: {
                let s = t.state();
                s.grants
                    .values()
                    .rev()
                    .map(|g| GrantRow {
                        id: g.id,
                        grantee: render::who(s, &g.grantee),
                        asset: g.asset_id.clone(),
                        fields: render::fields_text(&g.fields),
                        personal: render::personal_fields(s, g).join(", "),
                        purpose: g.purpose.clone(),
                        proposal: g.proposal,
                        expires: when(g.expires_at),
                        expired: g.expires_at <= t.now(),
                    })
                    .collect()
            },
        }
    }
}

/// `/trusts/{id}/proposals`.
#[derive(Template)]
#[template(path = "proposals.html")]
pub struct ProposalsPage {
    /// Navigation.
    pub nav: Nav,
    /// Newest first.
    pub proposals: Vec<ProposalRow>,
}

impl ProposalsPage {
    /// The proposals of `t`.
    pub fn of(t: &Trust) -> ProposalsPage {
        let s = t.state();
        ProposalsPage {
            nav: Nav::of(t, "proposals"),
            proposals: s
                .proposals
                .values()
                .rev()
                .map(|p| ProposalRow::of(s, p))
                .collect(),
        }
    }
}

/// A share the bylaw requires, as the classic-clt charter sets it.
pub struct Requirement {
    /// As written, e.g. `1/3`.
    pub text: String,
    /// In whole percent.
    pub pct: u64,
    /// `more than` or `at least`.
    pub strict: bool,
}

fn requirement(text: String, strict: bool) -> Option<Requirement> {
    let (n, d) = text.split_once('/')?;
    let (n, d): (u64, u64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    Some(Requirement {
        pct: percent(n, d),
        text,
        strict,
    })
}

/// The quorum and threshold proposal `p` needs, read from the charter it was opened under
/// with the parameters of the bylaw that judges it, when that is one of the models cltd is
/// built with (classic-clt, civic-data-trust, platform-coop); `None` for any other bylaw,
/// whose thresholds the host cannot know: its explanation is then the only word.
fn requirements(t: &Trust, p: &ProposalState) -> (Option<Requirement>, Option<Requirement>) {
    let rules = &p.rules;
    let body = &p.proposal.body;
    let Ok(info) = t.runtime().describe(&rules.module, &rules.charter) else {
        return (None, None);
    };
    let charter: Vec<bylaws_sdk::Parameter> = crate::native::cross(&rules.charter);
    let amend = matches!(body, ProposalBody::AmendBylaws(_));
    let dispose = matches!(body, ProposalBody::DisposeAsset(_));
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
        Some((quorum, threshold, strict)) => (
            requirement(quorum.to_string(), false),
            requirement(threshold.to_string(), strict),
        ),
        None => (None, None),
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
    /// Quorum required.
    pub quorum: Option<Requirement>,
    /// Share of votes cast required.
    pub threshold: Option<Requirement>,
    /// Yes, no, abstain across classes.
    pub totals: (u64, u64, u64),
    /// Their shares of ballots cast, whole percent.
    pub shares: (u64, u64, u64),
    /// Per class.
    pub classes: Vec<ClassTally>,
    /// Ballots.
    pub ballots: Vec<BallotRow>,
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
    pub fn of(t: &Trust, number: u64, logged: Option<u64>) -> Result<ProposalPage, ApiError> {
        let s = t.state();
        let p = s
            .proposals
            .get(&number)
            .ok_or_else(|| ApiError::not_found(format!("there is no proposal {number}")))?;
        let pr = &p.proposal;
        let turnout = Turnout::of(p);
        let (eligible, voted) = turnout.totals();
        let totals = turnout.choices();
        let classes = turnout
            .classes
            .iter()
            .map(|&(c, electors, yes, no, abstain)| ClassTally {
                class: c.name(),
                electors,
                yes,
                no,
                abstain,
            })
            .collect();
        let cast = totals.0 + totals.1 + totals.2;
        let (quorum, threshold) = requirements(t, p);
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
            id: pr.id,
            title: pr.title.clone(),
            text: pr.text.clone(),
            summary: render::body_text(s, &pr.body),
            status: pr.status.name(),
            proposer: render::who(s, &pr.proposer),
            voted,
            eligible,
            turnout: percent(voted, eligible),
            quorum,
            threshold,
            totals,
            shares: (
                percent(totals.0, cast),
                percent(totals.1, cast),
                percent(totals.2, cast),
            ),
            classes,
            ballots: pr
                .ballots
                .iter()
                .map(|b| BallotRow {
                    name: render::who(s, &b.voter),
                    class: pr
                        .electorate
                        .iter()
                        .find(|e| e.key == b.voter)
                        .map_or("", |e| e.class.name()),
                    choice: match b.choice {
                        Choice::Yes => "yes",
                        Choice::No => "no",
                        Choice::Abstain => "abstain",
                    },
                })
                .collect(),
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

/// A log entry in the timeline.
pub struct EntryRow {
    /// Index.
    pub index: u64,
    /// When.
    pub time: String,
    /// Who signed it.
    pub signer: String,
    /// What it asked.
    pub action: String,
    /// `allowed`, `denied` or `genesis`.
    pub verdict: &'static str,
    /// The bylaw's words (reason code and explanation when denied).
    pub explanation: String,
    /// Entry hash (hex).
    pub hash: String,
}

/// `/trusts/{id}/log`.
#[derive(Template)]
#[template(path = "log.html")]
pub struct LogPage {
    /// Navigation.
    pub nav: Nav,
    /// Entries, oldest first.
    pub entries: Vec<EntryRow>,
    /// Log size.
    pub size: u64,
    /// Previous page's start.
    pub prev: Option<u64>,
    /// Next page's start.
    pub next: Option<u64>,
}

impl LogPage {
    /// A page of `t`'s log from `from` (default: the last page).
    pub fn of(t: &Trust, from: Option<u64>) -> Result<LogPage, ApiError> {
        let s = t.state();
        let from = from
            .unwrap_or_else(|| s.size.saturating_sub(LOG_PAGE))
            .min(s.size);
        let entries = t.entries(from, LOG_PAGE as usize)?;
        let rows = entries
            .iter()
            .map(|e| {
                let hash = hex::encode(cltd_runtime::entry_hash(e));
                match &e.body {
                    EntryBody::Genesis(g) => EntryRow {
                        index: e.index,
                        time: when(e.time),
                        signer: "founders".into(),
                        action: format!("founded \"{}\"", g.charter.name),
                        verdict: "genesis",
                        explanation: format!(
                            "{} founders, {} assets, module {}",
                            g.charter.founders.len(),
                            g.charter.assets.len(),
                            render::short_hex(&hex::encode(g.module))
                        ),
                        hash,
                    },
                    EntryBody::Transition(rec) => {
                        let body = SignedTransition::decode(&rec.signed).ok().map(|(_, b)| b);
                        let (verdict, explanation) = match &rec.verdict {
                            Verdict::Allow(a) => (
                                "allowed",
                                a.decision.as_ref().map_or_else(
                                    || a.notes.join(" "),
                                    |d| format!("{}: {}", d.outcome.name(), d.explanation),
                                ),
                            ),
                            Verdict::Deny(d) => (
                                "denied",
                                format!("{} ({}): {}", d.code, d.clause, d.explanation),
                            ),
                        };
                        EntryRow {
                            index: e.index,
                            time: when(e.time),
                            signer: body
                                .as_ref()
                                .map_or_else(String::new, |b| render::who(s, &b.signer)),
                            action: body
                                .as_ref()
                                .map_or_else(String::new, |b| render::action_text(s, &b.action)),
                            verdict,
                            explanation,
                            hash,
                        }
                    }
                }
            })
            .collect();
        Ok(LogPage {
            nav: Nav::of(t, "log"),
            entries: rows,
            size: s.size,
            prev: (from > 0).then(|| from.saturating_sub(LOG_PAGE)),
            next: (from + LOG_PAGE < s.size).then_some(from + LOG_PAGE),
        })
    }
}

/// A module that was in force.
pub struct HistoryRow {
    /// Module (hex).
    pub module: String,
    /// From when.
    pub since: String,
    /// Genesis, or the amendment that put it in force.
    pub proposal: Option<u64>,
    /// That amendment's tally in words.
    pub tally: String,
}

/// An amendment proposal and its impact preview.
pub struct AmendmentRow {
    /// Proposal number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Status.
    pub status: &'static str,
    /// Candidate module.
    pub module: String,
    /// The vote so far.
    pub tally: String,
    /// The preview's lines, if one is stored.
    pub preview: Option<String>,
}

/// `/trusts/{id}/bylaws`.
#[derive(Template)]
#[template(path = "bylaws.html")]
pub struct BylawsPage {
    /// Navigation.
    pub nav: Nav,
    /// Module in force.
    pub in_force: String,
    /// What the module in force says of itself.
    pub described: Vec<String>,
    /// Modules in force over time, oldest first.
    pub history: Vec<HistoryRow>,
    /// Amendments, newest first.
    pub amendments: Vec<AmendmentRow>,
    /// Stored components: hash and size.
    pub stored: Vec<(String, usize)>,
}

fn tally_words(p: &ProposalState) -> String {
    let t = Turnout::of(p);
    let (eligible, voted) = t.totals();
    let (y, n, a) = t.choices();
    format!("{y} yes, {n} no, {a} abstain; {voted} of {eligible} eligible voted")
}

impl BylawsPage {
    /// The bylaw history of `t`.
    pub fn of(t: &Trust) -> Result<BylawsPage, ApiError> {
        let s = t.state();
        let history = t
            .module_history()?
            .into_iter()
            .map(|m| HistoryRow {
                module: hex::encode(m.module),
                since: when(m.since),
                proposal: m.by.map(|p| p.proposal.id),
                tally: m
                    .by
                    .map_or_else(|| "the founders' bylaws".into(), tally_words),
            })
            .collect();
        let mut amendments = Vec::new();
        for p in s.proposals.values() {
            let ProposalBody::AmendBylaws(a) = &p.proposal.body else {
                continue;
            };
            let preview = cltd_runtime::parse_hash(&a.module)
                .and_then(|m| t.stored_preview(&m, &a.charter).ok().flatten())
                .map(|r| crate::render::preview_text(s, &r));
            amendments.push(AmendmentRow {
                id: p.proposal.id,
                title: p.proposal.title.clone(),
                status: p.proposal.status.name(),
                module: a.module.clone(),
                tally: tally_words(p),
                preview,
            });
        }
        amendments.reverse();
        let described = t
            .runtime()
            .describe(&s.module, &s.charter)
            .map(|i| {
                let mut lines = vec![format!("{} {}", i.name, i.version)];
                lines.extend(i.summary);
                lines
            })
            .unwrap_or_else(|e| vec![format!("the module could not describe itself: {e}")]);
        Ok(BylawsPage {
            nav: Nav::of(t, "bylaws"),
            in_force: hex::encode(s.module),
            described,
            history,
            amendments,
            stored: t
                .stored_modules()?
                .into_iter()
                .map(|(h, n)| (hex::encode(h), n))
                .collect(),
        })
    }
}

/// `/trusts/{id}/audit`.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// Navigation.
    pub nav: Nav,
    /// The latest checkpoint.
    pub checkpoint: CheckpointView,
    /// Log size now.
    pub size: u64,
}

impl AuditPage {
    /// The audit status of `t`.
    pub fn of(t: &Trust) -> Result<AuditPage, ApiError> {
        Ok(AuditPage {
            nav: Nav::of(t, "audit"),
            checkpoint: CheckpointView::of(t)?,
            size: t.state().size,
        })
    }
}
