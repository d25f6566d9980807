//! Native unit tests of the classic-clt clauses, through the SDK's test kit.

use super::*;
use bylaws_sdk::testing::{Poll, Scenario, allows, cast, denies, key};
use bylaws_sdk::{AccessRequest, Applicant, Choice, DAY, Disposal, Outcome, StakeholderClass::*};

fn trust() -> Scenario {
    Scenario::new()
        .members(1, 3, Resident)
        .members(4, 6, Community)
        .members(7, 9, Public)
        .asset("tenancy-data", AssetKind::Dataset, LockStatus::Perpetual)
        .asset("old-site", AssetKind::Domain, LockStatus::Unlocked)
}

fn draft(body: ProposalBody, days: u64) -> ProposalDraft {
    ProposalDraft {
        body,
        title: "t".into(),
        text: String::new(),
        window: days * DAY,
    }
}

fn disposal(asset: &str) -> ProposalBody {
    ProposalBody::DisposeAsset(Disposal {
        asset_id: asset.into(),
        recipient: "Acme Ltd, sale".into(),
    })
}

fn code(v: &Verdict) -> &str {
    &v.denial().expect("expected a denial").code
}

#[test]
fn only_members_propose() {
    let t = trust();
    let d = draft(ProposalBody::Ordinary, 7);
    let v = ClassicClt::evaluate(
        &t.view(42, &Action::Propose(d.clone()), None),
        &Action::Propose(d),
    );
    assert_eq!(code(&v), "not-a-member");
}

#[test]
fn perpetual_disposal_needs_fourteen_days() {
    let t = trust();
    let d = draft(disposal("tenancy-data"), 7);
    let v = ClassicClt::evaluate(
        &t.view(1, &Action::Propose(d.clone()), None),
        &Action::Propose(d),
    );
    assert_eq!(code(&v), "window-too-short");
    assert!(
        v.denial().unwrap().explanation.contains("at least 14 days"),
        "{v:?}"
    );
    let d = draft(disposal("old-site"), 7);
    assert!(
        ClassicClt::evaluate(
            &t.view(1, &Action::Propose(d.clone()), None),
            &Action::Propose(d)
        )
        .is_allowed()
    );
}

#[test]
fn perpetual_disposal_needs_two_thirds_in_each_class() {
    let t = trust();
    let mut p = t.open(1, 1, &draft(disposal("tenancy-data"), 14));
    cast(&mut p, [1], Choice::Yes);
    cast(&mut p, [2, 3], Choice::No);
    cast(&mut p, [4, 5, 6, 7, 8, 9], Choice::Yes);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    let d = v.decision().expect("close decides");
    assert_eq!(d.outcome, Outcome::Rejected);
    assert!(
        d.explanation.contains("resident class: 1 of 3 (33%)"),
        "{}",
        d.explanation
    );

    let mut p = t.open(1, 1, &draft(disposal("tenancy-data"), 14));
    cast(&mut p, [1, 2, 4, 5, 7, 8], Choice::Yes);
    cast(&mut p, [3, 6, 9], Choice::No);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    assert_eq!(v.decision().unwrap().outcome, Outcome::Passed);
}

#[test]
fn disposal_below_quorum_expires() {
    let t = trust();
    let mut p = t.open(1, 1, &draft(disposal("tenancy-data"), 14));
    cast(&mut p, [1, 4, 7], Choice::Yes);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    assert_eq!(v.decision().unwrap().outcome, Outcome::Expired);
}

#[test]
fn ordinary_resolution_is_a_simple_majority_with_a_third_quorum() {
    let t = trust();
    let mut p = t.open(1, 1, &draft(ProposalBody::Ordinary, 7));
    cast(&mut p, [1, 2], Choice::Yes);
    cast(&mut p, [3], Choice::No);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    assert_eq!(v.decision().unwrap().outcome, Outcome::Passed, "{v:?}");

    let mut p = t.open(1, 1, &draft(ProposalBody::Ordinary, 7));
    cast(&mut p, [1], Choice::Yes);
    cast(&mut p, [2], Choice::No);
    cast(&mut p, [3], Choice::Abstain);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    assert_eq!(
        v.decision().unwrap().outcome,
        Outcome::Rejected,
        "a tie is not a majority"
    );

    let mut p = t.open(1, 1, &draft(ProposalBody::Ordinary, 7));
    cast(&mut p, [1, 2], Choice::Yes);
    let v = ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(&p)), &Action::Close(1));
    assert_eq!(
        v.decision().unwrap().outcome,
        Outcome::Expired,
        "2 of 9 is below a third"
    );
}

#[test]
fn access_grants_state_a_purpose_and_expire_within_a_year() {
    let t = trust();
    let grant = |purpose: &str, days: u64, asset: &str| {
        draft(
            ProposalBody::GrantAccess(AccessRequest {
                grantee: key(4),
                asset_id: asset.into(),
                fields: vec![],
                purpose: purpose.into(),
                duration: days * DAY,
            }),
            7,
        )
    };
    let eval = |d: ProposalDraft| {
        ClassicClt::evaluate(
            &t.view(1, &Action::Propose(d.clone()), None),
            &Action::Propose(d),
        )
    };
    allows(&eval(grant("rent study", 180, "tenancy-data")));
    assert_eq!(
        code(&eval(grant("  ", 180, "tenancy-data"))),
        "missing-purpose"
    );
    assert_eq!(
        code(&eval(grant("rent study", 366, "tenancy-data"))),
        "grant-too-long"
    );
    assert_eq!(
        code(&eval(grant("rent study", 30, "old-site"))),
        "not-a-data-asset"
    );
    assert_eq!(
        code(&eval(grant("rent study", 30, "nothing"))),
        "no-such-asset"
    );
}

#[test]
fn admission_is_open_but_not_twice() {
    let t = trust();
    let admit = |n: u8| {
        draft(
            ProposalBody::AdmitMember(Applicant {
                key: key(n),
                name: "Ada".into(),
                class: Public,
            }),
            7,
        )
    };
    let eval = |d: ProposalDraft| {
        ClassicClt::evaluate(
            &t.view(1, &Action::Propose(d.clone()), None),
            &Action::Propose(d),
        )
    };
    allows(&eval(admit(50)));
    denies(&eval(admit(2)), "already-a-member");
}

#[test]
fn the_lock_only_tightens() {
    let t = trust();
    let lock = |id: &str| Action::LockAsset(id.into());
    assert!(
        ClassicClt::evaluate(&t.view(1, &lock("old-site"), None), &lock("old-site")).is_allowed()
    );
    assert_eq!(
        code(&ClassicClt::evaluate(
            &t.view(1, &lock("tenancy-data"), None),
            &lock("tenancy-data")
        )),
        "already-locked"
    );
    assert_eq!(
        code(&ClassicClt::evaluate(
            &t.view(99, &lock("old-site"), None),
            &lock("old-site")
        )),
        "not-a-member"
    );
}

#[test]
fn only_the_proposer_withdraws() {
    let t = trust();
    let p = t.open(1, 1, &draft(ProposalBody::Ordinary, 7));
    assert!(
        ClassicClt::evaluate(
            &t.view(1, &Action::Withdraw(1), Some(&p)),
            &Action::Withdraw(1)
        )
        .is_allowed()
    );
    assert_eq!(
        code(&ClassicClt::evaluate(
            &t.view(2, &Action::Withdraw(1), Some(&p)),
            &Action::Withdraw(1)
        )),
        "not-the-proposer"
    );
}

#[test]
fn a_malformed_charter_denies_everything() {
    let t = trust().param("disposal-threshold", "0.66");
    let d = draft(ProposalBody::Ordinary, 7);
    let v = ClassicClt::evaluate(
        &t.view(1, &Action::Propose(d.clone()), None),
        &Action::Propose(d),
    );
    assert_eq!(code(&v), "bad-charter");
}

fn amendment() -> ProposalBody {
    ProposalBody::AmendBylaws(bylaws_sdk::Amendment {
        module: "ab".repeat(32),
        charter: vec![],
        releases: vec![],
    })
}

#[test]
fn amendments_need_thirty_days_notice() {
    let t = trust();
    for (days, allowed) in [(29, false), (30, true), (90, true), (91, false)] {
        let d = draft(amendment(), days);
        let v = ClassicClt::evaluate(
            &t.view(1, &Action::Propose(d.clone()), None),
            &Action::Propose(d),
        );
        assert_eq!(v.is_allowed(), allowed, "{days} days: {v:?}");
        if !allowed {
            let expected = if days < 30 {
                "window-too-short"
            } else {
                "window-too-long"
            };
            assert_eq!(code(&v), expected);
        }
    }
    let mut bad = draft(amendment(), 30);
    if let ProposalBody::AmendBylaws(a) = &mut bad.body {
        a.module = "not a hash".into();
    }
    let v = ClassicClt::evaluate(
        &t.view(1, &Action::Propose(bad.clone()), None),
        &Action::Propose(bad),
    );
    assert_eq!(code(&v), "bad-module-hash");
}

#[test]
fn amendments_need_two_thirds_a_quorum_of_half_and_carry_a_timelock() {
    let t = trust();
    let close = |p: &Poll| {
        ClassicClt::evaluate(&t.view(1, &Action::Close(1), Some(p)), &Action::Close(1))
            .decision()
            .cloned()
            .expect("close decides")
    };
    // 4 of 9 took part: below a quorum of half.
    let mut p = t.open(1, 1, &draft(amendment(), 30));
    cast(&mut p, [1, 2, 3, 4], Choice::Yes);
    assert_eq!(close(&p).outcome, Outcome::Expired);
    // 5 yes, 3 no: 62% < 2/3.
    let mut p = t.open(1, 1, &draft(amendment(), 30));
    cast(&mut p, [1, 2, 3, 4, 5], Choice::Yes);
    cast(&mut p, [6, 7, 8], Choice::No);
    let d = close(&p);
    assert_eq!(d.outcome, Outcome::Rejected);
    assert!(d.explanation.contains("§8"), "{}", d.explanation);
    // 6 yes, 3 no: exactly 2/3 passes, timelocked for 7 days from the close.
    let mut p = t.open(1, 1, &draft(amendment(), 30));
    cast(&mut p, [1, 2, 3, 4, 5, 6], Choice::Yes);
    cast(&mut p, [7, 8, 9], Choice::No);
    let d = close(&p);
    assert_eq!(d.outcome, Outcome::Passed);
    let now = t.view(1, &Action::Close(1), Some(&p)).now;
    assert_eq!(d.not_before, Some(now + 7 * DAY));
}

#[test]
fn executing_for_a_lapsed_member_cites_the_clause_of_the_proposal() {
    // Key 50 is not (or no longer) a member when the proposal is executed.
    let t = trust();
    let grant = draft(
        ProposalBody::GrantAccess(AccessRequest {
            grantee: key(50),
            asset_id: "tenancy-data".into(),
            fields: vec![],
            purpose: "rent study".into(),
            duration: 30 * DAY,
        }),
        7,
    );
    let removal = draft(ProposalBody::RemoveMember(key(50)), 7);
    for (d, clause) in [(grant, "§6 data access"), (removal, "§4 removal")] {
        let p = t.open(1, 1, &d);
        let v = ClassicClt::evaluate(
            &t.view(1, &Action::Execute(1), Some(&p)),
            &Action::Execute(1),
        );
        assert_eq!(denies(&v, "not-a-member").clause, clause);
    }
}
