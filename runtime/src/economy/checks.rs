//! What the host refuses of the economy's transitions, before the bylaw is asked (a
//! refusal leaves no trace): the ledger's rules, the phases of a budgeting round, the
//! shape of a licence, an appointment and a fee schedule.

use std::collections::BTreeSet;

use super::*;
use crate::model::{
    Action, Payment, PaymentDirection, ProposalBody, ProposalState, ProposalStatus,
};

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
pub(super) fn allocation_total(a: &crate::model::Allocation) -> u64 {
    a.shares.iter().map(|s| s.amount).sum()
}

/// The host's checks when a passed proposal of one of the economy's kinds is executed: the
/// state may have changed since it was proposed.
pub(crate) fn check_execution(
    state: &TrustState,
    p: &ProposalState,
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
        ProposalBody::RevokeLicence(id) => revocable(state, *id),
        _ => Ok(()),
    }
}

pub(super) fn funded_total(state: &TrustState, p: &ProposalState) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RefusalError;
    use crate::model::{Allocation, RoundTerms, Share, View};

    fn member() -> MemberKey {
        MemberKey([1; 32])
    }

    /// A treasury in EUR with 100.00 in operating and a budget line (1) of 60.00 from it.
    fn state() -> TrustState {
        let mut s = TrustState::default();
        s.apply_all(&founding(Some(&TreasuryCharter::new("EUR"))));
        let mut changes = Vec::new();
        super::super::effects::put(
            &mut changes,
            EconKey::Account("operating".into()),
            EconRecord::Balance(10_000),
        );
        super::super::effects::put(
            &mut changes,
            EconKey::Line(1),
            EconRecord::Line(BudgetLine {
                id: 1,
                account: "operating".into(),
                amount: 6_000,
                spent: 0,
                payee: "p".into(),
                purpose: "q".into(),
                proposal: 1,
                project: None,
                adopted_at: 0,
            }),
        );
        s.apply_all(&changes);
        s
    }

    fn pay(direction: PaymentDirection, account: &str, amount: u64, line: Option<u64>) -> Action {
        Action::RecordPayment(Payment {
            direction,
            account: account.into(),
            amount,
            currency: "EUR".into(),
            category: match direction {
                PaymentDirection::Income => "grant".into(),
                PaymentDirection::Expenditure => EXPENDITURE_CATEGORY.into(),
            },
            counterparty: "c".into(),
            reference: String::new(),
            against: line,
        })
    }

    fn ledger_error(r: Result<(), RefusalError>) -> LedgerError {
        match r {
            Err(RefusalError::Ledger(e)) => e,
            other => panic!("expected a ledger refusal, got {other:?}"),
        }
    }

    #[test]
    fn payments_keep_to_the_currency_known_accounts_and_positive_amounts() {
        let s = state();
        let check = |a: &Action| check_action(&s, &member(), a, 0);
        assert!(check(&pay(PaymentDirection::Income, "operating", 1, None)).is_ok());
        let mut usd = pay(PaymentDirection::Income, "operating", 1, None);
        if let Action::RecordPayment(p) = &mut usd {
            p.currency = "USD".into();
        }
        assert!(matches!(
            ledger_error(check(&usd)),
            LedgerError::WrongCurrency { .. }
        ));
        assert!(matches!(
            ledger_error(check(&pay(PaymentDirection::Income, "slush", 1, None))),
            LedgerError::UnknownAccount { .. }
        ));
        assert!(matches!(
            ledger_error(check(&pay(PaymentDirection::Income, "operating", 0, None))),
            LedgerError::Zero { .. }
        ));
        let none = TrustState::default();
        assert_eq!(
            ledger_error(check_action(
                &none,
                &member(),
                &pay(PaymentDirection::Income, "operating", 1, None),
                0
            )),
            LedgerError::NoTreasury
        );
    }

    #[test]
    fn expenditure_spends_a_line_of_its_account_within_it_and_the_balance() {
        let s = state();
        let check = |a: &Action| check_action(&s, &member(), a, 0);
        assert!(
            check(&pay(
                PaymentDirection::Expenditure,
                "operating",
                6_000,
                Some(1)
            ))
            .is_ok()
        );
        assert!(matches!(
            ledger_error(check(&pay(
                PaymentDirection::Expenditure,
                "operating",
                1,
                None
            ))),
            LedgerError::NoLine(_)
        ));
        assert!(matches!(
            ledger_error(check(&pay(
                PaymentDirection::Expenditure,
                "operating",
                1,
                Some(2)
            ))),
            LedgerError::NoLine(_)
        ));
        assert!(matches!(
            ledger_error(check(&pay(
                PaymentDirection::Expenditure,
                "operating",
                6_001,
                Some(1)
            ))),
            LedgerError::Overspent { .. }
        ));
        assert!(matches!(
            ledger_error(check(&pay(
                PaymentDirection::Expenditure,
                "reserve",
                1,
                Some(1)
            ))),
            LedgerError::LineAccount { .. }
        ));
        // A line larger than the balance: the balance bounds the payment.
        let mut s = s.clone();
        let mut changes = Vec::new();
        super::super::effects::put(
            &mut changes,
            EconKey::Account("operating".into()),
            EconRecord::Balance(5_000),
        );
        s.apply_all(&changes);
        assert!(matches!(
            ledger_error(check_action(
                &s,
                &member(),
                &pay(PaymentDirection::Expenditure, "operating", 5_001, Some(1)),
                0
            )),
            LedgerError::Overdrawn { .. }
        ));
    }

    #[test]
    fn allocations_and_rounds_are_well_formed_when_proposed() {
        let s = state();
        let alloc = |shares: Vec<(&str, u64)>| {
            ProposalBody::Allocate(Allocation {
                source: "operating".into(),
                shares: shares
                    .into_iter()
                    .map(|(a, n)| Share {
                        account: a.into(),
                        amount: n,
                    })
                    .collect(),
            })
        };
        assert!(check_proposal(&s, &alloc(vec![("reserve", 1)]), 7).is_ok());
        for bad in [
            alloc(vec![]),
            alloc(vec![("operating", 1)]),
            alloc(vec![("reserve", 1), ("reserve", 2)]),
        ] {
            assert!(
                matches!(check_proposal(&s, &bad, 7), Err(RefusalError::Invalid(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            check_proposal(&s, &alloc(vec![("reserve", 0)]), 7),
            Err(RefusalError::Ledger(LedgerError::Zero { .. }))
        ));
        let round = |submission| {
            ProposalBody::BudgetRound(RoundTerms {
                account: "community-projects".into(),
                budget: 1,
                submission,
            })
        };
        assert!(check_proposal(&s, &round(3), 7).is_ok());
        assert!(check_proposal(&s, &round(0), 7).is_err());
        assert!(check_proposal(&s, &round(7), 7).is_err());
    }

    #[test]
    fn a_close_funds_only_its_rounds_projects_once_within_the_budget() {
        let project = |id, cost| crate::model::Project {
            id,
            title: String::new(),
            cost,
            proposer: vec![],
            approvals: 1,
        };
        let view = View {
            round: Some(crate::model::Round {
                budget: 100,
                projects: vec![project(1, 60), project(2, 50)],
                approvals: vec![],
                ballot_ends: vec![],
            }),
            trust_id: String::new(),
            trust_name: String::new(),
            charter: vec![],
            now: 0,
            actor: vec![],
            actor_member: None,
            members: crate::model::ClassCounts::zero(),
            proposal: None,
            roll: None,
            asset: None,
            subject: None,
            fees: vec![],
        };
        let close = Action::Close(1);
        assert!(check_funded(&view, &close, &[1], true).is_ok());
        assert!(check_funded(&view, &close, &[], false).is_ok());
        assert!(
            check_funded(&view, &close, &[1, 2], true).is_err(),
            "over budget"
        );
        assert!(check_funded(&view, &close, &[1, 1], true).is_err(), "twice");
        assert!(check_funded(&view, &close, &[3], true).is_err(), "unknown");
        assert!(
            check_funded(&view, &close, &[1], false).is_err(),
            "not passed"
        );
        let ordinary = View {
            round: None,
            ..view.clone()
        };
        assert!(check_funded(&ordinary, &close, &[1], true).is_err());
        assert!(check_funded(&view, &Action::Execute(1), &[1], true).is_err());
    }

    #[test]
    fn the_audit_finds_balances_that_do_not_add_up() {
        let s = state();
        // The fixture moved money without payments: it does not balance.
        assert!(audit(&s).unwrap_err().contains("does not balance"));
        assert!(audit(&TrustState::default()).is_ok());
    }
}
