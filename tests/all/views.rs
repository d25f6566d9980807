//! The SDK's native test kit builds the same views the host builds, so bylaw unit tests
//! see exactly what the bylaw sees in production.

use bylaws_sdk as sdk;
use bylaws_sdk::testing::Scenario;
use cltd_runtime as rt;

use crate::support::{DAY, Harness, founders};

/// The same trust as `Harness::classic()`, in the SDK's test kit.
fn scenario(h: &mut Harness) -> Scenario {
    let mut s = Scenario::new().at(h.trust.state().time);
    s.trust_id = h.trust.id_hex();
    s.trust_name = h.trust.state().name.clone();
    for (name, class) in founders() {
        let class: sdk::StakeholderClass = cltd::native::cross(&class);
        s = s.member_with_key(h.pk(name), name, class);
    }
    s.described_asset(
        "tenancy-data",
        sdk::AssetKind::Dataset,
        sdk::LockStatus::Perpetual,
        "tenancy records",
    )
    .described_asset(
        "old-site",
        sdk::AssetKind::Domain,
        sdk::LockStatus::Unlocked,
        "old domain",
    )
}

fn draft<B>(body: B) -> (String, String, u64, B) {
    ("t".to_string(), String::new(), 14 * DAY, body)
}

#[test]
fn the_test_kit_and_the_host_build_identical_views() {
    let mut h = Harness::classic();
    let s = scenario(&mut h);
    let now = h.trust.state().time;
    let r1 = h.pk("r1");
    let p3 = h.pk("p3");
    let stranger = h.pk("stranger");
    let propose = |body: (rt::ProposalBody, sdk::ProposalBody)| {
        let (title, text, window, (hb, sb)) = draft(body);
        (
            rt::Action::Propose(rt::ProposalDraft {
                body: hb,
                title: title.clone(),
                text: text.clone(),
                window,
            }),
            sdk::Action::Propose(sdk::ProposalDraft {
                body: sb,
                title,
                text,
                window,
            }),
        )
    };
    let cases: Vec<(Vec<u8>, rt::Action, sdk::Action)> = vec![
        {
            let (a, b) = propose((rt::ProposalBody::Ordinary, sdk::ProposalBody::Ordinary));
            (r1.clone(), a, b)
        },
        {
            let (a, b) = propose((rt::ProposalBody::Ordinary, sdk::ProposalBody::Ordinary));
            (stranger.clone(), a, b)
        },
        {
            let (a, b) = propose((
                rt::ProposalBody::AdmitMember(rt::Applicant {
                    key: p3.clone(),
                    name: "again".into(),
                    class: rt::StakeholderClass::Public,
                }),
                sdk::ProposalBody::AdmitMember(sdk::Applicant {
                    key: p3.clone(),
                    name: "again".into(),
                    class: sdk::StakeholderClass::Public,
                }),
            ));
            (r1.clone(), a, b)
        },
        {
            let (a, b) = propose((
                rt::ProposalBody::RemoveMember(p3.clone()),
                sdk::ProposalBody::RemoveMember(p3.clone()),
            ));
            (r1.clone(), a, b)
        },
        {
            let (a, b) = propose((
                rt::ProposalBody::DisposeAsset(rt::Disposal {
                    asset_id: "tenancy-data".into(),
                    recipient: "x".into(),
                }),
                sdk::ProposalBody::DisposeAsset(sdk::Disposal {
                    asset_id: "tenancy-data".into(),
                    recipient: "x".into(),
                }),
            ));
            (r1.clone(), a, b)
        },
        {
            let (a, b) = propose((
                rt::ProposalBody::GrantAccess(rt::AccessRequest {
                    grantee: p3.clone(),
                    asset_id: "tenancy-data".into(),
                    fields: vec!["rent".into()],
                    purpose: "p".into(),
                    duration: DAY,
                }),
                sdk::ProposalBody::GrantAccess(sdk::AccessRequest {
                    grantee: p3.clone(),
                    asset_id: "tenancy-data".into(),
                    fields: vec!["rent".into()],
                    purpose: "p".into(),
                    duration: DAY,
                }),
            ));
            (r1.clone(), a, b)
        },
        {
            let (a, b) = propose((
                rt::ProposalBody::AmendBylaws(rt::Amendment {
                    module: "ab".repeat(32),
                    charter: vec![rt::Parameter {
                        key: "ordinary-quorum".into(),
                        value: "1/4".into(),
                    }],
                    releases: vec!["asset-lock".into()],
                }),
                sdk::ProposalBody::AmendBylaws(sdk::Amendment {
                    module: "ab".repeat(32),
                    charter: vec![sdk::Parameter {
                        key: "ordinary-quorum".into(),
                        value: "1/4".into(),
                    }],
                    releases: vec!["asset-lock".into()],
                }),
            ));
            (r1.clone(), a, b)
        },
        (
            r1.clone(),
            rt::Action::LockAsset("old-site".into()),
            sdk::Action::LockAsset("old-site".into()),
        ),
        (
            r1.clone(),
            rt::Action::Delegate(rt::Delegation {
                delegate: Some(p3.clone()),
                until: now + DAY,
            }),
            sdk::Action::Delegate(sdk::Delegation {
                delegate: Some(p3.clone()),
                until: now + DAY,
            }),
        ),
        (
            stranger.clone(),
            rt::Action::RegisterAsset(rt::AssetDraft {
                id: "new".into(),
                kind: rt::AssetKind::Server,
                lock: rt::LockStatus::Unlocked,
                description: String::new(),
                fields: vec![],
            }),
            sdk::Action::RegisterAsset(sdk::AssetDraft {
                id: "new".into(),
                kind: sdk::AssetKind::Server,
                lock: sdk::LockStatus::Unlocked,
                description: String::new(),
                fields: vec![],
            }),
        ),
    ];
    for (actor, host_action, sdk_action) in cases {
        let key = rt::MemberKey(actor.as_slice().try_into().unwrap());
        let host = format!("{:?}", h.trust.view(&key, &host_action, now));
        let kit = format!("{:?}", s.view_as(&actor, &sdk_action, None));
        assert_eq!(host, kit, "views differ for {host_action:?}");
    }
}

#[test]
fn views_of_actions_on_a_proposal_are_identical_too() {
    // Vote, close, execute and withdraw: the view carries the proposal (and, for a removal,
    // a grant or a disposal, its subject or asset); the kit builds it from the proposal the
    // host holds.
    let mut h = Harness::classic();
    let bodies = [
        rt::ProposalBody::Ordinary,
        rt::ProposalBody::RemoveMember(h.pk("p3")),
        rt::ProposalBody::GrantAccess(rt::AccessRequest {
            grantee: h.pk("p3"),
            asset_id: "tenancy-data".into(),
            fields: vec![],
            purpose: "p".into(),
            duration: DAY,
        }),
        rt::ProposalBody::DisposeAsset(rt::Disposal {
            asset_id: "tenancy-data".into(),
            recipient: "x".into(),
        }),
    ];
    for body in bodies {
        h.allowed(
            "r1",
            rt::Action::Propose(rt::ProposalDraft {
                body,
                title: "t".into(),
                text: String::new(),
                window: 14 * DAY,
            }),
        );
    }
    h.allowed(
        "r2",
        rt::Action::Vote(rt::Vote {
            proposal: 1,
            choice: rt::Choice::Yes,
        }),
    );
    let s = scenario(&mut h);
    let now = h.trust.state().time;
    let numbers: Vec<u64> = h.trust.state().proposals.keys().copied().collect();
    assert_eq!(numbers.len(), 4);
    for number in numbers {
        // The kit recounts the roll itself (`Votes::of_roll`): its view equal to the host's
        // also says the host's kept count is the SDK's count.
        let roll: sdk::Roll = cltd::native::cross(&h.trust.state().rolls[&number].to_wit());
        let held = sdk::testing::Poll {
            proposal: cltd::native::cross(&h.trust.state().proposals[&number].proposal),
            electorate: roll.electors().collect(),
            ballots: roll
                .ballots()
                .map(|(i, choice)| sdk::Ballot {
                    voter: roll.key(i).unwrap(),
                    choice,
                })
                .collect(),
        };
        // The SDK reads the host's roll as the host keeps it (keys, classes, choices), and
        // the host lays it out as the SDK does from its electors and ballots.
        let kept = &h.trust.state().rolls[&number];
        let electors: Vec<(sdk::RollKey, sdk::StakeholderClass)> = kept
            .electorate()
            .iter()
            .map(|v| (v.key.to_words(), cltd::native::cross(&v.class)))
            .collect();
        assert_eq!(
            roll.electors()
                .map(|e| (e.key, e.class))
                .collect::<Vec<_>>(),
            electors
        );
        let ballots: Vec<(sdk::RollKey, sdk::Choice)> = kept
            .ballots()
            .map(|(v, c)| (v.key.to_words(), cltd::native::cross(&c)))
            .collect();
        assert_eq!(
            roll.ballots()
                .map(|(i, c)| (roll.key(i).unwrap(), c))
                .collect::<Vec<_>>(),
            ballots
        );
        assert_eq!(held.roll(), roll);
        let actions = [
            rt::Action::Vote(rt::Vote {
                proposal: number,
                choice: rt::Choice::No,
            }),
            rt::Action::Close(number),
            rt::Action::Execute(number),
            rt::Action::Withdraw(number),
        ];
        for who in ["r1", "p3", "stranger"] {
            let actor = h.pk(who);
            let key = rt::MemberKey(actor.as_slice().try_into().unwrap());
            for action in &actions {
                let kit_action: sdk::Action = cltd::native::cross(action);
                let host = format!("{:?}", h.trust.view(&key, action, now));
                let kit = format!("{:?}", s.view_as(&actor, &kit_action, Some(&held)));
                assert_eq!(host, kit, "views differ for {action:?} by {who}");
            }
        }
    }
}
