//! What each dashboard page shows, built from a trust's state, and the template that shows
//! it: one module per group of pages; the navigation, the index and shared helpers here.

mod bylaws;
mod economy;
mod log;
mod proposals;
mod trust;

pub use bylaws::*;
pub use economy::*;
pub use log::*;
pub use proposals::*;
pub use trust::*;

use askama::Template;
use cltd_runtime::{ProposalStatus, Snapshot, TrustState};

/// Entries per log page.
pub(super) const LOG_PAGE: u64 = 50;

/// The trust a page belongs to, for the header and navigation.
pub struct Nav {
    /// Trust id (hex).
    pub id: String,
    /// Trust name.
    pub name: String,
    /// Which section is current (`overview`, `members`, ...).
    pub current: &'static str,
}

impl Nav {
    fn of(t: &Snapshot, current: &'static str) -> Nav {
        Nav {
            id: t.id_hex(),
            name: t.state().name.clone(),
            current,
        }
    }

    /// The sections, as (label, href, whether it is the current one).
    pub fn sections(&self) -> Vec<(&'static str, String, bool)> {
        [
            ("overview", "Overview", ""),
            ("members", "Members", "/members"),
            ("assets", "Assets", "/assets"),
            ("proposals", "Proposals", "/proposals"),
            ("treasury", "Treasury", "/treasury"),
            ("log", "Log", "/log"),
            ("bylaws", "Bylaws", "/bylaws"),
            ("audit", "Audit", "/audit"),
        ]
        .into_iter()
        .map(|(k, l, h)| (l, format!("/trusts/{}{h}", self.id), k == self.current))
        .collect()
    }
}

/// A trust in the list of trusts.
pub struct TrustRow {
    /// Id (hex).
    pub id: String,
    /// Name.
    pub name: String,
    /// Members.
    pub members: usize,
    /// Open proposals.
    pub open: usize,
    /// Log entries.
    pub size: u64,
}

impl TrustRow {
    /// The row for `t`.
    pub fn of(t: &Snapshot) -> TrustRow {
        let s = t.state();
        TrustRow {
            id: t.id_hex(),
            name: s.name.clone(),
            members: s.members.len(),
            open: open_count(s),
            size: s.size,
        }
    }
}

pub(super) fn open_count(s: &TrustState) -> usize {
    s.proposals
        .values()
        .filter(|p| p.proposal.status == ProposalStatus::Open)
        .count()
}

/// `/`: every hosted trust.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    /// The trusts.
    pub trusts: Vec<TrustRow>,
    /// What the operator must know about this server first: on a cluster node whose engine
    /// acknowledges before fsync, that an acknowledged decision can be lost.
    pub warning: Option<String>,
}

pub(super) fn percent(part: u64, whole: u64) -> u64 {
    cltd_runtime::percent(part, whole)
}
