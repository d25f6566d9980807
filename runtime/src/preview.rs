//! Impact previews: what a candidate bylaw would have decided over the trust's whole history.
//!
//! The preview walks the log from genesis, following the state the log actually produced
//! (each entry advances it with its *logged* verdict), and asks the candidate, running with
//! the charter it would run with, to judge each transition again. It writes nothing to the
//! trust; [`crate::Trust::preview_amendment`] stores the finished report so that members can
//! read it before they vote.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use crate::amendment::{check_charter, load_stored, migrated_charter};
use crate::conformance::{CheckResult, Setting, conformance};
use crate::engine::Runtime;
use crate::error::{Result, StoreError};
use crate::host_rules;
use crate::id::{EntryHash, MemberKey, ModuleHash};
use crate::log::{Entry, EntryBody, entry_hash};
use crate::model::Constitution;
use crate::model::{Action, Effect, Outcome, Parameter, Verdict};
use crate::pipeline::genesis_state;
use crate::schema::LOG;
use crate::state::{TrustState, changes_digest};
use crate::transition::SignedTransition;

/// Differences listed in full; beyond this only their number is kept.
pub const MAX_LISTED_DIFFERENCES: usize = 1_000;

/// After this many transitions the candidate failed to judge (trap, fuel, bad answer), the
/// preview stops: a candidate that burns its fuel on every call would otherwise take hours.
pub const MAX_FAILURES: u64 = 16;

/// How a transition was, or would be, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Judgement {
    /// Allowed, with the bylaw's notes.
    Allowed {
        /// The notes.
        notes: Vec<String>,
    },
    /// Allowed as a close, with this outcome.
    Decided {
        /// The outcome.
        outcome: Outcome,
        /// The bylaw's account of the tally.
        explanation: String,
    },
    /// Denied.
    Denied {
        /// Reason code.
        code: String,
        /// Clause.
        clause: String,
        /// Explanation.
        explanation: String,
    },
    /// The candidate failed to judge it (trap, fuel, bad answer).
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl Judgement {
    fn of(verdict: &Verdict) -> Judgement {
        match verdict {
            Verdict::Allow(a) => match &a.decision {
                Some(d) => Judgement::Decided {
                    outcome: d.outcome,
                    explanation: d.explanation.clone(),
                },
                None => Judgement::Allowed {
                    notes: a.notes.clone(),
                },
            },
            Verdict::Deny(d) => Judgement::Denied {
                code: d.code.clone(),
                clause: d.clause.clone(),
                explanation: d.explanation.clone(),
            },
        }
    }

    /// A one-line summary: `allowed`, `passed`, `denied (code)`, `failed`.
    pub fn headline(&self) -> String {
        match self {
            Judgement::Allowed { .. } => "allowed".into(),
            Judgement::Decided { outcome, .. } => outcome.name().into(),
            Judgement::Denied { code, .. } => format!("denied ({code})"),
            Judgement::Failed { .. } => "failed".into(),
        }
    }

    /// The explanation given (notes, tally account, denial, or error).
    pub fn explanation(&self) -> String {
        match self {
            Judgement::Allowed { notes } => notes.join(" "),
            Judgement::Decided { explanation, .. } => explanation.clone(),
            Judgement::Denied {
                clause,
                explanation,
                ..
            } => format!("{clause}: {explanation}"),
            Judgement::Failed { error } => error.clone(),
        }
    }

    /// Whether two judgements decide the same way (allow, deny, or the same outcome).
    /// Explanations and reason codes may differ.
    fn same_decision(&self, other: &Judgement) -> bool {
        match (self, other) {
            (Judgement::Allowed { .. }, Judgement::Allowed { .. })
            | (Judgement::Denied { .. }, Judgement::Denied { .. }) => true,
            (Judgement::Decided { outcome: a, .. }, Judgement::Decided { outcome: b, .. }) => {
                a == b
            }
            _ => false,
        }
    }
}

/// A past transition the candidate would have decided differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// The entry's index in the log.
    pub index: u64,
    /// Its host time.
    pub time: u64,
    /// Who signed it.
    pub signer: MemberKey,
    /// What it asked, e.g. `close proposal 3`.
    pub action: String,
    /// What the rules then in force decided (as logged).
    pub logged: Judgement,
    /// What the candidate would have decided.
    pub candidate: Judgement,
}

/// The impact preview of one candidate (module and proposed charter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImpactPreview {
    /// The candidate module.
    pub module: ModuleHash,
    /// The charter the amendment proposes.
    pub proposed: Vec<Parameter>,
    /// The charter the candidate would run with (after its `migrate`).
    pub charter: Vec<Parameter>,
    /// Log entries covered (the log's size when the preview ran).
    pub entries: u64,
    /// Hash of the last entry covered.
    pub head: EntryHash,
    /// Transitions re-judged.
    pub transitions: u64,
    /// The first [`MAX_LISTED_DIFFERENCES`] differences, in log order.
    pub differences: Vec<Difference>,
    /// All differences found (may exceed the listed ones).
    pub differing: u64,
    /// The conformance suite of every entrenched clause in force.
    pub conformance: Vec<CheckResult>,
    /// Why the preview stopped before the end of the log, if it did.
    pub stopped: Option<String>,
    /// The charter in force when the preview ran, which [`ImpactPreview::charter`] is to be
    /// compared with (`None` in previews stored before cltd recorded it). Keep this field
    /// last: older stored previews are read by supplying it.
    pub in_force: Option<Vec<Parameter>>,
}

impl ImpactPreview {
    /// True when every conformance vector passed.
    pub fn conforms(&self) -> bool {
        self.conformance.iter().all(|c| c.passed)
    }

    /// True when the preview covers the whole log it was run on.
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none()
    }
}

fn describe_action(action: &Action) -> String {
    match action {
        Action::Propose(d) => format!("propose {} `{}`", d.body.kind(), d.title),
        Action::Vote(v) => format!("vote {} on proposal {}", v.choice.name(), v.proposal),
        Action::Close(id) => format!("close proposal {id}"),
        Action::Execute(id) => format!("execute proposal {id}"),
        Action::Withdraw(id) => format!("withdraw proposal {id}"),
        Action::RegisterAsset(a) => format!("register asset `{}`", a.id),
        Action::LockAsset(id) => format!("lock asset `{id}`"),
        Action::Delegate(d) => match &d.delegate {
            Some(to) => format!("delegate to {}", &hex::encode(to)[..16]),
            None => "withdraw a delegation".into(),
        },
        Action::RecordPayment(p) => format!(
            "record {} of {} to `{}`",
            if p.direction == crate::model::PaymentDirection::Income {
                "income"
            } else {
                "expenditure"
            },
            crate::economy::money(p.amount, &p.currency),
            p.account
        ),
        Action::SubmitProject(p) => format!("submit project `{}` to round {}", p.title, p.round),
        Action::Approve(a) => format!("approve {} projects in round {}", a.projects.len(), a.round),
    }
}

/// Replay the log in `db` under the candidate `module` (already stored) with the `proposed`
/// charter, as a dry run. `now` is the trust's current state: its charter is what `migrate`
/// receives as `previous`, its entrenched clauses are the ones checked, from its last time,
/// and only its first `now.size` entries are re-judged. With a `deadline`, the preview stops
/// when it passes (saying so in [`ImpactPreview::stopped`]): a server bounds what one
/// request may cost whatever the candidate.
pub fn preview(
    runtime: &Runtime,
    db: &impl ReadableDatabase,
    now: &TrustState,
    module: &ModuleHash,
    proposed: &[Parameter],
    deadline: Option<std::time::Instant>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImpactPreview> {
    let current = now.constitution();
    load_stored(runtime, db, module)?;
    let charter = migrated_charter(runtime, module, &current.charter, proposed)?;
    check_charter(runtime, module, &charter)?;
    let mut report = ImpactPreview {
        module: *module,
        proposed: proposed.to_vec(),
        charter: charter.clone(),
        entries: 0,
        head: EntryHash::default(),
        transitions: 0,
        differences: Vec::new(),
        differing: 0,
        conformance: conformance(
            runtime,
            module,
            &charter,
            &current.entrenched,
            &Setting::of(now, now.time),
        ),
        stopped: None,
        in_force: Some(current.charter.clone()),
    };
    let mut failures = 0u64;
    let txn = db.begin_read().map_err(StoreError::from)?;
    let log = txn.open_table(LOG).map_err(StoreError::from)?;
    let mut state = TrustState::default();
    let passed = |d: Option<std::time::Instant>| d.is_some_and(|d| std::time::Instant::now() >= d);
    // Bounded by the state's size: the store may hold entries committed after it.
    let mut rows = log.range(0..now.size).map_err(StoreError::from)?;
    'windows: loop {
        // In log order: each transition's view under the candidate's charter, and the state
        // advanced as the history went (the logged verdict and logged activation).
        let mut pending: Vec<Pending> = Vec::new();
        while pending.len() < PREVIEW_WINDOW {
            let Some(row) = rows.next() else { break };
            let (_, bytes) = row.map_err(StoreError::from)?;
            let entry = Entry::from_bytes(bytes.value())?;
            let rec = match &entry.body {
                EntryBody::Genesis(g) => {
                    state = genesis_state(g, &entry).0;
                    continue;
                }
                EntryBody::Transition(rec) => rec,
            };
            let (_, body) = SignedTransition::decode(&rec.signed)?;
            let with_roll = runtime.needs_roll(module, &charter, body.action.kind());
            let mut view =
                host_rules::view(&state, &body.signer, &body.action, entry.time, with_roll);
            view.charter = charter.clone();
            let activation = rec.effects.iter().find_map(|e| match e {
                Effect::BylawsAmended {
                    module,
                    charter,
                    entrenched,
                } => Some(Constitution {
                    module: *module,
                    charter: charter.clone(),
                    entrenched: entrenched.clone(),
                }),
                _ => None,
            });
            let (_, changes) = host_rules::effects(
                &state,
                &body.signer,
                body.seq,
                &body.action,
                &rec.verdict,
                entry.time,
                activation.as_ref(),
            );
            if changes_digest(&changes) != rec.changes {
                return Err(StoreError::Corrupt(format!(
                    "entry {} does not replay to its logged state changes; run `cltd verify`",
                    entry.index
                ))
                .into());
            }
            let head_before = state.head;
            state.apply_all(&changes);
            state.size += 1;
            state.head = entry_hash(&entry);
            state.time = entry.time;
            pending.push(Pending {
                index: entry.index,
                time: entry.time,
                signer: body.signer,
                action: body.action,
                view,
                logged: Judgement::of(&rec.verdict),
                head_before,
                head_after: state.head,
            });
        }
        if pending.is_empty() {
            break;
        }
        // The candidate's judgements, on every core; none once the deadline has passed or
        // the candidate has failed too often (so a hostile candidate costs a bounded time).
        let failed = std::sync::atomic::AtomicU64::new(0);
        let judged = crate::par::map(&pending, |p| {
            if passed(deadline) || failed.load(std::sync::atomic::Ordering::Relaxed) >= MAX_FAILURES
            {
                return None;
            }
            let candidate = judge(runtime, module, &p.view, &p.action);
            if matches!(candidate, Judgement::Failed { .. }) {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Some(candidate)
        });
        // In log order: count, list, and stop where the history says.
        for (p, candidate) in pending.into_iter().zip(judged) {
            let candidate = match candidate {
                Some(c) => c,
                // Skipped on the cores once failures piled up: judged here, in order, so the
                // preview stops exactly where a one-by-one preview would.
                None if !passed(deadline) => judge(runtime, module, &p.view, &p.action),
                None => {
                    report.entries = p.index;
                    report.head = p.head_before;
                    report.stopped = Some(format!(
                        "this server's time limit for a preview ran out; the preview stopped after entry {} of {}",
                        p.index.saturating_sub(1),
                        now.size
                    ));
                    break 'windows;
                }
            };
            progress(p.index + 1, now.size);
            report.transitions += 1;
            if matches!(candidate, Judgement::Failed { .. }) {
                failures += 1;
            }
            if !p.logged.same_decision(&candidate) {
                report.differing += 1;
                if report.differences.len() < MAX_LISTED_DIFFERENCES {
                    report.differences.push(Difference {
                        index: p.index,
                        time: p.time,
                        signer: p.signer,
                        action: describe_action(&p.action),
                        logged: p.logged,
                        candidate,
                    });
                }
            }
            report.entries = p.index + 1;
            report.head = p.head_after;
            if failures >= MAX_FAILURES {
                report.stopped = Some(format!(
                    "the candidate failed to judge {failures} transitions; the preview stopped after entry {}",
                    p.index
                ));
                break 'windows;
            }
            if passed(deadline) {
                report.stopped = Some(format!(
                    "this server's time limit for a preview ran out; the preview stopped after entry {} of {}",
                    p.index, now.size
                ));
                break 'windows;
            }
        }
    }
    if report.stopped.is_none() {
        report.entries = state.size;
        report.head = state.head;
    }
    Ok(report)
}

/// Transitions viewed in log order before the candidate judges them on every core: bounds
/// the views held at once, and what a candidate can spend past a stop.
const PREVIEW_WINDOW: usize = 256;

/// A transition of the history with the view the candidate judges it on.
struct Pending {
    index: u64,
    time: u64,
    signer: MemberKey,
    action: Action,
    view: crate::model::View,
    logged: Judgement,
    /// The log's head before and after this entry.
    head_before: EntryHash,
    head_after: EntryHash,
}

/// The candidate `module`'s judgement of `action` on `view`.
fn judge(
    runtime: &Runtime,
    module: &ModuleHash,
    view: &crate::model::View,
    action: &Action,
) -> Judgement {
    match runtime.evaluate(module, view, action) {
        Ok(eval) => match host_rules::check_verdict(view, action, &eval.verdict) {
            Ok(()) => Judgement::of(&eval.verdict),
            Err(e) => Judgement::Failed {
                error: e.to_string(),
            },
        },
        Err(e) => Judgement::Failed {
            error: e.to_string(),
        },
    }
}
