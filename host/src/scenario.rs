//! Scenario files: a bylaw's tests as data that a non-programmer can read and write.
//!
//! A scenario (`CRATE/scenarios/NAME.toml`) founds a trust (members by name and class,
//! assets, charter parameters), then runs steps: an action signed by a member's name, or a
//! wait. Each action step states the verdict it expects (`allowed`, `denied`, `passed`,
//! `rejected`, `expired`, `refused` by the host, `failed`: the bylaw failed to judge it, which
//! is logged as the host's denial `bylaw-failed`) and, for a denial or refusal, the reason
//! code. The steps run through the real runtime and store against the built component, so
//! a scenario checks exactly what a trust would do. Names sign with keys derived from the
//! name; a name that is not a founder is a stranger (or an applicant, until admitted), whose
//! every action the host refuses (`not-a-member`). A scenario whose `[trust]` says
//! `refused = "..."` checks that the founding itself is refused.
//!
//! For the bylaws cltd is built with, each scenario runs a second time with the same logic
//! compiled natively ([`crate::native`]); both runs must meet the expectations and agree on
//! every verdict and explanation.
//!
//! Why one file of ~770 lines: the file format (its serde types), the runner that founds and
//! drives a trust, and the comparison with what each step expects change together whenever
//! the format gains a step kind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use cltd_runtime::Clock;
use cltd_runtime::{
    AccessRequest, Action, Applicant, AssetDraft, AssetKind, Charter, Choice, Clause, DataField,
    Delegation, Disposal, Keypair, LockStatus, ManualClock, Outcome, Parameter, ProposalBody,
    ProposalDraft, Receipt, Resolution, Runtime, SignedTransition, StakeholderClass, Trust,
    Verdict, Vote,
};
use serde::{Deserialize, Serialize};

mod commons;

const DAY: u64 = 86_400;
/// Host time a scenario starts at unless it says otherwise (2027-01-15 08:00 UTC).
const START: u64 = 1_800_000_000;

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What it shows, in a sentence.
    pub name: String,
    /// The trust it starts from.
    pub trust: TrustSpec,
    /// What happens, in order.
    #[serde(rename = "step", default)]
    pub steps: Vec<Step>,
}

/// The trust a scenario founds.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustSpec {
    /// Founding members: name and class.
    pub members: Vec<MemberSpec>,
    /// Assets held from the start.
    #[serde(default)]
    pub assets: Vec<AssetSpec>,
    /// Charter parameters (key to value).
    #[serde(default)]
    pub charter: BTreeMap<String, String>,
    /// Entrenched clauses (default none: scenarios test the bylaw's own rules).
    #[serde(default)]
    pub entrenched: Vec<String>,
    /// Host time of the founding (seconds since the epoch).
    pub start: Option<u64>,
    /// The treasury's currency (none: the trust keeps no treasury).
    pub currency: Option<String>,
    /// Treasury accounts beside operating, reserve and community-projects.
    #[serde(default)]
    pub accounts: Vec<String>,
    /// The founding is expected to be refused, with this reason (`bad-charter`: the bylaw
    /// cannot run with the charter; `entrenched-clause`: with it, the bylaw breaks a clause
    /// the charter entrenches). Such a scenario has no steps: nothing is founded.
    pub refused: Option<String>,
}

/// A member, by name and class.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// Name (also the key's seed).
    pub name: String,
    /// `resident`, `community`, `public`, `worker`, `user` or `data-ethics-council`.
    pub class: String,
}

/// An asset.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetSpec {
    /// Id.
    pub id: String,
    /// `dataset`, `code-repository`, `platform`, `domain` or `server`.
    pub kind: String,
    /// `perpetual` or `unlocked`.
    pub lock: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// A dataset's fields.
    #[serde(default)]
    pub fields: Vec<String>,
    /// Which of those fields hold personal data.
    #[serde(default)]
    pub personal: Vec<String>,
}

/// A proposal to open.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProposeSpec {
    /// `ordinary`, `admit`, `admit-members`, `remove`, `dispose`, `grant-access`, `amend` or
    /// `resolution`.
    pub kind: String,
    /// Title (default: the kind).
    pub title: Option<String>,
    /// The proposal's text.
    #[serde(default)]
    pub text: String,
    /// Voting window in days.
    pub days: u64,
    /// `admit`: the applicant's name; `remove`: the member's name.
    pub name: Option<String>,
    /// `admit`: the applicant's class.
    pub class: Option<String>,
    /// `admit-members`: the applicants, by name (also the key's seed) and class.
    #[serde(default)]
    pub applicants: Vec<MemberSpec>,
    /// `dispose`, `grant-access`: the asset.
    pub asset: Option<String>,
    /// `dispose`: who receives it.
    pub recipient: Option<String>,
    /// `grant-access`: the grantee's name.
    pub grantee: Option<String>,
    /// `grant-access`: the purpose.
    pub purpose: Option<String>,
    /// `grant-access`: how many days the grant lasts.
    pub grant_days: Option<u64>,
    /// `grant-access`: the fields asked for (none: the whole dataset).
    #[serde(default)]
    pub fields: Vec<String>,
    /// `resolution`: its kind, as the bylaws name it (e.g. `surplus-allocation`).
    pub resolution: Option<String>,
    /// `resolution`: its terms (key to value).
    #[serde(default)]
    pub terms: BTreeMap<String, String>,
    /// `amend`: charter parameters to set (the module in force stays; the step first makes
    /// the impact preview members must be able to read).
    #[serde(default)]
    pub set: BTreeMap<String, String>,
    /// `amend`: charter parameters to remove.
    #[serde(default)]
    pub unset: Vec<String>,
    /// `appoint`: the role given to (or taken from) member `name`.
    pub role: Option<String>,
    /// `appoint`: false takes the role away (default true).
    pub holds: Option<bool>,
    /// `spend`, `budget-round`: the account.
    pub account: Option<String>,
    /// `spend`: the amount, in minor units.
    pub amount: Option<u64>,
    /// `spend`: who is to be paid.
    pub payee: Option<String>,
    /// `allocate`: the account the money leaves.
    pub source: Option<String>,
    /// `allocate`: account to amount (minor units).
    #[serde(default)]
    pub shares: BTreeMap<String, u64>,
    /// `budget-round`: the whole budget, in minor units.
    pub budget: Option<u64>,
    /// `budget-round`: days of the submission phase.
    pub submission_days: Option<u64>,
    /// `license`: the licensee's name (their key is derived from it).
    pub licensee: Option<String>,
    /// `license`: the category of use (e.g. `research`).
    pub category: Option<String>,
    /// `license`: days the licence lasts.
    pub term_days: Option<u64>,
    /// `license`: the price, in minor units.
    pub price: Option<u64>,
    /// `revoke-licence`: the licence's number.
    pub licence: Option<u64>,
    /// `set-fees`: fee key (e.g. `membership.standard`) to amount in minor units.
    #[serde(default)]
    pub fees: BTreeMap<String, u64>,
}

/// What an `amend` proposal is measured against: the module and charter in force (and
/// the currency a payment is in unless it says otherwise).
pub struct InForce<'a> {
    /// The module in force (hex).
    pub module: String,
    /// The charter in force.
    pub charter: &'a [Parameter],
    /// The trust's currency, if it keeps a treasury.
    pub currency: Option<&'a str>,
}

/// A vote.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VoteSpec {
    /// Proposal number.
    pub proposal: u64,
    /// `yes`, `no` or `abstain`.
    pub choice: String,
}

/// A delegation of one's vote.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelegateSpec {
    /// The delegate's name.
    pub to: String,
    /// How many days from now the delegation lasts.
    pub days: u64,
}

/// One step: an action signed by `as`, or a wait.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Who signs.
    #[serde(rename = "as")]
    pub signer: Option<String>,
    /// Let this many days pass.
    pub wait_days: Option<u64>,
    /// Open a proposal.
    pub propose: Option<ProposeSpec>,
    /// Vote.
    pub vote: Option<VoteSpec>,
    /// Close voting on a proposal.
    pub close: Option<u64>,
    /// Execute a passed proposal.
    pub execute: Option<u64>,
    /// Withdraw an open proposal.
    pub withdraw: Option<u64>,
    /// Register an asset.
    pub register_asset: Option<AssetSpec>,
    /// Lock an asset.
    pub lock_asset: Option<String>,
    /// Delegate one's vote.
    pub delegate: Option<DelegateSpec>,
    /// Withdraw one's delegation (`withdraw_delegation = true`).
    #[serde(default)]
    pub withdraw_delegation: bool,
    /// Record a payment in the treasury's ledger.
    pub pay: Option<commons::PaySpec>,
    /// Submit a project to a budgeting round.
    pub submit_project: Option<commons::ProjectSpec>,
    /// Cast an approval ballot in a budgeting round.
    pub approve: Option<commons::ApproveSpec>,
    /// After a close: the projects the round funded, in the order funded.
    pub funded: Option<Vec<u32>>,
    /// After the step: account to balance (minor units), for the accounts named.
    pub balances: Option<BTreeMap<String, u64>>,
    /// The verdict expected.
    pub expect: Option<String>,
    /// The reason code expected (denied or refused).
    pub reason: Option<String>,
}

/// The verdicts a step may expect.
const EXPECTATIONS: [&str; 7] = [
    "allowed", "denied", "passed", "rejected", "expired", "refused", "failed",
];

/// What happened at one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// 1-based step number.
    pub step: usize,
    /// The action in words.
    pub action: String,
    /// What was expected (`verdict` or `verdict [reason]`).
    pub expected: String,
    /// What happened.
    pub got: String,
    /// The bylaw's or host's words.
    pub explanation: String,
    /// Whether it matched.
    pub ok: bool,
}

/// The result of one scenario file.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    /// The file.
    pub file: PathBuf,
    /// Its name.
    pub name: String,
    /// Passed: every step as expected.
    pub passed: bool,
    /// Why it could not run, if it could not.
    pub error: Option<String>,
    /// Every step that ran (a run stops at the first mismatch).
    pub steps: Vec<StepResult>,
    /// The native run: `None` when not run, else whether it agreed with the component's.
    pub native: Option<NativeRun>,
}

/// How the run of the same logic compiled natively compared with the component's.
#[derive(Debug, Clone, Serialize)]
pub struct NativeRun {
    /// Every step gave the same verdict, reason and explanation, and met the expectations.
    pub agrees: bool,
    /// The first difference, or the native run's own failure.
    pub difference: Option<String>,
}

fn key_for(name: &str) -> Keypair {
    Keypair::from_secret(blake3::derive_key(
        "cltd scenario member key v1",
        name.as_bytes(),
    ))
}

fn class(s: &str) -> Result<StakeholderClass> {
    StakeholderClass::parse(s).with_context(|| {
        format!(
            "class `{s}`: use one of {}",
            StakeholderClass::ALL.map(StakeholderClass::name).join(", ")
        )
    })
}

fn asset_draft(a: &AssetSpec) -> Result<AssetDraft> {
    Ok(AssetDraft {
        id: a.id.clone(),
        kind: AssetKind::parse(&a.kind).with_context(|| {
            format!(
                "asset kind `{}`: use dataset, code-repository, platform, domain or server",
                a.kind
            )
        })?,
        lock: match a.lock.as_str() {
            "perpetual" => LockStatus::Perpetual,
            "unlocked" => LockStatus::Unlocked,
            other => bail!("asset lock `{other}`: use perpetual or unlocked"),
        },
        description: a.description.clone(),
        fields: {
            if let Some(p) = a.personal.iter().find(|p| !a.fields.contains(p)) {
                bail!(
                    "asset `{}`: personal field `{p}` is not among its fields",
                    a.id
                );
            }
            a.fields
                .iter()
                .map(|f| DataField {
                    name: f.clone(),
                    personal: a.personal.contains(f),
                })
                .collect()
        },
    })
}

fn need<'a, T>(v: &'a Option<T>, what: &str, kind: &str) -> Result<&'a T> {
    v.as_ref()
        .with_context(|| format!("a `{kind}` proposal needs `{what}`"))
}

fn proposal(p: &ProposeSpec, in_force: Option<&InForce<'_>>) -> Result<Action> {
    let body = match p.kind.as_str() {
        "amend" => {
            let mut charter: Vec<Parameter> = in_force
                .map(|f| f.charter.to_vec())
                .unwrap_or_default()
                .into_iter()
                .filter(|q| !p.unset.contains(&q.key) && !p.set.contains_key(&q.key))
                .collect();
            charter.extend(p.set.iter().map(|(k, v)| Parameter {
                key: k.clone(),
                value: v.clone(),
            }));
            charter.sort_by(|a, b| a.key.cmp(&b.key));
            ProposalBody::AmendBylaws(cltd_runtime::Amendment {
                module: in_force.map(|f| f.module.clone()).unwrap_or_default(),
                charter,
                releases: vec![],
            })
        }
        "ordinary" => ProposalBody::Ordinary,
        "admit" => {
            let name = need(&p.name, "name", "admit")?;
            ProposalBody::AdmitMember(Applicant {
                key: key_for(name).public().to_vec(),
                name: name.clone(),
                class: class(need(&p.class, "class", "admit")?)?,
            })
        }
        "admit-members" => ProposalBody::AdmitMembers(
            p.applicants
                .iter()
                .map(|a| {
                    Ok(Applicant {
                        key: key_for(&a.name).public().to_vec(),
                        name: a.name.clone(),
                        class: class(&a.class)?,
                    })
                })
                .collect::<Result<_>>()?,
        ),
        "remove" => {
            ProposalBody::RemoveMember(key_for(need(&p.name, "name", "remove")?).public().to_vec())
        }
        "dispose" => ProposalBody::DisposeAsset(Disposal {
            asset_id: need(&p.asset, "asset", "dispose")?.clone(),
            recipient: need(&p.recipient, "recipient", "dispose")?.clone(),
        }),
        "grant-access" => ProposalBody::GrantAccess(AccessRequest {
            grantee: key_for(need(&p.grantee, "grantee", "grant-access")?)
                .public()
                .to_vec(),
            asset_id: need(&p.asset, "asset", "grant-access")?.clone(),
            fields: p.fields.clone(),
            purpose: need(&p.purpose, "purpose", "grant-access")?.clone(),
            duration: need(&p.grant_days, "grant_days", "grant-access")? * DAY,
        }),
        "resolution" => ProposalBody::Resolution(Resolution {
            kind: need(&p.resolution, "resolution", "resolution")?.clone(),
            terms: p
                .terms
                .iter()
                .map(|(k, v)| Parameter {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        }),
        other => match commons::body(other, p)? {
            Some(body) => body,
            None => bail!(
                "proposal kind `{other}`: use ordinary, admit, remove, dispose, grant-access, amend, resolution, appoint, spend, allocate, budget-round, license, revoke-licence or set-fees"
            ),
        },
    };
    Ok(Action::Propose(ProposalDraft {
        body,
        title: p.title.clone().unwrap_or_else(|| p.kind.clone()),
        text: p.text.clone(),
        window: p.days * DAY,
    }))
}

impl Step {
    /// The step's action, if it has one; checks that it has at most one.
    fn action(&self, in_force: Option<&InForce<'_>>, now: u64) -> Result<Option<Action>> {
        let mut actions = Vec::new();
        if let Some(p) = &self.propose {
            actions.push(proposal(p, in_force)?);
        }
        if let Some(v) = &self.vote {
            let choice = match v.choice.as_str() {
                "yes" => Choice::Yes,
                "no" => Choice::No,
                "abstain" => Choice::Abstain,
                other => bail!("vote choice `{other}`: use yes, no or abstain"),
            };
            actions.push(Action::Vote(Vote {
                proposal: v.proposal,
                choice,
            }));
        }
        actions.extend(self.close.map(Action::Close));
        actions.extend(self.execute.map(Action::Execute));
        actions.extend(self.withdraw.map(Action::Withdraw));
        if let Some(a) = &self.register_asset {
            actions.push(Action::RegisterAsset(asset_draft(a)?));
        }
        actions.extend(self.lock_asset.clone().map(Action::LockAsset));
        if let Some(d) = &self.delegate {
            actions.push(Action::Delegate(Delegation {
                delegate: Some(key_for(&d.to).public().to_vec()),
                until: now.saturating_add(d.days * DAY),
            }));
        }
        if self.withdraw_delegation {
            actions.push(Action::Delegate(Delegation {
                delegate: None,
                until: 0,
            }));
        }
        let currency = in_force.and_then(|f| f.currency);
        actions.extend(commons::actions(self, currency)?);
        if actions.len() > 1 {
            bail!("a step does one thing: it names {} actions", actions.len());
        }
        Ok(actions.pop())
    }
}

/// Read and check a scenario file.
pub fn load(path: &Path) -> Result<Scenario> {
    let text = std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let s: Scenario = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid scenario", path.display()))?;
    for (i, step) in s.steps.iter().enumerate() {
        let n = i + 1;
        let action = step.action(None, 0).with_context(|| format!("step {n}"))?;
        match (&action, step.wait_days) {
            (Some(_), Some(_)) => bail!("step {n}: a step either waits or acts, not both"),
            (None, None) => bail!("step {n}: nothing to do (give an action or wait_days)"),
            (Some(_), None) => {
                if step.signer.is_none() {
                    bail!("step {n}: say who signs it with `as = \"NAME\"`");
                }
                match step.expect.as_deref() {
                    Some(e) if EXPECTATIONS.contains(&e) => {}
                    Some(e) => bail!(
                        "step {n}: expect `{e}`: use one of {}",
                        EXPECTATIONS.join(", ")
                    ),
                    None => bail!("step {n}: say what it expects with `expect = \"...\"`"),
                }
            }
            (None, Some(_)) => {}
        }
    }
    Ok(s)
}

/// The scenario files in `dir`, in name order.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("read the scenarios directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    if out.is_empty() {
        bail!("no scenario files (*.toml) in {}", dir.display());
    }
    Ok(out)
}

/// Found the scenario's trust: `Err` for a scenario file that does not make sense, `Ok(Err)`
/// when the runtime refuses the founding.
fn found(
    s: &Scenario,
    runtime: Arc<Runtime>,
    wasm: &[u8],
    dir: &Path,
) -> Result<cltd_runtime::Result<(Trust, Arc<ManualClock>)>> {
    let clock = Arc::new(ManualClock::new(s.trust.start.unwrap_or(START)));
    let founders = s
        .trust
        .members
        .iter()
        .map(|m| {
            Ok(Applicant {
                key: key_for(&m.name).public().to_vec(),
                name: m.name.clone(),
                class: class(&m.class)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let charter = Charter {
        name: s.name.clone(),
        params: s
            .trust
            .charter
            .iter()
            .map(|(k, v)| Parameter {
                key: k.clone(),
                value: v.clone(),
            })
            .collect(),
        founders,
        assets: s
            .trust
            .assets
            .iter()
            .map(asset_draft)
            .collect::<Result<_>>()?,
        entrenched: s
            .trust
            .entrenched
            .iter()
            .map(|c| Clause::parse(c).with_context(|| format!("no entrenched clause `{c}`")))
            .collect::<Result<_>>()?,
        treasury: s
            .trust
            .currency
            .as_ref()
            .map(|c| cltd_runtime::TreasuryCharter {
                currency: c.clone(),
                accounts: s.trust.accounts.clone(),
            }),
    };
    Ok(Trust::create(dir, runtime, charter, wasm, Box::new(clock.clone())).map(|t| (t, clock)))
}

/// What a submission came to: (verdict word, reason code, explanation).
fn outcome(result: &cltd_runtime::Result<Receipt>) -> (String, Option<String>, String) {
    match result {
        Ok(r) => match &r.verdict {
            Verdict::Allow(a) => match &a.decision {
                Some(d) => (
                    match d.outcome {
                        Outcome::Passed => "passed",
                        Outcome::Rejected => "rejected",
                        Outcome::Expired => "expired",
                    }
                    .to_string(),
                    None,
                    d.explanation.clone(),
                ),
                None => ("allowed".into(), None, a.notes.join(" ")),
            },
            // The bylaw failed to judge it: logged as the host's denial `bylaw-failed`.
            Verdict::Deny(d) if d.code == cltd_runtime::BYLAW_FAILED => (
                "failed".into(),
                Some(d.code.clone()),
                format!("{}: {}", d.clause, d.explanation),
            ),
            Verdict::Deny(d) => (
                "denied".into(),
                Some(d.code.clone()),
                format!("{}: {}", d.clause, d.explanation),
            ),
        },
        Err(e) => {
            let word = if matches!(e, cltd_runtime::Error::Eval(_)) {
                "failed"
            } else {
                "refused"
            };
            let code = e.code();
            (word.into(), Some(code.to_string()), e.to_string())
        }
    }
}

fn matches(expect: &str, reason: Option<&str>, got: &str, got_reason: Option<&str>) -> bool {
    let verdict =
        expect == got || (expect == "allowed" && matches!(got, "passed" | "rejected" | "expired"));
    verdict && reason.is_none_or(|r| got_reason == Some(r))
}

/// Run the scenario in `path` against the component `wasm`.
pub fn run(path: &Path, runtime: Arc<Runtime>, wasm: &[u8]) -> ScenarioResult {
    let mut result = ScenarioResult {
        file: path.to_path_buf(),
        name: path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned()),
        passed: false,
        error: None,
        steps: Vec::new(),
        native: None,
    };
    if let Err(e) = run_into(path, runtime, wasm, &mut result) {
        result.error = Some(format!("{e:#}"));
    }
    result
}

/// Run the scenario in `path` against the component `wasm` and, with `native` (a runtime
/// that runs the component's logic compiled natively), a second time natively: the result
/// passes only if both runs meet the expectations and agree step by step.
pub fn run_both(
    path: &Path,
    runtime: Arc<Runtime>,
    native: Option<Arc<Runtime>>,
    wasm: &[u8],
) -> ScenarioResult {
    let mut result = run(path, runtime, wasm);
    let Some(native) = native else {
        return result;
    };
    let other = run(path, native, wasm);
    let difference = result
        .steps
        .iter()
        .zip(&other.steps)
        .find(|(a, b)| a.got != b.got || a.explanation != b.explanation)
        .map(|(a, b)| {
            format!(
                "step {}: the component gave {} ({}), natively {} ({})",
                a.step, a.got, a.explanation, b.got, b.explanation
            )
        })
        .or_else(|| {
            (result.steps.len() != other.steps.len() || result.error != other.error).then(|| {
                format!(
                    "the component's run stopped after {} steps, the native run after {}{}",
                    result.steps.len(),
                    other.steps.len(),
                    other
                        .error
                        .as_ref()
                        .map_or_else(String::new, |e| format!(": {e}"))
                )
            })
        });
    let agrees = difference.is_none() && other.passed == result.passed;
    result.passed &= agrees;
    result.native = Some(NativeRun { agrees, difference });
    result
}

fn run_into(
    path: &Path,
    runtime: Arc<Runtime>,
    wasm: &[u8],
    out: &mut ScenarioResult,
) -> Result<()> {
    let s = load(path)?;
    out.name = s.name.clone();
    let dir = tempfile::TempDir::new()?;
    let founded = found(&s, runtime, wasm, dir.path())?;
    if let Some(reason) = &s.trust.refused {
        let (got, got_reason, explanation) = match &founded {
            Ok(_) => ("founded".to_string(), None, String::new()),
            Err(e) => (
                "refused".to_string(),
                Some(e.code().to_string()),
                e.to_string(),
            ),
        };
        let ok = got_reason.as_deref() == Some(reason.as_str());
        out.steps.push(StepResult {
            step: 0,
            action: "found the trust".into(),
            expected: format!("refused [{reason}]"),
            got: match &got_reason {
                Some(r) => format!("{got} [{r}]"),
                None => got,
            },
            explanation,
            ok,
        });
        out.passed = ok && s.steps.is_empty();
        if !s.steps.is_empty() {
            bail!("a scenario whose founding is refused has no steps");
        }
        return Ok(());
    }
    let (mut trust, clock) = founded.context("found the scenario's trust")?;
    for (i, step) in s.steps.iter().enumerate() {
        if let Some(days) = step.wait_days {
            clock.advance(days * DAY);
            continue;
        }
        let in_force = InForce {
            module: hex::encode(trust.state().module),
            charter: &trust.state().charter,
            currency: trust.state().currency(),
        };
        let (Some(action), Some(signer), Some(expect)) = (
            step.action(Some(&in_force), clock.now())?,
            &step.signer,
            &step.expect,
        ) else {
            continue;
        };
        // Members read an amendment's impact preview before voting opens: make it, as
        // `cltd amend preview` would (it writes no log entry).
        if let Action::Propose(ProposalDraft {
            body: ProposalBody::AmendBylaws(a),
            ..
        }) = &action
        {
            let module: cltd_runtime::ModuleHash = a.module.parse()?;
            trust
                .preview_amendment(&module, &a.charter)
                .context("the amendment's impact preview")?;
        }
        let kp = key_for(signer);
        let seq = trust.state().next_seq(&kp.member_key());
        let words = format!(
            "{signer}: {}",
            crate::render::action_text(trust.state(), &action)
        );
        let bytes = SignedTransition::sign(&kp, trust.id(), seq, action).to_bytes();
        let submitted = trust.submit(&bytes);
        let (got, got_reason, mut explanation) = outcome(&submitted);
        let mut ok = matches(expect, step.reason.as_deref(), &got, got_reason.as_deref());
        if ok && let Err(e) = commons::check_after(step, trust.state(), &submitted) {
            ok = false;
            explanation = format!("{e}; {explanation}");
        }
        let with_reason = |v: &str, r: Option<&str>| match r {
            Some(r) => format!("{v} [{r}]"),
            None => v.to_string(),
        };
        out.steps.push(StepResult {
            step: i + 1,
            action: words,
            expected: with_reason(expect, step.reason.as_deref()),
            got: with_reason(&got, got_reason.as_deref()),
            explanation,
            ok,
        });
        if !ok {
            return Ok(());
        }
    }
    out.passed = true;
    Ok(())
}

impl ScenarioResult {
    /// One line, then (with `explain`, or on failure) the steps.
    pub fn text(&self, explain: bool) -> String {
        let file = self.file.display();
        let mut s = match (&self.error, self.passed) {
            (Some(e), _) => format!("ERROR {file}: {e}"),
            (None, true) => format!(
                "ok    {file}: {} ({} steps{})",
                self.name,
                self.steps.len(),
                if self.native.is_some() {
                    ", native agrees"
                } else {
                    ""
                }
            ),
            (None, false) => format!("FAIL  {file}: {}", self.name),
        };
        if let Some(NativeRun {
            difference: Some(d),
            ..
        }) = &self.native
        {
            s.push_str(&format!("\n      native run differs: {d}"));
        }
        for st in &self.steps {
            if explain || !st.ok {
                s.push_str(&format!(
                    "\n      step {}: {}\n        expected {}, got {}{}",
                    st.step,
                    st.action,
                    st.expected,
                    st.got,
                    if st.explanation.is_empty() {
                        String::new()
                    } else {
                        format!("\n        {}", st.explanation)
                    }
                ));
            }
        }
        s
    }
}
