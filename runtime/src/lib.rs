//! # cltd-runtime
//!
//! The governance runtime of a digital community land trust. A trust's bylaws are a Wasm
//! component; every transition is a signed action that the host checks (schema, signature,
//! sequence, proposal lifecycle), then hands to the bylaw in a fresh sandboxed instance.
//! The verdict, its effects and the state changes commit together in one durable redb
//! transaction, chained into a blake3-hashed, append-only log that [`verify`] replays.
//!
//! ```no_run
//! use std::sync::Arc;
//! use cltd_runtime::{Action, Charter, Keypair, Runtime, SignedTransition, SystemClock, Trust};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let runtime = Arc::new(Runtime::new(Default::default())?);
//! let wasm = std::fs::read("target/bylaws/classic-clt.wasm")?;
//! let charter = Charter { name: "Riverside Data Trust".into(), params: vec![], founders: vec![], assets: vec![], entrenched: cltd_runtime::Clause::ALL.to_vec(), treasury: None };
//! let mut trust = Trust::create("data/", runtime, charter, &wasm, Box::new(SystemClock))?;
//!
//! let member = Keypair::generate()?;
//! let signed = SignedTransition::sign(&member, trust.id(), 0, Action::LockAsset("census".into()));
//! let receipt = trust.submit(&signed.to_bytes())?; // durable when this returns
//! println!("entry {}: allowed = {}", receipt.index, receipt.verdict.is_allowed());
//! # Ok(()) }
//! ```

#![warn(unreachable_pub)]

mod amendment;
mod audit;
mod bundle;
mod checkpoint;
mod clock;
mod conformance;
mod economy;
mod engine;
mod error;
mod group;
mod host_rules;
mod id;
mod inspect;
mod keyfile;
mod log;
mod merkle;
mod model;
mod native;
mod outcome;
mod par;
mod pipeline;
mod preview;
mod publish;
mod replay;
mod replica;
mod roll;
mod schema;
mod shared_map;
mod snapshot;
mod state;
mod store;
mod succession;
mod transition;
mod tree;
mod trust;
mod witness;

// Running a trust: open or found it, submit signed transitions, read its state.
pub use clock::{Clock, ManualClock, SystemClock, utc};
pub use economy::{
    BudgetLine, EXPENDITURE_CATEGORY, EconKey, EconRecord, INCOME_CATEGORIES, LedgerError, Licence,
    MAX_ACCOUNTS, MAX_FEES, MAX_PROJECTS, MAX_SHARES, Posting, RoundProject, STANDARD_ACCOUNTS,
    TreasuryCharter, audit as audit_ledger, check_fees, money, parse_money, submission_ends,
};
pub use group::{GroupCommitter, Reply};
pub use keyfile::{create_private, read_secret_key, write_secret_key};
pub use shared_map::SharedMap;
pub use state::{Change, TrustState};
pub use store::preview_key;
pub use succession::{Earlier, read_earlier};
pub use transition::{
    CheckedTransition, Keypair, MAX_TRANSITION_BYTES, PREVIEW_DOMAIN, SignedTransition,
    TRANSITION_DOMAIN, TransitionBody, UPLOAD_DOMAIN, UploadSignature,
};
pub use trust::{CheckedUpload, HOST_KEY_FILE, Receipt, STORE_FILE, Snapshot, Trust};

// Replicating a trust's log through an ordered, durable engine.
pub use replica::{
    Envelope, MAX_ENVELOPE_BYTES, MemoryReplicator, NextAppend, ReplicaError, Replicator,
};

// What trusts, proposals and verdicts are (the contract's types and the host's records).
pub use id::{EntryHash, MemberKey, ModuleHash, ParseIdError, TrustId, parse_hash};
pub use model::{
    AccessRequest, Action, ActionKind, Allocation, Allowance, Amendment, Applicant, Appointment,
    Approval, Asset, AssetDraft, AssetKind, BylawInfo, Charter, CharterProblem, Choice,
    ClassCounts, ClassVotes, Clause, Constitution, DataField, Decision, Delegation, Denial,
    Disposal, Effect, Grant, Hash, Key, LicenceTerms, LockStatus, Member, Outcome, Parameter,
    ParameterSpec, Payment, PaymentDirection, Project, ProjectDraft, Proposal, ProposalBody,
    ProposalDraft, ProposalState, ProposalStatus, Proxy, Resolution, Roll, RollProxy, Round,
    RoundTerms, Share, Spending, StakeholderClass, Verdict, View, Vote, Votes, percent,
};
pub use roll::{ProposalRoll, Roster, Voter};

// The host's own rules and the entrenched clauses' floors.
pub use host_rules::{BYLAW_FAILED, MAX_APPLICANTS, MAX_OPEN_PER_PROPOSER};
pub use outcome::{
    AMENDMENT_THRESHOLD, ASSET_LOCK_THRESHOLD, PROCEDURE_CLASS_THRESHOLD, PROCEDURE_CLASS_TURNOUT,
    PROCEDURE_MIN_WINDOW_DAYS, procedure,
};

// Running bylaws: the engine, components, inspection, natively compiled bylaws.
pub use engine::{
    CONTRACT, EngineProfile, Evaluation, MAX_COMPONENT_BYTES, MAX_FUNCTIONS, Runtime, module_hash,
    to_component,
};
pub use inspect::{Check, Inspection, SDK_SECTION, check, inspect};
pub use native::NativeBylaw;

// Amending the bylaws: uploads, the conformance suite, impact previews.
pub use amendment::{COMPILE_TIMEOUT_SECS, Upload, amended_charter};
pub use conformance::{CheckResult, Setting, conformance};
pub use preview::{
    Difference, ImpactPreview, Judgement, MAX_FAILURES, MAX_LISTED_DIFFERENCES, preview,
};

// The log and what a trust publishes of it: entries, the Merkle tree, checkpoints, proofs,
// witnesses.
pub use checkpoint::{Checkpoint, NoteError, NoteSignature, SignedNote, origin, verifier_key};
pub use log::{
    Entry, EntryBody, Genesis, Predecessor, TransitionRecord, entry_hash, entry_hash_of,
};
pub use merkle::{
    TreeHash, consistency_proof, empty_root, entry_leaves, inclusion_proof, leaf_hash, leaves_of,
    node_hash, root, verify_consistency, verify_inclusion,
};
pub use publish::{InForce, LogProof, ProofKind};
pub use witness::{
    WITNESS_KEY_FILE, WITNESS_STORE_FILE, Witness, WitnessError, WitnessedLog,
    add_checkpoint_request,
};

// Verifying: replaying a store, auditing a bundle offline.
pub use audit::{AuditOptions, AuditReport, Explanation, Remembered, audit, explain, explain_with};
pub use bundle::{BUNDLE_MAGIC, BUNDLE_MAGIC_V1, Bundle, BundleError, Location, Manifest};
pub use replay::{Divergence, StoreVerification, VerifyReport, verify, verify_store};

// Errors.
pub use error::{
    CharterError, CharterProblems, CheckpointError, Error, EvalError, LifecycleError, LoadError,
    ProofError, RefusalError, Result, StoreError,
};
