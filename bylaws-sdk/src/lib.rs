//! # bylaws-sdk
//!
//! Write a community land trust's bylaws in plain Rust. The crate you write implements
//! [`Bylaw`], calls [`export_bylaw!`] once, and builds two ways:
//!
//! - to a Wasm component (`wasm32-unknown-unknown`), which cltd runs in a sandbox for every
//!   transition of the trust;
//! - natively, as an rlib, so its logic is unit-tested with the [`testing`] kit.
//!
//! The host passes each action with a [`View`]: a read-only snapshot of the state the action
//! needs. The bylaw answers with a [`Verdict`]: allow (with a [`Decision`] when closing a
//! proposal) or deny (a [`Reason`]: its code and clause, with a plain-language explanation).
//! Thresholds and quorums use exact [`Ratio`] arithmetic: never floats.
//!
//! ```no_run
//! use bylaws_sdk::{Action, Bylaw, BylawInfo, Parameter, Reason, Verdict, View, allow};
//!
//! bylaws_sdk::reasons! {
//!     /// Every reason these bylaws deny with: declared once, documented in the README.
//!     pub enum Why {
//!         /// Someone who is not a member tried to act.
//!         NotAMember = ("not-a-member", "§1"),
//!     }
//! }
//!
//! struct MembersOnly;
//!
//! impl Bylaw for MembersOnly {
//!     fn evaluate(view: &View, _action: &Action) -> Verdict {
//!         if view.actor_member.is_none() {
//!             return Why::NotAMember.deny("only members may act");
//!         }
//!         allow()
//!     }
//!     fn describe(charter: &[Parameter]) -> BylawInfo {
//!         // No parameters: any key in the charter is reported as unknown.
//!         let report = bylaws_sdk::CharterReader::new(charter).finish();
//!         BylawInfo::new("members-only", "0.1.0", vec![], report)
//!     }
//! }
//!
//! bylaws_sdk::export_bylaw!(MembersOnly);
//! ```
#![deny(missing_docs)]

pub mod arena;
mod charter;
pub mod clauses;
mod ratio;
pub mod reason;
pub mod roll;
mod tally;
pub mod testing;
mod verdict;

#[doc(hidden)]
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "migrating-bylaw",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "__export_bylaw_bindings",
        default_bindings_module: "bylaws_sdk::bindings",
        additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
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
/// Every bylaw built for Wasm with this SDK allocates from a bump [`arena::Arena`]: an
/// instance lives for one call, so nothing needs freeing (feature `arena`, on by default).
#[cfg(all(target_arch = "wasm32", feature = "arena"))]
#[global_allocator]
static ARENA: arena::Arena = arena::Arena::new();

pub use charter::{Bound, Charter, CharterError, CharterReader, CharterReport};
pub use ratio::{Ratio, RatioError, percent};
pub use reason::Reason;
pub use roll::{Ballot, Elector, ElectorProxy, RollKey, key_bytes, roll_key};
pub use tally::{ClassTally, Tally};
pub use verdict::{allow, allow_with_note, decide, decide_with_timelock, deny};

/// Seconds in a day, for windows and durations expressed in days.
pub const DAY: u64 = 86_400;

/// All stakeholder classes the contract knows, in their canonical order. A bylaw says which
/// of them its trust admits.
pub const CLASSES: [StakeholderClass; 6] = [
    StakeholderClass::Resident,
    StakeholderClass::Community,
    StakeholderClass::Public,
    StakeholderClass::Worker,
    StakeholderClass::User,
    StakeholderClass::DataEthicsCouncil,
];

/// A trust's bylaws.
///
/// Both functions must be pure: the same inputs give the same answer on every machine.
pub trait Bylaw {
    /// Decide on `action`, given the snapshot of state in `view`.
    ///
    /// Return [`allow`] (with [`decide`] when the action is [`Action::Close`]) or [`deny`].
    fn evaluate(view: &View, action: &Action) -> Verdict;

    /// Describe the bylaw under `charter`: its name, version and a summary of its rules,
    /// every parameter it reads and every problem it has with `charter` (read it with a
    /// [`CharterReader`] and pass the report to [`BylawInfo::new`]). The host refuses to found
    /// a trust, or to adopt an amendment, with a charter the bylaw reports a problem with.
    fn describe(charter: &[Parameter]) -> BylawInfo;

    /// Called once when an amendment activates this bylaw: turn the charter in force
    /// (`previous`) and the amendment's `proposed` charter into the charter this bylaw runs
    /// with. An `Err` abandons the activation and the old bylaws stay in force.
    ///
    /// The default adopts the proposed charter unchanged.
    fn migrate(previous: &[Parameter], proposed: &[Parameter]) -> Result<Vec<Parameter>, String> {
        let _ = previous;
        Ok(proposed.to_vec())
    }
}

/// Export a type implementing [`Bylaw`] as the component's `cltd:bylaws/migrating-bylaw`
/// world (`evaluate`, `describe` and `migrate`).
///
/// Call it once, at the root of the bylaw crate.
///
/// ```no_run
/// # struct MyBylaw;
/// # impl bylaws_sdk::Bylaw for MyBylaw {
/// #   fn evaluate(_: &bylaws_sdk::View, _: &bylaws_sdk::Action) -> bylaws_sdk::Verdict { bylaws_sdk::allow() }
/// #   fn describe(_: &[bylaws_sdk::Parameter]) -> bylaws_sdk::BylawInfo { unimplemented!() }
/// # }
/// bylaws_sdk::export_bylaw!(MyBylaw);
/// ```
#[macro_export]
macro_rules! export_bylaw {
    ($bylaw:ty) => {
        #[doc(hidden)]
        pub struct __CltdBylawExport;

        impl $crate::bindings::Guest for __CltdBylawExport {
            fn evaluate(view: $crate::View, action: $crate::Action) -> $crate::Verdict {
                <$bylaw as $crate::Bylaw>::evaluate(&view, &action)
            }
            fn describe(charter: ::std::vec::Vec<$crate::Parameter>) -> $crate::BylawInfo {
                <$bylaw as $crate::Bylaw>::describe(&charter)
            }
            fn migrate(
                previous: ::std::vec::Vec<$crate::Parameter>,
                proposed: ::std::vec::Vec<$crate::Parameter>,
            ) -> ::std::result::Result<::std::vec::Vec<$crate::Parameter>, ::std::string::String>
            {
                <$bylaw as $crate::Bylaw>::migrate(&previous, &proposed)
            }
        }

        // The component's exports exist only in the Wasm build, so several bylaws can be
        // linked natively into one program (cltd runs scenarios natively that way).
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::__export_bylaw_bindings!(__CltdBylawExport);

        // Which SDK built this bylaw, as the custom section `cltd-sdk` that
        // `cltd bylaws inspect` reads.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(link_section = "cltd-sdk")]
        #[used]
        static __CLTD_SDK: [u8; $crate::SDK_ID.len()] = $crate::SDK_SECTION;
    };
}

/// The SDK's name and version, as a bylaw built with it records them (custom section
/// `cltd-sdk` of the component).
pub const SDK_ID: &str = concat!("bylaws-sdk ", env!("CARGO_PKG_VERSION"));

/// [`SDK_ID`]'s bytes, as the static the export macro places in the `cltd-sdk` section.
#[doc(hidden)]
pub const SDK_SECTION: [u8; SDK_ID.len()] = {
    let mut out = [0u8; SDK_ID.len()];
    let bytes = SDK_ID.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        out[i] = bytes[i];
        i += 1;
    }
    out
};

impl StakeholderClass {
    /// The class's name as written in charters and explanations.
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
}

impl BylawInfo {
    /// A description with the parameters and problems of `report`, and no action open to
    /// non-members (the host then refuses every action of a key that is not a member).
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        summary: Vec<String>,
        report: CharterReport,
    ) -> BylawInfo {
        BylawInfo {
            name: name.into(),
            version: version.into(),
            summary,
            parameters: report.parameters,
            problems: report.problems,
            open_to_non_members: Vec::new(),
            needs_roll: Vec::new(),
        }
    }

    /// Declare the kinds of action for which this bylaw reads the proposal's whole
    /// electorate and ballots (the view's `roll`). Every other call gets only the host's
    /// count (`proposal.votes`, read through [`Tally`]), which costs the same whatever the
    /// size of the electorate: declare only what the bylaw cannot decide without.
    pub fn needs_roll(mut self, kinds: &[ActionKind]) -> BylawInfo {
        self.needs_roll = kinds.to_vec();
        self
    }

    /// Declare the kinds of action this bylaw judges when a non-member signs them.
    pub fn open_to(mut self, kinds: &[ActionKind]) -> BylawInfo {
        self.open_to_non_members = kinds.to_vec();
        self
    }
}

impl ClassCounts {
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

    /// Members in all classes.
    pub fn total(&self) -> u64 {
        CLASSES.iter().map(|c| u64::from(self.get(*c))).sum()
    }
}

impl Action {
    /// The kind of action (what [`BylawInfo::needs_roll`] and
    /// [`BylawInfo::open_to`] list).
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
}

impl ProposalBody {
    /// The proposal kind's name, as used in clauses and explanations.
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
