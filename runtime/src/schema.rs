//! Every redb table of a trust's store, in one place.
//!
//! Keys are fixed-width or strings; values are postcard-encoded records. `META` holds the
//! store format version, the trust id and the head of the log.

use redb::TableDefinition;

/// Version of the store layout written by this runtime. 8: bylaws speak contract
/// `cltd:bylaws@0.8` (the treasury, licences and budgeting rounds), the trust's economy is
/// kept in [`ECONOMY`] and the genesis entry names the currency and accounts. 7: bylaws speak contract
/// `cltd:bylaws@0.7` (a roll's keys are words), so a store whose modules speak 0.6 cannot
/// run here. 6: proposals opened with the same
/// electors share one frozen electorate ([`ROSTERS`]), named by digest in the log's state
/// changes, so a log of format 5 digests its openings differently. 5: bylaws speak contract
/// `cltd:bylaws@0.6` (proposals may admit several applicants), so a store whose modules
/// speak 0.5 cannot run here. 4: bylaws speak contract
/// `cltd:bylaws@0.5` (the host's count in the view), a proposal's electorate and ballots are
/// kept in their own tables ([`ELECTORATES`], [`BALLOTS`]) and a vote writes one ballot.
/// 3: proposals carry the rules they were opened under, contract `0.4`, a bylaw's failure
/// is logged.
pub(crate) const STORE_FORMAT: u32 = 8;

/// Store-wide values: `format` (u32 LE), `trust-id`, `head` (size u64 LE ‖ hash ‖ time u64 LE),
/// `constitution` (the rules in force, postcard).
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Log entries by index.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Bylaw components by blake3 hash.
pub(crate) const MODULES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("modules");
/// Members by key.
pub(crate) const MEMBERS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("members");
/// Assets by id.
pub(crate) const ASSETS: TableDefinition<&str, &[u8]> = TableDefinition::new("assets");
/// Proposals by number.
pub(crate) const PROPOSALS: TableDefinition<u64, &[u8]> = TableDefinition::new("proposals");
/// Every electorate a proposal was frozen with (`roll::Roster`, postcard: its electors), by
/// digest: written once, when the first proposal with those electors opens.
pub(crate) const ROSTERS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("rosters");
/// Each proposal's electorate, frozen when it opened: the digest of its roster in
/// [`ROSTERS`], by proposal number.
pub(crate) const ELECTORATES: TableDefinition<u64, &[u8; 32]> =
    TableDefinition::new("proposal_rosters");
/// Ballots cast in person, by proposal number and voter: the choice (0 yes, 1 no,
/// 2 abstain).
pub(crate) const BALLOTS: TableDefinition<(u64, &[u8; 32]), u8> = TableDefinition::new("ballots");
/// Access grants by number.
pub(crate) const GRANTS: TableDefinition<u64, &[u8]> = TableDefinition::new("grants");
/// The economy (see `economy`): records by their postcard-encoded `EconKey`.
pub(crate) const ECONOMY: TableDefinition<&[u8], &[u8]> = TableDefinition::new("economy");
/// Amendment impact previews as immutable records, by [`crate::preview_key`] (the candidate
/// module and the charter it proposes) and the log size they were computed at: never
/// overwritten. Advisory and recomputable from the log, not part of the verified state.
pub(crate) const PREVIEW_RECORDS: TableDefinition<(&[u8; 32], u64), &[u8]> =
    TableDefinition::new("preview_records");
/// Impact previews written by stores before [`PREVIEW_RECORDS`], one per pair, read as the
/// record at their own log size and never written again.
pub(crate) const PREVIEWS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("previews");
/// The log's Merkle tree: every complete subtree's hash by level and index
/// (`crate::tree::node_key`), written with the entries; derived data that `verify` checks.
pub(crate) const TREE: TableDefinition<u64, &[u8; 32]> = TableDefinition::new("tree");
/// Next sequence number by signer key.
pub(crate) const NONCES: TableDefinition<&[u8; 32], u64> = TableDefinition::new("nonces");

/// `META` key of the store format version.
pub(crate) const META_FORMAT: &str = "format";
/// `META` key of the trust id.
pub(crate) const META_TRUST_ID: &str = "trust-id";
/// `META` key of the log head.
pub(crate) const META_HEAD: &str = "head";
/// `META` key of the latest checkpoint note with the cosignatures gathered for it.
pub(crate) const META_CHECKPOINT: &str = "checkpoint";
/// `META` key of the rules in force (module, charter, entrenched clauses).
pub(crate) const META_CONSTITUTION: &str = "constitution";
/// The replication engine's sequence of the last envelope this store applied (u64 LE);
/// absent in a store that was never replicated.
pub(crate) const META_CURSOR: &str = "replica-cursor";
