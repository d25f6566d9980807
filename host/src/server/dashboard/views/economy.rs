//! The commons economy's pages: the treasury (balances, budget lines, the ledger, licences,
//! the fee schedule) and a budgeting round's result, a table and a bar per project against
//! the budget, for members who do not read JSON.

use askama::Template;
use cltd_runtime::Snapshot;

use super::Nav;
use crate::render::when;
use crate::wire::{RoundDoc, TreasuryDoc};

/// `/trusts/{id}/treasury`.
#[derive(Template)]
#[template(path = "treasury.html")]
pub struct TreasuryPage {
    /// Navigation.
    pub nav: Nav,
    /// The treasury.
    pub t: TreasuryDoc,
    /// Each licence's end, in words, by licence (same order as `t.licences`).
    pub licence_ends: Vec<String>,
    /// Each payment's time, in words (same order as `t.payments`).
    pub payment_times: Vec<String>,
    /// The budgeting rounds, newest first: (number, title, phase).
    pub rounds: Vec<(u64, String, String)>,
}

impl TreasuryPage {
    /// The treasury of `t`.
    pub fn of(t: &Snapshot) -> TreasuryPage {
        let s = t.state();
        let doc = TreasuryDoc::of(s, t.now());
        TreasuryPage {
            nav: Nav::of(t, "treasury"),
            licence_ends: doc
                .licences
                .iter()
                .map(|l| match l.revoked_at {
                    Some(at) => format!("revoked {}", when(at)),
                    None if l.in_force => format!("until {}", when(l.expires_at)),
                    None => format!("ended {}", when(l.expires_at)),
                })
                .collect(),
            payment_times: doc.payments.iter().map(|p| when(p.at)).collect(),
            rounds: s
                .proposals
                .values()
                .rev()
                .filter_map(|p| RoundDoc::of(s, p.proposal.id, t.now()))
                .map(|r| (r.proposal, r.title, r.phase))
                .collect(),
            t: doc,
        }
    }

    /// An amount with the trust's currency.
    pub fn m(&self, amount: &u64) -> String {
        cltd_runtime::money(*amount, self.t.currency.as_deref().unwrap_or(""))
    }
}

/// `/trusts/{id}/rounds/{number}`.
#[derive(Template)]
#[template(path = "round.html")]
pub struct RoundPage {
    /// Navigation.
    pub nav: Nav,
    /// The round.
    pub r: RoundDoc,
    /// When submissions end, in words.
    pub submission_ends: String,
    /// When voting closes, in words.
    pub closes: String,
}

impl RoundPage {
    /// Round `number` of `t`, if that proposal is a budgeting round.
    pub fn of(t: &Snapshot, number: u64) -> Option<RoundPage> {
        let r = RoundDoc::of(t.state(), number, t.now())?;
        Some(RoundPage {
            nav: Nav::of(t, "treasury"),
            submission_ends: when(r.submission_ends),
            closes: when(r.closes_at),
            r,
        })
    }

    /// An amount with the trust's currency.
    pub fn m(&self, amount: &u64) -> String {
        cltd_runtime::money(*amount, &self.r.currency)
    }
}
