//! The commons economy's documents: the treasury (balances, budget lines, the ledger,
//! licences, the fee schedule) and a budgeting round's result, as the API serves them, the
//! CLI prints them and the dashboard shows them. Amounts are whole minor units of the
//! trust's currency, each beside its text (`12.50 EUR`).

use cltd_runtime::{
    BudgetLine, Licence, PaymentDirection, Posting, ProposalBody, ProposalStatus, TrustState,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ParamDoc;
use crate::render::{cash, who};

/// Most payments a treasury document lists (the most recent).
pub const PAYMENTS_SHOWN: usize = 200;

/// An account and its balance.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountDoc {
    /// Its name.
    pub name: String,
    /// Its balance, in minor units.
    pub balance: u64,
    /// The balance with its currency.
    pub text: String,
}

/// A budget line.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LineDoc {
    /// Its number.
    pub id: u64,
    /// The account it spends from.
    pub account: String,
    /// What it authorises, in minor units.
    pub amount: u64,
    /// What has been spent against it.
    pub spent: u64,
    /// What is left.
    pub remaining: u64,
    /// Who is to be paid.
    pub payee: String,
    /// What for.
    pub purpose: String,
    /// The proposal that adopted it.
    pub proposal: u64,
    /// The round's project it funds, if a round adopted it.
    pub project: Option<u32>,
    /// When it was adopted.
    pub adopted_at: u64,
}

impl LineDoc {
    fn of(l: &BudgetLine) -> LineDoc {
        LineDoc {
            id: l.id,
            account: l.account.clone(),
            amount: l.amount,
            spent: l.spent,
            remaining: l.remaining(),
            payee: l.payee.clone(),
            purpose: l.purpose.clone(),
            proposal: l.proposal,
            project: l.project,
            adopted_at: l.adopted_at,
        }
    }
}

/// A payment recorded in the ledger.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentDoc {
    /// Its number.
    pub id: u64,
    /// `income` or `expenditure`.
    pub direction: String,
    /// The account credited or debited.
    pub account: String,
    /// Minor units.
    pub amount: u64,
    /// The amount with its currency.
    pub text: String,
    /// Its category.
    pub category: String,
    /// Who paid, or was paid.
    pub counterparty: String,
    /// The outside reference.
    pub reference: String,
    /// The budget line spent, or the licence paid for.
    pub against: Option<u64>,
    /// Who recorded it (key).
    pub recorded_by: String,
    /// Their name.
    pub recorded_by_name: String,
    /// When it was recorded.
    pub at: u64,
}

impl PaymentDoc {
    fn of(state: &TrustState, p: &Posting) -> PaymentDoc {
        PaymentDoc {
            id: p.id,
            direction: match p.payment.direction {
                PaymentDirection::Income => "income",
                PaymentDirection::Expenditure => "expenditure",
            }
            .into(),
            account: p.payment.account.clone(),
            amount: p.payment.amount,
            text: cash(state, p.payment.amount),
            category: p.payment.category.clone(),
            counterparty: p.payment.counterparty.clone(),
            reference: p.payment.reference.clone(),
            against: p.payment.against,
            recorded_by: hex::encode(p.recorded_by),
            recorded_by_name: who(state, p.recorded_by),
            at: p.at,
        }
    }
}

/// A licence to a third party.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LicenceDoc {
    /// Its number.
    pub id: u64,
    /// The licensee.
    pub licensee: String,
    /// The licensee's key.
    pub licensee_key: String,
    /// The dataset.
    pub asset: String,
    /// The fields licensed (none: the whole dataset).
    pub fields: Vec<String>,
    /// The category of use.
    pub category: String,
    /// The stated purpose.
    pub purpose: String,
    /// The fee, in minor units.
    pub price: u64,
    /// Licence fees recorded against it.
    pub income: u64,
    /// The proposal that made it.
    pub proposal: u64,
    /// When it took effect.
    pub granted_at: u64,
    /// When its term ends.
    pub expires_at: u64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<u64>,
    /// Whether it is in force now.
    pub in_force: bool,
}

impl LicenceDoc {
    fn of(l: &Licence, now: u64) -> LicenceDoc {
        LicenceDoc {
            id: l.id,
            licensee: l.terms.licensee.clone(),
            licensee_key: hex::encode(&l.terms.licensee_key),
            asset: l.terms.asset_id.clone(),
            fields: l.terms.fields.clone(),
            category: l.terms.category.clone(),
            purpose: l.terms.purpose.clone(),
            price: l.terms.price,
            income: l.income,
            proposal: l.proposal,
            granted_at: l.granted_at,
            expires_at: l.expires_at,
            revoked_at: l.revoked_at,
            in_force: l.in_force(now),
        }
    }
}

/// The trust's treasury: balances, budget lines, the ledger's latest payments, licences and
/// the fee schedule in force.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TreasuryDoc {
    /// The currency (none: the trust keeps no treasury, and every list is empty).
    pub currency: Option<String>,
    /// Every account, in name order.
    pub accounts: Vec<AccountDoc>,
    /// All income recorded, in minor units.
    pub income: u64,
    /// All expenditure recorded.
    pub expenditure: u64,
    /// Every budget line.
    pub lines: Vec<LineDoc>,
    /// Payments recorded in all.
    pub payments_total: u64,
    /// The latest payments (at most 200), newest first.
    pub payments: Vec<PaymentDoc>,
    /// Every licence.
    pub licences: Vec<LicenceDoc>,
    /// The fee schedule in force.
    pub fees: Vec<ParamDoc>,
}

impl TreasuryDoc {
    /// The treasury of `state` at host time `now`.
    pub fn of(state: &TrustState, now: u64) -> TreasuryDoc {
        let (mut income, mut expenditure) = (0u64, 0u64);
        for p in state.postings() {
            match p.payment.direction {
                PaymentDirection::Income => income = income.saturating_add(p.payment.amount),
                PaymentDirection::Expenditure => {
                    expenditure = expenditure.saturating_add(p.payment.amount)
                }
            }
        }
        TreasuryDoc {
            currency: state.currency().map(str::to_string),
            accounts: state
                .balances()
                .into_iter()
                .map(|(name, balance)| AccountDoc {
                    text: cash(state, balance),
                    name,
                    balance,
                })
                .collect(),
            income,
            expenditure,
            lines: state.lines().map(LineDoc::of).collect(),
            payments_total: state.postings().count() as u64,
            payments: state
                .postings()
                .rev()
                .take(PAYMENTS_SHOWN)
                .map(|p| PaymentDoc::of(state, p))
                .collect(),
            licences: state.licences().map(|l| LicenceDoc::of(l, now)).collect(),
            fees: ParamDoc::list(state.fees()),
        }
    }
}

/// A project in a budgeting round, with its result once the round is closed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProjectDoc {
    /// Its number in the round.
    pub id: u32,
    /// Title.
    pub title: String,
    /// What it is.
    pub description: String,
    /// Its cost, in minor units.
    pub cost: u64,
    /// The cost with its currency.
    pub cost_text: String,
    /// Who submitted it (key).
    pub proposer: String,
    /// Their name.
    pub proposer_name: String,
    /// Approval ballots naming it.
    pub approvals: u32,
    /// Once closed: whether the round funds it.
    pub funded: Option<bool>,
    /// Once closed: the bylaw's account of why it was or was not funded.
    pub why: Option<String>,
    /// Its cost as a share of the budget, in whole percent (for the bar).
    pub percent_of_budget: u64,
}

/// A participatory budgeting round: its phases, projects, ballots and result.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RoundDoc {
    /// The round's proposal number.
    pub proposal: u64,
    /// Its title.
    pub title: String,
    /// `submission`, `voting`, `counting` (voting closed, not yet counted), `passed`,
    /// `rejected`, `expired`, `executed` or `withdrawn`.
    pub phase: String,
    /// The account the budget is taken from.
    pub account: String,
    /// The whole budget, in minor units.
    pub budget: u64,
    /// The budget with its currency.
    pub budget_text: String,
    /// The trust's currency.
    pub currency: String,
    /// When projects stop being taken.
    pub submission_ends: u64,
    /// When voting closes.
    pub closes_at: u64,
    /// Electors.
    pub electorate: u64,
    /// Approval ballots cast.
    pub ballots: u64,
    /// Once closed: what the funded projects cost together.
    pub funded_total: Option<u64>,
    /// Once closed: the budget left unspent.
    pub leftover: Option<u64>,
    /// Once closed: the bylaw's account of the count.
    pub decision: Option<String>,
    /// Its projects, by number.
    pub projects: Vec<ProjectDoc>,
}

impl RoundDoc {
    /// Round `id` of `state` at host time `now`, if proposal `id` is a budgeting round.
    pub fn of(state: &TrustState, id: u64, now: u64) -> Option<RoundDoc> {
        let p = state.proposals.get(&id)?;
        let ProposalBody::BudgetRound(terms) = &p.proposal.body else {
            return None;
        };
        let ends = cltd_runtime::submission_ends(p, terms);
        let phase = match p.proposal.status {
            ProposalStatus::Open if now < ends => "submission",
            ProposalStatus::Open if now < p.proposal.closes_at => "voting",
            ProposalStatus::Open => "counting",
            other => other.name(),
        };
        let decision = p.decision.as_ref();
        let funded: Option<&[u32]> = decision.map(|d| d.funded.as_slice());
        let projects: Vec<ProjectDoc> = state
            .projects(id)
            .map(|x| {
                let pr = &x.project;
                let why = decision.and_then(|d| {
                    let head = format!("project {} `", pr.id);
                    d.explanation
                        .lines()
                        .find(|l| l.starts_with(&head))
                        .and_then(|l| l.split_once("): ").map(|(_, w)| w.to_string()))
                });
                ProjectDoc {
                    id: pr.id,
                    title: pr.title.clone(),
                    description: x.description.clone(),
                    cost: pr.cost,
                    cost_text: cash(state, pr.cost),
                    proposer: hex::encode(&pr.proposer),
                    proposer_name: who(state, &pr.proposer),
                    approvals: pr.approvals,
                    funded: funded.map(|f| f.contains(&pr.id)),
                    why,
                    percent_of_budget: if terms.budget == 0 {
                        0
                    } else {
                        ((pr.cost as u128 * 100) / terms.budget as u128) as u64
                    },
                }
            })
            .collect();
        let funded_total = funded.map(|f| {
            projects
                .iter()
                .filter(|x| f.contains(&x.id))
                .map(|x| x.cost)
                .sum::<u64>()
        });
        Some(RoundDoc {
            proposal: id,
            title: p.proposal.title.clone(),
            phase: phase.into(),
            account: terms.account.clone(),
            budget: terms.budget,
            budget_text: cash(state, terms.budget),
            currency: state.currency().unwrap_or_default().to_string(),
            submission_ends: ends,
            closes_at: p.proposal.closes_at,
            electorate: state
                .rolls
                .get(&id)
                .map_or(0, |r| r.electorate().len() as u64),
            ballots: state.approvals(id).count() as u64,
            funded_total,
            leftover: funded_total.map(|t| terms.budget.saturating_sub(t)),
            decision: decision.map(|d| d.explanation.clone()),
            projects,
        })
    }
}

impl TreasuryDoc {
    /// The treasury in lines, as `cltd treasury show` prints it.
    pub fn text(&self) -> String {
        let t = self;
        let Some(currency) = &t.currency else {
            return "this trust keeps no treasury (founded without --currency)".into();
        };
        let m = |n: u64| cltd_runtime::money(n, currency);
        let mut out = format!(
            "treasury in {currency}: income {}, expenditure {}",
            m(t.income),
            m(t.expenditure)
        );
        out.push_str("\naccounts:");
        for a in &t.accounts {
            out.push_str(&format!("\n  {:<24} {:>16}", a.name, a.text));
        }
        if !t.lines.is_empty() {
            out.push_str("\nbudget lines:");
            for l in &t.lines {
                out.push_str(&format!(
                    "\n  line {} from {}: {} of {} left, to {} for {} (proposal {})",
                    l.id,
                    l.account,
                    m(l.remaining),
                    m(l.amount),
                    l.payee,
                    l.purpose,
                    l.proposal
                ));
            }
        }
        if !t.payments.is_empty() {
            out.push_str(&format!(
                "\npayments ({} in all, newest first):",
                t.payments_total
            ));
            for p in &t.payments {
                out.push_str(&format!(
                    "\n  #{} {} {} {} `{}` ({}, {}{}) recorded by {}",
                    p.id,
                    crate::render::when(p.at),
                    p.direction,
                    p.text,
                    p.account,
                    p.category,
                    p.counterparty,
                    p.against
                        .map_or(String::new(), |n| format!(", against {n}")),
                    p.recorded_by_name
                ));
            }
        }
        if !t.licences.is_empty() {
            out.push_str("\nlicences:");
            for l in &t.licences {
                out.push_str(&format!(
                    "\n  licence {} to {}: {} of `{}` for {} ({}), {} paid of {}, {}",
                    l.id,
                    l.licensee,
                    crate::render::fields_text(&l.fields),
                    l.asset,
                    l.purpose,
                    l.category,
                    m(l.income),
                    m(l.price),
                    if l.in_force {
                        format!("in force until {}", crate::render::when(l.expires_at))
                    } else if l.revoked_at.is_some() {
                        "revoked".into()
                    } else {
                        "ended".into()
                    }
                ));
            }
        }
        if !t.fees.is_empty() {
            out.push_str("\nfee schedule:");
            for f in &t.fees {
                let n = f.value.parse().unwrap_or(0);
                out.push_str(&format!("\n  {:<28} {:>16}", f.key, m(n)));
            }
        }
        out
    }
}

impl RoundDoc {
    /// The round in lines, with a bar per project against the budget, as `cltd budget
    /// show` prints it.
    pub fn text(&self) -> String {
        let r = self;
        let mut out = format!(
            "round {} \"{}\": {} from `{}`, {}; {} approval ballots of {} electors",
            r.proposal, r.title, r.budget_text, r.account, r.phase, r.ballots, r.electorate
        );
        for p in &r.projects {
            let width = (p.percent_of_budget.min(100) / 5) as usize;
            out.push_str(&format!(
                "\n  {:>2}. {:<40} {:>14} {:>4} approvals |{:<20}| {}",
                p.id,
                p.title,
                p.cost_text,
                p.approvals,
                "#".repeat(width),
                match (p.funded, &p.why) {
                    (Some(true), Some(w)) => w.clone(),
                    (Some(true), None) => "funded".into(),
                    (Some(false), Some(w)) => w.clone(),
                    (Some(false), None) => "not funded".into(),
                    (None, _) => String::new(),
                }
            ));
        }
        if let (Some(total), Some(left)) = (r.funded_total, r.leftover) {
            let m = |n: u64| cltd_runtime::money(n, &r.currency);
            out.push_str(&format!(
                "\n  funded {} of {} ({} left unspent)",
                m(total),
                m(r.budget),
                m(left)
            ));
        }
        out
    }
}
