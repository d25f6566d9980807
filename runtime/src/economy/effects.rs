//! What an allowed transition of the economy changes: balances, budget lines, payments,
//! licences, roles, the fee schedule, a round's projects and ballots.

use super::checks::allocation_total;
use super::*;
use crate::model::{Action, Effect, PaymentDirection, Project, ProposalBody, ProposalState};

pub(super) fn put(changes: &mut Vec<Change>, key: EconKey, record: EconRecord) {
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
