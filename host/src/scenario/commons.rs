//! The commons economy in scenario files: its proposal kinds (`appoint`, `spend`,
//! `allocate`, `budget-round`, `license`, `revoke-licence`, `set-fees`), its steps (`pay`,
//! `submit_project`, `approve`) and the checks a step may make of the ledger afterwards
//! (`funded`, `balances`). Amounts are whole minor units (cents).

use anyhow::{Result, bail};
use cltd_runtime::{
    Action, Allocation, Appointment, Approval, LicenceTerms, Parameter, Payment, PaymentDirection,
    ProjectDraft, ProposalBody, Receipt, RoundTerms, Share, Spending, TrustState, Verdict,
};
use serde::Deserialize;

use super::{DAY, ProposeSpec, Step, key_for, need};

/// A payment to record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaySpec {
    /// `income` or `expenditure`.
    pub direction: String,
    /// The account credited or debited.
    pub account: String,
    /// Minor units.
    pub amount: u64,
    /// Income: `membership-fee`, `service-fee`, `licence-fee`, `grant`, `donation`;
    /// expenditure: `budget-line` (the default for an expenditure).
    pub category: Option<String>,
    /// Who paid, or was paid (default `someone`).
    pub counterparty: Option<String>,
    /// The outside reference.
    #[serde(default)]
    pub reference: String,
    /// The budget line an expenditure spends, or the licence a licence fee pays for.
    pub against: Option<u64>,
    /// The currency (default: the trust's).
    pub currency: Option<String>,
}

/// A project to submit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// The round (its proposal number).
    pub round: u64,
    /// Title.
    pub title: String,
    /// Minor units.
    pub cost: u64,
    /// What it is.
    #[serde(default)]
    pub description: String,
}

/// An approval ballot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproveSpec {
    /// The round (its proposal number).
    pub round: u64,
    /// The projects approved, by number.
    pub projects: Vec<u32>,
}

/// The body of a proposal of one of the economy's kinds (`None`: not one of them).
pub(super) fn body(kind: &str, p: &ProposeSpec) -> Result<Option<ProposalBody>> {
    Ok(Some(match kind {
        "appoint" => ProposalBody::Appoint(Appointment {
            member: key_for(need(&p.name, "name", kind)?).public().to_vec(),
            role: need(&p.role, "role", kind)?.clone(),
            holds: p.holds.unwrap_or(true),
        }),
        "spend" => ProposalBody::Spend(Spending {
            account: need(&p.account, "account", kind)?.clone(),
            amount: *need(&p.amount, "amount", kind)?,
            payee: need(&p.payee, "payee", kind)?.clone(),
            purpose: need(&p.purpose, "purpose", kind)?.clone(),
        }),
        "allocate" => ProposalBody::Allocate(Allocation {
            source: need(&p.source, "source", kind)?.clone(),
            shares: p
                .shares
                .iter()
                .map(|(account, amount)| Share {
                    account: account.clone(),
                    amount: *amount,
                })
                .collect(),
        }),
        "budget-round" => ProposalBody::BudgetRound(RoundTerms {
            account: need(&p.account, "account", kind)?.clone(),
            budget: *need(&p.budget, "budget", kind)?,
            submission: need(&p.submission_days, "submission_days", kind)? * DAY,
        }),
        "license" => {
            let licensee = need(&p.licensee, "licensee", kind)?;
            ProposalBody::License(LicenceTerms {
                licensee: licensee.clone(),
                licensee_key: key_for(licensee).public().to_vec(),
                asset_id: need(&p.asset, "asset", kind)?.clone(),
                fields: p.fields.clone(),
                category: need(&p.category, "category", kind)?.clone(),
                purpose: need(&p.purpose, "purpose", kind)?.clone(),
                term: need(&p.term_days, "term_days", kind)? * DAY,
                price: *need(&p.price, "price", kind)?,
            })
        }
        "revoke-licence" => ProposalBody::RevokeLicence(*need(&p.licence, "licence", kind)?),
        "set-fees" => ProposalBody::SetFees(
            p.fees
                .iter()
                .map(|(k, v)| Parameter {
                    key: k.clone(),
                    value: v.to_string(),
                })
                .collect(),
        ),
        _ => return Ok(None),
    }))
}

/// The economy's actions a step names (a payment, a project, an approval ballot).
pub(super) fn actions(step: &Step, currency: Option<&str>) -> Result<Vec<Action>> {
    let mut out = Vec::new();
    if let Some(p) = &step.pay {
        let direction = match p.direction.as_str() {
            "income" => PaymentDirection::Income,
            "expenditure" => PaymentDirection::Expenditure,
            other => bail!("pay direction `{other}`: use income or expenditure"),
        };
        let category = match (&p.category, direction) {
            (Some(c), _) => c.clone(),
            (None, PaymentDirection::Expenditure) => cltd_runtime::EXPENDITURE_CATEGORY.into(),
            (None, PaymentDirection::Income) => bail!("an income payment names its category"),
        };
        out.push(Action::RecordPayment(Payment {
            direction,
            account: p.account.clone(),
            amount: p.amount,
            currency: p
                .currency
                .clone()
                .or_else(|| currency.map(str::to_string))
                .unwrap_or_else(|| "EUR".into()),
            category,
            counterparty: p.counterparty.clone().unwrap_or_else(|| "someone".into()),
            reference: p.reference.clone(),
            against: p.against,
        }));
    }
    if let Some(p) = &step.submit_project {
        out.push(Action::SubmitProject(ProjectDraft {
            round: p.round,
            title: p.title.clone(),
            description: p.description.clone(),
            cost: p.cost,
        }));
    }
    if let Some(a) = &step.approve {
        out.push(Action::Approve(Approval {
            round: a.round,
            projects: a.projects.clone(),
        }));
    }
    Ok(out)
}

/// The checks a step makes after it ran: the projects a close funded, the balances named.
pub(super) fn check_after(
    step: &Step,
    state: &TrustState,
    submitted: &cltd_runtime::Result<Receipt>,
) -> Result<()> {
    if let Some(want) = &step.funded {
        let got = match submitted {
            Ok(r) => match &r.verdict {
                Verdict::Allow(a) => a.decision.as_ref().map(|d| d.funded.clone()),
                Verdict::Deny(_) => None,
            },
            Err(_) => None,
        };
        match got {
            Some(got) if &got == want => {}
            Some(got) => bail!("expected projects {want:?} funded, got {got:?}"),
            None => bail!("expected projects {want:?} funded, but the step decided nothing"),
        }
    }
    for (account, want) in step.balances.iter().flatten() {
        match state.balance(account) {
            Some(got) if got == *want => {}
            Some(got) => bail!("expected `{account}` to hold {want}, it holds {got}"),
            None => {
                bail!("expected `{account}` to hold {want}, but the treasury has no such account")
            }
        }
    }
    Ok(())
}
