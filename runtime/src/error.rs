//! Error families. A bylaw saying "no" is not an error: it is a [`crate::Verdict`].

use thiserror::Error;

/// Loading a bylaw module: decoding, componentizing, validating, compiling, linking.
#[derive(Debug, Error)]
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
    #[error("the component does not fit the cltd:bylaws@0.3 `bylaw` world: {0}")]
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

/// Running a bylaw: the guest failed, or the host could not run it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// The bylaw used up its fuel (for example, it loops forever).
    #[error(
        "the bylaw ran out of fuel after {limit} units (an endless or too-long computation); nothing was committed"
    )]
    OutOfFuel {
        /// The fuel limit per call.
        limit: u64,
    },
    /// The bylaw tried to grow memory or tables beyond the limits.
    #[error("the bylaw exceeded its resource limits ({0}); nothing was committed")]
    ResourceLimit(String),
    /// The bylaw overflowed its stack.
    #[error("the bylaw overflowed its wasm stack; nothing was committed")]
    StackOverflow,
    /// The bylaw trapped (panicked, hit `unreachable`, divided by zero, ...).
    #[error("the bylaw trapped: {0}; nothing was committed")]
    Trap(String),
    /// The bylaw answered something the host cannot accept (e.g. no decision on close).
    #[error("the bylaw gave an invalid answer: {0}; nothing was committed")]
    BadVerdict(String),
    /// wasmtime failed for a reason that is not the guest's.
    #[error("the runtime failed to run the bylaw: {0}")]
    Host(String),
}

/// Reading or writing the store and its log.
#[derive(Debug, Error)]
pub enum StoreError {
    /// redb failed.
    #[error("storage error: {0}")]
    Db(String),
    /// A stored record could not be decoded.
    #[error("corrupt store: {0}")]
    Corrupt(String),
    /// The store was written by a format this runtime does not read.
    #[error(
        "store format version {found} is not supported (this runtime reads version {supported})"
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
    /// An earlier write failed in storage; this handle writes nothing more (a failed fsync
    /// leaves what is on disk unknown, so it is never retried) until the trust is reopened.
    #[error(
        "writes are stopped since a storage write failed ({0}); nothing more is written or acknowledged until the trust is reopened"
    )]
    Stopped(String),
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(StoreError::Db(e.to_string()))
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
    #[error("sequence number {found} for key {key} is not the next one ({expected})")]
    BadSequence {
        /// The signer's key.
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
    Lifecycle(String),
    /// A field is outside what the host accepts (empty id, too long text, ...).
    #[error("invalid action: {0}")]
    Invalid(String),
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
}

/// Any failure of the runtime.
#[derive(Debug, Error)]
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
    #[error("invalid charter: {0}")]
    Charter(String),
    /// This host cannot sign checkpoints: it does not hold the trust's host key.
    #[error("this host does not hold the trust's host key: {0}")]
    HostKey(String),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
