//! The commons economy's clauses: who records the treasury's payments, the minimum shares
//! of a surplus allocation, the fee schedule's cap and free tier, licences under ethical
//! terms, and closing a participatory budgeting round.
//!
//! The host keeps the ledger's invariants (no account below zero, every expenditure
//! against a budget line and within it, balances that add up); these clauses decide the
//! policy a trust chooses. A bylaw reads [`Commons`] from its charter and calls the clause
//! for each action, passing the reasons it denies with.

use crate::clauses::budget::{self, Selection};
use crate::{
    Allocation, Asset, Bound, CharterReader, Decision, LicenceTerms, Outcome, Parameter,
    PaymentDirection, Ratio, Reason, Round, Verdict, View, allow, allow_with_note,
};

/// The charter parameters of the commons clauses.
///
/// ```
/// use bylaws_sdk::{CharterReader, Parameter, clauses::commons::Commons};
/// let charter = vec![Parameter { key: "budget-method".into(), value: "greedy".into() }];
/// let mut r = CharterReader::new(&charter);
/// let c = Commons::read(&mut r, "§9", true);
/// assert!(r.finish().is_valid());
/// assert_eq!(c.method, "greedy");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commons {
    /// `treasurer-role` [treasurer]: the role a member must hold to record payments.
    pub treasurer_role: String,
    /// `reserve-min-share` [1/4]: the least share of an allocation to the reserve.
    pub reserve_min: Ratio,
    /// `projects-min-share` [1/4]: the least share of an allocation to community projects.
    pub projects_min: Ratio,
    /// `budget-method` [equal-shares]: `equal-shares` or `greedy`.
    pub method: &'static str,
    /// `round-quorum` [1/10]: share of a round's electorate that must cast approval ballots.
    pub round_quorum: Ratio,
    /// `fee-cap` [10000]: the highest fee (minor units) a simple majority may set.
    pub fee_cap: u64,
    /// `fee-cap-threshold` [2/3]: share of votes cast a schedule with a fee over the cap
    /// needs.
    pub fee_cap_threshold: Ratio,
    /// `equitable-access` [yes]: every fee schedule keeps a free membership tier.
    pub equitable_access: bool,
    /// `extractive-uses` [resale-of-personal-data, surveillance, behavioural-advertising]:
    /// licence categories refused whatever the vote (read only by bylaws that make
    /// licences).
    pub extractive: Vec<String>,
    /// Whether the bylaw makes licences to third parties.
    pub licences: bool,
}

/// The highest fee cap a charter may set (in minor units: ten trillion in major units).
pub const MAX_FEE: u64 = 1_000_000_000_000_000;

/// The extractive uses refused by default.
pub const EXTRACTIVE_DEFAULT: [&str; 3] = [
    "resale-of-personal-data",
    "surveillance",
    "behavioural-advertising",
];

impl Commons {
    /// Read (and declare) the parameters, described as the bylaw's `section`; with
    /// `licences`, the bylaw makes licences and `extractive-uses` is read too.
    pub fn read(r: &mut CharterReader<'_>, section: &str, licences: bool) -> Commons {
        Commons {
            treasurer_role: r.name(
                "treasurer-role",
                "treasurer",
                &format!("{section} the role that records the treasury's payments"),
            ),
            reserve_min: r.ratio(
                "reserve-min-share",
                Ratio::of(1, 4),
                Bound::AtLeast(Ratio::ZERO),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} least share of an allocation to the reserve"),
            ),
            projects_min: r.ratio(
                "projects-min-share",
                Ratio::of(1, 4),
                Bound::AtLeast(Ratio::ZERO),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} least share of an allocation to community projects"),
            ),
            method: r.one_of(
                "budget-method",
                "equal-shares",
                &["equal-shares", "greedy"],
                &format!("{section} how a budgeting round selects projects"),
            ),
            round_quorum: r.ratio(
                "round-quorum",
                Ratio::of(1, 10),
                Bound::AtLeast(Ratio::ZERO),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} share of a round's electorate that must cast ballots"),
            ),
            fee_cap: r.whole(
                "fee-cap",
                10_000,
                0,
                MAX_FEE,
                &format!("{section} highest fee (minor units) an ordinary resolution may set"),
            ),
            fee_cap_threshold: r.ratio(
                "fee-cap-threshold",
                Ratio::of(2, 3),
                Bound::AtLeast(Ratio::of(1, 2)),
                Bound::AtMost(Ratio::ONE),
                &format!("{section} share of votes cast a fee over the cap needs"),
            ),
            equitable_access: r.one_of(
                "equitable-access",
                "yes",
                &["yes", "no"],
                &format!("{section} every fee schedule keeps a free membership tier"),
            ) == "yes",
            extractive: if licences {
                r.list(
                    "extractive-uses",
                    &EXTRACTIVE_DEFAULT,
                    &format!("{section} licence categories refused whatever the vote"),
                )
            } else {
                EXTRACTIVE_DEFAULT.map(String::from).to_vec()
            },
            licences,
        }
    }

    /// The clauses in words.
    pub fn summary(&self, section: &str) -> String {
        format!(
            "{section} the commons economy: payments recorded by the {}; an allocation gives at least {} to the reserve and {} to community projects; budgeting rounds by {} (quorum {}); fees above {} need {} of votes cast{}; licences never for {}",
            self.treasurer_role,
            self.reserve_min,
            self.projects_min,
            self.method,
            self.round_quorum,
            self.fee_cap,
            self.fee_cap_threshold,
            if self.equitable_access {
                "; a free membership tier always stays"
            } else {
                ""
            },
            if self.licences {
                self.extractive.join(", ")
            } else {
                "anyone: it makes none".to_string()
            }
        )
    }

    /// `record-payment`: allowed only to a member holding the treasurer role.
    pub fn record_payment<R: Reason>(&self, view: &View, not_treasurer: R) -> Verdict {
        let Some(m) = &view.actor_member else {
            return not_treasurer.deny("only a member holding the treasurer role records payments");
        };
        if !m.roles.contains(&self.treasurer_role) {
            return not_treasurer.deny(format!(
                "{} does not hold the role `{}`, which records the treasury's payments (a member is given it by an appoint proposal)",
                m.name, self.treasurer_role
            ));
        }
        match &view.actor_member {
            Some(_) => allow_with_note(format!(
                "recorded by {}, who holds the role `{}`",
                m.name, self.treasurer_role
            )),
            None => allow(),
        }
    }

    /// An `allocate` proposal: the reserve and community projects each get at least their
    /// minimum share of the total (compared exactly).
    pub fn allocation<R: Reason>(&self, a: &Allocation, below_minimum: R) -> Verdict {
        let total: u128 = a.shares.iter().map(|s| s.amount as u128).sum();
        for (account, min) in [
            ("reserve", self.reserve_min),
            ("community-projects", self.projects_min),
        ] {
            let got: u128 = a
                .shares
                .iter()
                .filter(|s| s.account == account)
                .map(|s| s.amount as u128)
                .sum();
            if got * u128::from(min.den()) < total * u128::from(min.num()) {
                return below_minimum.deny(format!(
                    "`{account}` gets {got} of {total}; the charter's minimum share is {min}"
                ));
            }
        }
        allow()
    }

    /// A `license` proposal: never for an extractive use, priced at the schedule's tier
    /// for its category (`licence.<category>` in the fee schedule in force).
    pub fn licence<R: Reason>(
        &self,
        view: &View,
        l: &LicenceTerms,
        extractive: R,
        wrong_price: R,
    ) -> Verdict {
        if self.extractive.contains(&l.category) {
            return extractive.deny(format!(
                "`{}` is an extractive use the charter refuses whatever the vote ({})",
                l.category,
                self.extractive.join(", ")
            ));
        }
        let key = format!("licence.{}", l.category);
        let Some(price) = fee(&view.fees, &key) else {
            return wrong_price.deny(format!(
                "the fee schedule in force prices no `{key}`; set one by a set-fees proposal"
            ));
        };
        if l.price != price {
            return wrong_price.deny(format!(
                "a `{}` licence costs {price} under the fee schedule (`{key}`), not {}",
                l.category, l.price
            ));
        }
        allow()
    }

    /// A `set-fees` proposal: a schedule that drops the free membership tier is refused
    /// while the charter keeps equitable access.
    pub fn fee_schedule<R: Reason>(&self, fees: &[Parameter], no_free_tier: R) -> Verdict {
        if self.equitable_access && !has_free_tier(fees) {
            return no_free_tier.deny(
                "the charter keeps equitable access: the schedule must keep a free membership tier (a `membership.<tier>` fee of 0)",
            );
        }
        match over_cap(fees, self.fee_cap) {
            v if v.is_empty() => allow(),
            v => allow_with_note(format!(
                "fees above the cap of {} ({}) need {} of votes cast",
                self.fee_cap,
                v.join(", "),
                self.fee_cap_threshold
            )),
        }
    }

    /// Close a budgeting round: expired without a quorum of ballots, otherwise the chosen
    /// method's selection (passed if it funds anything), each project explained.
    pub fn close_round(&self, round: &Round, electorate: u64, clause: &str) -> Verdict {
        let ballots = round.ballot_ends.len() as u64;
        let q = self.round_quorum;
        if ballots * u64::from(q.den()) < electorate * u64::from(q.num()) || ballots == 0 {
            return decision(
                Outcome::Expired,
                format!(
                    "{clause}: {ballots} approval ballots of {electorate} electors, below the quorum of {q}"
                ),
                Vec::new(),
            );
        }
        let s: Selection = if self.method == "greedy" {
            budget::greedy(round)
        } else {
            budget::equal_shares(round)
        };
        let outcome = if s.funded.is_empty() {
            Outcome::Rejected
        } else {
            Outcome::Passed
        };
        let mut text = format!(
            "{clause}: {ballots} approval ballots of {electorate} electors, selected by {}; {} of {} left unspent.",
            if self.method == "greedy" {
                "greedy by approvals"
            } else {
                "the Method of Equal Shares"
            },
            s.leftover,
            round.budget
        );
        for line in &s.lines {
            text.push('\n');
            text.push_str(line);
        }
        decision(outcome, fit(text), s.funded)
    }
}

/// A fee in the schedule, if it sets `key`.
pub fn fee(fees: &[Parameter], key: &str) -> Option<u64> {
    fees.iter()
        .find(|f| f.key == key)
        .and_then(|f| f.value.parse().ok())
}

/// Whether a schedule keeps a free membership tier.
pub fn has_free_tier(fees: &[Parameter]) -> bool {
    fees.iter()
        .any(|f| f.key.starts_with("membership.") && f.value == "0")
}

/// The entries of a schedule above `cap`.
pub fn over_cap(fees: &[Parameter], cap: u64) -> Vec<String> {
    fees.iter()
        .filter(|f| f.value.parse::<u64>().is_ok_and(|v| v > cap))
        .map(|f| format!("{} {}", f.key, f.value))
        .collect()
}

/// The personal fields of `asset` a licence names (all of them if it names none).
pub fn personal_fields<'a>(asset: &'a Asset, l: &LicenceTerms) -> Vec<&'a str> {
    asset
        .fields
        .iter()
        .filter(|f| f.personal && (l.fields.is_empty() || l.fields.contains(&f.name)))
        .map(|f| f.name.as_str())
        .collect()
}

/// Whether a payment is income.
pub fn is_income(d: PaymentDirection) -> bool {
    d == PaymentDirection::Income
}

fn decision(outcome: Outcome, explanation: String, funded: Vec<u32>) -> Verdict {
    Verdict::Allow(crate::Allowance {
        decision: Some(Decision {
            outcome,
            explanation,
            not_before: None,
            funded,
        }),
        notes: Vec::new(),
    })
}

/// Keep an explanation within the host's 4 KiB, cutting at a line.
fn fit(mut text: String) -> String {
    const MAX: usize = 4000;
    if text.len() > MAX {
        let mut cut = MAX - 20;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = text[..cut].rfind('\n').unwrap_or(cut);
        text.truncate(cut);
        text.push_str("\n(more projects)");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Scenario;
    use crate::{Share, StakeholderClass};

    fn commons() -> Commons {
        let mut r = CharterReader::new(&[]);
        let c = Commons::read(&mut r, "§9", true);
        assert!(r.finish().is_valid());
        c
    }

    #[test]
    fn only_the_treasurer_records_payments() {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        struct Why;
        impl Reason for Why {
            const ALL: &'static [Self] = &[Why];
            fn code(self) -> &'static str {
                "not-treasurer"
            }
            fn clause(self) -> &'static str {
                "§9"
            }
        }
        let s = Scenario::new()
            .member(1, StakeholderClass::Community)
            .member(2, StakeholderClass::Community)
            .role(1, "treasurer");
        let view = |n| s.view(n, &crate::Action::Close(0), None);
        assert!(commons().record_payment(&view(1), Why).is_allowed());
        assert!(!commons().record_payment(&view(2), Why).is_allowed());
        assert!(!commons().record_payment(&view(9), Why).is_allowed());
    }

    #[test]
    fn allocations_respect_minimum_shares_exactly() {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        struct Why;
        impl Reason for Why {
            const ALL: &'static [Self] = &[Why];
            fn code(self) -> &'static str {
                "below-minimum-share"
            }
            fn clause(self) -> &'static str {
                "§9"
            }
        }
        let a = |reserve, projects, operating| Allocation {
            source: "operating".into(),
            shares: vec![
                Share {
                    account: "reserve".into(),
                    amount: reserve,
                },
                Share {
                    account: "community-projects".into(),
                    amount: projects,
                },
                Share {
                    account: "dividends".into(),
                    amount: operating,
                },
            ],
        };
        assert!(commons().allocation(&a(25, 25, 50), Why).is_allowed());
        assert!(!commons().allocation(&a(24, 26, 50), Why).is_allowed());
        assert!(!commons().allocation(&a(26, 24, 50), Why).is_allowed());
        // 1 of 4 is exactly a quarter.
        assert!(commons().allocation(&a(1, 1, 2), Why).is_allowed());
    }

    #[test]
    fn schedules_keep_a_free_tier_and_flag_fees_over_the_cap() {
        let p = |k: &str, v: &str| Parameter {
            key: k.into(),
            value: v.into(),
        };
        assert!(has_free_tier(&[p("membership.free", "0")]));
        assert!(!has_free_tier(&[p("membership.standard", "1200")]));
        assert_eq!(
            over_cap(
                &[p("membership.standard", "1200"), p("service.x", "20000")],
                10_000
            ),
            vec!["service.x 20000".to_string()]
        );
    }
}
