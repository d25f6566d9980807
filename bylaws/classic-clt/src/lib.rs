//! # classic-clt
//!
//! The bylaws of a classic community land trust, as a cltd bylaw component. The clauses
//! (numbered as in this crate's README) are:
//!
//! - §1 Members act: only members may propose, register or lock assets.
//! - §2 Ordinary resolutions pass by a simple majority of votes cast, with a quorum of
//!   one third of the electorate, after a window of at least 7 days.
//! - §3 Membership is open to any applicant, admitted by ordinary resolution.
//! - §4 A member may be removed by ordinary resolution.
//! - §5 The asset lock: disposing of a `perpetual` asset needs two thirds of the votes cast
//!   in each of the three classes, a quorum of half the electorate and a window of at least
//!   14 days. Unlocked assets are disposed of by ordinary resolution. The lock cannot be
//!   lifted by any action.
//! - §6 Data access: a grant of access to a dataset states its purpose, goes to a member,
//!   and expires within a year; it is decided by ordinary resolution.
//! - §7 Only the proposer may withdraw an open proposal.
//! - §8 Amendments: changing the bylaws (module or charter) needs two thirds of the votes
//!   cast, a quorum of half the electorate and a window of at least 30 days; a passed
//!   amendment may be executed only after a timelock of 7 days.
//! - §9 The commons economy: payments are recorded by a member holding the treasurer role
//!   (given by an ordinary `appoint` resolution); budget lines (`spend`) and allocations
//!   (`allocate`, at least a quarter each to the reserve and to community projects) pass by
//!   ordinary resolution; a fee schedule keeps a free membership tier and needs two thirds
//!   of the votes cast for a fee above the cap; a budgeting round selects its projects by
//!   the Method of Equal Shares (or greedy, as the charter chooses) from its approval
//!   ballots. A licence to a third party (`license`) is never for a use the charter lists
//!   as extractive, is priced by the fee schedule, and never names a personal field (a
//!   classic land trust has no data-ethics council to weigh one).
//!
//! Every charter parameter has a default; see [`Params`].

use bylaws_sdk::clauses::commons::Commons;
use bylaws_sdk::clauses::{self, Amendments, Reach};
use bylaws_sdk::{
    Action, Applicant, AssetKind, Bound, Bylaw, BylawInfo, CharterReader, CharterReport,
    LockStatus, Parameter, Proposal, ProposalBody, ProposalDraft, Ratio, Reason, StakeholderClass,
    Tally, Verdict, View, allow, allow_with_note,
};

bylaws_sdk::reasons! {
    /// Every reason these bylaws deny an action with, with the clause that applies: the
    /// README's "Rejects when" lists exactly these.
    pub enum Why {
        /// §1: a non-member proposes, registers or locks an asset (the host refuses a
        /// non-member's actions first, so a trust does not meet it).
        NotAMember = ("not-a-member", "§1 members act"),
        /// §2: a proposal without a title.
        MissingTitle = ("missing-title", "§2"),
        /// §2: a close or execution names no proposal (the host refuses these first).
        NoProposal = ("no-proposal", "§2"),
        /// §2: a resolution of a kind these bylaws do not define.
        UnknownResolution = ("unknown-resolution", "§2 ordinary resolutions"),
        /// §2: a member tries to delegate their vote.
        NoProxyVoting = ("no-proxy-voting", "§2 ordinary resolutions"),
        /// §2: a window below an ordinary resolution's minimum.
        WindowTooShort = ("window-too-short", "§2 ordinary resolutions"),
        /// §2: a window beyond `max-window-days`.
        WindowTooLong = ("window-too-long", "§2 ordinary resolutions"),
        /// §3: the applicant is already a member (or was admitted in the meantime).
        AlreadyAMember = ("already-a-member", "§3 membership"),
        /// §3: the applicant has no display name.
        MissingName = ("missing-name", "§3 membership"),
        /// §3: the applicant's class is not resident, community or public.
        ClassNotAdmitted = ("class-not-admitted", "§3 membership"),
        /// §4: removal of someone who is not (or no longer) a member.
        NotAMemberToRemove = ("not-a-member", "§4 removal"),
        /// §5: the asset named does not exist.
        NoSuchAsset = ("no-such-asset", "§5 asset lock"),
        /// §5: a disposal names no recipient and terms.
        MissingRecipient = ("missing-recipient", "§5 asset lock"),
        /// §5: locking an asset that is already perpetual.
        AlreadyLocked = ("already-locked", "§5 asset lock"),
        /// §5: a disposal of a perpetual asset with a window below its minimum.
        DisposalWindowTooShort = ("window-too-short", "§5 asset lock"),
        /// §6: an access grant names a dataset that does not exist.
        NoSuchDataset = ("no-such-asset", "§6 data access"),
        /// §6: an access grant for something other than a dataset.
        NotADataAsset = ("not-a-data-asset", "§6 data access"),
        /// §6: access for a non-member.
        GranteeNotAMember = ("grantee-not-a-member", "§6 data access"),
        /// §6: executing a grant whose grantee is no longer a member.
        GranteeLapsed = ("not-a-member", "§6 data access"),
        /// §6: an access grant without a stated purpose.
        MissingPurpose = ("missing-purpose", "§6 data access"),
        /// §6: an access grant that lasts no time at all.
        GrantTooShort = ("grant-too-short", "§6 data access"),
        /// §6: an access grant longer than `access-max-days`.
        GrantTooLong = ("grant-too-long", "§6 data access"),
        /// §7: a withdrawal by someone other than the proposer.
        NotTheProposer = ("not-the-proposer", "§7 withdrawal"),
        /// §7: a withdrawal names no proposal (the host refuses these first).
        NoProposalToWithdraw = ("no-proposal", "§7 withdrawal"),
        /// §8: an amendment whose module is not 64 hex digits.
        BadModuleHash = ("bad-module-hash", "§8 amendments"),
        /// §8: an amendment with a window below the amendment minimum.
        AmendmentWindowTooShort = ("window-too-short", "§8 amendments"),
        /// §9: a payment recorded by a member without the treasurer role.
        NotTreasurer = ("not-treasurer", "§9 treasury"),
        /// §9: an allocation giving the reserve or community projects less than its minimum.
        BelowMinimumShare = ("below-minimum-share", "§9 treasury"),
        /// §9: a fee schedule without a free membership tier, while equitable access holds.
        NoFreeTier = ("no-free-tier", "§9 fees"),
        /// §9: a licence for a use the charter lists as extractive.
        ExtractiveUse = ("extractive-use", "§9 licences"),
        /// §9: a licence priced otherwise than the fee schedule's tier for its category.
        WrongPrice = ("wrong-price", "§9 licences"),
        /// §9: a licence naming a personal field (or a whole dataset that has one).
        PersonalFields = ("personal-fields", "§9 licences"),
        /// The charter cannot be read (founding and amendments refuse such a charter).
        BadCharter = ("bad-charter", "charter"),
    }
}

/// The classic community land trust bylaw.
pub struct ClassicClt;

// Exported only in the Wasm build: natively the crate is a plain library (tests, benches and
// bylaws built on these rules), so no two bylaws' export symbols ever meet in one binary.
#[cfg(all(feature = "export", target_arch = "wasm32"))]
bylaws_sdk::export_bylaw!(ClassicClt);

/// The bylaw's parameters, read from the charter (defaults in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `ordinary-majority` [1/2]: share of votes cast that must be exceeded.
    pub ordinary_majority: Ratio,
    /// `ordinary-quorum` [1/3]: share of the electorate that must take part.
    pub ordinary_quorum: Ratio,
    /// `ordinary-min-window-days` [7].
    pub ordinary_min_window_days: u64,
    /// `disposal-threshold` [2/3]: share of votes cast needed in each class.
    pub disposal_threshold: Ratio,
    /// `disposal-quorum` [1/2]: share of the electorate that must take part.
    pub disposal_quorum: Ratio,
    /// `disposal-min-window-days` [14].
    pub disposal_min_window_days: u64,
    /// `access-max-days` [365]: the longest a data-access grant may last.
    pub access_max_days: u64,
    /// `max-window-days` [90]: the longest voting window.
    pub max_window_days: u64,
    /// `amendment-threshold` [2/3], `amendment-quorum` [1/2], `amendment-min-window-days`
    /// [30], `amendment-timelock-days` [7]: how amendments are decided (§8).
    pub amendments: Amendments,
    /// The commons economy's parameters (§9; see [`Commons`]).
    pub commons: Commons,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            ordinary_majority: Ratio::of(1, 2),
            ordinary_quorum: Ratio::of(1, 3),
            ordinary_min_window_days: 7,
            disposal_threshold: Ratio::of(2, 3),
            disposal_quorum: Ratio::of(1, 2),
            disposal_min_window_days: 14,
            access_max_days: 365,
            max_window_days: 90,
            amendments: Amendments::DEFAULT,
            commons: Commons::read(&mut CharterReader::new(&[]), "§9", true),
        }
    }
}

/// The longest window, grant or timelock any parameter may set: ten years, the host's limit
/// on a voting window.
const MAX_DAYS: u64 = 3_650;

impl Params {
    /// Read (and declare) every parameter from `r`, which records each problem: a value it
    /// cannot parse, a value out of range, a minimum window above the longest window.
    pub fn read(r: &mut CharterReader<'_>) -> Params {
        let d = Params::default();
        let (half, above_zero, one) = (
            Bound::AtLeast(Ratio::of(1, 2)),
            Bound::Above(Ratio::ZERO),
            Bound::AtMost(Ratio::ONE),
        );
        let p = Params {
            ordinary_majority: r.ratio(
                "ordinary-majority",
                d.ordinary_majority,
                half,
                Bound::Below(Ratio::ONE),
                "§2 share of votes cast an ordinary resolution must exceed",
            ),
            ordinary_quorum: r.ratio(
                "ordinary-quorum",
                d.ordinary_quorum,
                above_zero,
                one,
                "§2 share of the electorate that must take part",
            ),
            ordinary_min_window_days: r.days(
                "ordinary-min-window-days",
                d.ordinary_min_window_days,
                1,
                MAX_DAYS,
                "§2 shortest voting window",
            ),
            disposal_threshold: r.ratio(
                "disposal-threshold",
                d.disposal_threshold,
                half,
                one,
                "§5 share of votes cast needed in each class to dispose of a perpetual asset",
            ),
            disposal_quorum: r.ratio(
                "disposal-quorum",
                d.disposal_quorum,
                above_zero,
                one,
                "§5 share of the electorate that must take part in a disposal",
            ),
            disposal_min_window_days: r.days(
                "disposal-min-window-days",
                d.disposal_min_window_days,
                1,
                MAX_DAYS,
                "§5 shortest voting window for a disposal",
            ),
            access_max_days: r.days(
                "access-max-days",
                d.access_max_days,
                1,
                MAX_DAYS,
                "§6 the longest a data-access grant may last",
            ),
            max_window_days: r.days(
                "max-window-days",
                d.max_window_days,
                1,
                MAX_DAYS,
                "§2 longest voting window",
            ),
            amendments: Amendments::read(r, "§8"),
            commons: Commons::read(r, "§9", true),
        };
        // A minimum above the longest window would leave ordinary resolutions impossible to
        // propose (disposals and amendments may run to their own minimum).
        if p.ordinary_min_window_days > p.max_window_days {
            r.problem(
                "ordinary-min-window-days",
                format!(
                    "{} days is longer than `max-window-days` ({} days): no ordinary resolution could be proposed",
                    p.ordinary_min_window_days, p.max_window_days
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

impl Bylaw for ClassicClt {
    fn evaluate(view: &View, action: &Action) -> Verdict {
        match Params::from_charter(&view.charter) {
            Ok(params) => judge(&params, view, action),
            Err(report) => Why::BadCharter.deny(report.to_string()),
        }
    }

    fn describe(charter: &[Parameter]) -> BylawInfo {
        let (p, report) = CharterReader::describe(charter, Params::read);
        BylawInfo::new(
            "classic-clt",
            env!("CARGO_PKG_VERSION"),
            summary(&p),
            report,
        )
    }
}

/// Judge `action` under parameters already read (for bylaws built on these rules, which
/// read parameters of their own beside these).
pub fn judge(params: &Params, view: &View, action: &Action) -> Verdict {
    match action {
        Action::Propose(draft) => propose(params, view, draft),
        Action::Vote(_) => allow(),
        Action::Close(_) => match &view.proposal {
            Some(p) => close(params, view, p),
            None => Why::NoProposal.deny("there is no such proposal to close"),
        },
        Action::Execute(_) => execute(view),
        Action::Withdraw(_) => withdraw(view),
        Action::Delegate(_) => {
            Why::NoProxyVoting.deny("members vote in person: these bylaws have no proxy voting")
        }
        Action::RecordPayment(_) => params.commons.record_payment(view, Why::NotTreasurer),
        Action::SubmitProject(_) | Action::Approve(_) => match &view.actor_member {
            Some(_) => allow(),
            None => Why::NotAMember.deny("only members submit projects and cast approval ballots"),
        },
        Action::RegisterAsset(_) | Action::LockAsset(_) => {
            if view.actor_member.is_none() {
                return Why::NotAMember
                    .deny("only members may bring assets into the trust or lock them");
            }
            if let Action::LockAsset(id) = action {
                return match &view.asset {
                    None => Why::NoSuchAsset.deny(format!("the trust holds no asset `{id}`")),
                    Some(a) if a.lock == LockStatus::Perpetual => Why::AlreadyLocked.deny(format!(
                        "asset `{id}` is already under the perpetual asset lock"
                    )),
                    Some(_) => allow_with_note(format!(
                        "§5: asset `{id}` is now covered by the perpetual asset lock, which no action can lift"
                    )),
                };
            }
            allow()
        }
    }
}

/// The bylaw's rules in words, under parameters `p`.
pub fn summary(p: &Params) -> Vec<String> {
    vec![
        "§1 only members may propose, register or lock assets".to_string(),
        format!(
            "§2 ordinary resolutions: more than {} of votes cast, quorum {} of the electorate, window at least {} days",
            p.ordinary_majority, p.ordinary_quorum, p.ordinary_min_window_days
        ),
        "§3 membership is open to any applicant, admitted by ordinary resolution".to_string(),
        "§4 members are removed by ordinary resolution".to_string(),
        format!(
            "§5 asset lock: disposing of a perpetual asset needs {} of votes cast in each class, quorum {} of the electorate, window at least {} days",
            p.disposal_threshold, p.disposal_quorum, p.disposal_min_window_days
        ),
        format!(
            "§6 data access: to a member, for a stated purpose, for at most {} days, by ordinary resolution",
            p.access_max_days
        ),
        "§7 only the proposer may withdraw an open proposal".to_string(),
        p.amendments.summary("§8"),
        p.commons.summary("§9"),
    ]
}

/// Is this proposal a disposal of a perpetual asset (judged on the asset as it is now)?
fn is_locked_disposal(view: &View, body: &ProposalBody) -> bool {
    matches!(body, ProposalBody::DisposeAsset(_))
        && view
            .asset
            .as_ref()
            .is_some_and(|a| a.lock == LockStatus::Perpetual)
}

fn propose(params: &Params, view: &View, draft: &ProposalDraft) -> Verdict {
    if view.actor_member.is_none() {
        return Why::NotAMember.deny("only members may propose");
    }
    if draft.title.trim().is_empty() {
        return Why::MissingTitle.deny("a proposal needs a title");
    }
    let kind = draft.body.kind();
    let (min_days, too_short) = if is_locked_disposal(view, &draft.body) {
        (params.disposal_min_window_days, Why::DisposalWindowTooShort)
    } else if matches!(draft.body, ProposalBody::AmendBylaws(_)) {
        (
            params.amendments.min_window_days,
            Why::AmendmentWindowTooShort,
        )
    } else {
        (params.ordinary_min_window_days, Why::WindowTooShort)
    };
    if let Some(denial) = clauses::voting_window(
        draft.window,
        kind,
        min_days,
        too_short,
        params.max_window_days,
        Why::WindowTooLong,
    ) {
        return denial;
    }
    match &draft.body {
        ProposalBody::Ordinary => allow(),
        ProposalBody::Resolution(r) => Why::UnknownResolution.deny(format!(
            "these bylaws define no `{}` resolutions; propose an ordinary resolution",
            r.kind
        )),
        ProposalBody::AdmitMember(applicant) => {
            if view.subject.is_some() {
                return Why::AlreadyAMember.deny("the applicant is already a member");
            }
            admissible(applicant).unwrap_or_else(allow)
        }
        ProposalBody::AdmitMembers(list) => clauses::each_applicant(list, admissible),
        ProposalBody::RemoveMember(_) => match view.subject {
            Some(_) => allow(),
            None => Why::NotAMemberToRemove.deny("only a member can be removed"),
        },
        ProposalBody::DisposeAsset(d) => match &view.asset {
            None => Why::NoSuchAsset.deny(format!("the trust holds no asset `{}`", d.asset_id)),
            Some(_) if d.recipient.trim().is_empty() => {
                Why::MissingRecipient.deny("a disposal must name its recipient and terms")
            }
            Some(_) => allow(),
        },
        ProposalBody::GrantAccess(g) => {
            let asset = match &view.asset {
                None => {
                    return Why::NoSuchDataset
                        .deny(format!("the trust holds no asset `{}`", g.asset_id));
                }
                Some(a) => a,
            };
            if asset.kind != AssetKind::Dataset {
                return Why::NotADataAsset.deny(format!(
                    "access grants are for datasets; `{}` is not a dataset",
                    asset.id
                ));
            }
            if view.subject.is_none() {
                return Why::GranteeNotAMember.deny("access is granted only to members");
            }
            if g.purpose.trim().is_empty() {
                return Why::MissingPurpose.deny("an access grant must state its purpose");
            }
            clauses::grant_duration(
                g.duration,
                params.access_max_days,
                Why::GrantTooShort,
                Why::GrantTooLong,
            )
            .unwrap_or_else(allow)
        }
        ProposalBody::AmendBylaws(a) => {
            if a.module.len() != 64 || !a.module.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Why::BadModuleHash
                    .deny("an amendment names its bylaw module by its 64-digit blake3 hash");
            }
            allow_with_note(format!(
                "§8: amendment to module {}; the members decide by at least {} of votes cast",
                &a.module[..16],
                params.amendments.threshold
            ))
        }
        ProposalBody::Appoint(_) | ProposalBody::Spend(_) | ProposalBody::BudgetRound(_) => allow(),
        ProposalBody::Allocate(a) => params.commons.allocation(a, Why::BelowMinimumShare),
        ProposalBody::SetFees(fees) => params.commons.fee_schedule(fees, Why::NoFreeTier),
        ProposalBody::License(l) => {
            let personal = view
                .asset
                .as_ref()
                .map(|a| clauses::commons::personal_fields(a, l))
                .unwrap_or_default();
            if !personal.is_empty() {
                return Why::PersonalFields.deny(format!(
                    "a licence never names personal fields ({}); without a data-ethics council these bylaws license only fields that are not about people",
                    personal.join(", ")
                ));
            }
            params
                .commons
                .licence(view, l, Why::ExtractiveUse, Why::WrongPrice)
        }
        ProposalBody::RevokeLicence(_) => allow(),
    }
}

fn close(params: &Params, view: &View, proposal: &Proposal) -> Verdict {
    let tally = Tally::of(proposal);
    let kind = proposal.body.kind();
    if matches!(proposal.body, ProposalBody::AmendBylaws(_)) {
        return params.amendments.close(&tally, "§8 amendments", view.now);
    }
    if let (ProposalBody::BudgetRound(_), Some(round)) = (&proposal.body, &view.round) {
        return params
            .commons
            .close_round(round, tally.all.electorate, "§9 budgeting rounds");
    }
    if let ProposalBody::SetFees(fees) = &proposal.body
        && !clauses::commons::over_cap(fees, params.commons.fee_cap).is_empty()
    {
        let clause = "§9 fees above the cap";
        return clauses::quorum(&tally, params.ordinary_quorum, clause, kind).unwrap_or_else(
            || {
                clauses::supermajority_with_timelock(
                    &tally,
                    params.commons.fee_cap_threshold,
                    clause,
                    kind,
                    0,
                    view.now,
                )
            },
        );
    }
    if is_locked_disposal(view, &proposal.body) {
        let clause = "§5 asset lock";
        return clauses::quorum(&tally, params.disposal_quorum, clause, kind).unwrap_or_else(
            || {
                clauses::in_each_class(
                    &tally,
                    &CLT_CLASSES,
                    params.disposal_threshold,
                    Reach::AtLeast,
                    clause,
                    kind,
                )
            },
        );
    }
    let clause = "§2 ordinary resolutions";
    clauses::quorum(&tally, params.ordinary_quorum, clause, kind)
        .unwrap_or_else(|| clauses::simple_majority(&tally, params.ordinary_majority, clause, kind))
}

/// §3: why `applicant` cannot be admitted (`None`: they can).
fn admissible(applicant: &Applicant) -> Option<Verdict> {
    if !CLT_CLASSES.contains(&applicant.class) {
        return Some(Why::ClassNotAdmitted.deny(format!(
            "a classic land trust's members are resident, community or public; not {}",
            applicant.class.name()
        )));
    }
    if applicant.name.trim().is_empty() {
        return Some(Why::MissingName.deny("an applicant needs a display name"));
    }
    None
}

fn execute(view: &View) -> Verdict {
    let Some(proposal) = &view.proposal else {
        return Why::NoProposal.deny("there is no such proposal to execute");
    };
    match &proposal.body {
        ProposalBody::AdmitMember(_) if view.subject.is_some() => {
            Why::AlreadyAMember.deny("the applicant was admitted in the meantime")
        }
        ProposalBody::RemoveMember(_) if view.subject.is_none() => {
            Why::NotAMemberToRemove.deny("the member named by this proposal is no longer a member")
        }
        ProposalBody::GrantAccess(_) if view.subject.is_none() => Why::GranteeLapsed
            .deny("the grantee is no longer a member, and access goes only to members"),
        _ => allow(),
    }
}

fn withdraw(view: &View) -> Verdict {
    match &view.proposal {
        Some(p) if p.proposer == view.actor => allow(),
        Some(_) => Why::NotTheProposer.deny("only the proposer may withdraw a proposal"),
        None => Why::NoProposalToWithdraw.deny("there is no such proposal to withdraw"),
    }
}

/// The three classes of a classic land trust, each of which must carry a disposal of a
/// perpetual asset (§5).
const CLT_CLASSES: [StakeholderClass; 3] = [
    StakeholderClass::Resident,
    StakeholderClass::Community,
    StakeholderClass::Public,
];

#[cfg(test)]
mod tests;
