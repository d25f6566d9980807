//! Founding a trust again from a store an earlier cltd made, which this runtime cannot run
//! (its bylaw modules speak an earlier contract, its log an earlier format).
//!
//! Nothing in the earlier store is changed: it stays as its own record, readable with the
//! cltd that made it. The successor is a new trust whose genesis names the earlier one (its
//! id, and its log's size and head), founded with the earlier trust's name, members (with
//! their classes), assets (with their locks) and entrenched clauses, a bylaw built for this
//! runtime, and the earlier charter with the changes the operator gives: the only way to
//! repair a charter the earlier bylaw could not read. The founding checks apply as to any
//! founding, so the successor keeps every clause the earlier trust entrenched (it cannot be
//! a way to release one) and every perpetual asset stays perpetual. Pending proposals,
//! delegations and grants are not carried over: members propose again under the new rules.

use std::path::Path;

use redb::{ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::de::DeserializeOwned;

use crate::error::StoreError;
use crate::id::{EntryHash, TrustId};
use crate::model::{Asset, Clause, Member, Parameter};
use crate::schema::{ASSETS, MEMBERS, PROPOSALS, STORE_FORMAT};
use crate::store::{STORE_FILE, read_meta};

/// What a successor carries over from an earlier trust's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Earlier {
    /// The store format it was written in.
    pub format: u32,
    /// The earlier trust's id.
    pub trust_id: TrustId,
    /// Its name.
    pub name: String,
    /// Entries in its log.
    pub size: u64,
    /// Hash of its last entry.
    pub head: EntryHash,
    /// The charter in force.
    pub charter: Vec<Parameter>,
    /// The clauses it entrenched (still in force).
    pub entrenched: Vec<Clause>,
    /// Its members, with their classes.
    pub members: Vec<Member>,
    /// The assets it holds, with their locks.
    pub assets: Vec<Asset>,
    /// Proposals it recorded (none is carried over).
    pub proposals: u64,
    /// The treasury the successor founds: none from any earlier store (format 7 and before
    /// kept none); a caller may set one (`cltd init --from DIR --currency EUR`).
    pub treasury: Option<crate::economy::TreasuryCharter>,
}

/// A member as stores before format 8 kept them (no roles).
#[derive(serde::Deserialize)]
struct MemberBefore8 {
    key: Vec<u8>,
    name: String,
    class: crate::model::StakeholderClass,
    admitted_at: u64,
    proxy: Option<crate::model::Proxy>,
}

impl From<MemberBefore8> for Member {
    fn from(m: MemberBefore8) -> Member {
        Member {
            key: m.key,
            name: m.name,
            class: m.class,
            admitted_at: m.admitted_at,
            proxy: m.proxy,
            roles: Vec::new(),
        }
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Read what a successor carries over from the store in data directory `dir`, which must
/// be of an earlier format than this runtime's (a store this runtime runs needs no
/// successor). Reads only.
pub fn read_earlier(dir: &Path) -> Result<Earlier, StoreError> {
    let path = dir.join(STORE_FILE);
    if !path.exists() {
        return Err(StoreError::NotFound(dir.display().to_string()));
    }
    // Read-only: opening for writing would touch the file (and repair it if unclean).
    let db = ReadOnlyDatabase::open(&path)?;
    let txn = db.begin_read()?;
    let meta = read_meta(&txn, |format| {
        if format < STORE_FORMAT {
            Ok(())
        } else {
            Err(StoreError::Corrupt(format!(
                "the store in {} is of format {format}, which this cltd runs: it needs no successor",
                dir.display()
            )))
        }
    })?;
    let mut members = Vec::new();
    for row in txn.open_table(MEMBERS)?.iter()? {
        let row = row?;
        let bytes = row.1.value();
        // Stores before format 8 kept members without roles.
        let member = match decode::<Member>(bytes, "member") {
            Ok(m) => m,
            Err(_) => decode::<MemberBefore8>(bytes, "member")?.into(),
        };
        members.push(member);
    }
    let mut assets = Vec::new();
    for row in txn.open_table(ASSETS)?.iter()? {
        assets.push(decode::<Asset>(row?.1.value(), "asset")?);
    }
    let proposals = txn.open_table(PROPOSALS)?.len()?;
    Ok(Earlier {
        format: meta.format,
        trust_id: meta.id,
        name: meta.name,
        size: meta.size,
        head: meta.head,
        charter: meta.constitution.charter,
        entrenched: meta.constitution.entrenched,
        members,
        assets,
        proposals,
        treasury: None,
    })
}
