//! The trust's economy as the host keeps it: the treasury ledger (currency, accounts and
//! their balances, payments, budget lines), the fee schedule, licences to third parties and
//! participatory budgeting rounds.
//!
//! cltd records *decisions about money and access*, not money: a payment is a member's
//! signed statement that money moved outside cltd, accepted only if the bylaw allows the
//! signer to make it and only if the ledger's invariants hold after it:
//!
//! 1. **No account goes negative.** Balances are unsigned; an expenditure or an allocation
//!    that would take an account below zero is refused (without trace) before the bylaw is
//!    asked.
//! 2. **Every expenditure spends a budget line** adopted by an executed `spend` proposal or
//!    by an executed budgeting round, from the line's own account, and **no line is spent
//!    beyond its amount**, so an amount is spent at most once against a line.
//! 3. **Totals balance**: the sum of the balances equals income minus expenditure
//!    ([`audit`] checks it after every replay, so `verify` and `audit verify` recompute it).
//!
//! Every record here changes only through [`Change::Economy`], so it is written, digested
//! into the log entry and replayed like every other part of the state.
//!
//! The records and their reads are here; what the host refuses is in `checks`, what an
//! allowed transition changes in `effects`.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::id::MemberKey;
use crate::model::{
    LicenceTerms, Parameter, Payment, PaymentDirection, Project, ProposalBody, Round,
};
use crate::state::{Change, TrustState};

mod checks;
mod effects;

pub(crate) use checks::{check_action, check_execution, check_funded, check_proposal};
pub use checks::{check_fees, submission_ends};
use effects::put;
pub(crate) use effects::{act, execute};

/// The accounts every treasury has, whatever its charter names besides.
pub const STANDARD_ACCOUNTS: [&str; 3] = ["operating", "reserve", "community-projects"];

/// What income may be recorded as.
pub const INCOME_CATEGORIES: [&str; 5] = [
    "membership-fee",
    "service-fee",
    "licence-fee",
    "grant",
    "donation",
];

/// The category of every expenditure: it spends a budget line.
pub const EXPENDITURE_CATEGORY: &str = "budget-line";

/// Most accounts a treasury may have.
pub const MAX_ACCOUNTS: usize = 32;
/// Most shares one allocation may name.
pub const MAX_SHARES: usize = 16;
/// Most projects one budgeting round may hold.
pub const MAX_PROJECTS: u32 = 64;
/// Most entries in a fee schedule.
pub const MAX_FEES: usize = 64;
const MAX_TEXT: usize = 2048;
const MAX_NAME: usize = 64;
const MAX_TERM: u64 = 10 * 365 * 86_400;

/// The treasury a charter founds: its currency and the accounts beyond the standard ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreasuryCharter {
    /// An ISO 4217 style code of three capital letters (e.g. `EUR`); amounts are kept in its
    /// minor units (cents), as integers.
    pub currency: String,
    /// Accounts the trust keeps besides [`STANDARD_ACCOUNTS`] (kebab-case names).
    #[serde(default)]
    pub accounts: Vec<String>,
}

impl TreasuryCharter {
    /// A treasury in `currency` with the standard accounts only.
    pub fn new(currency: &str) -> TreasuryCharter {
        TreasuryCharter {
            currency: currency.to_string(),
            accounts: Vec::new(),
        }
    }

    /// Every account, standard ones first, in the charter's order.
    pub fn all_accounts(&self) -> Vec<String> {
        let mut out: Vec<String> = STANDARD_ACCOUNTS.iter().map(|s| s.to_string()).collect();
        out.extend(self.accounts.iter().cloned());
        out
    }

    /// Check the currency code and the account names.
    pub fn check(&self) -> Result<(), String> {
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "a treasury's currency is a code of three capital letters (e.g. EUR), not `{}`",
                self.currency
            ));
        }
        let all = self.all_accounts();
        if all.len() > MAX_ACCOUNTS {
            return Err(format!("a treasury has at most {MAX_ACCOUNTS} accounts"));
        }
        let mut seen = BTreeSet::new();
        for a in &all {
            if !is_kebab(a) {
                return Err(format!(
                    "account `{a}`: account names are kebab-case (a-z, 0-9, -), 1-{MAX_NAME} bytes"
                ));
            }
            if !seen.insert(a) {
                return Err(format!("account `{a}` appears twice"));
            }
        }
        Ok(())
    }
}

fn key_of(bytes: &[u8]) -> Option<MemberKey> {
    <[u8; 32]>::try_from(bytes).ok().map(MemberKey)
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Where one economy record is kept. The order groups each kind together, so the records of
/// one kind (or of one round) are a range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EconKey {
    /// The trust's currency (absent: the trust keeps no treasury).
    Currency,
    /// The fee schedule in force.
    Fees,
    /// An account's balance, by name.
    Account(String),
    /// A budget line, by number (from 1).
    Line(u64),
    /// A recorded payment, by number (from 1).
    Payment(u64),
    /// A licence, by number (from 1).
    Licence(u64),
    /// A project of a budgeting round: (round, project number from 1).
    Project(u64, u32),
    /// A member's approval ballot in a round: (round, voter).
    Approval(u64, MemberKey),
}

/// One economy record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EconRecord {
    /// The currency code.
    Currency(String),
    /// The fee schedule: keys such as `membership.standard`, values in minor units.
    Fees(Vec<Parameter>),
    /// A balance, in minor units.
    Balance(u64),
    /// A budget line.
    Line(BudgetLine),
    /// A recorded payment.
    Payment(Posting),
    /// A licence.
    Licence(Licence),
    /// A project.
    Project(RoundProject),
    /// The projects one ballot approves, ascending.
    Approval(Vec<u32>),
}

/// Authority to spend up to `amount` from `account`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetLine {
    /// Its number, from 1.
    pub id: u64,
    /// The account it spends from.
    pub account: String,
    /// The most it authorises.
    pub amount: u64,
    /// What has been spent against it.
    pub spent: u64,
    /// Who is to be paid.
    pub payee: String,
    /// What for.
    pub purpose: String,
    /// The proposal that adopted it.
    pub proposal: u64,
    /// The round's project it funds, if a round adopted it.
    pub project: Option<u32>,
    /// Host time it was adopted.
    pub adopted_at: u64,
}

impl BudgetLine {
    /// What is left to spend.
    pub fn remaining(&self) -> u64 {
        self.amount - self.spent
    }
}

/// A payment as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// Its number, from 1.
    pub id: u64,
    /// The payment as signed.
    pub payment: Payment,
    /// Who recorded it.
    pub recorded_by: MemberKey,
    /// Host time it was recorded.
    pub at: u64,
}

/// A licence to a third party, made by an executed `license` proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Licence {
    /// Its number, from 1.
    pub id: u64,
    /// The terms as proposed and passed.
    pub terms: LicenceTerms,
    /// The proposal that made it.
    pub proposal: u64,
    /// Host time it took effect.
    pub granted_at: u64,
    /// Host time its term ends.
    pub expires_at: u64,
    /// Host time it was revoked, if it was.
    pub revoked_at: Option<u64>,
    /// Licence fees recorded against it.
    pub income: u64,
}

impl Licence {
    /// Whether it is in force at `now`.
    pub fn in_force(&self, now: u64) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// A project submitted to a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundProject {
    /// The project as the bylaw sees it (with its count of approvals).
    pub project: Project,
    /// Its description.
    pub description: String,
    /// Host time it was submitted.
    pub submitted_at: u64,
}

/// Why the ledger refuses a transition. Nothing is written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// The trust was founded without a treasury.
    #[error("this trust keeps no treasury: its charter names no currency")]
    NoTreasury,
    /// An amount of zero.
    #[error("{what} must be a positive whole number of minor units (cents), not 0")]
    Zero {
        /// What the amount is.
        what: String,
    },
    /// A payment in another currency.
    #[error("the trust keeps its accounts in {expected}; this payment is in `{got}`")]
    WrongCurrency {
        /// The trust's currency.
        expected: String,
        /// The payment's.
        got: String,
    },
    /// An account the treasury does not have.
    #[error("the treasury has no account `{account}` (its accounts: {known})")]
    UnknownAccount {
        /// The name given.
        account: String,
        /// The accounts it has.
        known: String,
    },
    /// The account would go negative.
    #[error("account `{account}` holds {balance}; taking {amount} would leave it negative")]
    Overdrawn {
        /// The account.
        account: String,
        /// Its balance (formatted with the currency).
        balance: String,
        /// The amount asked for.
        amount: String,
    },
    /// A budget line would be spent beyond its amount.
    #[error("budget line {line} has {left} left of {amount}; {asked} would overspend it")]
    Overspent {
        /// The line.
        line: u64,
        /// What is left.
        left: String,
        /// Its whole amount.
        amount: String,
        /// What the payment asked.
        asked: String,
    },
    /// An expenditure without a budget line, or naming one that does not exist.
    #[error(
        "every expenditure names the budget line it spends (adopted by a passed spend proposal or budgeting round): {0}"
    )]
    NoLine(String),
    /// An expenditure from another account than its line's.
    #[error("budget line {line} spends from `{line_account}`, not `{account}`")]
    LineAccount {
        /// The line.
        line: u64,
        /// The line's account.
        line_account: String,
        /// The payment's.
        account: String,
    },
    /// A category the ledger does not know for the payment's direction.
    #[error("{0}")]
    Category(String),
    /// A licence fee for a licence that does not exist or has ended.
    #[error("{0}")]
    Licence(String),
    /// An amount larger than the ledger can hold.
    #[error("account `{0}` cannot hold that much (over 2^64 minor units)")]
    Overflow(String),
}

impl TrustState {
    /// The trust's currency, if it keeps a treasury.
    pub fn currency(&self) -> Option<&str> {
        match self.economy.get(&EconKey::Currency).map(|r| &**r) {
            Some(EconRecord::Currency(c)) => Some(c),
            _ => None,
        }
    }

    /// Every account and its balance, in name order.
    pub fn balances(&self) -> Vec<(String, u64)> {
        self.economy
            .range(EconKey::Account(String::new())..EconKey::Line(0))
            .filter_map(|(k, r)| match (k, &**r) {
                (EconKey::Account(name), EconRecord::Balance(b)) => Some((name.clone(), *b)),
                _ => None,
            })
            .collect()
    }

    /// An account's balance, if the treasury has it.
    pub fn balance(&self, account: &str) -> Option<u64> {
        match self
            .economy
            .get(&EconKey::Account(account.to_string()))
            .map(|r| &**r)
        {
            Some(EconRecord::Balance(b)) => Some(*b),
            _ => None,
        }
    }

    /// The fee schedule in force (empty until one is set).
    pub fn fees(&self) -> &[Parameter] {
        match self.economy.get(&EconKey::Fees).map(|r| &**r) {
            Some(EconRecord::Fees(f)) => f,
            _ => &[],
        }
    }

    /// A budget line by number.
    pub fn line(&self, id: u64) -> Option<&BudgetLine> {
        match self.economy.get(&EconKey::Line(id)).map(|r| &**r) {
            Some(EconRecord::Line(l)) => Some(l),
            _ => None,
        }
    }

    /// Every budget line, by number.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &BudgetLine> {
        self.economy
            .range(EconKey::Line(0)..EconKey::Payment(0))
            .filter_map(|(_, r)| match &**r {
                EconRecord::Line(l) => Some(l),
                _ => None,
            })
    }

    /// Every recorded payment, by number.
    pub fn postings(&self) -> impl DoubleEndedIterator<Item = &Posting> {
        self.economy
            .range(EconKey::Payment(0)..EconKey::Licence(0))
            .filter_map(|(_, r)| match &**r {
                EconRecord::Payment(p) => Some(p),
                _ => None,
            })
    }

    /// A licence by number.
    pub fn licence(&self, id: u64) -> Option<&Licence> {
        match self.economy.get(&EconKey::Licence(id)).map(|r| &**r) {
            Some(EconRecord::Licence(l)) => Some(l),
            _ => None,
        }
    }

    /// Every licence, by number.
    pub fn licences(&self) -> impl DoubleEndedIterator<Item = &Licence> {
        self.economy
            .range(EconKey::Licence(0)..EconKey::Project(0, 0))
            .filter_map(|(_, r)| match &**r {
                EconRecord::Licence(l) => Some(l),
                _ => None,
            })
    }

    /// A round's projects, by number.
    pub fn projects(&self, round: u64) -> impl DoubleEndedIterator<Item = &RoundProject> {
        self.economy
            .range(EconKey::Project(round, 0)..=EconKey::Project(round, u32::MAX))
            .filter_map(|(_, r)| match &**r {
                EconRecord::Project(p) => Some(p),
                _ => None,
            })
    }

    /// A round's approval ballots, in voter key order.
    pub fn approvals(&self, round: u64) -> impl DoubleEndedIterator<Item = (&MemberKey, &[u32])> {
        self.economy
            .range(
                EconKey::Approval(round, MemberKey([0; 32]))
                    ..=EconKey::Approval(round, MemberKey([0xff; 32])),
            )
            .filter_map(|(k, r)| match (k, &**r) {
                (EconKey::Approval(_, voter), EconRecord::Approval(list)) => {
                    Some((voter, list.as_slice()))
                }
                _ => None,
            })
    }

    /// A round as the bylaw sees it: its budget, projects and ballots.
    /// With `ballots` false the ballot lists are left empty: only a close counts them, so
    /// submitting a project or casting a ballot costs the same whatever the electorate.
    pub fn round(&self, id: u64, ballots: bool) -> Option<Round> {
        let p = self.proposals.get(&id)?;
        let ProposalBody::BudgetRound(terms) = &p.proposal.body else {
            return None;
        };
        let mut approvals = Vec::new();
        let mut ballot_ends = Vec::new();
        for (_, list) in self.approvals(id).filter(|_| ballots) {
            approvals.extend_from_slice(list);
            ballot_ends.push(approvals.len() as u32);
        }
        Some(Round {
            budget: terms.budget,
            projects: self.projects(id).map(|p| p.project.clone()).collect(),
            approvals,
            ballot_ends,
        })
    }

    fn next_key(&self, lo: EconKey, hi: EconKey) -> u64 {
        match self.economy.range(lo..hi).next_back().map(|(k, _)| k) {
            Some(EconKey::Line(n) | EconKey::Payment(n) | EconKey::Licence(n)) => n + 1,
            _ => 1,
        }
    }
}

/// An amount written with its currency: `12.50 EUR` (two minor digits).
pub fn money(amount: u64, currency: &str) -> String {
    format!("{}.{:02} {currency}", amount / 100, amount % 100)
}

/// Read an amount of money written as `12`, `12.5` or `12.50` (at most two decimals) into
/// minor units, exactly.
pub fn parse_money(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || {
        format!(
            "`{text}` is not an amount: write a positive number with at most two decimals (12, 12.5, 12.50)"
        )
    };
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (t.contains('.') && frac.is_empty())
    {
        return Err(bad());
    }
    if frac.len() > 2 {
        return Err(format!(
            "`{text}` has a fraction of a minor unit (a cent): amounts are kept as whole minor units"
        ));
    }
    let whole: u64 = whole.parse().map_err(|_| bad())?;
    let frac: u64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)
}

/// The economy a genesis founds: its currency and every account at zero.
pub(crate) fn founding(treasury: Option<&TreasuryCharter>) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(t) = treasury {
        put(
            &mut changes,
            EconKey::Currency,
            EconRecord::Currency(t.currency.clone()),
        );
        for a in t.all_accounts() {
            put(&mut changes, EconKey::Account(a), EconRecord::Balance(0));
        }
    }
    changes
}

/// Check the ledger's invariants on a state: every line within its amount and naming an
/// account the treasury has, and the balances summing to income minus expenditure.
pub fn audit(state: &TrustState) -> Result<(), String> {
    let Some(c) = state.currency() else {
        return Ok(());
    };
    let (mut income, mut spent): (u128, u128) = (0, 0);
    for p in state.postings() {
        match p.payment.direction {
            PaymentDirection::Income => income += p.payment.amount as u128,
            PaymentDirection::Expenditure => spent += p.payment.amount as u128,
        }
    }
    let held: u128 = state.balances().iter().map(|(_, b)| *b as u128).sum();
    if income < spent || held != income - spent {
        return Err(format!(
            "the ledger does not balance: accounts hold {held} minor units of {c}, income {income} less expenditure {spent}"
        ));
    }
    for l in state.lines() {
        if l.spent > l.amount {
            return Err(format!("budget line {} is overspent", l.id));
        }
        if state.balance(&l.account).is_none() {
            return Err(format!("budget line {} names no account", l.id));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_read_exactly_or_refused() {
        assert_eq!(parse_money("12"), Ok(1200));
        assert_eq!(parse_money("12.5"), Ok(1250));
        assert_eq!(parse_money("0.07"), Ok(7));
        assert!(parse_money("12.505").unwrap_err().contains("fraction"));
        for bad in ["-3", "", ".5", "1e3", "12.", "abc", "99999999999999999999"] {
            assert!(parse_money(bad).is_err(), "{bad}");
        }
        assert_eq!(money(1250, "EUR"), "12.50 EUR");
    }

    #[test]
    fn treasury_charters_name_a_currency_and_distinct_accounts() {
        assert!(TreasuryCharter::new("EUR").check().is_ok());
        assert!(TreasuryCharter::new("eur").check().is_err());
        assert!(TreasuryCharter::new("EURO").check().is_err());
        let mut t = TreasuryCharter::new("EUR");
        t.accounts = vec!["reserve".into()];
        assert!(t.check().unwrap_err().contains("twice"));
        t.accounts = vec!["Bad Name".into()];
        assert!(t.check().is_err());
    }

    #[test]
    fn fee_schedules_are_whole_minor_units_under_item_tier_keys() {
        let p = |k: &str, v: &str| Parameter {
            key: k.into(),
            value: v.into(),
        };
        assert!(check_fees(&[p("membership.standard", "1200"), p("membership.free", "0")]).is_ok());
        assert!(check_fees(&[p("membership", "1200")]).is_err());
        assert!(check_fees(&[p("membership.standard", "-1")]).is_err());
        assert!(check_fees(&[p("membership.standard", "12.5")]).is_err());
        assert!(check_fees(&[p("a.b", "1"), p("a.b", "2")]).is_err());
    }
}
