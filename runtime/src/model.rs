//! The trust's data model: the WIT contract's types (generated, shared with bylaws) and the
//! host-only records built around them.

use serde::{Deserialize, Serialize};

use crate::id::ModuleHash;

#[allow(missing_docs, clippy::all)]
mod bindings {
    wasmtime::component::bindgen!({
        world: "bylaw",
        path: "../wit",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq, Eq],
    });
}

pub use bindings::cltd::bylaws::types::{
    AccessRequest, Action, ActionKind, Allocation, Allowance, Amendment, Applicant, Appointment,
    Approval, Asset, AssetDraft, AssetKind, BylawInfo, CharterProblem, Choice, ClassCounts,
    ClassVotes, DataField, Decision, Delegation, Denial, Disposal, LicenceTerms, LockStatus,
    Member, Outcome, Parameter, ParameterSpec, Payment, PaymentDirection, Project, ProjectDraft,
    Proposal, ProposalBody, ProposalDraft, ProposalStatus, Proxy, Resolution, Roll, RollProxy,
    Round, RoundTerms, Share, Spending, StakeholderClass, Verdict, View, Vote, Votes,
};

impl Default for ClassCounts {
    fn default() -> Self {
        ClassCounts::zero()
    }
}

impl Choice {
    /// The byte a ballot is stored as: its case number in the contract's `choice`, which is
    /// also how a roll passes it (`roll.choices`).
    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Choice::Yes => 0,
            Choice::No => 1,
            Choice::Abstain => 2,
        }
    }

    /// The choice a stored byte stands for.
    pub(crate) fn from_byte(b: u8) -> Option<Choice> {
        match b {
            0 => Some(Choice::Yes),
            1 => Some(Choice::No),
            2 => Some(Choice::Abstain),
            _ => None,
        }
    }
}

/// An invariant the host enforces on every bylaw module the trust may adopt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Clause {
    /// Perpetual assets cannot be disposed of without two thirds of the votes cast in each
    /// class.
    AssetLock,
    /// Amendments need at least two thirds of the votes cast.
    AmendmentSupermajority,
    /// One member, one vote: the outcome of an ordinary resolution depends only on how many
    /// yes, no and abstain ballots there are, never on who cast them.
    OneMemberOneVote,
}

impl Clause {
    /// Every clause, in canonical order (the default entrenchment of a new trust).
    pub const ALL: [Clause; 3] = [
        Clause::AssetLock,
        Clause::AmendmentSupermajority,
        Clause::OneMemberOneVote,
    ];

    /// The clause's name, as written on the command line and in amendments.
    pub fn name(self) -> &'static str {
        match self {
            Clause::AssetLock => "asset-lock",
            Clause::AmendmentSupermajority => "amendment-supermajority",
            Clause::OneMemberOneVote => "one-member-one-vote",
        }
    }

    /// Parse a clause name.
    pub fn parse(name: &str) -> Option<Clause> {
        Clause::ALL.into_iter().find(|c| c.name() == name)
    }

    /// What the clause guarantees, in plain language.
    pub fn description(self) -> &'static str {
        match self {
            Clause::AssetLock => {
                "a perpetual asset cannot be disposed of without two thirds of the votes cast in each class"
            }
            Clause::AmendmentSupermajority => {
                "an amendment to the bylaws needs at least two thirds of the votes cast"
            }
            Clause::OneMemberOneVote => {
                "one member, one vote: who casts a ballot never changes an ordinary resolution's outcome"
            }
        }
    }
}

/// A member's ed25519 public key.
pub type Key = [u8; 32];

/// A blake3 hash (of a module, an entry, a set of changes).
pub type Hash = [u8; 32];

/// `part` out of `whole` as a percentage rounded to the nearest whole (halves up: 2 of 3 is
/// 67), 0 when `whole` is 0: for reading only, thresholds are compared exactly. The same
/// rounding as `bylaws_sdk::percent`, so host and bylaw explanations agree.
pub fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    let (part, whole) = (u128::from(part), u128::from(whole));
    u64::try_from((part * 200 + whole) / (whole * 2)).expect("a share of at most 100")
}

/// The rules in force: the bylaw module, the charter parameters it runs with and the clauses
/// the host keeps entrenched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constitution {
    /// Hash of the bylaw component in force.
    pub module: ModuleHash,
    /// Charter parameters passed to it with every action.
    pub charter: Vec<Parameter>,
    /// Entrenched clauses, in canonical order.
    pub entrenched: Vec<Clause>,
}

/// A proposal and what the host recorded about its decision and execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalState {
    /// The proposal as bylaws see it (status, and the host's count of its ballots; the
    /// electorate and ballots are in [`crate::TrustState::rolls`]).
    pub proposal: Proposal,
    /// The rules in force when it opened, frozen with the electorate: every vote, close,
    /// execution and withdrawal of this proposal is judged by this module with this charter,
    /// and the host holds it to these entrenched clauses, whatever amendment passes while it
    /// is pending.
    pub rules: Constitution,
    /// The bylaw's decision when the proposal was closed.
    pub decision: Option<Decision>,
    /// Host time the proposal was closed, withdrawn or executed, most recent last.
    pub closed_at: Option<u64>,
    /// Host time the proposal was executed.
    pub executed_at: Option<u64>,
}

/// A member's access to a data asset, granted by an executed proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Grant number, from 1.
    pub id: u64,
    /// The member granted access.
    pub grantee: Vec<u8>,
    /// The data asset.
    pub asset_id: String,
    /// The fields granted (empty: the whole dataset).
    pub fields: Vec<String>,
    /// The stated purpose.
    pub purpose: String,
    /// The proposal that granted it.
    pub proposal: u64,
    /// Host time the grant took effect.
    pub granted_at: u64,
    /// Host time the grant expires.
    pub expires_at: u64,
}

/// What an allowed transition did, as recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// A proposal opened, with its electorate frozen.
    ProposalOpened {
        /// Proposal number.
        proposal: u64,
        /// End of the voting window.
        closes_at: u64,
        /// Size of the frozen electorate.
        electorate: u64,
    },
    /// A vote was counted.
    VoteRecorded {
        /// Proposal number.
        proposal: u64,
        /// The choice.
        choice: Choice,
    },
    /// A proposal was closed and decided.
    ProposalDecided {
        /// Proposal number.
        proposal: u64,
        /// The outcome.
        outcome: Outcome,
    },
    /// A proposal was withdrawn.
    ProposalWithdrawn {
        /// Proposal number.
        proposal: u64,
    },
    /// A passed proposal was executed.
    ProposalExecuted {
        /// Proposal number.
        proposal: u64,
    },
    /// A member was admitted.
    MemberAdmitted {
        /// The new member's key.
        key: Vec<u8>,
        /// Their class.
        class: StakeholderClass,
    },
    /// A member was removed.
    MemberRemoved {
        /// The member's key.
        key: Vec<u8>,
        /// Their name, as it was (the member record is gone once they are removed).
        name: String,
    },
    /// An asset left the trust.
    AssetDisposed {
        /// The asset.
        asset: String,
        /// Who received it, on what terms.
        recipient: String,
    },
    /// Access to a data asset was granted.
    AccessGranted {
        /// Grant number.
        grant: u64,
        /// When it expires.
        expires_at: u64,
    },
    /// An asset was brought into the trust.
    AssetRegistered {
        /// The asset.
        asset: String,
        /// Its lock status.
        lock: LockStatus,
    },
    /// An asset was put under the perpetual lock.
    AssetLocked {
        /// The asset.
        asset: String,
    },
    /// A member delegated their vote (or, with no delegate, withdrew their delegation).
    Delegated {
        /// The member delegating.
        member: Vec<u8>,
        /// Their delegate and until when, or none when withdrawn.
        proxy: Option<Proxy>,
    },
    /// A member was given a role, or it was taken away.
    RoleChanged {
        /// The member.
        member: Vec<u8>,
        /// The role.
        role: String,
        /// Whether they hold it now.
        holds: bool,
    },
    /// A budget line was adopted.
    LineAdopted {
        /// Its number.
        line: u64,
        /// What it authorises.
        amount: u64,
    },
    /// Money moved between two accounts.
    Transferred {
        /// The account it left.
        from: String,
        /// The account it entered.
        to: String,
        /// How much.
        amount: u64,
    },
    /// A licence took effect.
    Licensed {
        /// Its number.
        licence: u64,
        /// When its term ends.
        expires_at: u64,
    },
    /// A licence was revoked.
    LicenceRevoked {
        /// Its number.
        licence: u64,
    },
    /// A new fee schedule took effect.
    FeesSet {
        /// How many entries it has.
        entries: u32,
    },
    /// A payment was recorded in the ledger.
    PaymentRecorded {
        /// Its number.
        payment: u64,
        /// Income or expenditure.
        direction: PaymentDirection,
        /// The account credited or debited.
        account: String,
        /// How much.
        amount: u64,
    },
    /// A project was submitted to a budgeting round.
    ProjectSubmitted {
        /// The round.
        round: u64,
        /// The project's number in it.
        project: u32,
    },
    /// An approval ballot was cast in a round.
    ApprovalRecorded {
        /// The round.
        round: u64,
        /// How many projects it approves.
        projects: u32,
    },
    /// An amendment activated: these rules are in force from the next transition on.
    BylawsAmended {
        /// Hash of the bylaw component now in force.
        module: ModuleHash,
        /// The charter it runs with (after its `migrate`, if any).
        charter: Vec<Parameter>,
        /// The entrenched clauses from now on.
        entrenched: Vec<Clause>,
    },
}

/// The charter a trust is founded with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Charter {
    /// The trust's name.
    pub name: String,
    /// Parameters passed to the bylaws with every action.
    pub params: Vec<Parameter>,
    /// Founding members.
    pub founders: Vec<Applicant>,
    /// Assets held from the start.
    pub assets: Vec<AssetDraft>,
    /// Clauses the host keeps entrenched against ordinary amendments (see
    /// [`Clause`]); usually all of [`Clause::ALL`].
    pub entrenched: Vec<Clause>,
    /// The treasury: its currency and accounts (none: the trust keeps no ledger, and every
    /// payment is refused).
    #[serde(default)]
    pub treasury: Option<crate::economy::TreasuryCharter>,
}

impl AssetDraft {
    /// The asset this draft registers.
    pub fn to_asset(&self) -> Asset {
        Asset {
            id: self.id.clone(),
            kind: self.kind,
            lock: self.lock,
            description: self.description.clone(),
            fields: self.fields.clone(),
        }
    }
}

impl Applicant {
    /// The member this applicant becomes when admitted at host time `at`.
    pub fn admit(&self, at: u64) -> Member {
        Member {
            key: self.key.clone(),
            name: self.name.clone(),
            class: self.class,
            admitted_at: at,
            proxy: None,
            roles: Vec::new(),
        }
    }
}

impl StakeholderClass {
    /// Every class the contract knows, in canonical order.
    pub const ALL: [StakeholderClass; 6] = [
        StakeholderClass::Resident,
        StakeholderClass::Community,
        StakeholderClass::Public,
        StakeholderClass::Worker,
        StakeholderClass::User,
        StakeholderClass::DataEthicsCouncil,
    ];

    /// The class's name as written in charters and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StakeholderClass::Resident => "resident",
            StakeholderClass::Community => "community",
            StakeholderClass::Public => "public",
            StakeholderClass::Worker => "worker",
            StakeholderClass::User => "user",
            StakeholderClass::DataEthicsCouncil => "data-ethics-council",
        }
    }

    /// Parse a class name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl ClassCounts {
    /// No members in any class.
    pub fn zero() -> ClassCounts {
        ClassCounts {
            resident: 0,
            community: 0,
            public: 0,
            worker: 0,
            user: 0,
            data_ethics_council: 0,
        }
    }

    /// The count for one class.
    pub fn get(&self, class: StakeholderClass) -> u32 {
        match class {
            StakeholderClass::Resident => self.resident,
            StakeholderClass::Community => self.community,
            StakeholderClass::Public => self.public,
            StakeholderClass::Worker => self.worker,
            StakeholderClass::User => self.user,
            StakeholderClass::DataEthicsCouncil => self.data_ethics_council,
        }
    }

    /// The count for one class, to change.
    pub fn get_mut(&mut self, class: StakeholderClass) -> &mut u32 {
        match class {
            StakeholderClass::Resident => &mut self.resident,
            StakeholderClass::Community => &mut self.community,
            StakeholderClass::Public => &mut self.public,
            StakeholderClass::Worker => &mut self.worker,
            StakeholderClass::User => &mut self.user,
            StakeholderClass::DataEthicsCouncil => &mut self.data_ethics_council,
        }
    }
}

impl Votes {
    /// A count with nobody in it.
    pub fn zero() -> Votes {
        let zero = ClassVotes {
            electorate: 0,
            yes: 0,
            no: 0,
            abstain: 0,
            proxy_yes: 0,
            proxy_no: 0,
            proxy_abstain: 0,
        };
        Votes {
            resident: zero,
            community: zero,
            public: zero,
            worker: zero,
            user: zero,
            data_ethics_council: zero,
        }
    }

    /// The count of one class.
    pub fn class(&self, class: StakeholderClass) -> &ClassVotes {
        match class {
            StakeholderClass::Resident => &self.resident,
            StakeholderClass::Community => &self.community,
            StakeholderClass::Public => &self.public,
            StakeholderClass::Worker => &self.worker,
            StakeholderClass::User => &self.user,
            StakeholderClass::DataEthicsCouncil => &self.data_ethics_council,
        }
    }

    /// The count of one class, to change.
    pub fn class_mut(&mut self, class: StakeholderClass) -> &mut ClassVotes {
        match class {
            StakeholderClass::Resident => &mut self.resident,
            StakeholderClass::Community => &mut self.community,
            StakeholderClass::Public => &mut self.public,
            StakeholderClass::Worker => &mut self.worker,
            StakeholderClass::User => &mut self.user,
            StakeholderClass::DataEthicsCouncil => &mut self.data_ethics_council,
        }
    }
}

impl AssetKind {
    /// Every kind, in the contract's order.
    pub const ALL: [AssetKind; 5] = [
        AssetKind::Dataset,
        AssetKind::CodeRepository,
        AssetKind::Platform,
        AssetKind::Domain,
        AssetKind::Server,
    ];

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            AssetKind::Dataset => "dataset",
            AssetKind::CodeRepository => "code-repository",
            AssetKind::Platform => "platform",
            AssetKind::Domain => "domain",
            AssetKind::Server => "server",
        }
    }

    /// Parse a kind name.
    pub fn parse(s: &str) -> Option<Self> {
        AssetKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

impl LockStatus {
    /// The status's name.
    pub fn name(self) -> &'static str {
        match self {
            LockStatus::Perpetual => "perpetual",
            LockStatus::Unlocked => "unlocked",
        }
    }
}

impl Choice {
    /// The choice's name.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Yes => "yes",
            Choice::No => "no",
            Choice::Abstain => "abstain",
        }
    }
}

impl ProposalStatus {
    /// The status's name.
    pub fn name(self) -> &'static str {
        match self {
            ProposalStatus::Open => "open",
            ProposalStatus::Passed => "passed",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Expired => "expired",
            ProposalStatus::Executed => "executed",
            ProposalStatus::Withdrawn => "withdrawn",
        }
    }
}

impl Outcome {
    /// The outcome's name.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Rejected => "rejected",
            Outcome::Expired => "expired",
        }
    }
}

impl ProposalBody {
    /// The proposal kind's name.
    pub fn kind(&self) -> &'static str {
        match self {
            ProposalBody::Ordinary => "ordinary",
            ProposalBody::AdmitMember(_) => "admit-member",
            ProposalBody::RemoveMember(_) => "remove-member",
            ProposalBody::DisposeAsset(_) => "dispose-asset",
            ProposalBody::GrantAccess(_) => "grant-access",
            ProposalBody::AmendBylaws(_) => "amend-bylaws",
            ProposalBody::Resolution(_) => "resolution",
            ProposalBody::AdmitMembers(_) => "admit-members",
            ProposalBody::Appoint(_) => "appoint",
            ProposalBody::Spend(_) => "spend",
            ProposalBody::Allocate(_) => "allocate",
            ProposalBody::BudgetRound(_) => "budget-round",
            ProposalBody::License(_) => "license",
            ProposalBody::RevokeLicence(_) => "revoke-licence",
            ProposalBody::SetFees(_) => "set-fees",
        }
    }
}

impl Verdict {
    /// True when the verdict allows the action.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allow(_))
    }

    /// The denial, if the verdict denies.
    pub fn denial(&self) -> Option<&Denial> {
        match self {
            Verdict::Deny(d) => Some(d),
            Verdict::Allow(_) => None,
        }
    }

    /// The decision, if the verdict allows a close.
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Verdict::Allow(a) => a.decision.as_ref(),
            Verdict::Deny(_) => None,
        }
    }
}

impl Action {
    /// A short name for the action.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The action's kind.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::Propose(_) => ActionKind::Propose,
            Action::Vote(_) => ActionKind::Vote,
            Action::Close(_) => ActionKind::Close,
            Action::Execute(_) => ActionKind::Execute,
            Action::Withdraw(_) => ActionKind::Withdraw,
            Action::RegisterAsset(_) => ActionKind::RegisterAsset,
            Action::LockAsset(_) => ActionKind::LockAsset,
            Action::Delegate(_) => ActionKind::Delegate,
            Action::RecordPayment(_) => ActionKind::RecordPayment,
            Action::SubmitProject(_) => ActionKind::SubmitProject,
            Action::Approve(_) => ActionKind::Approve,
        }
    }

    /// The proposal the action refers to (vote, close, execute, withdraw, and the round
    /// of a project submission or an approval ballot).
    pub fn target(&self) -> Option<u64> {
        match self {
            Action::Vote(v) => Some(v.proposal),
            Action::SubmitProject(p) => Some(p.round),
            Action::Approve(a) => Some(a.round),
            Action::Close(id) | Action::Execute(id) | Action::Withdraw(id) => Some(*id),
            _ => None,
        }
    }
}

impl ActionKind {
    /// The kind's name, as the CLI and explanations write it.
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Propose => "propose",
            ActionKind::Vote => "vote",
            ActionKind::Close => "close",
            ActionKind::Execute => "execute",
            ActionKind::Withdraw => "withdraw",
            ActionKind::RegisterAsset => "register-asset",
            ActionKind::LockAsset => "lock-asset",
            ActionKind::Delegate => "delegate",
            ActionKind::RecordPayment => "record-payment",
            ActionKind::SubmitProject => "submit-project",
            ActionKind::Approve => "approve",
        }
    }
}
