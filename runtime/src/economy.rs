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

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::id::MemberKey;
use crate::model::{
    Action, Effect, LicenceTerms, Parameter, Payment, PaymentDirection, Project, ProposalBody,
    ProposalState, ProposalStatus, Round,
};
use crate::state::{Change, TrustState};

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
    pub fn round(&self, id: u64) -> Option<Round> {
        let p = self.proposals.get(&id)?;
        let ProposalBody::BudgetRound(terms) = &p.proposal.body else {
            return None;
        };
        let mut approvals = Vec::new();
        let mut ballot_ends = Vec::new();
        for (_, list) in self.approvals(id) {
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

fn ledger(e: LedgerError) -> crate::error::RefusalError {
    crate::error::RefusalError::Ledger(e)
}

fn invalid(msg: impl Into<String>) -> crate::error::RefusalError {
    crate::error::RefusalError::Invalid(msg.into())
}

fn text(what: &str, s: &str, max: usize) -> Result<(), crate::error::RefusalError> {
    if s.trim().is_empty() || s.len() > max {
        return Err(invalid(format!("{what}: 1 to {max} bytes")));
    }
    Ok(())
}

fn positive(what: &str, amount: u64) -> Result<(), crate::error::RefusalError> {
    if amount == 0 {
        return Err(ledger(LedgerError::Zero { what: what.into() }));
    }
    Ok(())
}

fn currency(state: &TrustState) -> Result<&str, crate::error::RefusalError> {
    state.currency().ok_or(ledger(LedgerError::NoTreasury))
}

fn account(state: &TrustState, name: &str) -> Result<u64, crate::error::RefusalError> {
    currency(state)?;
    state.balance(name).ok_or_else(|| {
        ledger(LedgerError::UnknownAccount {
            account: name.to_string(),
            known: state
                .balances()
                .into_iter()
                .map(|(a, _)| a)
                .collect::<Vec<_>>()
                .join(", "),
        })
    })
}

fn covers(state: &TrustState, name: &str, amount: u64) -> Result<(), crate::error::RefusalError> {
    let balance = account(state, name)?;
    if amount > balance {
        let c = currency(state)?;
        return Err(ledger(LedgerError::Overdrawn {
            account: name.to_string(),
            balance: money(balance, c),
            amount: money(amount, c),
        }));
    }
    Ok(())
}

/// The fee schedule's checks: at most [`MAX_FEES`] entries, keys `<item>.<tier>` in
/// kebab-case, values whole minor units.
pub fn check_fees(fees: &[Parameter]) -> Result<(), crate::error::RefusalError> {
    if fees.len() > MAX_FEES {
        return Err(invalid(format!(
            "a fee schedule has at most {MAX_FEES} entries"
        )));
    }
    let mut seen = BTreeSet::new();
    for f in fees {
        let ok = f
            .key
            .split_once('.')
            .is_some_and(|(item, tier)| is_kebab(item) && is_kebab(tier));
        if !ok {
            return Err(invalid(format!(
                "fee `{}`: keys are `<item>.<tier>` in kebab-case (e.g. membership.standard, licence.research)",
                f.key
            )));
        }
        if !seen.insert(f.key.as_str()) {
            return Err(invalid(format!("fee `{}` appears twice", f.key)));
        }
        if f.value.is_empty()
            || !f.value.bytes().all(|b| b.is_ascii_digit())
            || f.value.parse::<u64>().is_err()
        {
            return Err(invalid(format!(
                "fee `{}` = `{}`: a fee is a whole number of minor units (cents), not negative or fractional",
                f.key, f.value
            )));
        }
    }
    Ok(())
}

/// The host's checks of a proposal of one of the economy's kinds, when proposed.
pub(crate) fn check_proposal(
    state: &TrustState,
    body: &ProposalBody,
    window: u64,
) -> Result<(), crate::error::RefusalError> {
    match body {
        ProposalBody::Appoint(a) => {
            if !is_kebab(&a.role) {
                return Err(invalid(format!(
                    "role `{}`: roles are kebab-case, 1-{MAX_NAME} bytes",
                    a.role
                )));
            }
            let key = key_of(&a.member)
                .ok_or_else(|| invalid("an appointment names a member by a 32-byte key"))?;
            check_appointment(state, &key, &a.role, a.holds)
        }
        ProposalBody::Spend(s) => {
            positive("a budget line's amount", s.amount)?;
            account(state, &s.account)?;
            text("payee", &s.payee, MAX_TEXT)?;
            text("purpose", &s.purpose, MAX_TEXT)
        }
        ProposalBody::Allocate(a) => {
            account(state, &a.source)?;
            if a.shares.is_empty() || a.shares.len() > MAX_SHARES {
                return Err(invalid(format!(
                    "an allocation names 1 to {MAX_SHARES} shares"
                )));
            }
            let mut seen = BTreeSet::new();
            let mut total: u64 = 0;
            for s in &a.shares {
                account(state, &s.account)?;
                positive(&format!("the share to `{}`", s.account), s.amount)?;
                if s.account == a.source {
                    return Err(invalid(format!(
                        "an allocation moves money out of `{}`, not back into it",
                        a.source
                    )));
                }
                if !seen.insert(&s.account) {
                    return Err(invalid(format!("account `{}` has two shares", s.account)));
                }
                total = total
                    .checked_add(s.amount)
                    .ok_or_else(|| ledger(LedgerError::Overflow(a.source.clone())))?;
            }
            Ok(())
        }
        ProposalBody::BudgetRound(r) => {
            account(state, &r.account)?;
            positive("a round's budget", r.budget)?;
            if r.submission == 0 || r.submission >= window {
                return Err(invalid(format!(
                    "a round's submission phase ({} s) must be longer than 0 and end before its voting window ({window} s) does",
                    r.submission
                )));
            }
            Ok(())
        }
        ProposalBody::License(l) => {
            currency(state)?;
            text("licensee", &l.licensee, MAX_TEXT)?;
            if l.licensee_key.len() != 32 {
                return Err(invalid(
                    "a licensee is named by a 32-byte ed25519 public key",
                ));
            }
            if state.member(&l.licensee_key).is_some() {
                return Err(invalid(
                    "a licence is for a third party; a member asks for access with grant-access",
                ));
            }
            if !is_kebab(&l.category) {
                return Err(invalid(format!(
                    "licence category `{}`: kebab-case, e.g. public-good, research, commercial",
                    l.category
                )));
            }
            text("purpose", &l.purpose, MAX_TEXT)?;
            if l.term == 0 || l.term > MAX_TERM {
                return Err(invalid("a licence's term is 1 second to 10 years"));
            }
            let asset = state.assets.get(&l.asset_id).ok_or_else(|| {
                crate::error::RefusalError::NotFound(format!(
                    "the trust holds no asset `{}`",
                    l.asset_id
                ))
            })?;
            if asset.kind != crate::model::AssetKind::Dataset {
                return Err(invalid(format!(
                    "`{}` is not a dataset; only a dataset's fields are licensed",
                    l.asset_id
                )));
            }
            let mut seen = BTreeSet::new();
            for f in &l.fields {
                if !asset.fields.iter().any(|d| &d.name == f) {
                    return Err(invalid(format!(
                        "dataset `{}` has no field `{f}`",
                        l.asset_id
                    )));
                }
                if !seen.insert(f) {
                    return Err(invalid(format!("field `{f}` is named twice")));
                }
            }
            Ok(())
        }
        ProposalBody::RevokeLicence(id) => revocable(state, *id),
        ProposalBody::SetFees(fees) => check_fees(fees),
        _ => Ok(()),
    }
}

fn check_appointment(
    state: &TrustState,
    key: &MemberKey,
    role: &str,
    holds: bool,
) -> Result<(), crate::error::RefusalError> {
    let m = state.members.get(key).ok_or_else(|| {
        invalid(format!(
            "{} is not a member; roles are held by members",
            state.who(key)
        ))
    })?;
    let has = m.roles.iter().any(|r| r == role);
    match (holds, has) {
        (true, true) => Err(invalid(format!(
            "{} already holds the role `{role}`",
            m.name
        ))),
        (false, false) => Err(invalid(format!(
            "{} does not hold the role `{role}`",
            m.name
        ))),
        _ => Ok(()),
    }
}

fn revocable(state: &TrustState, id: u64) -> Result<(), crate::error::RefusalError> {
    let l = state.licence(id).ok_or_else(|| {
        crate::error::RefusalError::NotFound(format!("the trust has made no licence {id}"))
    })?;
    if l.revoked_at.is_some() {
        return Err(ledger(LedgerError::Licence(format!(
            "licence {id} is already revoked"
        ))));
    }
    Ok(())
}

/// The total an allocation moves (checked not to overflow when proposed).
fn allocation_total(a: &crate::model::Allocation) -> u64 {
    a.shares.iter().map(|s| s.amount).sum()
}

/// The host's checks when a passed proposal of one of the economy's kinds is executed: the
/// state may have changed since it was proposed.
pub(crate) fn check_execution(
    state: &TrustState,
    p: &ProposalState,
    now: u64,
) -> Result<(), crate::error::RefusalError> {
    match &p.proposal.body {
        ProposalBody::Appoint(a) => {
            let key = key_of(&a.member).expect("checked when proposed");
            check_appointment(state, &key, &a.role, a.holds)
        }
        ProposalBody::Allocate(a) => covers(state, &a.source, allocation_total(a)),
        ProposalBody::BudgetRound(r) => {
            let total = funded_total(state, p);
            covers(state, &r.account, total)
        }
        ProposalBody::License(l) => {
            if !state.assets.contains_key(&l.asset_id) {
                return Err(crate::error::RefusalError::NotFound(format!(
                    "dataset `{}` has left the trust since the licence passed",
                    l.asset_id
                )));
            }
            if state.member(&l.licensee_key).is_some() {
                return Err(invalid("the licensee has since become a member"));
            }
            Ok(())
        }
        ProposalBody::RevokeLicence(id) => {
            revocable(state, *id)?;
            let _ = now;
            Ok(())
        }
        _ => Ok(()),
    }
}

fn funded_total(state: &TrustState, p: &ProposalState) -> u64 {
    let funded = p
        .decision
        .as_ref()
        .map(|d| d.funded.as_slice())
        .unwrap_or(&[]);
    funded
        .iter()
        .filter_map(|n| state.economy.get(&EconKey::Project(p.proposal.id, *n)))
        .map(|r| match &**r {
            EconRecord::Project(x) => x.project.cost,
            _ => 0,
        })
        .sum()
}

/// The budgeting round a `submit-project` or `approve` names, open and of the right kind.
fn open_round(
    state: &TrustState,
    id: u64,
) -> Result<(&ProposalState, &crate::model::RoundTerms), crate::error::RefusalError> {
    let p = state
        .proposals
        .get(&id)
        .ok_or_else(|| crate::error::RefusalError::NotFound(format!("no proposal {id}")))?;
    let ProposalBody::BudgetRound(terms) = &p.proposal.body else {
        return Err(invalid(format!(
            "proposal {id} is a {} proposal, not a budgeting round",
            p.proposal.body.kind()
        )));
    };
    if p.proposal.status != ProposalStatus::Open {
        return Err(invalid(format!(
            "budgeting round {id} is {}, no longer open",
            p.proposal.status.name()
        )));
    }
    Ok((p, terms))
}

/// When a round's submission phase ends.
pub fn submission_ends(p: &ProposalState, terms: &crate::model::RoundTerms) -> u64 {
    p.proposal.opened_at.saturating_add(terms.submission)
}

/// The host's checks of the economy's own actions (`record-payment`, `submit-project`,
/// `approve`) and of a vote on a round (refused: a round is decided by approval ballots).
pub(crate) fn check_action(
    state: &TrustState,
    signer: &MemberKey,
    action: &Action,
    now: u64,
) -> Result<(), crate::error::RefusalError> {
    match action {
        Action::Vote(v) => {
            if let Some(p) = state.proposals.get(&v.proposal)
                && matches!(p.proposal.body, ProposalBody::BudgetRound(_))
            {
                return Err(invalid(format!(
                    "budgeting round {} is decided by approval ballots (approve), not yes/no votes",
                    v.proposal
                )));
            }
            Ok(())
        }
        Action::RecordPayment(pay) => check_payment(state, pay),
        Action::SubmitProject(d) => {
            let (p, terms) = open_round(state, d.round)?;
            let ends = submission_ends(p, terms);
            if now >= ends {
                return Err(invalid(format!(
                    "round {}'s submission phase ended at {}",
                    d.round,
                    crate::clock::utc(ends)
                )));
            }
            text("project title", &d.title, 200)?;
            if d.description.len() > MAX_TEXT {
                return Err(invalid(format!(
                    "a project's description has at most {MAX_TEXT} bytes"
                )));
            }
            positive("a project's cost", d.cost)?;
            if d.cost > terms.budget {
                let c = currency(state)?;
                return Err(invalid(format!(
                    "the project costs {}, more than the round's whole budget of {}",
                    money(d.cost, c),
                    money(terms.budget, c)
                )));
            }
            if state.projects(d.round).count() as u32 >= MAX_PROJECTS {
                return Err(invalid(format!(
                    "round {} holds its most projects ({MAX_PROJECTS})",
                    d.round
                )));
            }
            if !state.members.contains_key(signer) {
                return Err(invalid("projects are submitted by members"));
            }
            Ok(())
        }
        Action::Approve(a) => {
            let (p, terms) = open_round(state, a.round)?;
            let ends = submission_ends(p, terms);
            if now < ends {
                return Err(invalid(format!(
                    "round {} takes projects until {}; approval ballots are cast after that",
                    a.round,
                    crate::clock::utc(ends)
                )));
            }
            if now >= p.proposal.closes_at {
                return Err(invalid(format!(
                    "round {}'s voting closed at {}",
                    a.round,
                    crate::clock::utc(p.proposal.closes_at)
                )));
            }
            let roll = state.rolls.get(&a.round);
            if !roll.is_some_and(|r| r.contains(signer)) || !state.members.contains_key(signer) {
                return Err(invalid(format!(
                    "{} is not in round {}'s electorate",
                    state.who(signer),
                    a.round
                )));
            }
            if state
                .economy
                .contains_key(&EconKey::Approval(a.round, *signer))
            {
                return Err(invalid(format!(
                    "{} has already cast an approval ballot in round {}",
                    state.who(signer),
                    a.round
                )));
            }
            let count = state.projects(a.round).count() as u32;
            if a.projects.is_empty() {
                return Err(invalid("an approval ballot approves at least one project"));
            }
            let mut seen = BTreeSet::new();
            for n in &a.projects {
                if *n == 0 || *n > count {
                    return Err(invalid(format!(
                        "round {} has projects 1 to {count}, not {n}",
                        a.round
                    )));
                }
                if !seen.insert(*n) {
                    return Err(invalid(format!("project {n} is approved twice")));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_payment(state: &TrustState, pay: &Payment) -> Result<(), crate::error::RefusalError> {
    let c = currency(state)?;
    if pay.currency != c {
        return Err(ledger(LedgerError::WrongCurrency {
            expected: c.to_string(),
            got: pay.currency.clone(),
        }));
    }
    positive("a payment", pay.amount)?;
    let balance = account(state, &pay.account)?;
    text("counterparty", &pay.counterparty, MAX_TEXT)?;
    if pay.reference.len() > MAX_TEXT {
        return Err(invalid(format!("a reference has at most {MAX_TEXT} bytes")));
    }
    match pay.direction {
        PaymentDirection::Income => {
            if !INCOME_CATEGORIES.contains(&pay.category.as_str()) {
                return Err(ledger(LedgerError::Category(format!(
                    "income is one of {}, not `{}`",
                    INCOME_CATEGORIES.join(", "),
                    pay.category
                ))));
            }
            if balance.checked_add(pay.amount).is_none() {
                return Err(ledger(LedgerError::Overflow(pay.account.clone())));
            }
            match (pay.category.as_str(), pay.against) {
                ("licence-fee", Some(id)) => {
                    let l = state.licence(id).ok_or_else(|| {
                        ledger(LedgerError::Licence(format!(
                            "a licence fee names the licence it pays for; the trust has made no licence {id}"
                        )))
                    })?;
                    if l.income.checked_add(pay.amount).is_none() {
                        return Err(ledger(LedgerError::Overflow(pay.account.clone())));
                    }
                    Ok(())
                }
                ("licence-fee", None) => Err(ledger(LedgerError::Licence(
                    "a licence fee names the licence it pays for".into(),
                ))),
                (_, Some(_)) => Err(invalid(
                    "only a licence fee (income) or an expenditure names what it is against",
                )),
                (_, None) => Ok(()),
            }
        }
        PaymentDirection::Expenditure => {
            if pay.category != EXPENDITURE_CATEGORY {
                return Err(ledger(LedgerError::Category(format!(
                    "every expenditure is of category `{EXPENDITURE_CATEGORY}` (it spends a line), not `{}`",
                    pay.category
                ))));
            }
            let id = pay
                .against
                .ok_or_else(|| ledger(LedgerError::NoLine("this one names none".into())))?;
            let line = state.line(id).ok_or_else(|| {
                ledger(LedgerError::NoLine(format!("there is no budget line {id}")))
            })?;
            if line.account != pay.account {
                return Err(ledger(LedgerError::LineAccount {
                    line: id,
                    line_account: line.account.clone(),
                    account: pay.account.clone(),
                }));
            }
            if pay.amount > line.remaining() {
                return Err(ledger(LedgerError::Overspent {
                    line: id,
                    left: money(line.remaining(), c),
                    amount: money(line.amount, c),
                    asked: money(pay.amount, c),
                }));
            }
            covers(state, &pay.account, pay.amount)
        }
    }
}

/// Check a close's `funded` list against the round in the view: only a budgeting round's
/// close names funded projects, each once, existing, and together within the budget.
pub(crate) fn check_funded(
    view: &crate::model::View,
    action: &Action,
    funded: &[u32],
    passed: bool,
) -> Result<(), String> {
    let round = match (action, &view.round) {
        (Action::Close(_), Some(r)) => Some(r),
        _ => None,
    };
    let Some(round) = round else {
        return if funded.is_empty() {
            Ok(())
        } else {
            Err("only closing a budgeting round funds projects".into())
        };
    };
    if !passed && !funded.is_empty() {
        return Err("a round that did not pass funds no project".into());
    }
    let mut seen = BTreeSet::new();
    let mut total: u64 = 0;
    for n in funded {
        if !seen.insert(*n) {
            return Err(format!("project {n} is funded twice"));
        }
        let Some(p) = round.projects.iter().find(|p| p.id == *n) else {
            return Err(format!("the round has no project {n}"));
        };
        total = total.saturating_add(p.cost);
    }
    if total > round.budget {
        return Err(format!(
            "the funded projects cost {total} in all, over the round's budget of {}",
            round.budget
        ));
    }
    Ok(())
}

fn put(changes: &mut Vec<Change>, key: EconKey, record: EconRecord) {
    changes.push(Change::Economy {
        key,
        record: Some(Box::new(record)),
    });
}

fn set_balance(state: &TrustState, changes: &mut Vec<Change>, account: &str, delta: i128) {
    // An earlier change in the same transition may have moved this account already.
    let current = changes
        .iter()
        .rev()
        .find_map(|c| match c {
            Change::Economy {
                key: EconKey::Account(a),
                record: Some(r),
            } if a == account => match &**r {
                EconRecord::Balance(b) => Some(*b),
                _ => None,
            },
            _ => None,
        })
        .or_else(|| state.balance(account))
        .expect("accounts are checked before their balances move");
    let next = u64::try_from(current as i128 + delta)
        .expect("the checks keep every balance between 0 and 2^64");
    put(
        changes,
        EconKey::Account(account.to_string()),
        EconRecord::Balance(next),
    );
}

/// The changes and effects of executing a passed proposal of one of the economy's kinds.
pub(crate) fn execute(
    state: &TrustState,
    p: &ProposalState,
    now: u64,
    changes: &mut Vec<Change>,
    effects: &mut Vec<Effect>,
) {
    let id = p.proposal.id;
    match &p.proposal.body {
        ProposalBody::Appoint(a) => {
            let key = key_of(&a.member).expect("checked when proposed");
            let mut m = (*state.members[&key]).clone();
            if a.holds {
                m.roles.push(a.role.clone());
                m.roles.sort();
            } else {
                m.roles.retain(|r| r != &a.role);
            }
            effects.push(Effect::RoleChanged {
                member: a.member.clone(),
                role: a.role.clone(),
                holds: a.holds,
            });
            changes.push(Change::Member {
                key,
                member: Some(m),
            });
        }
        ProposalBody::Spend(s) => {
            let line = BudgetLine {
                id: state.next_key(EconKey::Line(0), EconKey::Payment(0)),
                account: s.account.clone(),
                amount: s.amount,
                spent: 0,
                payee: s.payee.clone(),
                purpose: s.purpose.clone(),
                proposal: id,
                project: None,
                adopted_at: now,
            };
            effects.push(Effect::LineAdopted {
                line: line.id,
                amount: line.amount,
            });
            put(changes, EconKey::Line(line.id), EconRecord::Line(line));
        }
        ProposalBody::Allocate(a) => {
            set_balance(state, changes, &a.source, -(allocation_total(a) as i128));
            for s in &a.shares {
                set_balance(state, changes, &s.account, s.amount as i128);
                effects.push(Effect::Transferred {
                    from: a.source.clone(),
                    to: s.account.clone(),
                    amount: s.amount,
                });
            }
        }
        ProposalBody::BudgetRound(terms) => {
            let funded = p
                .decision
                .as_ref()
                .map(|d| d.funded.clone())
                .unwrap_or_default();
            let mut next = state.next_key(EconKey::Line(0), EconKey::Payment(0));
            for n in funded {
                let Some(EconRecord::Project(x)) =
                    state.economy.get(&EconKey::Project(id, n)).map(|r| &**r)
                else {
                    continue;
                };
                let line = BudgetLine {
                    id: next,
                    account: terms.account.clone(),
                    amount: x.project.cost,
                    spent: 0,
                    payee: state.who(&x.project.proposer),
                    purpose: format!("round {id}, project {n}: {}", x.project.title),
                    proposal: id,
                    project: Some(n),
                    adopted_at: now,
                };
                next += 1;
                effects.push(Effect::LineAdopted {
                    line: line.id,
                    amount: line.amount,
                });
                put(changes, EconKey::Line(line.id), EconRecord::Line(line));
            }
        }
        ProposalBody::License(terms) => {
            let licence = Licence {
                id: state.next_key(EconKey::Licence(0), EconKey::Project(0, 0)),
                terms: terms.clone(),
                proposal: id,
                granted_at: now,
                expires_at: now.saturating_add(terms.term),
                revoked_at: None,
                income: 0,
            };
            effects.push(Effect::Licensed {
                licence: licence.id,
                expires_at: licence.expires_at,
            });
            put(
                changes,
                EconKey::Licence(licence.id),
                EconRecord::Licence(licence),
            );
        }
        ProposalBody::RevokeLicence(n) => {
            let mut l = state.licence(*n).expect("checked before execution").clone();
            l.revoked_at = Some(now);
            effects.push(Effect::LicenceRevoked { licence: *n });
            put(changes, EconKey::Licence(*n), EconRecord::Licence(l));
        }
        ProposalBody::SetFees(fees) => {
            effects.push(Effect::FeesSet {
                entries: fees.len() as u32,
            });
            put(changes, EconKey::Fees, EconRecord::Fees(fees.clone()));
        }
        _ => {}
    }
}

/// The changes and effects of an allowed `record-payment`, `submit-project` or `approve`.
pub(crate) fn act(
    state: &TrustState,
    signer: &MemberKey,
    action: &Action,
    now: u64,
    changes: &mut Vec<Change>,
    effects: &mut Vec<Effect>,
) {
    match action {
        Action::RecordPayment(pay) => {
            let id = state.next_key(EconKey::Payment(0), EconKey::Licence(0));
            match pay.direction {
                PaymentDirection::Income => {
                    set_balance(state, changes, &pay.account, pay.amount as i128);
                    if let (Some(n), "licence-fee") = (pay.against, pay.category.as_str()) {
                        let mut l = state.licence(n).expect("checked").clone();
                        l.income += pay.amount;
                        put(changes, EconKey::Licence(n), EconRecord::Licence(l));
                    }
                }
                PaymentDirection::Expenditure => {
                    set_balance(state, changes, &pay.account, -(pay.amount as i128));
                    let n = pay.against.expect("checked");
                    let mut line = state.line(n).expect("checked").clone();
                    line.spent += pay.amount;
                    put(changes, EconKey::Line(n), EconRecord::Line(line));
                }
            }
            effects.push(Effect::PaymentRecorded {
                payment: id,
                direction: pay.direction,
                account: pay.account.clone(),
                amount: pay.amount,
            });
            put(
                changes,
                EconKey::Payment(id),
                EconRecord::Payment(Posting {
                    id,
                    payment: pay.clone(),
                    recorded_by: *signer,
                    at: now,
                }),
            );
        }
        Action::SubmitProject(d) => {
            let n = state.projects(d.round).count() as u32 + 1;
            effects.push(Effect::ProjectSubmitted {
                round: d.round,
                project: n,
            });
            put(
                changes,
                EconKey::Project(d.round, n),
                EconRecord::Project(RoundProject {
                    project: Project {
                        id: n,
                        title: d.title.clone(),
                        cost: d.cost,
                        proposer: signer.to_vec(),
                        approvals: 0,
                    },
                    description: d.description.clone(),
                    submitted_at: now,
                }),
            );
        }
        Action::Approve(a) => {
            let mut list = a.projects.clone();
            list.sort_unstable();
            for n in &list {
                if let Some(EconRecord::Project(x)) = state
                    .economy
                    .get(&EconKey::Project(a.round, *n))
                    .map(|r| &**r)
                {
                    let mut x = x.clone();
                    x.project.approvals += 1;
                    put(
                        changes,
                        EconKey::Project(a.round, *n),
                        EconRecord::Project(x),
                    );
                }
            }
            effects.push(Effect::ApprovalRecorded {
                round: a.round,
                projects: list.len() as u32,
            });
            put(
                changes,
                EconKey::Approval(a.round, *signer),
                EconRecord::Approval(list),
            );
        }
        _ => {}
    }
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
