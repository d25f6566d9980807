//! The JSON documents cltd serves under `/v1` and prints with `--json`, as types: one
//! definition for the server, the CLI and the OpenAPI document (each derives a `utoipa`
//! schema), so the API's contract is what the code sends, and Schemathesis checks every
//! response against it. Keys and hashes are lowercase hex; times are host seconds since
//! the Unix epoch; names are resolved against the trust's members.

use std::collections::BTreeMap;

use cltd_runtime::{
    Choice, Entry, EntryBody, Grant, ImpactPreview, Judgement, Member, MemberKey, Parameter,
    ProposalBody, ProposalState, SignedTransition, StakeholderClass, TrustState, Verdict, Voter,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::render::{self, Turnout, who};

mod commons;
pub use commons::{
    AccountDoc, LicenceDoc, LineDoc, PAYMENTS_SHOWN, PaymentDoc, ProjectDoc, RoundDoc, TreasuryDoc,
};

/// A charter parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParamDoc {
    /// Its key.
    pub key: String,
    /// Its value, as written.
    pub value: String,
}

impl ParamDoc {
    /// The parameters of a charter.
    pub fn list(params: &[Parameter]) -> Vec<ParamDoc> {
        params
            .iter()
            .map(|p| ParamDoc {
                key: p.key.clone(),
                value: p.value.clone(),
            })
            .collect()
    }
}

/// A member's standing delegation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProxyDoc {
    /// The delegate's key.
    pub delegate: String,
    /// Until when it holds.
    pub until: u64,
}

/// A member.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MemberDoc {
    /// Their key.
    pub key: String,
    /// Their name.
    pub name: String,
    /// Their stakeholder class.
    pub class: String,
    /// When they were admitted.
    pub admitted_at: u64,
    /// Their delegation, if any.
    pub proxy: Option<ProxyDoc>,
}

impl MemberDoc {
    /// `m` as a document.
    pub fn of(m: &Member) -> MemberDoc {
        MemberDoc {
            key: hex::encode(&m.key),
            name: m.name.clone(),
            class: m.class.name().to_string(),
            admitted_at: m.admitted_at,
            proxy: m.proxy.as_ref().map(|p| ProxyDoc {
                delegate: hex::encode(&p.delegate),
                until: p.until,
            }),
        }
    }
}

/// A dataset's field.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FieldDoc {
    /// Its name.
    pub name: String,
    /// Whether it holds personal data.
    pub personal: bool,
}

/// An asset held in trust.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetDoc {
    /// Its id.
    pub id: String,
    /// Its kind (`dataset`, `domain`, ...).
    pub kind: String,
    /// Its lock (`unlocked`, `locked`, `perpetual`).
    pub lock: String,
    /// Its description.
    pub description: String,
    /// A dataset's fields.
    pub fields: Vec<FieldDoc>,
}

impl AssetDoc {
    /// `a` as a document.
    pub fn of(a: &cltd_runtime::Asset) -> AssetDoc {
        AssetDoc {
            id: a.id.clone(),
            kind: a.kind.name().to_string(),
            lock: a.lock.name().to_string(),
            description: a.description.clone(),
            fields: a
                .fields
                .iter()
                .map(|f| FieldDoc {
                    name: f.name.clone(),
                    personal: f.personal,
                })
                .collect(),
        }
    }
}

/// One class's count on a proposal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClassTallyDoc {
    /// The class.
    pub class: String,
    /// Its electors.
    pub electors: u64,
    /// Yes votes.
    pub yes: u64,
    /// No votes.
    pub no: u64,
    /// Abstentions.
    pub abstain: u64,
}

/// A ballot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BallotDoc {
    /// The voter's key.
    pub voter: String,
    /// The voter's name.
    pub voter_name: String,
    /// `yes`, `no` or `abstain`.
    pub choice: String,
}

/// Ballots a [`ProposalDoc`] lists (and the dashboard's proposal page shows); the rest are
/// read a page at a time from `GET .../proposals/{number}/votes?after=KEY`.
pub const BALLOTS_LISTED: usize = 100;

/// Most ballots on one page of `GET .../proposals/{number}/votes`.
pub const VOTES_PAGE_MAX: usize = 1000;

/// Up to `limit` of the ballots cast on a proposal after key `after`, in key order, and the
/// key to continue after when more remain (`None`: this page ends the list).
pub fn ballot_page<'a>(
    state: &'a TrustState,
    proposal: u64,
    after: Option<&MemberKey>,
    limit: usize,
) -> (Vec<(&'a Voter, Choice)>, Option<String>) {
    let mut page: Vec<_> = state
        .rolls
        .get(&proposal)
        .into_iter()
        .flat_map(|r| r.ballots_after(after))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last()
            .map(|(v, _)| hex::encode(v.key))
            .unwrap_or_default()
    });
    (page, next)
}

/// Most members on one page of `GET /v1/trusts/{id}/members` (and of the dashboard's
/// members page): a trust may have 100,000, and listing them all in one answer took 96 ms
/// and 14 MB at that size.
pub const MEMBERS_PAGE_MAX: usize = 1000;

/// Up to `limit` members whose keys sort after `after`, in key order, of `class` only if one
/// is given, and the key to continue after when more remain (`None`: this page ends the
/// list).
pub fn member_page<'a>(
    state: &'a TrustState,
    class: Option<StakeholderClass>,
    after: Option<&MemberKey>,
    limit: usize,
) -> (Vec<&'a Member>, Option<String>) {
    use std::ops::Bound::{Excluded, Unbounded};
    let from = after.cloned().map_or(Unbounded, Excluded);
    let mut page: Vec<&Member> = state
        .members
        .range((from, Unbounded))
        .map(|(_, m)| &**m)
        .filter(|m| class.is_none_or(|c| m.class == c))
        .take(limit + 1)
        .collect();
    let next = (page.len() > limit).then(|| {
        page.truncate(limit);
        page.last().map(|m| hex::encode(&m.key)).unwrap_or_default()
    });
    (page, next)
}

/// An applicant a proposal would admit.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ApplicantDoc {
    /// Their public key (hex).
    pub key: String,
    /// Their name.
    pub name: String,
    /// The class they would join.
    pub class: String,
}

impl ApplicantDoc {
    /// Everyone an `admit-member` or `admit-members` proposal would admit, in its order
    /// (empty for other kinds).
    pub fn of(body: &ProposalBody) -> Vec<ApplicantDoc> {
        let list = match body {
            ProposalBody::AdmitMember(a) => std::slice::from_ref(a),
            ProposalBody::AdmitMembers(list) => list.as_slice(),
            _ => &[],
        };
        list.iter()
            .map(|a| ApplicantDoc {
                key: hex::encode(&a.key),
                name: a.name.clone(),
                class: a.class.name().to_string(),
            })
            .collect()
    }
}

/// A proposal's decision.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DecisionDoc {
    /// `passed`, `rejected` or `expired`.
    pub outcome: String,
    /// The bylaw's account of the tally.
    pub explanation: String,
    /// Not executable before this time (a timelock), if any.
    pub not_before: Option<u64>,
}

/// What an amendment proposes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AmendmentDoc {
    /// The candidate module.
    pub module: String,
    /// The charter it would run with.
    pub charter: Vec<ParamDoc>,
    /// The entrenched clauses it releases.
    pub releases: Vec<String>,
}

/// A verdict: allowed (with the decision of a close, and the bylaw's notes) or denied (with
/// the reason code, the clause and the explanation).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum VerdictDoc {
    /// Allowed.
    Allowed {
        /// Always true.
        allowed: bool,
        /// A close's decision.
        decision: Option<DecisionDoc>,
        /// The bylaw's notes.
        notes: Vec<String>,
    },
    /// Denied.
    Denied {
        /// Always false.
        allowed: bool,
        /// The reason code.
        code: String,
        /// The clause.
        clause: String,
        /// The explanation.
        explanation: String,
    },
}

impl VerdictDoc {
    /// `verdict` as a document.
    pub fn of(verdict: &Verdict) -> VerdictDoc {
        match verdict {
            Verdict::Allow(a) => VerdictDoc::Allowed {
                allowed: true,
                decision: a.decision.as_ref().map(decision),
                notes: a.notes.clone(),
            },
            Verdict::Deny(d) => VerdictDoc::Denied {
                allowed: false,
                code: d.code.clone(),
                clause: d.clause.clone(),
                explanation: d.explanation.clone(),
            },
        }
    }
}

fn decision(d: &cltd_runtime::Decision) -> DecisionDoc {
    DecisionDoc {
        outcome: d.outcome.name().to_string(),
        explanation: d.explanation.clone(),
        not_before: d.not_before,
    }
}

/// What closing an open proposal now would decide: the bylaw's verdict, or why it could not
/// judge.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum DryRunDoc {
    /// The verdict.
    Verdict(VerdictDoc),
    /// The bylaw failed.
    Failed {
        /// What went wrong.
        error: String,
    },
}

/// A proposal, with its tally by class and its ballots.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalDoc {
    /// Its number.
    pub id: u64,
    /// `open`, `passed`, `rejected`, `expired`, `withdrawn` or `executed`.
    pub status: String,
    /// What kind of proposal (`ordinary`, `admit-member`, `amend-bylaws`, ...).
    pub kind: String,
    /// Its title.
    pub title: String,
    /// Its text.
    pub text: String,
    /// What it would do, in words.
    pub summary: String,
    /// The proposer's key.
    pub proposer: String,
    /// The proposer's name.
    pub proposer_name: String,
    /// The module it is judged by (in force when it opened).
    pub module: String,
    /// The charter it is judged with (in force when it opened).
    pub rules_charter: Vec<ParamDoc>,
    /// When it opened.
    pub opened_at: u64,
    /// When voting ends.
    pub closes_at: u64,
    /// Its electorate's size.
    pub eligible: u64,
    /// Ballots cast (abstentions included).
    pub voted: u64,
    /// The count by class.
    pub tally: Vec<ClassTallyDoc>,
    /// The first ballots cast, in key order: at most [`BALLOTS_LISTED`].
    pub ballots: Vec<BallotDoc>,
    /// When more ballots were cast than are listed: the key after which
    /// `GET .../proposals/{number}/votes?after=` continues (null: all are listed).
    pub ballots_next: Option<String>,
    /// The decision, once closed.
    pub decision: Option<DecisionDoc>,
    /// Whom it would admit (`admit-member`, `admit-members`; empty otherwise): the whole
    /// list, so members read it before they vote.
    pub applicants: Vec<ApplicantDoc>,
    /// What an amendment proposes.
    pub amendment: Option<AmendmentDoc>,
    /// When it was last closed, withdrawn or executed.
    pub closed_at: Option<u64>,
    /// When it was executed.
    pub executed_at: Option<u64>,
    /// While open, over the API: what closing it now would decide.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub if_closed_now: Option<DryRunDoc>,
}

impl ProposalDoc {
    /// `p` of `state` as a document.
    pub fn of(state: &TrustState, p: &ProposalState) -> ProposalDoc {
        let pr = &p.proposal;
        let t = Turnout::of(p);
        let (eligible, voted) = t.totals();
        let (ballots, ballots_next) = ballot_page(state, pr.id, None, BALLOTS_LISTED);
        ProposalDoc {
            id: pr.id,
            status: pr.status.name().to_string(),
            kind: pr.body.kind().to_string(),
            title: pr.title.clone(),
            text: pr.text.clone(),
            summary: render::body_text(state, &pr.body),
            proposer: hex::encode(&pr.proposer),
            proposer_name: who(state, &pr.proposer),
            module: hex::encode(p.rules.module),
            rules_charter: ParamDoc::list(&p.rules.charter),
            opened_at: pr.opened_at,
            closes_at: pr.closes_at,
            eligible,
            voted,
            tally: t
                .classes
                .iter()
                .map(|&(c, electors, yes, no, abstain)| ClassTallyDoc {
                    class: c.name().to_string(),
                    electors,
                    yes,
                    no,
                    abstain,
                })
                .collect(),
            ballots: ballots
                .into_iter()
                .map(|(v, choice)| BallotDoc {
                    voter: hex::encode(v.key),
                    voter_name: who(state, v.key),
                    choice: choice.name().to_string(),
                })
                .collect(),
            ballots_next,
            decision: p.decision.as_ref().map(decision),
            applicants: ApplicantDoc::of(&pr.body),
            amendment: match &pr.body {
                ProposalBody::AmendBylaws(a) => Some(AmendmentDoc {
                    module: a.module.clone(),
                    charter: ParamDoc::list(&a.charter),
                    releases: a.releases.clone(),
                }),
                _ => None,
            },
            closed_at: p.closed_at,
            executed_at: p.executed_at,
            if_closed_now: None,
        }
    }
}

/// An access grant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantDoc {
    /// The personal fields of its dataset it covers.
    pub personal_fields: Vec<String>,
    /// Its number.
    pub id: u64,
    /// The grantee's key.
    pub grantee: String,
    /// The grantee's name, while a member.
    pub grantee_name: Option<String>,
    /// The dataset.
    pub asset: String,
    /// The fields granted (none: the whole dataset).
    pub fields: Vec<String>,
    /// The stated purpose.
    pub purpose: String,
    /// The proposal that granted it.
    pub proposal: u64,
    /// When it took effect.
    pub granted_at: u64,
    /// When it expires.
    pub expires_at: u64,
    /// Whether it has expired.
    pub expired: bool,
}

impl GrantDoc {
    /// `g` of `state` at host time `now` as a document.
    pub fn of(state: &TrustState, g: &Grant, now: u64) -> GrantDoc {
        GrantDoc {
            personal_fields: render::personal_fields(state, g)
                .into_iter()
                .map(str::to_string)
                .collect(),
            id: g.id,
            grantee: hex::encode(&g.grantee),
            grantee_name: state.member(&g.grantee).map(|m| m.name.clone()),
            asset: g.asset_id.clone(),
            fields: g.fields.clone(),
            purpose: g.purpose.clone(),
            proposal: g.proposal,
            granted_at: g.granted_at,
            expires_at: g.expires_at,
            expired: g.expires_at <= now,
        }
    }
}

/// What a trust is, whatever its size: its id and name, its log's size and head, its module,
/// charter and entrenched clauses (the first fields of [`TrustDoc`] and [`StateDoc`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrustInfoDoc {
    /// The trust id.
    pub trust_id: String,
    /// Its name.
    pub name: String,
    /// The module in force.
    pub module: String,
    /// Log entries.
    pub log_size: u64,
    /// The last entry's hash.
    pub head: String,
    /// The last entry's host time.
    pub time: u64,
    /// The charter in force.
    pub charter: Vec<ParamDoc>,
    /// The entrenched clauses.
    pub entrenched: Vec<String>,
}

impl TrustInfoDoc {
    /// What `state` is.
    pub fn of(state: &TrustState) -> TrustInfoDoc {
        TrustInfoDoc {
            trust_id: hex::encode(state.id),
            name: state.name.clone(),
            module: hex::encode(state.module),
            log_size: state.size,
            head: hex::encode(state.head),
            time: state.time,
            charter: ParamDoc::list(&state.charter),
            entrenched: state
                .entrenched
                .iter()
                .map(|c| c.name().to_string())
                .collect(),
        }
    }
}

/// A trust's whole state, as `cltd show` prints it (from the store, or gathered from a
/// server's endpoints a page at a time).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StateDoc {
    /// What the trust is.
    #[serde(flatten)]
    pub trust: TrustInfoDoc,
    /// The members.
    pub members: Vec<MemberDoc>,
    /// The assets.
    pub assets: Vec<AssetDoc>,
    /// Every proposal.
    pub proposals: Vec<ProposalDoc>,
    /// Every grant.
    pub grants: Vec<GrantDoc>,
}

impl StateDoc {
    /// `state` at host time `now` as a document.
    pub fn of(state: &TrustState, now: u64) -> StateDoc {
        StateDoc {
            trust: TrustInfoDoc::of(state),
            members: state.members.values().map(|m| MemberDoc::of(m)).collect(),
            assets: state.assets.values().map(|a| AssetDoc::of(a)).collect(),
            proposals: state
                .proposals
                .values()
                .map(|p| ProposalDoc::of(state, p))
                .collect(),
            grants: state
                .grants
                .values()
                .map(|g| GrantDoc::of(state, g, now))
                .collect(),
        }
    }
}

/// The engine profile a trust was founded with.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EngineDoc {
    /// The wasmtime version.
    pub wasmtime: String,
    /// Fuel per bylaw call.
    pub fuel_per_call: u64,
    /// Memory per instance, bytes.
    pub memory_bytes: u64,
    /// Stack per call, bytes.
    pub max_stack_bytes: u64,
    /// Whether NaNs are canonicalized.
    pub nan_canonicalization: bool,
}

/// The trust a successor succeeded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PredecessorDoc {
    /// Its id.
    pub trust_id: String,
    /// Its log size when succeeded.
    pub size: u64,
    /// Its head then.
    pub head: String,
}

/// A log entry: the genesis, or a judged transition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum EntryDoc {
    /// Entry 0.
    Genesis(GenesisDoc),
    /// Every later entry.
    Transition(TransitionDoc),
}

/// The genesis entry.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GenesisDoc {
    /// 0.
    pub index: u64,
    /// Its hash.
    pub hash: String,
    /// Zeros.
    pub prev: String,
    /// Founding time.
    pub time: u64,
    /// `genesis`.
    pub kind: String,
    /// The trust id.
    pub trust_id: String,
    /// The trust's name.
    pub name: String,
    /// The founding module.
    pub module: String,
    /// The engine profile.
    pub engine: EngineDoc,
    /// Founders.
    pub founders: usize,
    /// Assets at founding.
    pub assets: usize,
    /// The trust this one succeeded, if any.
    pub predecessor: Option<PredecessorDoc>,
}

/// A judged transition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransitionDoc {
    /// Its index.
    pub index: u64,
    /// Its hash.
    pub hash: String,
    /// The previous entry's hash.
    pub prev: String,
    /// Host time stamped on it.
    pub time: u64,
    /// `transition`.
    pub kind: String,
    /// The signer's key (null if the envelope does not decode).
    pub signer: Option<String>,
    /// The signer's name.
    pub signer_name: Option<String>,
    /// The signer's sequence number.
    pub seq: Option<u64>,
    /// The action, in words.
    pub action: Option<String>,
    /// The module that judged it.
    pub module: String,
    /// The verdict as recorded.
    pub verdict: VerdictDoc,
    /// What it did, in words.
    pub effects: Vec<String>,
    /// Fuel the bylaw used.
    pub fuel: u64,
    /// The digest of its state changes.
    pub changes: String,
    /// The signed envelope, hex.
    pub signed: String,
}

impl EntryDoc {
    /// `entry` of `state`'s log as a document.
    pub fn of(state: &TrustState, entry: &Entry) -> EntryDoc {
        let hash = hex::encode(cltd_runtime::entry_hash(entry));
        match &entry.body {
            EntryBody::Genesis(g) => EntryDoc::Genesis(GenesisDoc {
                index: entry.index,
                hash,
                prev: hex::encode(entry.prev),
                time: entry.time,
                kind: "genesis".into(),
                trust_id: hex::encode(g.trust_id()),
                name: g.charter.name.clone(),
                module: hex::encode(g.module),
                engine: EngineDoc {
                    wasmtime: g.engine.wasmtime.clone(),
                    fuel_per_call: g.engine.fuel_per_call,
                    memory_bytes: g.engine.memory_bytes,
                    max_stack_bytes: g.engine.max_stack_bytes,
                    nan_canonicalization: g.engine.nan_canonicalization,
                },
                founders: g.charter.founders.len(),
                assets: g.charter.assets.len(),
                predecessor: g.predecessor.as_ref().map(|p| PredecessorDoc {
                    trust_id: hex::encode(p.trust_id),
                    size: p.size,
                    head: hex::encode(p.head),
                }),
            }),
            EntryBody::Transition(rec) => {
                let decoded = SignedTransition::decode(&rec.signed).ok().map(|(_, b)| b);
                EntryDoc::Transition(TransitionDoc {
                    index: entry.index,
                    hash,
                    prev: hex::encode(entry.prev),
                    time: entry.time,
                    kind: "transition".into(),
                    signer: decoded.as_ref().map(|b| hex::encode(b.signer)),
                    signer_name: decoded.as_ref().map(|b| who(state, b.signer)),
                    seq: decoded.as_ref().map(|b| b.seq),
                    action: decoded
                        .as_ref()
                        .map(|b| render::action_text(state, &b.action)),
                    module: hex::encode(rec.module),
                    verdict: VerdictDoc::of(&match &decoded {
                        Some(b) => render::as_recorded(state, &b.action, &rec.verdict),
                        None => rec.verdict.clone(),
                    }),
                    effects: rec
                        .effects
                        .iter()
                        .map(|e| render::effect_text(state, e))
                        .collect(),
                    fuel: rec.fuel,
                    changes: hex::encode(rec.changes),
                    signed: hex::encode(&rec.signed),
                })
            }
        }
    }
}

/// A judgement in an impact preview.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct JudgementDoc {
    /// `allowed`, `passed`, `denied (code)`, `failed`, ...
    pub headline: String,
    /// The explanation given.
    pub explanation: String,
}

fn judgement(j: &Judgement) -> JudgementDoc {
    JudgementDoc {
        headline: j.headline(),
        explanation: j.explanation(),
    }
}

/// A past decision the candidate would have made differently.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DifferenceDoc {
    /// The entry.
    pub index: u64,
    /// Its time.
    pub time: u64,
    /// Its signer's key.
    pub signer: String,
    /// Its signer's name.
    pub signer_name: String,
    /// What was asked.
    pub action: String,
    /// What the rules in force decided.
    pub in_force: JudgementDoc,
    /// What the candidate would have.
    pub candidate: JudgementDoc,
}

/// One conformance vector's result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConformanceDoc {
    /// The entrenched clause.
    pub clause: String,
    /// The vector.
    pub vector: String,
    /// Whether the candidate kept it.
    pub passed: bool,
    /// What the candidate did.
    pub detail: String,
}

/// An amendment's impact preview.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PreviewDoc {
    /// The candidate module.
    pub module: String,
    /// The charter the amendment proposes.
    pub proposed: Vec<ParamDoc>,
    /// The charter the candidate would run with.
    pub charter: Vec<ParamDoc>,
    /// The charter in force when the preview ran (null in previews from before it was
    /// recorded).
    pub in_force_charter: Option<Vec<ParamDoc>>,
    /// The charter's changes against the one in force when it ran.
    pub charter_changes: Vec<String>,
    /// Log entries covered.
    pub entries: u64,
    /// The last entry covered.
    pub head: String,
    /// Transitions re-judged.
    pub transitions: u64,
    /// Decisions that would differ.
    pub differing: u64,
    /// The first of them.
    pub differences: Vec<DifferenceDoc>,
    /// The conformance suite.
    pub conformance: Vec<ConformanceDoc>,
    /// Every vector passed.
    pub conforms: bool,
    /// Why it stopped early, if it did.
    pub stopped: Option<String>,
    /// Over `POST .../preview`: whether this call stored it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<bool>,
}

impl PreviewDoc {
    /// `r`, with names from `s`, as a document.
    pub fn of(s: &TrustState, r: &ImpactPreview) -> PreviewDoc {
        PreviewDoc {
            module: hex::encode(r.module),
            proposed: ParamDoc::list(&r.proposed),
            charter: ParamDoc::list(&r.charter),
            in_force_charter: r.in_force.as_deref().map(ParamDoc::list),
            charter_changes: render::charter_changes(
                r.in_force.as_deref().unwrap_or(&s.charter),
                &r.charter,
            ),
            entries: r.entries,
            head: hex::encode(r.head),
            transitions: r.transitions,
            differing: r.differing,
            differences: r
                .differences
                .iter()
                .map(|d| DifferenceDoc {
                    index: d.index,
                    time: d.time,
                    signer: hex::encode(d.signer),
                    signer_name: who(s, d.signer),
                    action: d.action.clone(),
                    in_force: judgement(&d.logged),
                    candidate: judgement(&d.candidate),
                })
                .collect(),
            conformance: r
                .conformance
                .iter()
                .map(|c| ConformanceDoc {
                    clause: c.clause.name().to_string(),
                    vector: c.vector.clone(),
                    passed: c.passed,
                    detail: c.detail.clone(),
                })
                .collect(),
            conforms: r.conforms(),
            stopped: r.stopped.clone(),
            stored: None,
        }
    }
}

/// A hosted trust in the list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrustSummaryDoc {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Log entries.
    pub log_size: u64,
    /// The module in force.
    pub module: String,
}

/// `GET /v1/trusts`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrustListDoc {
    /// Every hosted trust.
    pub trusts: Vec<TrustSummaryDoc>,
}

/// `GET /v1/trusts/{id}/members`: a page of members, in key order, grouped by class name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MembersDoc {
    /// Class name to its members on this page (every class is named, with an empty list
    /// when none of its members is on the page).
    pub members: BTreeMap<String, Vec<MemberDoc>>,
    /// Class name to its number of members in the whole trust.
    pub counts: BTreeMap<String, u64>,
    /// The key to ask `?after=` for the next page (null: this page ends the list).
    pub next: Option<String>,
}

/// Each class's name and its members in `state`, from the counts the state keeps.
pub fn class_counts(state: &TrustState) -> BTreeMap<String, u64> {
    StakeholderClass::ALL
        .iter()
        .map(|c| (c.name().to_string(), u64::from(state.counts.get(*c))))
        .collect()
}

/// `GET /v1/trusts/{id}`: a trust at a glance. Its members, assets, proposals and grants
/// are counted here and listed by their own endpoints, the long lists a page at a time, so
/// that what this answer costs does not grow with the trust.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrustDoc {
    /// What the trust is.
    #[serde(flatten)]
    pub trust: TrustInfoDoc,
    /// Members per class name (`GET .../members`).
    pub members: BTreeMap<String, u64>,
    /// Assets (`GET .../assets`).
    pub assets: u64,
    /// Proposals (`GET .../proposals`).
    pub proposals: u64,
    /// Access grants (`GET .../grants`).
    pub grants: u64,
}

impl TrustDoc {
    /// `state` at a glance.
    pub fn of(state: &TrustState) -> TrustDoc {
        TrustDoc {
            trust: TrustInfoDoc::of(state),
            members: class_counts(state),
            assets: state.assets.len() as u64,
            proposals: state.proposals.len() as u64,
            grants: state.grants.len() as u64,
        }
    }
}

/// `GET /v1/trusts/{id}/assets`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AssetsDoc {
    /// Every asset.
    pub assets: Vec<AssetDoc>,
}

/// Most proposals on one page of `GET /v1/trusts/{id}/proposals` (each lists up to
/// [`BALLOTS_LISTED`] ballots) and of the dashboard's proposals page: proposals accumulate
/// for as long as a trust lives, and one answer listing them all grew with its history.
pub const PROPOSALS_PAGE_MAX: usize = 100;

/// `GET /v1/trusts/{id}/proposals`: a page of proposals, by number.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProposalsDoc {
    /// The proposals on this page, oldest first.
    pub proposals: Vec<ProposalDoc>,
    /// The number to ask `?from=` for the next page (null: this page ends the list).
    pub next: Option<u64>,
}

/// `GET /v1/trusts/{id}/grants`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GrantsDoc {
    /// The grants asked for.
    pub grants: Vec<GrantDoc>,
}

/// A ballot with the voter's class.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VoteDoc {
    /// The voter's key.
    pub voter: String,
    /// The voter's name.
    pub name: String,
    /// The voter's class in the frozen electorate.
    pub class: Option<String>,
    /// `yes`, `no` or `abstain`.
    pub choice: String,
}

/// `GET /v1/trusts/{id}/proposals/{number}/votes`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VotesDoc {
    /// The proposal.
    pub proposal: u64,
    /// A page of its ballots, in key order.
    pub votes: Vec<VoteDoc>,
    /// The key to ask `?after=` for the next page (null: this page ends the list).
    pub next: Option<String>,
}

/// `GET /v1/trusts/{id}/log`: a page of entries.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LogPageDoc {
    /// The entries, oldest first.
    pub entries: Vec<EntryDoc>,
    /// The index to ask for next (null at the end).
    pub next: Option<u64>,
    /// The log's size.
    pub size: u64,
}

/// `GET /v1/trusts/{id}/proof`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProofDoc {
    /// `inclusion` or `consistency`.
    pub proof: String,
    /// The tree size it is relative to.
    pub size: u64,
    /// That tree's root, base64.
    pub root: String,
    /// The proof's hashes, base64.
    pub hashes: Vec<String>,
}

/// A module that was in force.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InForceDoc {
    /// The module.
    pub module: String,
    /// Since when.
    pub since: u64,
    /// `genesis`, or `proposal N`.
    pub by: String,
    /// The executed amendment that put it in force.
    pub proposal: Option<ProposalDoc>,
}

/// A stored component.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StoredModuleDoc {
    /// Its hash.
    pub module: String,
    /// Its size, bytes.
    pub size: usize,
    /// Whether it is in force.
    pub in_force: bool,
    /// Amendment proposals naming it.
    pub proposals: Vec<u64>,
}

/// `GET /v1/trusts/{id}/modules`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModulesDoc {
    /// The module in force.
    pub in_force: String,
    /// Every module that has been in force, oldest first.
    pub history: Vec<InForceDoc>,
    /// Every stored component.
    pub stored: Vec<StoredModuleDoc>,
}

/// A stored module as it describes itself (and an upload's answer, with `new`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModuleDoc {
    /// Its hash.
    pub module: String,
    /// Its size, bytes.
    pub size: usize,
    /// Whether it is in force (absent on an upload's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_force: Option<bool>,
    /// Whether the upload stored it for the first time (only on an upload's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its parameters, in words, one line each.
    pub summary: Vec<String>,
}

/// `GET /v1/trusts/{id}/signers/{key}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SignerDoc {
    /// The key.
    pub key: String,
    /// Whether it is a member's.
    pub member: bool,
    /// The member's name.
    pub name: Option<String>,
    /// The member's class.
    pub class: Option<String>,
    /// The sequence number its next transition must carry.
    pub next_seq: u64,
}

/// The receipt of a logged transition.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReceiptDoc {
    /// Its entry's index.
    pub index: u64,
    /// Its entry's hash.
    pub entry_hash: String,
    /// Host time stamped on it.
    pub time: u64,
    /// The signer's key.
    pub signer: String,
    /// The signer's name.
    pub signer_name: String,
    /// The action, in words.
    pub action: String,
    /// The module that judged it.
    pub module: String,
    /// The verdict as recorded.
    pub verdict: VerdictDoc,
    /// The verdict in words, as the CLI prints it.
    pub verdict_text: String,
    /// What it did, in words.
    pub effects: Vec<String>,
    /// The proposal it opened, if it opened one.
    pub proposal_opened: Option<u64>,
    /// Fuel the bylaw used.
    pub fuel: u64,
}

/// Bytes sent as they are (a signed transition's envelope, a bylaw component): declared in
/// the OpenAPI document as a binary string, not as an array of integers.
#[derive(Debug, Clone, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);
