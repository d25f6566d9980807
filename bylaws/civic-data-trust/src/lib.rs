//! # civic-data-trust
//!
//! The bylaws of a civic data trust: a community pools data about itself and shares it only
//! on its own terms. Members are `community` (the people the data is about), `public`
//! (public-interest representatives) and the `data-ethics-council`.
//!
//! - §1 Only members act.
//! - §2 Ordinary resolutions: more than half of the votes cast, a quorum of a third of the
//!   electorate, a window of 7 to 90 days.
//! - §3 Membership is open in the three classes, by ordinary resolution; so is removal.
//! - §4 A dataset comes into the trust with its fields named, each marked personal or not.
//! - §5 Access to data goes to a member, names the fields it needs (never a whole dataset),
//!   states a purpose from the charter's list, expires, and is open for review for at least
//!   14 days.
//! - §6 A grant that touches any personal field needs the approval of more than half of the
//!   data-ethics council.
//! - §7 Any class vetoes a grant when at least half of its electors vote no within the review
//!   window.
//! - §8 Disposing of a perpetual asset needs two thirds of the votes cast in each class.
//! - §9 Only the proposer withdraws a proposal.
//! - §10 Amendments need two thirds of the votes cast, a quorum of half the electorate, a
//!   30-day window and a 7-day timelock.
//! - §11 Licences to third parties (the cooperative data marketplace): a `license` proposal
//!   lets a named non-member use named fields of a dataset for a stated purpose and term,
//!   at the fee schedule's price for its category (`licence.<category>`: e.g. public-good
//!   free, research reduced, commercial full); categories the charter lists as extractive
//!   are refused whatever the vote; it is reviewed like a grant (§5's review window, §7's
//!   veto) and personal fields need the council (§6). A licence ends at its term or by a
//!   `revoke-licence` resolution.
//! - §12 The treasury: payments are recorded by a member holding the treasurer role (given
//!   by an `appoint` resolution); budget lines, allocations (at least a quarter each to the
//!   reserve and to community projects), fee schedules (keeping a free membership tier; two
//!   thirds for a fee above the cap) and budgeting rounds (Method of Equal Shares) as in
//!   the SDK's commons clauses.
//!
//! Every charter parameter has a default; see [`Params`].

use bylaws_sdk::clauses::commons::{self, Commons};
use bylaws_sdk::clauses::{self, Amendments, Reach};
use bylaws_sdk::{
    AccessRequest, Action, Applicant, Asset, AssetKind, Bound, Bylaw, BylawInfo, CharterReader,
    CharterReport, LockStatus, Outcome, Parameter, Proposal, ProposalBody, ProposalDraft, Ratio,
    Reason, StakeholderClass, Tally, Verdict, View, allow, allow_with_note, decide, percent,
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
        /// §2: a member tries to delegate their vote.
        NoProxyVoting = ("no-proxy-voting", "§2 ordinary resolutions"),
        /// §2: a resolution of a kind these bylaws do not define.
        UnknownResolution = ("unknown-resolution", "§2 ordinary resolutions"),
        /// §2: a window below the minimum.
        WindowTooShort = ("window-too-short", "§2 ordinary resolutions"),
        /// §2: a window beyond `max-window-days`.
        WindowTooLong = ("window-too-long", "§2 ordinary resolutions"),
        /// §3: an applicant outside the classes the trust admits.
        ClassNotAdmitted = ("class-not-admitted", "§3 membership"),
        /// §3: the applicant is already a member.
        AlreadyAMember = ("already-a-member", "§3 membership"),
        /// §3: removal of a non-member.
        NotAMemberToRemove = ("not-a-member", "§3 membership"),
        /// §4: a dataset registered without its fields.
        MissingSchema = ("missing-schema", "§4 datasets"),
        /// §5: a grant for something that is not a dataset the trust holds.
        NotADataAsset = ("not-a-data-asset", "§5 access to data"),
        /// §5: a grant for a non-member (when proposed or executed).
        GranteeNotAMember = ("grantee-not-a-member", "§5 access to data"),
        /// §5: a grant that names no fields.
        WholeDataset = ("whole-dataset", "§5 data minimisation"),
        /// §5: a grant naming a field the dataset does not have.
        UnknownField = ("unknown-field", "§5 data minimisation"),
        /// §5: a purpose not in `purposes`.
        PurposeNotAllowed = ("purpose-not-allowed", "§5 purposes"),
        /// §5: a grant that lasts no time at all.
        GrantTooShort = ("grant-too-short", "§5 expiry"),
        /// §5: a grant longer than `access-max-days`.
        GrantTooLong = ("grant-too-long", "§5 expiry"),
        /// §5: a grant's window below `review-days`.
        ReviewWindowTooShort = ("window-too-short", "§5 review window"),
        /// §8: disposing of an asset the trust does not hold.
        NoSuchAsset = ("no-such-asset", "§8 asset lock"),
        /// §8: locking an asset that is already perpetual.
        AlreadyLocked = ("already-locked", "§8 asset lock"),
        /// §9: a withdrawal by someone other than the proposer.
        NotTheProposer = ("not-the-proposer", "§9 withdrawal"),
        /// §10: an amendment with a window below the amendment minimum.
        AmendmentWindowTooShort = ("window-too-short", "§10 amendments"),
        /// §11: a licence for a use the charter lists as extractive.
        ExtractiveUse = ("extractive-use", "§11 licences"),
        /// §11: a licence priced otherwise than the fee schedule's tier for its category.
        WrongPrice = ("wrong-price", "§11 licences"),
        /// §11: a licence for something that is not a dataset.
        LicenceNotDataset = ("not-a-data-asset", "§11 licences"),
        /// §12: a payment recorded by a member without the treasurer role.
        NotTreasurer = ("not-treasurer", "§12 treasury"),
        /// §12: an allocation giving the reserve or community projects less than its minimum.
        BelowMinimumShare = ("below-minimum-share", "§12 treasury"),
        /// §12: a fee schedule without a free membership tier, while equitable access holds.
        NoFreeTier = ("no-free-tier", "§12 fees"),
        /// The charter cannot be read (founding and amendments refuse such a charter).
        BadCharter = ("bad-charter", "charter"),
    }
}

/// The civic data trust bylaw.
pub struct CivicDataTrust;

// Exported only in the Wasm build: natively the crate is a plain library.
#[cfg(all(feature = "export", target_arch = "wasm32"))]
bylaws_sdk::export_bylaw!(CivicDataTrust);

/// The classes of a civic data trust.
pub const CLASSES: [StakeholderClass; 3] = [
    StakeholderClass::Community,
    StakeholderClass::Public,
    StakeholderClass::DataEthicsCouncil,
];

/// The purposes data may be shared for unless the charter lists others.
pub const DEFAULT_PURPOSES: [&str; 3] = ["public-health", "urban-planning", "academic-research"];

/// The bylaw's parameters, read from the charter (defaults in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// `ordinary-majority` [1/2]: share of votes cast that must be exceeded.
    pub ordinary_majority: Ratio,
    /// `ordinary-quorum` [1/3]: share of the electorate that must take part.
    pub ordinary_quorum: Ratio,
    /// `min-window-days` [7]: shortest voting window.
    pub min_window_days: u64,
    /// `max-window-days` [90]: longest voting window.
    pub max_window_days: u64,
    /// `purposes` [public-health, urban-planning, academic-research]: what data may be
    /// shared for (comma-separated).
    pub purposes: Vec<String>,
    /// `access-max-days` [180]: the longest a grant lasts.
    pub access_max_days: u64,
    /// `review-days` [14]: the shortest window of a grant proposal (its review window).
    pub review_days: u64,
    /// `council-approval` [1/2]: share of the data-ethics council's electors whose yes
    /// must be exceeded for a grant of personal data.
    pub council_approval: Ratio,
    /// `veto-share` [1/2]: share of a class's electors whose no vetoes a grant.
    pub veto_share: Ratio,
    /// `disposal-threshold` [2/3]: share of votes cast needed in each class to dispose of a
    /// perpetual asset.
    pub disposal_threshold: Ratio,
    /// `amendment-threshold` [2/3], `amendment-quorum` [1/2], `amendment-min-window-days`
    /// [30], `amendment-timelock-days` [7]: how amendments are decided (§10).
    pub amendments: Amendments,
    /// The commons economy's parameters (§11, §12; see [`Commons`]).
    pub commons: Commons,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            ordinary_majority: Ratio::of(1, 2),
            ordinary_quorum: Ratio::of(1, 3),
            min_window_days: 7,
            max_window_days: 90,
            purposes: DEFAULT_PURPOSES.map(String::from).to_vec(),
            access_max_days: 180,
            review_days: 14,
            council_approval: Ratio::of(1, 2),
            veto_share: Ratio::of(1, 2),
            disposal_threshold: Ratio::of(2, 3),
            amendments: Amendments::DEFAULT,
            commons: Commons::read(&mut CharterReader::new(&[]), "§12", true),
        }
    }
}

/// The longest window, grant or timelock any parameter may set: ten years, the host's limit
/// on a voting window.
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
        let purposes: Vec<&str> = d.purposes.iter().map(String::as_str).collect();
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
            purposes: r.list("purposes", &purposes, "§5 what data may be shared for"),
            access_max_days: r.days(
                "access-max-days",
                d.access_max_days,
                1,
                MAX_DAYS,
                "§5 the longest a grant lasts",
            ),
            review_days: r.days(
                "review-days",
                d.review_days,
                1,
                MAX_DAYS,
                "§5 shortest window of a grant proposal (its review window)",
            ),
            council_approval: r.ratio(
                "council-approval",
                d.council_approval,
                half,
                Bound::Below(Ratio::ONE),
                "§6 share of the data-ethics council whose yes a grant of personal data must exceed",
            ),
            veto_share: r.ratio(
                "veto-share",
                d.veto_share,
                above_zero,
                one,
                "§7 share of a class's electors whose no vetoes a grant",
            ),
            disposal_threshold: r.ratio(
                "disposal-threshold",
                d.disposal_threshold,
                half,
                one,
                "§8 share of votes cast needed in each class to dispose of a perpetual asset",
            ),
            amendments: Amendments::read(r, "§10"),
            commons: Commons::read(r, "§12", true),
        };
        if p.min_window_days > p.max_window_days {
            r.problem(
                "min-window-days",
                format!(
                    "{} days is longer than `max-window-days` ({} days): no ordinary resolution could be proposed",
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

impl Bylaw for CivicDataTrust {
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
            Action::Vote(_) => allow(),
            Action::Close(_) => match &view.proposal {
                Some(p) => close(&params, view, p),
                None => Why::NoProposal.deny("there is no such proposal to close"),
            },
            Action::Execute(_) => execute(view),
            Action::Withdraw(_) => match &view.proposal {
                Some(p) if p.proposer == view.actor => allow(),
                _ => Why::NotTheProposer.deny("only the proposer may withdraw a proposal"),
            },
            Action::RegisterAsset(a) => {
                if a.kind == AssetKind::Dataset && a.fields.is_empty() {
                    return Why::MissingSchema.deny(format!(
                            "dataset `{}` must name its fields, marking the personal ones, so that grants can name fields instead of the whole dataset",
                            a.id
                        ),
                    );
                }
                allow()
            }
            Action::LockAsset(id) => match &view.asset {
                Some(a) if a.lock == LockStatus::Perpetual => Why::AlreadyLocked.deny(format!(
                    "asset `{id}` is already under the perpetual asset lock"
                )),
                _ => allow(),
            },
            Action::Delegate(_) => {
                Why::NoProxyVoting.deny("members vote in person: these bylaws have no proxy voting")
            }
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
                    "§2 ordinary resolutions: more than {} of votes cast, quorum {} of the electorate, window {} to {} days",
                    p.ordinary_majority, p.ordinary_quorum, p.min_window_days, p.max_window_days
                ),
                "§3 membership: community, public and data-ethics-council members, admitted or removed by ordinary resolution".to_string(),
                "§4 a dataset names its fields and marks the personal ones".to_string(),
                format!(
                    "§5 access: to a member, named fields only, for one of: {}; at most {} days; a review window of at least {} days",
                    p.purposes.join(", "),
                    p.access_max_days,
                    p.review_days
                ),
                format!(
                    "§6 personal data: more than {} of the data-ethics council must vote yes",
                    p.council_approval
                ),
                format!(
                    "§7 veto: a class vetoes a grant when {} of its electors vote no",
                    p.veto_share
                ),
                format!(
                    "§8 asset lock: disposing of a perpetual asset needs {} of votes cast in each class",
                    p.disposal_threshold
                ),
                "§9 only the proposer may withdraw a proposal".to_string(),
                p.amendments.summary("§10"),
            ];
        BylawInfo::new(
            "civic-data-trust",
            env!("CARGO_PKG_VERSION"),
            summary,
            report,
        )
    }
}

fn propose(params: &Params, view: &View, draft: &ProposalDraft) -> Verdict {
    if draft.title.trim().is_empty() {
        return Why::MissingTitle.deny("a proposal needs a title");
    }
    let (min_days, too_short) = match draft.body {
        ProposalBody::GrantAccess(_) | ProposalBody::License(_) => (
            params.review_days.max(params.min_window_days),
            Why::ReviewWindowTooShort,
        ),
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
        ProposalBody::Ordinary => allow(),
        ProposalBody::AdmitMember(a) => {
            if let Some(denial) = admissible(a) {
                return denial;
            }
            if view.subject.is_some() {
                return Why::AlreadyAMember.deny("the applicant is already a member");
            }
            allow()
        }
        ProposalBody::AdmitMembers(list) => clauses::each_applicant(list, admissible),
        ProposalBody::RemoveMember(_) => match view.subject {
            Some(_) => allow(),
            None => Why::NotAMemberToRemove.deny("only a member can be removed"),
        },
        ProposalBody::DisposeAsset(d) => match &view.asset {
            None => Why::NoSuchAsset.deny(format!("the trust holds no asset `{}`", d.asset_id)),
            Some(_) => allow(),
        },
        ProposalBody::GrantAccess(g) => grant(params, view, g),
        ProposalBody::AmendBylaws(_) => allow_with_note(format!(
            "§10: the members decide by at least {} of votes cast",
            params.amendments.threshold
        )),
        ProposalBody::Resolution(r) => Why::UnknownResolution.deny(format!(
            "these bylaws define no `{}` resolutions; propose an ordinary resolution",
            r.kind
        )),
        ProposalBody::License(l) => match &view.asset {
            Some(a) if a.kind == AssetKind::Dataset => {
                params
                    .commons
                    .licence(view, l, Why::ExtractiveUse, Why::WrongPrice)
            }
            _ => Why::LicenceNotDataset.deny(format!(
                "licences are for datasets the trust holds; `{}` is not one",
                l.asset_id
            )),
        },
        ProposalBody::Allocate(a) => params.commons.allocation(a, Why::BelowMinimumShare),
        ProposalBody::SetFees(fees) => params.commons.fee_schedule(fees, Why::NoFreeTier),
        ProposalBody::Appoint(_)
        | ProposalBody::Spend(_)
        | ProposalBody::BudgetRound(_)
        | ProposalBody::RevokeLicence(_) => allow(),
    }
}

/// §3: why `applicant` cannot be admitted (`None`: they can).
fn admissible(applicant: &Applicant) -> Option<Verdict> {
    (!CLASSES.contains(&applicant.class)).then(|| {
        Why::ClassNotAdmitted.deny(format!(
            "a civic data trust's members are community, public or data-ethics-council; not {}",
            applicant.class.name()
        ))
    })
}

/// §5: what a grant proposal must say.
fn grant(params: &Params, view: &View, g: &AccessRequest) -> Verdict {
    let Some(asset) = view.asset.as_ref().filter(|a| a.kind == AssetKind::Dataset) else {
        return Why::NotADataAsset.deny(format!("the trust holds no dataset `{}`", g.asset_id));
    };
    if view.subject.is_none() {
        return Why::GranteeNotAMember
            .deny("access is granted only to members, who answer to the trust for its use");
    }
    if g.fields.is_empty() {
        return Why::WholeDataset.deny(format!(
            "a grant names the fields it needs, never the whole dataset; `{}` has {}",
            asset.id,
            asset
                .fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(unknown) = g
        .fields
        .iter()
        .find(|f| !asset.fields.iter().any(|d| &d.name == *f))
    {
        return Why::UnknownField.deny(format!("dataset `{}` has no field `{unknown}`", asset.id));
    }
    if !params.purposes.iter().any(|p| p == &g.purpose) {
        return Why::PurposeNotAllowed.deny(format!(
            "data is shared only for {}; not for `{}`",
            params.purposes.join(", "),
            g.purpose
        ));
    }
    if let Some(denial) = clauses::grant_duration(
        g.duration,
        params.access_max_days,
        Why::GrantTooShort,
        Why::GrantTooLong,
    ) {
        return denial;
    }
    let personal = personal_fields(asset, g);
    if personal.is_empty() {
        allow()
    } else {
        allow_with_note(format!(
            "§6: personal fields {} need the data-ethics council's approval",
            personal.join(", ")
        ))
    }
}

/// The personal fields a grant asks for.
fn personal_fields<'a>(asset: &'a Asset, g: &AccessRequest) -> Vec<&'a str> {
    asset
        .fields
        .iter()
        .filter(|f| f.personal && g.fields.contains(&f.name))
        .map(|f| f.name.as_str())
        .collect()
}

fn close(params: &Params, view: &View, proposal: &Proposal) -> Verdict {
    let tally = Tally::of(proposal);
    let kind = proposal.body.kind();
    if matches!(proposal.body, ProposalBody::AmendBylaws(_)) {
        return params.amendments.close(&tally, "§10 amendments", view.now);
    }
    if let (ProposalBody::BudgetRound(_), Some(round)) = (&proposal.body, &view.round) {
        return params
            .commons
            .close_round(round, tally.all.electorate, "§12 budgeting rounds");
    }
    let clause = "§2 ordinary resolutions";
    if let Some(expired) = clauses::quorum(&tally, params.ordinary_quorum, clause, kind) {
        return expired;
    }
    match &proposal.body {
        ProposalBody::SetFees(fees)
            if !commons::over_cap(fees, params.commons.fee_cap).is_empty() =>
        {
            return clauses::supermajority_with_timelock(
                &tally,
                params.commons.fee_cap_threshold,
                "§12 fees above the cap",
                kind,
                0,
                view.now,
            );
        }
        ProposalBody::License(l) => {
            if let Some(veto) = vetoing_class(params, &tally) {
                return decide(Outcome::Rejected, veto);
            }
            let personal = view
                .asset
                .as_ref()
                .map(|a| commons::personal_fields(a, l))
                .unwrap_or_default();
            if let Some(rejected) = council_rejects(params, &tally, &personal, "licence") {
                return rejected;
            }
        }
        ProposalBody::GrantAccess(g) => {
            if let Some(veto) = vetoing_class(params, &tally) {
                return decide(Outcome::Rejected, veto);
            }
            let personal = view
                .asset
                .as_ref()
                .map(|a| personal_fields(a, g))
                .unwrap_or_default();
            if let Some(rejected) = council_rejects(params, &tally, &personal, "grant") {
                return rejected;
            }
        }
        ProposalBody::DisposeAsset(_)
            if view
                .asset
                .as_ref()
                .is_some_and(|a| a.lock == LockStatus::Perpetual) =>
        {
            // Every class with electors must carry it.
            let classes: Vec<StakeholderClass> = CLASSES
                .into_iter()
                .filter(|c| tally.class(*c).electorate > 0)
                .collect();
            return clauses::in_each_class(
                &tally,
                &classes,
                params.disposal_threshold,
                Reach::AtLeast,
                "§8 asset lock",
                kind,
            );
        }
        _ => {}
    }
    clauses::simple_majority(&tally, params.ordinary_majority, clause, kind)
}

/// §6: the rejection of a grant or licence (`what`) of `personal` fields the data-ethics
/// council has not approved (none if it names no personal field, or the council approved).
fn council_rejects(
    params: &Params,
    tally: &Tally,
    personal: &[&str],
    what: &str,
) -> Option<Verdict> {
    let council = tally.class(StakeholderClass::DataEthicsCouncil);
    if personal.is_empty()
        || params
            .council_approval
            .is_exceeded_by(council.yes, council.electorate)
    {
        return None;
    }
    Some(decide(
        Outcome::Rejected,
        format!(
            "§6 personal data: a {what} of {} needs yes from more than {} of the data-ethics council; {} of {} voted yes ({}%)",
            personal.join(", "),
            params.council_approval,
            council.yes,
            council.electorate,
            percent(council.yes, council.electorate)
        ),
    ))
}

/// §7: the first class in which the veto share of electors voted no, described.
fn vetoing_class(params: &Params, tally: &Tally) -> Option<String> {
    CLASSES.iter().find_map(|c| {
        let t = tally.class(*c);
        (t.electorate > 0 && params.veto_share.is_met_by(t.no, t.electorate)).then(|| {
            format!(
                "§7 veto: the {} class vetoed the grant; {} of its {} electors voted no ({}%), at least {}",
                c.name(),
                t.no,
                t.electorate,
                percent(t.no, t.electorate),
                params.veto_share
            )
        })
    })
}

fn execute(view: &View) -> Verdict {
    let Some(proposal) = &view.proposal else {
        return Why::NoProposal.deny("there is no such proposal to execute");
    };
    match &proposal.body {
        ProposalBody::GrantAccess(_) if view.subject.is_none() => {
            Why::GranteeNotAMember.deny("the grantee is no longer a member")
        }
        _ => allow(),
    }
}
