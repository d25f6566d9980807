//! The bylaws page: the modules in force over time and the amendments with their previews.

use askama::Template;
use cltd_runtime::{ProposalBody, ProposalState, Snapshot};

use crate::render::{Turnout, when};
use crate::server::error::ApiError;

use super::*;

/// A module that was in force.
pub struct HistoryRow {
    /// Module (hex).
    pub module: String,
    /// From when.
    pub since: String,
    /// Genesis, or the amendment that put it in force.
    pub proposal: Option<u64>,
    /// That amendment's tally in words.
    pub tally: String,
}

/// An amendment proposal and its impact preview.
pub struct AmendmentRow {
    /// Proposal number.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Status.
    pub status: &'static str,
    /// Candidate module.
    pub module: String,
    /// The vote so far.
    pub tally: String,
    /// The preview's lines, if one is stored.
    pub preview: Option<String>,
}

/// `/trusts/{id}/bylaws`.
#[derive(Template)]
#[template(path = "bylaws.html")]
pub struct BylawsPage {
    /// Navigation.
    pub nav: Nav,
    /// Module in force.
    pub in_force: String,
    /// What the module in force says of itself.
    pub described: Vec<String>,
    /// Modules in force over time, oldest first.
    pub history: Vec<HistoryRow>,
    /// Amendments, newest first.
    pub amendments: Vec<AmendmentRow>,
    /// Stored components: hash and size.
    pub stored: Vec<(String, usize)>,
}

pub(super) fn tally_words(p: &ProposalState) -> String {
    let t = Turnout::of(p);
    let (eligible, voted) = t.totals();
    let (y, n, a) = t.choices();
    format!("{y} yes, {n} no, {a} abstain; {voted} of {eligible} eligible voted")
}

impl BylawsPage {
    /// The bylaw history of `t`.
    pub fn of(t: &Snapshot) -> Result<BylawsPage, ApiError> {
        let s = t.state();
        let history = t
            .module_history()?
            .into_iter()
            .map(|m| HistoryRow {
                module: hex::encode(m.module),
                since: when(m.since),
                proposal: m.by.map(|p| p.proposal.id),
                tally: m
                    .by
                    .map_or_else(|| "the founders' bylaws".into(), tally_words),
            })
            .collect();
        let mut amendments = Vec::new();
        for p in s.proposals.values() {
            let ProposalBody::AmendBylaws(a) = &p.proposal.body else {
                continue;
            };
            let preview = a
                .module
                .parse::<cltd_runtime::ModuleHash>()
                .ok()
                .and_then(|m| t.stored_preview(&m, &a.charter).ok().flatten())
                .map(|r| crate::render::preview_text(s, &r));
            amendments.push(AmendmentRow {
                id: p.proposal.id,
                title: p.proposal.title.clone(),
                status: p.proposal.status.name(),
                module: a.module.clone(),
                tally: tally_words(p),
                preview,
            });
        }
        amendments.reverse();
        let described = t
            .runtime()
            .describe(&s.module, &s.charter)
            .map(|i| {
                let mut lines = vec![format!("{} {}", i.name, i.version)];
                lines.extend(i.summary);
                lines
            })
            .unwrap_or_else(|e| vec![format!("the module could not describe itself: {e}")]);
        Ok(BylawsPage {
            nav: Nav::of(t, "bylaws"),
            in_force: hex::encode(s.module),
            described,
            history,
            amendments,
            stored: t
                .stored_modules()?
                .into_iter()
                .map(|(h, n)| (hex::encode(h), n))
                .collect(),
        })
    }
}
