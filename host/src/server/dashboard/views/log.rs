//! The log and audit pages.

use askama::Template;
use cltd_runtime::{EntryBody, SignedTransition, Snapshot, Verdict};

use crate::render::{self, when};
use crate::server::error::ApiError;

use super::*;

/// A log entry in the timeline.
pub struct EntryRow {
    /// Index.
    pub index: u64,
    /// When.
    pub time: String,
    /// Who signed it.
    pub signer: String,
    /// What it asked.
    pub action: String,
    /// `allowed`, `denied` or `genesis`.
    pub verdict: &'static str,
    /// The bylaw's words (reason code and explanation when denied).
    pub explanation: String,
    /// Entry hash (hex).
    pub hash: String,
}

/// `/trusts/{id}/log`.
#[derive(Template)]
#[template(path = "log.html")]
pub struct LogPage {
    /// Navigation.
    pub nav: Nav,
    /// Entries, oldest first.
    pub entries: Vec<EntryRow>,
    /// Log size.
    pub size: u64,
    /// Previous page's start.
    pub prev: Option<u64>,
    /// Next page's start.
    pub next: Option<u64>,
}

impl LogPage {
    /// A page of `t`'s log from `from` (default: the last page).
    pub fn of(t: &Snapshot, from: Option<u64>) -> Result<LogPage, ApiError> {
        let s = t.state();
        let from = from
            .unwrap_or_else(|| s.size.saturating_sub(LOG_PAGE))
            .min(s.size);
        let entries = t.entries(from, LOG_PAGE as usize)?;
        let rows = entries
            .iter()
            .map(|e| {
                let hash = hex::encode(cltd_runtime::entry_hash(e));
                match &e.body {
                    EntryBody::Genesis(g) => EntryRow {
                        index: e.index,
                        time: when(e.time),
                        signer: "founders".into(),
                        action: format!("founded \"{}\"", g.charter.name),
                        verdict: "genesis",
                        explanation: format!(
                            "{} founders, {} assets, module {}",
                            g.charter.founders.len(),
                            g.charter.assets.len(),
                            render::short_hex(&hex::encode(g.module))
                        ),
                        hash,
                    },
                    EntryBody::Transition(rec) => {
                        let body = SignedTransition::decode(&rec.signed).ok().map(|(_, b)| b);
                        let (verdict, explanation) = match &rec.verdict {
                            Verdict::Allow(a) => (
                                "allowed",
                                a.decision.as_ref().map_or_else(
                                    || a.notes.join(" "),
                                    |d| format!("{}: {}", d.outcome.name(), d.explanation),
                                ),
                            ),
                            Verdict::Deny(d) => (
                                "denied",
                                format!("{} ({}): {}", d.code, d.clause, d.explanation),
                            ),
                        };
                        EntryRow {
                            index: e.index,
                            time: when(e.time),
                            signer: body
                                .as_ref()
                                .map_or_else(String::new, |b| render::who(s, b.signer)),
                            action: body
                                .as_ref()
                                .map_or_else(String::new, |b| render::action_text(s, &b.action)),
                            verdict,
                            explanation,
                            hash,
                        }
                    }
                }
            })
            .collect();
        Ok(LogPage {
            nav: Nav::of(t, "log"),
            entries: rows,
            size: s.size,
            prev: (from > 0).then(|| from.saturating_sub(LOG_PAGE)),
            next: (from + LOG_PAGE < s.size).then_some(from + LOG_PAGE),
        })
    }
}

/// `/trusts/{id}/audit`.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// Navigation.
    pub nav: Nav,
    /// The latest checkpoint.
    pub checkpoint: CheckpointView,
    /// Log size now.
    pub size: u64,
}

impl AuditPage {
    /// The audit status of `t`.
    pub fn of(t: &Snapshot) -> Result<AuditPage, ApiError> {
        Ok(AuditPage {
            nav: Nav::of(t, "audit"),
            checkpoint: CheckpointView::of(t)?,
            size: t.state().size,
        })
    }
}
