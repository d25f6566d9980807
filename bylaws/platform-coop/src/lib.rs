//! # platform-coop
//!
//! The bylaws of a platform cooperative, owned by the people who work on the platform
//! (`worker`) and the people who use it (`user`).
//!
//! - §1 Only members act.
//! - §2 Resolutions pass by more than half of the votes cast, with a quorum of a third of the
//!   electorate, after a window of 7 to 60 days. Votes cast by proxy count (§4).
//! - §3 Membership: workers and users, admitted or removed by ordinary resolution.
//! - §4 Proxy voting: a member may delegate their vote to another member of the same class,
//!   for at most 365 days. A delegation counts on the proposals opened while it is in force,
//!   if it is still in force when voting closes and the delegate votes in person; a member's
//!   own ballot always overrides their delegate's; delegations do not chain. Withdrawing a
//!   delegation takes effect on proposals opened afterwards.
//! - §5 Surplus allocation: an `allocate` proposal moves a surplus out of an account into
//!   others in the treasury's ledger (at least the charter's minimum shares to the reserve
//!   and to community projects, a quarter each by default), and needs more than half of the
//!   votes cast in *both* classes.
//! - §6 Disposing of a perpetual asset needs two thirds of the votes cast in both classes.
//! - §7 Data access: to a member, for a stated purpose, for at most 365 days.
//! - §8 Only the proposer withdraws a proposal.
//! - §9 Amendments need two thirds of the votes cast, a quorum of half the electorate, a
//!   30-day window and a 7-day timelock.
//! - §10 The commons economy: payments are recorded by a member holding the treasurer role
//!   (given by an `appoint` resolution); budget lines (`spend`) pass as resolutions; a fee
//!   schedule keeps a free membership tier and needs two thirds of the votes cast for a fee
//!   above the cap; a budgeting round selects its projects by the Method of Equal Shares
//!   (or greedy) from its approval ballots. The cooperative makes no licences to third
//!   parties.

use bylaws_sdk::clauses::commons::Commons;
use bylaws_sdk::clauses::{self, Amendments, Reach};
use bylaws_sdk::{
    Action, Applicant, AssetKind, Bound, Bylaw, BylawInfo, CharterReader, CharterReport, DAY,
    Delegation, LockStatus, Parameter, Proposal, ProposalBody, ProposalDraft, Ratio, Reason,
    StakeholderClass, Tally, Verdict, View, allow, allow_with_note,
};

bylaws_sdk::reasons! {
    /// Every reason these bylaws deny an action with, with the clause that applies: the
    /// README's "Rejects when" lists exactly these.
    pub enum Why {
        /// §1: a non-member proposes, registers or locks an asset, or delegates (the host
        /// refuses a non-member's actions first, so a trust does not meet it).
        NotAMember = ("not-a-member", "§1 members act"),
        /// §2: a proposal without a title.
        MissingTitle = ("missing-title", "§2"),
        /// §2: a close names no proposal (the host refuses these first).
        NoProposal = ("no-proposal", "§2"),
        /// §2: a resolution of any kind (these bylaws define none of their own).
        UnknownResolution = ("unknown-resolution", "§2 resolutions"),
        /// §2: a window below the minimum.
        WindowTooShort = ("window-too-short", "§2 resolutions"),
        /// §2: a window beyond `max-window-days`.
        WindowTooLong = ("window-too-long", "§2 resolutions"),
        /// §3: an applicant who is neither worker nor user.
        ClassNotAdmitted = ("class-not-admitted", "§3 membership"),
        /// §3: the applicant is already a member.
        AlreadyAMember = ("already-a-member", "§3 membership"),
        /// §3: removal of a non-member.
        NotAMemberToRemove = ("not-a-member", "§3 membership"),
        /// §4: a delegate who is not a member.
        DelegateNotAMember = ("not-a-member", "§4 proxies"),
        /// §4: delegating to a member of the other class.
        ProxyOtherClass = ("proxy-other-class", "§4 proxies"),
        /// §4: a delegation longer than `proxy-max-days`.
        ProxyTooLong = ("proxy-too-long", "§4 proxies"),
        /// §5: an allocation giving the reserve or community projects less than its minimum.
        BelowMinimumShare = ("below-minimum-share", "§5 surplus allocation"),
        /// §6: disposing of an asset the cooperative does not hold.
        NoSuchAsset = ("no-such-asset", "§6 asset lock"),
        /// §6: locking an asset that is already perpetual.
        AlreadyLocked = ("already-locked", "§6 asset lock"),
        /// §7: a grant for something that is not a dataset.
        NotADataAsset = ("not-a-data-asset", "§7 data access"),
        /// §7: a grant for a non-member (when proposed or executed).
        GranteeNotAMember = ("grantee-not-a-member", "§7 data access"),
        /// §7: a grant without a stated purpose.
        MissingPurpose = ("missing-purpose", "§7 data access"),
        /// §7: a grant that lasts no time at all.
        GrantTooShort = ("grant-too-short", "§7 data access"),
        /// §7: a grant longer than `access-max-days`.
        GrantTooLong = ("grant-too-long", "§7 data access"),
        /// §8: a withdrawal by someone other than the proposer.
        NotTheProposer = ("not-the-proposer", "§8 withdrawal"),
        /// §9: an amendment with a window below the amendment minimum.
        AmendmentWindowTooShort = ("window-too-short", "§9 amendments"),
        /// §10: a payment recorded by a member without the treasurer role.
        NotTreasurer = ("not-treasurer", "§10 treasury"),
        /// §10: a fee schedule without a free membership tier, while equitable access holds.
        NoFreeTier = ("no-free-tier", "§10 fees"),
        /// §10: a licence to a third party (the cooperative makes none).
        NoLicences = ("no-licences", "§10 treasury"),
        /// The charter cannot be read (founding and amendments refuse such a charter).
        BadCharter = ("bad-charter", "charter"),
    }
}

/// The platform cooperative bylaw.
pub struct PlatformCoop;

// Exported only in the Wasm build: natively the crate is a plain library.
#[cfg(all(feature = "export", target_arch = "wasm32"))]
bylaws_sdk::export_bylaw!(PlatformCoop);

/// The classes of a platform cooperative.
pub const CLASSES: [StakeholderClass; 2] = [StakeholderClass::Worker, StakeholderClass::User];

/// The bylaw's parameters, read from the charter (defaults in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `majority` [1/2]: share of votes cast that must be exceeded (overall, and in each
    /// class for a surplus allocation).
    pub majority: Ratio,
    /// `quorum` [1/3]: share of the electorate that must take part (proxies included).
    pub quorum: Ratio,
    /// `min-window-days` [7].
    pub min_window_days: u64,
    /// `max-window-days` [60].
    pub max_window_days: u64,
    /// `proxy-max-days` [365]: the longest a delegation may last.
    pub proxy_max_days: u64,
    /// `disposal-threshold` [2/3]: share of votes cast needed in each class.
    pub disposal_threshold: Ratio,
    /// `access-max-days` [365].
    pub access_max_days: u64,
    /// `amendment-threshold` [2/3], `amendment-quorum` [1/2], `amendment-min-window-days`
    /// [30], `amendment-timelock-days` [7]: how amendments are decided (§9).
    pub amendments: Amendments,
    /// The commons economy's parameters (§5, §10; see [`Commons`]).
    pub commons: Commons,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            majority: Ratio::of(1, 2),
            quorum: Ratio::of(1, 3),
            min_window_days: 7,
            max_window_days: 60,
            proxy_max_days: 365,
            disposal_threshold: Ratio::of(2, 3),
            access_max_days: 365,
            amendments: Amendments::DEFAULT,
            commons: Commons::read(&mut CharterReader::new(&[]), "§10", false),
        }
    }
}

/// The longest window, delegation, grant or timelock any parameter may set: ten years, the
/// host's limit on a voting window.
const MAX_DAYS: u64 = 3_650;

impl Params {
    /// Read (and declare) every parameter from `r`, which records each problem.
    pub fn read(r: &mut CharterReader<'_>) -> Params {
        let d = Params::default();
        let (half, above_zero, one) = (
            Bound::AtLeast(Ratio::of(1, 2)),
            Bound::Above(Ratio::ZERO),
            Bound::AtMost(Ratio::ONE),
        );
        let p = Params {
            majority: r.ratio(
                "majority",
                d.majority,
                half,
                Bound::Below(Ratio::ONE),
                "§2 share of votes cast a resolution must exceed (in each class for a surplus allocation)",
            ),
            quorum: r.ratio(
                "quorum",
                d.quorum,
                above_zero,
                one,
                "§2 share of the electorate that must take part, proxies included",
            ),
            min_window_days: r.days(
                "min-window-days",
                d.min_window_days,
                1,
                MAX_DAYS,
                "§2 shortest voting window",
            ),
            max_window_days: r.days(
                "max-window-days",
                d.max_window_days,
                1,
                MAX_DAYS,
                "§2 longest voting window",
            ),
            proxy_max_days: r.days(
                "proxy-max-days",
                d.proxy_max_days,
                1,
                MAX_DAYS,
                "§4 the longest a delegation may last",
            ),
            disposal_threshold: r.ratio(
                "disposal-threshold",
                d.disposal_threshold,
                half,
                one,
                "§6 share of votes cast needed in each class to dispose of a perpetual asset",
            ),
            access_max_days: r.days(
                "access-max-days",
                d.access_max_days,
                1,
                MAX_DAYS,
                "§7 the longest a data-access grant may last",
            ),
            amendments: Amendments::read(r, "§9"),
            commons: Commons::read(r, "§10", false),
        };
        if p.min_window_days > p.max_window_days {
            r.problem(
                "min-window-days",
                format!(
                    "{} days is longer than `max-window-days` ({} days): no resolution could be proposed",
                    p.min_window_days, p.max_window_days
                ),
            );
        }
        p
    }

    /// Read the parameters from a charter; `Err` with every problem if the bylaw cannot run
    /// with it.
    pub fn from_charter(params: &[Parameter]) -> Result<Params, CharterReport> {
        CharterReader::check(params, Params::read)
    }
}

impl Bylaw for PlatformCoop {
    fn evaluate(view: &View, action: &Action) -> Verdict {
        let params = match Params::from_charter(&view.charter) {
            Ok(p) => p,
            Err(report) => return Why::BadCharter.deny(report.to_string()),
        };
        let member_only = matches!(
            action,
            Action::Propose(_) | Action::RegisterAsset(_) | Action::LockAsset(_)
        );
        if member_only && view.actor_member.is_none() {
            return Why::NotAMember.deny("only members may propose, register or lock assets");
        }
        match action {
            Action::Propose(draft) => propose(&params, view, draft),
            Action::Vote(_) | Action::RegisterAsset(_) => allow(),
            Action::Close(_) => match &view.proposal {
                Some(p) => close(&params, view, p),
                None => Why::NoProposal.deny("there is no such proposal to close"),
            },
            Action::Execute(_) => match (&view.proposal, &view.subject) {
                (Some(p), None) if matches!(p.body, ProposalBody::GrantAccess(_)) => {
                    Why::GranteeNotAMember.deny("the grantee is no longer a member")
                }
                _ => allow(),
            },
            Action::Withdraw(_) => match &view.proposal {
                Some(p) if p.proposer == view.actor => allow(),
                _ => Why::NotTheProposer.deny("only the proposer may withdraw a proposal"),
            },
            Action::LockAsset(id) => match &view.asset {
                Some(a) if a.lock == LockStatus::Perpetual => Why::AlreadyLocked.deny(format!(
                    "asset `{id}` is already under the perpetual asset lock"
                )),
                _ => allow(),
            },
            Action::Delegate(d) => delegate(&params, view, d),
            Action::RecordPayment(_) => params.commons.record_payment(view, Why::NotTreasurer),
            Action::SubmitProject(_) | Action::Approve(_) => match &view.actor_member {
                Some(_) => allow(),
                None => {
                    Why::NotAMember.deny("only members submit projects and cast approval ballots")
                }
            },
        }
    }

    fn describe(charter: &[Parameter]) -> BylawInfo {
        let (p, report) = CharterReader::describe(charter, Params::read);
        let summary = vec![
            "§1 only members may propose, register or lock assets".to_string(),
            format!(
                "§2 resolutions: more than {} of votes cast (proxies included), quorum {} of the electorate, window {} to {} days",
                p.majority, p.quorum, p.min_window_days, p.max_window_days
            ),
            "§3 membership: workers and users, by ordinary resolution".to_string(),
            format!(
                "§4 proxies: to a member of the same class, for at most {} days; one's own ballot overrides",
                p.proxy_max_days
            ),
            format!(
                "§5 surplus allocation: at least {} to the reserve and {} to community projects, more than {} of votes cast among workers and among users",
                p.commons.reserve_min, p.commons.projects_min, p.majority
            ),
            format!(
                "§6 asset lock: disposing of a perpetual asset needs {} of votes cast in both classes",
                p.disposal_threshold
            ),
            format!(
                "§7 data access: to a member, for a stated purpose, for at most {} days",
                p.access_max_days
            ),
            "§8 only the proposer may withdraw a proposal".to_string(),
            p.amendments.summary("§9"),
            p.commons.summary("§10"),
        ];
        BylawInfo::new("platform-coop", env!("CARGO_PKG_VERSION"), summary, report)
    }
}

/// §4: who may hold a member's proxy, and for how long.
fn delegate(params: &Params, view: &View, d: &Delegation) -> Verdict {
    let Some(actor) = &view.actor_member else {
        return Why::NotAMember.deny("only members have a vote to delegate");
    };
    if d.delegate.is_none() {
        return allow_with_note("§4: the delegation is withdrawn; you vote in person");
    }
    let Some(delegate) = &view.subject else {
        return Why::DelegateNotAMember.deny("a vote is delegated only to a member");
    };
    if delegate.class != actor.class {
        return Why::ProxyOtherClass.deny(format!(
            "a {} delegates to another {}, so each class's majority stays its own; {} is a {}",
            actor.class.name(),
            actor.class.name(),
            delegate.name,
            delegate.class.name()
        ));
    }
    if d.until
        > view
            .now
            .saturating_add(params.proxy_max_days.saturating_mul(DAY))
    {
        return Why::ProxyTooLong.deny(format!(
            "a delegation lasts at most {} days; this one {} days",
            params.proxy_max_days,
            d.until.saturating_sub(view.now).div_ceil(DAY)
        ));
    }
    allow_with_note(format!(
        "§4: {} votes for you on proposals opened from now on, unless you vote yourself",
        delegate.name
    ))
}

fn propose(params: &Params, view: &View, draft: &ProposalDraft) -> Verdict {
    if draft.title.trim().is_empty() {
        return Why::MissingTitle.deny("a proposal needs a title");
    }
    let (min_days, too_short) = match draft.body {
        ProposalBody::AmendBylaws(_) => (
            params.amendments.min_window_days,
            Why::AmendmentWindowTooShort,
        ),
        _ => (params.min_window_days, Why::WindowTooShort),
    };
    if let Some(denial) = clauses::voting_window(
        draft.window,
        draft.body.kind(),
        min_days,
        too_short,
        params.max_window_days,
        Why::WindowTooLong,
    ) {
        return denial;
    }
    match &draft.body {
        ProposalBody::Ordinary | ProposalBody::AmendBylaws(_) => allow(),
        ProposalBody::AdmitMember(a) => admissible(a).unwrap_or_else(|| match view.subject {
            Some(_) => Why::AlreadyAMember.deny("the applicant is already a member"),
            None => allow(),
        }),
        ProposalBody::AdmitMembers(list) => clauses::each_applicant(list, admissible),
        ProposalBody::RemoveMember(_) if view.subject.is_none() => {
            Why::NotAMemberToRemove.deny("only a member can be removed")
        }
        ProposalBody::RemoveMember(_) => allow(),
        ProposalBody::DisposeAsset(d) if view.asset.is_none() => {
            Why::NoSuchAsset.deny(format!("the cooperative holds no asset `{}`", d.asset_id))
        }
        ProposalBody::DisposeAsset(_) => allow(),
        ProposalBody::GrantAccess(g) => {
            if view
                .asset
                .as_ref()
                .is_none_or(|a| a.kind != AssetKind::Dataset)
            {
                return Why::NotADataAsset
                    .deny(format!("the cooperative holds no dataset `{}`", g.asset_id));
            }
            if view.subject.is_none() {
                return Why::GranteeNotAMember.deny("access is granted only to members");
            }
            if g.purpose.trim().is_empty() {
                return Why::MissingPurpose.deny("an access grant states its purpose");
            }
            clauses::grant_duration(
                g.duration,
                params.access_max_days,
                Why::GrantTooShort,
                Why::GrantTooLong,
            )
            .unwrap_or_else(allow)
        }
        ProposalBody::Resolution(r) => Why::UnknownResolution.deny(format!(
            "these bylaws define no resolutions of their own (not `{}`); a surplus is divided by an allocate proposal",
            r.kind
        )),
        ProposalBody::Allocate(a) => params.commons.allocation(a, Why::BelowMinimumShare),
        ProposalBody::Appoint(_) | ProposalBody::Spend(_) | ProposalBody::BudgetRound(_) => {
            allow()
        }
        ProposalBody::SetFees(fees) => params.commons.fee_schedule(fees, Why::NoFreeTier),
        ProposalBody::License(_) | ProposalBody::RevokeLicence(_) => Why::NoLicences.deny(
            "the cooperative makes no licences to third parties; members ask for access with grant-access",
        ),
    }
}

/// §3: why `applicant` cannot be admitted (`None`: they can).
fn admissible(applicant: &Applicant) -> Option<Verdict> {
    (!CLASSES.contains(&applicant.class)).then(|| {
        Why::ClassNotAdmitted.deny(format!(
            "a platform cooperative's members are workers or users; not {}",
            applicant.class.name()
        ))
    })
}

fn close(params: &Params, view: &View, proposal: &Proposal) -> Verdict {
    let tally = Tally::with_proxies(proposal);
    let kind = match &proposal.body {
        ProposalBody::Resolution(r) => r.kind.as_str(),
        body => body.kind(),
    };
    if matches!(proposal.body, ProposalBody::AmendBylaws(_)) {
        return params.amendments.close(&tally, "§9 amendments", view.now);
    }
    if let (ProposalBody::BudgetRound(_), Some(round)) = (&proposal.body, &view.round) {
        return params
            .commons
            .close_round(round, tally.all.electorate, "§10 budgeting rounds");
    }
    if let Some(expired) = clauses::quorum(&tally, params.quorum, "§2 resolutions", kind) {
        return expired;
    }
    if let ProposalBody::SetFees(fees) = &proposal.body
        && !clauses::commons::over_cap(fees, params.commons.fee_cap).is_empty()
    {
        return clauses::supermajority_with_timelock(
            &tally,
            params.commons.fee_cap_threshold,
            "§10 fees above the cap",
            kind,
            0,
            view.now,
        );
    }
    match &proposal.body {
        // Both classes must carry a surplus allocation (§5).
        ProposalBody::Allocate(_) => clauses::in_each_class(
            &tally,
            &CLASSES,
            params.majority,
            Reach::MoreThan,
            "§5 surplus allocation",
            kind,
        ),
        ProposalBody::DisposeAsset(_)
            if view
                .asset
                .as_ref()
                .is_some_and(|a| a.lock == LockStatus::Perpetual) =>
        {
            clauses::in_each_class(
                &tally,
                &CLASSES,
                params.disposal_threshold,
                Reach::AtLeast,
                "§6 asset lock",
                kind,
            )
        }
        _ => clauses::simple_majority(&tally, params.majority, "§2 resolutions", kind),
    }
}
