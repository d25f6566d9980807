//! Error families. A bylaw saying "no" is not an error: it is a [`crate::Verdict`].

use thiserror::Error;

use crate::clock::utc;

/// Loading a bylaw module: decoding, componentizing, validating, compiling, linking.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The bytes are neither a Wasm core module nor a component.
    #[error("not a WebAssembly module or component: {0}")]
    NotWasm(String),
    /// A core module could not be turned into a component (usually: it was not built
    /// against the `cltd:bylaws` world with wit-bindgen).
    #[error("could not turn the core module into a component: {0}")]
    Componentize(String),
    /// The component is larger than the runtime accepts.
    #[error("bylaw component is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// Size of the component.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The component defines more functions than the runtime compiles (a pathological
    /// component, which would make compiling it slow and large).
    #[error("bylaw component defines {count} functions; the limit is {limit}")]
    TooManyFunctions {
        /// Functions defined across the component's core modules.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// wasmtime refused to compile the component.
    #[error("could not compile the bylaw component: {0}")]
    Compile(String),
    /// The component does not implement the `cltd:bylaws/bylaw` world, or imports anything.
    #[error("the component does not fit the cltd:bylaws@0.8 `bylaw` world: {0}")]
    Link(String),
    /// Compiling the component took longer than the runtime allows.
    #[error("compiling the bylaw component took more than {0} seconds")]
    CompileTimeout(u64),
    /// No module with this hash is stored.
    #[error("no bylaw module with hash {0} is stored")]
    Missing(String),
    /// The stored bytes do not hash to the hash they are stored under.
    #[error("stored bylaw module {expected} hashes to {calculated}: the module store was altered")]
    HashMismatch {
        /// The hash the module is stored under.
        expected: String,
        /// The hash of the bytes found.
        calculated: String,
    },
}

/// Running a bylaw: the guest failed, or the host could not run it. A guest's failure on a
/// signed transition is logged as the host's denial `bylaw-failed` (see
/// [`EvalError::is_guest_failure`]); the host's own failure is an error and writes nothing.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalError {
    /// The bylaw used up its fuel (for example, it loops forever).
    #[error("the bylaw ran out of fuel after {limit} units (an endless or too-long computation)")]
    OutOfFuel {
        /// The fuel limit per call.
        limit: u64,
    },
    /// The bylaw tried to grow memory or tables beyond the limits.
    #[error("the bylaw exceeded its resource limits ({0})")]
    ResourceLimit(String),
    /// The bylaw overflowed its stack.
    #[error("the bylaw overflowed its wasm stack")]
    StackOverflow,
    /// The bylaw trapped (panicked, hit `unreachable`, divided by zero, ...).
    #[error("the bylaw trapped: {0}")]
    Trap(String),
    /// The bylaw answered something the host cannot accept (e.g. no decision on close).
    #[error("the bylaw gave an invalid answer: {0}")]
    BadVerdict(String),
    /// wasmtime failed for a reason that is not the guest's.
    #[error("the runtime failed to run the bylaw: {0}")]
    Host(String),
}

impl EvalError {
    /// True when the bylaw itself failed (fuel, limits, stack, trap, an invalid answer):
    /// deterministic for a given module, input and engine profile, so a replay fails the same
    /// way. False for [`EvalError::Host`].
    pub fn is_guest_failure(&self) -> bool {
        !matches!(self, EvalError::Host(_))
    }
}

/// Reading or writing the store and its log.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// redb failed. Its error is the source, and its text is in this message too, so that
    /// an operator reading one line (a 503, `/readyz`) sees the cause.
    #[error("storage error: {0}")]
    Db(#[source] redb::Error),
    /// A write could not be made, and why (a failed group commit, a stopped committer):
    /// nothing of it was written.
    #[error("storage error: {0}")]
    Unavailable(String),
    /// A stored record could not be decoded.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store was written by a format this runtime does not read.
    #[error(
        "store format version {found} is not supported (this runtime reads version {supported}). {}",
        format_advice(*found, *supported)
    )]
    Format {
        /// The version found.
        found: u32,
        /// The version this runtime reads.
        supported: u32,
    },
    /// A trust already exists at this path.
    #[error("a trust already exists at {0}")]
    Exists(String),
    /// No trust exists at this path.
    #[error("no trust at {0} (create one with `cltd init`)")]
    NotFound(String),
    /// Filesystem error.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An earlier write failed in storage (a failed fsync leaves what is on disk unknown,
    /// so it is never retried), or a replicated envelope did not replay here: this handle
    /// writes nothing more until the trust is reopened. The text says which.
    #[error(
        "writes are stopped ({0}); nothing more is written or acknowledged until the trust is reopened"
    )]
    Stopped(String),
}

/// What to do with a store of another format.
fn format_advice(found: u32, supported: u32) -> &'static str {
    if found < supported {
        "It was made by an earlier cltd, whose bylaw modules (built for an earlier `cltd:bylaws` contract) this cltd cannot run, and whose log it cannot replay. Nothing in it was changed: keep using the cltd that made it (its `cltd export` keeps the history auditable), and found its successor with this one, `cltd --data-dir NEW_DIR init --from THIS_DIR [--bylaw NAME] [--param KEY=VALUE]...`, which carries its name, members, assets, entrenched clauses and charter over (repairing the charter with --param and --unset) and leaves this store unchanged"
    } else {
        "It was made by a newer cltd; nothing in it was changed. Upgrade cltd to open it"
    }
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(StoreError::Db(e.into()))
            }
        }
    )*};
}
db_error!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A transition refused before the bylaw sees it. Nothing is written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusalError {
    /// The bytes do not decode as a signed transition, or are not in canonical form.
    #[error("malformed transition: {0}")]
    Malformed(String),
    /// The transition names a different trust.
    #[error("transition is for trust {found}, not this trust ({expected})")]
    WrongTrust {
        /// This trust's id.
        expected: String,
        /// The id in the transition.
        found: String,
    },
    /// The signature does not verify under the signer's key.
    #[error("signature does not verify for key {0}")]
    BadSignature(String),
    /// The sequence number is not the signer's next one (replayed or skipped).
    #[error("sequence number {found} for {key} is not the next one ({expected})")]
    BadSequence {
        /// The signer, as the trust knows them (a name, or a short key).
        key: String,
        /// The next expected sequence number.
        expected: u64,
        /// The sequence number found.
        found: u64,
    },
    /// The action refers to something that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The action breaks the proposal lifecycle or voting rules the host owns.
    #[error("{0}")]
    Lifecycle(LifecycleError),
    /// A field is outside what the host accepts (empty id, too long text, ...).
    #[error("invalid action: {0}")]
    Invalid(String),
    /// The treasury ledger refuses it (an account would go negative, a line would be
    /// overspent, an unknown account or currency, no budget line named).
    #[error("the ledger refuses it: {0}")]
    Ledger(crate::economy::LedgerError),
    /// An amendment cannot be proposed or activated: its module is not uploaded, has no
    /// impact preview, or its `migrate` failed. The rules in force stay in force.
    #[error("amendment refused: {0}")]
    Amendment(String),
    /// The candidate bylaw breaks an entrenched clause (it failed a conformance vector).
    #[error("the candidate breaks entrenched clause `{clause}`: {vector}; the candidate {detail}")]
    Entrenched {
        /// The clause's name.
        clause: String,
        /// The vector that failed.
        vector: String,
        /// What the candidate did.
        detail: String,
    },
    /// The candidate bylaw cannot run with the amendment's charter.
    #[error("amendment refused: {0}")]
    Charter(CharterProblems),
    /// The signer is not a member, and the bylaws in force open this kind of action to
    /// members only. Nothing is written, so strangers cannot grow a trust's log.
    #[error(
        "{who} is not a member of this trust; the bylaws judge `{action}` only from members, so it was refused without trace"
    )]
    NotAMember {
        /// The signer, as the trust knows them (a short key).
        who: String,
        /// The action's kind.
        action: &'static str,
    },
    /// The bylaws judged a non-member's action (of a kind they open to non-members) and did
    /// not allow it. Only what the bylaws allow a non-member is logged.
    #[error(
        "the bylaws do not allow `{action}` from {who}, who is not a member ({code}): {explanation}; a non-member's refused action leaves no trace"
    )]
    NotAllowedToNonMember {
        /// The signer (a short key).
        who: String,
        /// The action's kind.
        action: &'static str,
        /// The bylaw's reason code (`bylaw-failed` when it failed to judge).
        code: String,
        /// The bylaw's explanation.
        explanation: String,
    },
}

/// A charter that a bylaw cannot run with: every parameter it does not read, every value it
/// cannot parse or that is out of the range it accepts, each with what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharterProblems {
    /// The bylaw's name (as its `describe` gives it).
    pub bylaw: String,
    /// Each problem, by parameter key.
    pub problems: Vec<crate::model::CharterProblem>,
}

impl std::fmt::Display for CharterProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} cannot run with this charter:", self.bylaw)?;
        for p in &self.problems {
            write!(f, "\n  - `{}`: {}", p.key, p.problem)?;
        }
        Ok(())
    }
}

/// Why a trust cannot be founded with a charter. Nothing is written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CharterError {
    /// The charter breaks the host's own rules (a name, founders' keys, assets, bounds on
    /// parameters).
    #[error("invalid charter: {0}")]
    Invalid(String),
    /// The founding bylaw cannot run with the charter's parameters.
    #[error("invalid charter: {0}")]
    Problems(CharterProblems),
    /// The founding bylaw, with this charter, breaks a clause the charter entrenches (it
    /// failed a conformance vector): the trust would claim a guarantee that does not hold.
    #[error(
        "the charter entrenches `{clause}`, but the bylaw with this charter breaks it: {vector}; the bylaw {detail}. Entrench fewer clauses (`--entrench`) or choose parameters that keep it"
    )]
    Entrenched {
        /// The clause's name.
        clause: String,
        /// The vector that failed.
        vector: String,
        /// What the bylaw did.
        detail: String,
    },
}

use crate::replica::ReplicaError;

/// Any failure of the runtime.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`LoadError`].
    #[error(transparent)]
    Load(#[from] LoadError),
    /// See [`EvalError`].
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
    /// See [`RefusalError`].
    #[error(transparent)]
    Refused(#[from] RefusalError),
    /// The charter given at creation is invalid.
    #[error(transparent)]
    Charter(#[from] CharterError),
    /// This host cannot sign checkpoints: it does not hold the trust's host key.
    #[error("this host does not hold the trust's host key: {0}")]
    HostKey(String),
    /// A checkpoint could not be stored, or a proof about the log could not be made.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The replication engine did not take a batch (nothing of it is acknowledged), or did
    /// not give an envelope.
    #[error(transparent)]
    Replica(#[from] crate::replica::ReplicaError),
    /// An envelope from the replication engine does not replay on this node: the trust is
    /// stopped here (it takes no more writes and applies nothing more) until an operator
    /// looks.
    #[error(
        "the replicated log diverges from this node's replay at {0}; this node stopped the trust"
    )]
    Diverged(crate::replay::Divergence),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Checkpoints and proofs about a trust's log.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A note offered as this log's checkpoint is for another size or root (code
    /// `stale-checkpoint`, HTTP 409).
    #[error("the note is not this log's current checkpoint")]
    NotCurrent,
    /// A note offered as this log's checkpoint is not signed by the trust's host key (code
    /// `bad-signature`, HTTP 401).
    #[error("the checkpoint is not signed by the trust's host key: {0}")]
    Unsigned(String),
    /// The entry asked for is not in the log (code `not-found`, HTTP 404).
    #[error("entry {index} is not in the log of {size} entries")]
    NoSuchEntry {
        /// The entry asked for.
        index: u64,
        /// The log's size.
        size: u64,
    },
    /// A consistency proof from more entries than the log has (code `not-found`, HTTP 404).
    #[error("the log has {size} entries, fewer than {old}")]
    Larger {
        /// The older size asked for.
        old: u64,
        /// The log's size.
        size: u64,
    },
    /// A proof the log built did not check against its own root: the store is damaged
    /// (code `internal`, HTTP 500).
    #[error("a proof built from the stored log does not verify: {0}")]
    Unsound(#[from] ProofError),
}

impl RefusalError {
    /// The stable code of this refusal, as the API sends it (`docs/api.md` lists each with
    /// its HTTP status): `malformed` and `wrong-trust` (400), `bad-signature` (401),
    /// `not-a-member` (403), `not-found` (404), `bad-sequence` and `lifecycle` (409),
    /// `invalid`, `amendment`, `entrenched-clause` and `bad-charter` (422).
    pub fn code(&self) -> &'static str {
        match self {
            RefusalError::Malformed(_) => "malformed",
            RefusalError::WrongTrust { .. } => "wrong-trust",
            RefusalError::BadSignature(_) => "bad-signature",
            RefusalError::BadSequence { .. } => "bad-sequence",
            RefusalError::NotFound(_) => "not-found",
            RefusalError::Lifecycle(_) => "lifecycle",
            RefusalError::Invalid(_) => "invalid",
            RefusalError::Ledger(_) => "ledger",
            RefusalError::Amendment(_) => "amendment",
            RefusalError::Entrenched { .. } => "entrenched-clause",
            RefusalError::Charter(_) => "bad-charter",
            RefusalError::NotAMember { .. } | RefusalError::NotAllowedToNonMember { .. } => {
                "not-a-member"
            }
        }
    }
}

impl Error {
    /// The stable code of this error, as the API sends it and a scenario step expects it.
    /// Besides the refusals' codes ([`RefusalError::code`]): `bylaw-failed` and `module`
    /// (422) for a bylaw that failed or could not be loaded, `bad-charter` and
    /// `entrenched-clause` (422) for a charter refused, `invalid` (422) for a proof asked
    /// beyond the log, `writes-stopped` (503) after a storage fault, `cluster-conflict`,
    /// `cluster-ambiguous` and `cluster-unavailable` (503) when the replication engine did not
    /// take a batch, `diverged` (503) when a replicated envelope does not replay here, and
    /// `internal` (500) for the host's own faults (storage, the host key, a checkpoint it
    /// cannot store).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Refused(r) => r.code(),
            Error::Eval(_) => "bylaw-failed",
            Error::Load(_) => "module",
            Error::Store(StoreError::Stopped(_)) => "writes-stopped",
            Error::Charter(CharterError::Entrenched { .. }) => "entrenched-clause",
            Error::Charter(_) => "bad-charter",
            Error::Checkpoint(
                CheckpointError::NoSuchEntry { .. } | CheckpointError::Larger { .. },
            ) => "invalid",
            Error::Replica(ReplicaError::Conflict { .. }) => "cluster-conflict",
            Error::Replica(ReplicaError::Ambiguous(_)) => "cluster-ambiguous",
            Error::Replica(_) => "cluster-unavailable",
            Error::Diverged(_) => "diverged",
            Error::Store(_) | Error::HostKey(_) | Error::Checkpoint(_) => "internal",
        }
    }
}

/// Why a proof does not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The index or sizes are impossible (index beyond the tree, old size beyond new).
    #[error("impossible proof parameters: {0}")]
    Bounds(String),
    /// The proof has the wrong number of hashes for its sizes.
    #[error("the proof has the wrong length for its sizes")]
    Length,
    /// The proof does not lead to the expected root.
    #[error("the proof does not lead to the expected root hash")]
    Mismatch,
}

/// The proposal lifecycle and voting rules the host owns (API code `lifecycle`, HTTP 409):
/// the action is well formed, but the trust is not in a state that allows it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleError {
    /// The proposer already has the most open proposals one member may have.
    #[error(
        "{who} already has {open} open proposals, the most one member may have at once; close or withdraw one first"
    )]
    TooManyOpen {
        /// The proposer, as the trust knows them.
        who: String,
        /// Their open proposals.
        open: usize,
    },
    /// A vote on a proposal that is not open.
    #[error("proposal {proposal} is {status}, not open for voting")]
    NotOpenForVoting {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: &'static str,
    },
    /// A vote after the voting window ended.
    #[error("voting on proposal {proposal} closed at {} (now {})", utc(*.closes_at), utc(*.now))]
    VotingClosed {
        /// The proposal.
        proposal: u64,
        /// When its window ended.
        closes_at: u64,
        /// Host time now.
        now: u64,
    },
    /// A vote from a key outside the electorate frozen when the proposal opened.
    #[error("{who} is not in the electorate frozen when proposal {proposal} opened")]
    NotInElectorate {
        /// The voter.
        who: String,
        /// The proposal.
        proposal: u64,
    },
    /// A vote from an elector who has since stopped being a member.
    #[error(
        "{who} is no longer a member; the electorate of proposal {proposal} stays as frozen, but only members vote"
    )]
    NoLongerMember {
        /// The voter.
        who: String,
        /// The proposal.
        proposal: u64,
    },
    /// A second vote by the same elector.
    #[error("{who} has already voted on proposal {proposal}")]
    AlreadyVoted {
        /// The voter.
        who: String,
        /// The proposal.
        proposal: u64,
    },
    /// A close of a proposal that is no longer open.
    #[error("proposal {proposal} is already {status}")]
    AlreadyClosed {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: &'static str,
    },
    /// A close before the voting window ended.
    #[error("voting on proposal {proposal} is open until {} (now {})", utc(*.closes_at), utc(*.now))]
    StillOpen {
        /// The proposal.
        proposal: u64,
        /// When its window ends.
        closes_at: u64,
        /// Host time now.
        now: u64,
    },
    /// An execution of a proposal already executed.
    #[error("proposal {proposal} was already executed")]
    AlreadyExecuted {
        /// The proposal.
        proposal: u64,
    },
    /// An execution of a proposal that did not pass.
    #[error("proposal {proposal} is {status}; only a passed proposal can be executed")]
    NotPassed {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: &'static str,
    },
    /// An execution before the timelock the rules in force set has run out.
    #[error(
        "proposal {proposal} is timelocked until {} (now {}): the rules in force set a wait between passing and executing it",
        utc(*.until),
        utc(*.now)
    )]
    Timelocked {
        /// The proposal.
        proposal: u64,
        /// When it may be executed.
        until: u64,
        /// Host time now.
        now: u64,
    },
    /// Admitting an applicant who is already a member.
    #[error("the applicant is already a member")]
    AlreadyMember,
    /// Admitting a list of applicants, one of whom is already a member.
    #[error("{who} is already a member: a list of applicants is admitted whole or not at all")]
    ApplicantIsMember {
        /// The applicant.
        who: String,
    },
    /// Removing a member who is no longer one.
    #[error("the member to remove is no longer a member")]
    AlreadyRemoved,
    /// Disposing of, or granting access to, an asset the trust no longer holds.
    #[error("the trust no longer holds asset `{asset}`")]
    AssetGone {
        /// The asset id.
        asset: String,
    },
    /// A disposal whose asset came under the perpetual lock after it was decided, and whose
    /// vote falls short of the lock's floor.
    #[error(
        "proposal {proposal} cannot be executed: {shortfall}. The asset came under the perpetual lock after the disposal was decided"
    )]
    LockedSinceDecided {
        /// The proposal.
        proposal: u64,
        /// Where the vote falls short of the entrenched floor.
        shortfall: String,
    },
    /// A withdrawal of a proposal that is not open.
    #[error("proposal {proposal} is {status}, only an open proposal can be withdrawn")]
    NotWithdrawable {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: &'static str,
    },
    /// Registering an asset id the trust already holds.
    #[error("the trust already holds an asset `{asset}`")]
    AssetExists {
        /// The asset id.
        asset: String,
    },
    /// A delegation by someone who is not a member.
    #[error("{who} is not a member, so has no vote to delegate")]
    NoVoteToDelegate {
        /// The signer.
        who: String,
    },
    /// A delegation to someone who is not a member.
    #[error("the delegate, {who}, is not a member")]
    DelegateNotMember {
        /// The delegate.
        who: String,
    },
    /// Withdrawing a delegation when none is in force.
    #[error("there is no delegation in force to withdraw")]
    NoDelegation,
}
