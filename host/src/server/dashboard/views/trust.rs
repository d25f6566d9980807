//! The trust pages: overview (with its checkpoint), members, assets and grants.

use askama::Template;
use cltd_runtime::{Checkpoint, LockStatus, MemberKey, ProposalStatus, Snapshot, StakeholderClass};

use crate::render::{self, when};
use crate::server::error::ApiError;
use crate::wire::{MEMBERS_PAGE_MAX, member_page};

use super::*;

/// The latest checkpoint and what this server checked of it.
pub struct CheckpointView {
    /// The signed note, as text.
    pub note: String,
    /// Entries it covers.
    pub size: u64,
    /// Its root (base64).
    pub root: String,
    /// Witness cosignatures on it.
    pub cosignatures: usize,
    /// The host key's signature verifies.
    pub signed: bool,
    /// Its root is the root of the first `size` entries of the log as stored now.
    pub consistent: bool,
}

impl CheckpointView {
    pub(super) fn of(t: &Snapshot) -> Result<CheckpointView, ApiError> {
        use base64::Engine;
        let note = t.latest_checkpoint()?;
        let cp = Checkpoint::parse(&note.text)
            .map_err(|e| ApiError::internal(format!("the stored checkpoint: {e}")))?;
        let origin = cltd_runtime::origin(&t.id());
        let signed = note.verify(&origin, &t.host_key()?).is_ok();
        let consistent = t.root_at(cp.size)? == Some(cp.root);
        Ok(CheckpointView {
            note: note.to_string(),
            size: cp.size,
            root: base64::engine::general_purpose::STANDARD.encode(cp.root),
            cosignatures: note.signatures.len().saturating_sub(1),
            signed,
            consistent,
        })
    }
}

/// `/trusts/{id}`: the trust at a glance.
#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    /// Navigation.
    pub nav: Nav,
    /// Module in force (hex).
    pub module: String,
    /// Log entries.
    pub size: u64,
    /// Head hash (hex).
    pub head: String,
    /// Host time of the last entry.
    pub time: String,
    /// Charter parameters set explicitly.
    pub charter: Vec<(String, String)>,
    /// Entrenched clauses.
    pub entrenched: Vec<&'static str>,
    /// Members per class.
    pub classes: Vec<(&'static str, usize)>,
    /// Assets, and how many are locked.
    pub assets: (usize, usize),
    /// Open proposals.
    pub open: Vec<ProposalRow>,
    /// The latest checkpoint.
    pub checkpoint: CheckpointView,
}

impl OverviewPage {
    /// The overview of `t`.
    pub fn of(t: &Snapshot) -> Result<OverviewPage, ApiError> {
        let s = t.state();
        Ok(OverviewPage {
            nav: Nav::of(t, "overview"),
            module: hex::encode(s.module),
            size: s.size,
            head: hex::encode(s.head),
            time: when(s.time),
            charter: s
                .charter
                .iter()
                .map(|p| (p.key.clone(), p.value.clone()))
                .collect(),
            entrenched: s.entrenched.iter().map(|c| c.name()).collect(),
            classes: render::classes_of(s)
                .iter()
                .map(|c| (c.name(), s.counts.get(*c) as usize))
                .collect(),
            assets: (
                s.assets.len(),
                s.assets
                    .values()
                    .filter(|a| a.lock == LockStatus::Perpetual)
                    .count(),
            ),
            open: s
                .proposals
                .values()
                .filter(|p| p.proposal.status == ProposalStatus::Open)
                .map(|p| ProposalRow::of(s, p))
                .collect(),
            checkpoint: CheckpointView::of(t)?,
        })
    }
}

/// A member in a table.
pub struct MemberRow {
    /// Name.
    pub name: String,
    /// Key (hex).
    pub key: String,
    /// When admitted.
    pub admitted: String,
    /// Their delegation in force, in words (empty: they vote in person).
    pub proxy: String,
}

/// `/trusts/{id}/members`: a page of members (at most [`MEMBERS_PAGE_MAX`]), in key order,
/// of one class or all.
#[derive(Template)]
#[template(path = "members.html")]
pub struct MembersPage {
    /// Navigation.
    pub nav: Nav,
    /// Each class listed, its members in the whole trust, and its members on this page.
    pub classes: Vec<(&'static str, u32, Vec<MemberRow>)>,
    /// The class asked for (`?class=`), if any.
    pub class: Option<&'static str>,
    /// Whether this page starts after the first member (`?after=`).
    pub later: bool,
    /// The query of the next page, when more members remain.
    pub next: Option<String>,
}

impl MembersPage {
    /// The members of `t` after key `after`, of `class` only if one is given.
    pub fn of(
        t: &Snapshot,
        class: Option<StakeholderClass>,
        after: Option<&MemberKey>,
    ) -> MembersPage {
        let s = t.state();
        let (page, next) = member_page(s, class, after, MEMBERS_PAGE_MAX);
        let listed: Vec<StakeholderClass> = match class {
            Some(c) => vec![c],
            None => render::classes_of(s),
        };
        MembersPage {
            nav: Nav::of(t, "members"),
            classes: listed
                .into_iter()
                .map(|c| {
                    let rows = page
                        .iter()
                        .filter(|m| m.class == c)
                        .map(|m| MemberRow {
                            name: m.name.clone(),
                            key: hex::encode(&m.key),
                            admitted: when(m.admitted_at),
                            proxy: m.proxy.as_ref().map_or_else(String::new, |p| {
                                format!("{} until {}", render::who(s, &p.delegate), when(p.until))
                            }),
                        })
                        .collect();
                    (c.name(), s.counts.get(c), rows)
                })
                .collect(),
            class: class.map(StakeholderClass::name),
            later: after.is_some(),
            next: next.map(|key| match class {
                Some(c) => format!("class={}&after={key}", c.name()),
                None => format!("after={key}"),
            }),
        }
    }
}

/// An asset in a table.
pub struct AssetRow {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: &'static str,
    /// Lock status name.
    pub lock: &'static str,
    /// Under the perpetual lock.
    pub locked: bool,
    /// Description.
    pub description: String,
    /// A dataset's fields, personal ones marked.
    pub fields: String,
}

/// An access grant in a table.
pub struct GrantRow {
    /// Grant number.
    pub id: u64,
    /// The grantee's name.
    pub grantee: String,
    /// The dataset.
    pub asset: String,
    /// The fields granted, in words.
    pub fields: String,
    /// The personal fields among them (empty: none).
    pub personal: String,
    /// The stated purpose.
    pub purpose: String,
    /// The proposal that granted it.
    pub proposal: u64,
    /// When it expires.
    pub expires: String,
    /// Whether it has expired.
    pub expired: bool,
}

/// `/trusts/{id}/assets`.
#[derive(Template)]
#[template(path = "assets.html")]
pub struct AssetsPage {
    /// Navigation.
    pub nav: Nav,
    /// The assets.
    pub assets: Vec<AssetRow>,
    /// Every access grant, newest first: each member can see who uses which data.
    pub grants: Vec<GrantRow>,
}

impl AssetsPage {
    /// The assets of `t`.
    pub fn of(t: &Snapshot) -> AssetsPage {
        AssetsPage {
            nav: Nav::of(t, "assets"),
            assets: t
                .state()
                .assets
                .values()
                .map(|a| AssetRow {
                    id: a.id.clone(),
                    kind: a.kind.name(),
                    lock: a.lock.name(),
                    locked: a.lock == LockStatus::Perpetual,
                    description: a.description.clone(),
                    fields: render::dataset_fields(
                        a.fields.iter().map(|f| (f.name.as_str(), f.personal)),
                    ),
                })
                .collect(),
            grants: {
                let s = t.state();
                s.grants
                    .values()
                    .rev()
                    .map(|g| GrantRow {
                        id: g.id,
                        grantee: render::who(s, &g.grantee),
                        asset: g.asset_id.clone(),
                        fields: render::fields_text(&g.fields),
                        personal: render::personal_fields(s, g).join(", "),
                        purpose: g.purpose.clone(),
                        proposal: g.proposal,
                        expires: when(g.expires_at),
                        expired: g.expires_at <= t.now(),
                    })
                    .collect()
            },
        }
    }
}
