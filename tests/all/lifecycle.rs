//! The host's own checks: every refusal leaves the store and the state byte-identical.

use cltd_runtime::{
    Action, Choice, LifecycleError, ProposalBody, ProposalDraft, RefusalError, SignedTransition,
    Vote,
};

use crate::support::{DAY, Harness};

fn ordinary(days: u64) -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::Ordinary,
        title: "Adopt a code of conduct".into(),
        text: String::new(),
        window: days * DAY,
    })
}

fn vote(id: u64, choice: Choice) -> Action {
    Action::Vote(Vote {
        proposal: id,
        choice,
    })
}

#[test]
fn forged_signature_is_refused_without_trace() {
    let mut h = Harness::classic();
    let bytes = h.sign("r1", ordinary(7));
    let (mut signed, _) = SignedTransition::decode(&bytes).unwrap();
    signed.signature[0] ^= 0x80;
    let err = h.refused_bytes(&signed.to_bytes());
    assert!(matches!(err, RefusalError::BadSignature(_)), "{err:?}");

    // A valid signature by somebody else over r1's body is a forgery too.
    let (mut signed, body) = SignedTransition::decode(&bytes).unwrap();
    let other = h.sign("r2", ordinary(7));
    signed.signature = SignedTransition::decode(&other).unwrap().0.signature;
    assert_eq!(body.signer, h.key("r1").public());
    assert!(matches!(
        h.refused_bytes(&signed.to_bytes()),
        RefusalError::BadSignature(_)
    ));
}

#[test]
fn garbage_and_noncanonical_bytes_are_refused() {
    let mut h = Harness::classic();
    assert!(matches!(
        h.refused_bytes(b"not a transition"),
        RefusalError::Malformed(_)
    ));
    let mut bytes = h.sign("r1", ordinary(7));
    bytes.push(0);
    assert!(matches!(
        h.refused_bytes(&bytes),
        RefusalError::Malformed(_)
    ));
}

#[test]
fn replayed_sequence_number_is_refused() {
    let mut h = Harness::classic();
    let bytes = h.sign("r1", ordinary(7));
    h.trust.submit(&bytes).expect("first submission");
    let err = h.refused_bytes(&bytes);
    assert_eq!(
        err,
        RefusalError::BadSequence {
            key: "r1".into(),
            expected: 1,
            found: 0
        }
    );
    assert_eq!(
        err.to_string(),
        "sequence number 0 for r1 is not the next one (1)"
    );
}

#[test]
fn skipped_sequence_number_is_refused() {
    let mut h = Harness::classic();
    let kp = h.key("r1");
    let bytes = SignedTransition::sign(&kp, h.trust.id(), 5, ordinary(7)).to_bytes();
    assert!(matches!(
        h.refused_bytes(&bytes),
        RefusalError::BadSequence {
            expected: 0,
            found: 5,
            ..
        }
    ));
}

#[test]
fn transition_for_another_trust_is_refused() {
    let mut h = Harness::classic();
    let kp = h.key("r1");
    let bytes =
        SignedTransition::sign(&kp, cltd_runtime::TrustId([9; 32]), 0, ordinary(7)).to_bytes();
    assert!(matches!(
        h.refused_bytes(&bytes),
        RefusalError::WrongTrust { .. }
    ));
}

/// A proposal to admit "newcomer" to the public class.
fn admit_newcomer(h: &mut Harness) -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::AdmitMember(cltd_runtime::Applicant {
            key: h.pk("newcomer"),
            name: "Newcomer".into(),
            class: cltd_runtime::StakeholderClass::Public,
        }),
        title: "Admit Newcomer".into(),
        text: String::new(),
        window: 7 * DAY,
    })
}

#[test]
fn member_admitted_after_opening_cannot_vote_and_does_not_count() {
    let mut h = Harness::classic();
    // Proposal 1 admits newcomer; proposal 2 opens before the admission is executed.
    let admit = admit_newcomer(&mut h);
    h.allowed("r1", admit);
    for v in ["r1", "r2", "c1", "c2", "p1"] {
        h.allowed(v, vote(1, Choice::Yes));
    }
    h.allowed("c1", ordinary(14));
    h.wait_days(7);
    h.allowed("r1", Action::Close(1));
    h.allowed("r1", Action::Execute(1));
    let newcomer = h.pk("newcomer");
    assert!(h.trust.state().member(&newcomer).is_some());

    let err = h.refused("newcomer", vote(2, Choice::Yes));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::NotInElectorate { .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        h.trust.state().rolls[&2].electorate().len(),
        9,
        "the denominator stays frozen"
    );
}

#[test]
fn double_vote_is_refused() {
    let mut h = Harness::classic();
    h.allowed("r1", ordinary(7));
    h.allowed("r2", vote(1, Choice::Yes));
    let err = h.refused("r2", vote(1, Choice::No));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::AlreadyVoted { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn execute_before_passing_is_refused() {
    let mut h = Harness::classic();
    h.allowed("r1", ordinary(7));
    let err = h.refused("r1", Action::Execute(1));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::NotPassed { .. })
        ),
        "{err:?}"
    );
    // Closing before the window ends is refused too.
    assert!(matches!(
        h.refused("r1", Action::Close(1)),
        RefusalError::Lifecycle(LifecycleError::StillOpen { .. })
    ));
}

#[test]
fn execute_twice_is_refused() {
    let mut h = Harness::classic();
    h.allowed("r1", ordinary(7));
    for v in ["r1", "r2", "c1", "p1"] {
        h.allowed(v, vote(1, Choice::Yes));
    }
    h.wait_days(7);
    let closed = h.allowed("r1", Action::Close(1));
    assert_eq!(
        closed.verdict.decision().unwrap().outcome,
        cltd_runtime::Outcome::Passed
    );
    h.allowed("r1", Action::Execute(1));
    let err = h.refused("r1", Action::Execute(1));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::AlreadyExecuted { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn vote_after_the_window_is_refused() {
    let mut h = Harness::classic();
    h.allowed("r1", ordinary(7));
    h.wait_days(7);
    let err = h.refused("r2", vote(1, Choice::Yes));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::VotingClosed { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_proposal_is_refused() {
    let mut h = Harness::classic();
    assert!(matches!(
        h.refused("r1", vote(42, Choice::Yes)),
        RefusalError::NotFound(_)
    ));
}

#[test]
fn a_denial_is_logged_and_changes_only_the_sequence_number() {
    let mut h = Harness::classic();
    let before = h.trust.state().clone();
    let code = h.denied("r1", ordinary(1));
    assert_eq!(code, "window-too-short");
    let r1 = h.key("r1").member_key();
    let after = h.trust.state();
    assert_eq!(after.size, before.size + 1, "the denial is a log entry");
    assert_eq!(after.proposals, before.proposals);
    assert_eq!(after.members, before.members);
    assert_eq!(after.next_seq(&r1), 1, "the signed transition is spent");
}

#[test]
fn host_time_never_decreases() {
    let mut h = Harness::classic();
    let first = h.allowed("r1", ordinary(7));
    h.clock.set(first.time - 3_600);
    let second = h.allowed("r2", ordinary(7));
    assert_eq!(
        second.time, first.time,
        "a clock that steps back cannot stamp an earlier time"
    );
}

#[test]
fn a_removed_member_no_longer_votes_but_the_denominator_stays() {
    let mut h = Harness::classic();
    let p3 = h.pk("p3");
    h.allowed(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::RemoveMember(p3),
            title: "Remove p3".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    h.allowed("r1", ordinary(14)); // proposal 2 opens with p3 in its electorate
    for v in ["r1", "r2", "c1", "p1"] {
        h.allowed(v, vote(1, Choice::Yes));
    }
    h.wait_days(7);
    h.allowed("r1", Action::Close(1));
    h.allowed("r1", Action::Execute(1));
    // No longer a member: refused like any stranger, without trace.
    let err = h.refused("p3", vote(2, Choice::No));
    assert!(
        matches!(err, RefusalError::NotAMember { action: "vote", .. }),
        "{err:?}"
    );
    assert_eq!(h.trust.state().rolls[&2].electorate().len(), 9);
}

#[test]
fn a_vote_swing_after_a_proposal_passed_is_refused() {
    let mut h = Harness::classic();
    h.allowed("r1", ordinary(7));
    for v in ["r1", "r2", "c1"] {
        h.allowed(v, vote(1, Choice::Yes));
    }
    h.wait_days(7);
    h.allowed("r1", Action::Close(1));
    // Members who did not vote, or who did, try to swing the decided outcome.
    for (who, choice) in [("p1", Choice::No), ("p2", Choice::No), ("r1", Choice::No)] {
        let err = h.refused(who, vote(1, choice));
        assert!(
            matches!(
                err,
                RefusalError::Lifecycle(LifecycleError::NotOpenForVoting { .. })
            ),
            "{err:?}"
        );
    }
}

/// Proposals 1 and 2 voted through by r1, r2 and c1, and closed as passed.
fn pass_both(h: &mut Harness) {
    for id in [1, 2] {
        for v in ["r1", "r2", "c1"] {
            h.allowed(v, vote(id, Choice::Yes));
        }
    }
    h.wait_days(7);
    for id in [1, 2] {
        h.allowed("r1", Action::Close(id));
    }
}

#[test]
fn the_same_key_cannot_be_a_member_twice() {
    let mut h = Harness::classic();
    let r2 = h.pk("r2");
    // Proposed: the bylaw denies it (logged); executed after all: the host refuses it.
    let admit = Action::Propose(ProposalDraft {
        body: ProposalBody::AdmitMember(cltd_runtime::Applicant {
            key: r2.clone(),
            name: "r2 again".into(),
            class: cltd_runtime::StakeholderClass::Public,
        }),
        title: "Admit r2 a second time".into(),
        text: String::new(),
        window: 7 * DAY,
    });
    let code = h.denied("r1", admit);
    assert_eq!(code, "already-a-member");
    // A key admitted while its admission was pending cannot be admitted again on execute.
    let ada = h.pk("ada");
    let admit_ada = || {
        Action::Propose(ProposalDraft {
            body: ProposalBody::AdmitMember(cltd_runtime::Applicant {
                key: ada.clone(),
                name: "Ada".into(),
                class: cltd_runtime::StakeholderClass::Resident,
            }),
            title: "Admit Ada".into(),
            text: String::new(),
            window: 7 * DAY,
        })
    };
    h.allowed("r1", admit_ada());
    h.allowed("r2", admit_ada());
    pass_both(&mut h);
    h.allowed("r1", Action::Execute(1));
    let err = h.refused("r1", Action::Execute(2));
    assert!(
        matches!(err, RefusalError::Lifecycle(LifecycleError::AlreadyMember)),
        "{err:?}"
    );
    // Founding with one key twice is refused before anything is written (tests/all/store.rs).
}

/// An `admit-members` proposal with these applicants (name, class), keys from their names.
fn admit_members(h: &mut Harness, list: &[(&str, cltd_runtime::StakeholderClass)]) -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::AdmitMembers(
            list.iter()
                .map(|(name, class)| cltd_runtime::Applicant {
                    key: h.pk(name),
                    name: (*name).into(),
                    class: *class,
                })
                .collect(),
        ),
        title: "Admit the new block".into(),
        text: String::new(),
        window: 7 * DAY,
    })
}

#[test]
fn several_applicants_are_admitted_by_one_resolution_all_or_none() {
    use cltd_runtime::StakeholderClass::{Community, Resident};
    let mut h = Harness::classic();
    let members = h.trust.state().members.len();

    // The host refuses, without trace: an empty list, a key twice, a member, too many.
    for (list, what) in [
        (vec![], "empty"),
        (vec![("gita", Resident), ("gita", Community)], "twice"),
        (vec![("gita", Resident), ("r2", Resident)], "member"),
    ] {
        let action = admit_members(&mut h, &list);
        let err = h.refused("r1", action);
        match what {
            "member" => assert!(
                matches!(
                    &err,
                    RefusalError::Lifecycle(LifecycleError::ApplicantIsMember { who }) if who.contains("r2")
                ),
                "{what}: {err:?}"
            ),
            _ => assert!(matches!(err, RefusalError::Invalid(_)), "{what}: {err:?}"),
        }
    }
    let names: Vec<String> = (0..=cltd_runtime::MAX_APPLICANTS)
        .map(|i| format!("a{i}"))
        .collect();
    let too_many: Vec<_> = names.iter().map(|n| (n.as_str(), Resident)).collect();
    let action = admit_members(&mut h, &too_many);
    let err = h.refused("r1", action);
    assert!(
        matches!(&err, RefusalError::Invalid(m) if m.contains("at most 1000")),
        "{err:?}"
    );

    // The bylaw judges each applicant and names the first it will not admit.
    let action = admit_members(
        &mut h,
        &[
            ("gita", Resident),
            ("hugo", cltd_runtime::StakeholderClass::Worker),
        ],
    );
    assert_eq!(h.denied("r1", action), "class-not-admitted");

    // Two lists naming Ida: the first executed admits everyone on it; the second can
    // then never admit anyone, since Ida is a member.
    let first = admit_members(&mut h, &[("gita", Resident), ("ida", Community)]);
    h.allowed("r1", first);
    let second = admit_members(&mut h, &[("jon", Resident), ("ida", Community)]);
    h.allowed("r2", second);
    pass_both(&mut h);
    let receipt = h.allowed("r1", Action::Execute(1));
    assert_eq!(
        receipt
            .effects
            .iter()
            .filter(|e| matches!(e, cltd_runtime::Effect::MemberAdmitted { .. }))
            .count(),
        2
    );
    assert_eq!(h.trust.state().members.len(), members + 2);
    let err = h.refused("r1", Action::Execute(2));
    assert!(
        matches!(
            &err,
            RefusalError::Lifecycle(LifecycleError::ApplicantIsMember { who }) if who.contains("ida")
        ),
        "{err:?}"
    );
    let jon = h.pk("jon");
    assert!(h.trust.state().member(&jon).is_none());
    // The newcomers act, and the log replays to the same state.
    h.allowed("gita", ordinary(7));
    assert!(h.trust.verify().unwrap().is_ok());
}

#[test]
fn a_flood_of_proposals_from_one_member_is_refused_without_trace() {
    let mut h = Harness::classic();
    for _ in 0..cltd_runtime::MAX_OPEN_PER_PROPOSER {
        h.allowed("r1", ordinary(7));
    }
    let err = h.refused("r1", ordinary(7));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::TooManyOpen { .. })
        ),
        "{err:?}"
    );
    // Other members are not affected, and a withdrawal makes room again.
    h.allowed("r2", ordinary(7));
    h.allowed("r1", Action::Withdraw(1));
    h.allowed("r1", ordinary(7));
    // Room for exactly one: the count the state keeps follows every change, and a store
    // opened again counts the same.
    assert!(matches!(
        h.refused("r1", ordinary(7)),
        RefusalError::Lifecycle(LifecycleError::TooManyOpen { .. })
    ));
    assert_eq!(h.trust.state().open_counts, h.trust.state().count_open());
    let state = h.trust.state().clone();
    let crate::support::Harness { dir, trust, .. } = h;
    drop(trust);
    let reopened = cltd_runtime::Trust::open(
        dir.path(),
        crate::support::runtime(),
        Box::new(cltd_runtime::SystemClock),
    )
    .unwrap();
    assert_eq!(reopened.state().open_counts, state.open_counts);
    assert_eq!(
        reopened
            .state()
            .open_by(&state.proposals[&2].proposal.proposer),
        256
    );
}

#[test]
fn proposals_opened_while_the_members_are_unchanged_share_one_frozen_electorate() {
    let mut h = Harness::classic();
    let admit = admit_newcomer(&mut h);
    h.allowed("r1", admit);
    h.allowed("c1", ordinary(7));
    // A proposal the bylaw denies (too short a window) freezes nothing.
    assert!(!h.denied("c2", ordinary(1)).is_empty());
    let rosters = |h: &Harness| {
        let s = h.trust.state();
        let names: Vec<_> = s.rolls.values().map(|r| *r.roster().hash()).collect();
        (s.rosters.len(), names)
    };
    let (stored, named) = rosters(&h);
    assert_eq!(stored, 1, "two openings, one frozen electorate");
    assert_eq!(named[0], named[1]);

    pass_both(&mut h);
    h.allowed("r1", Action::Execute(1));
    // The members changed: the next opening freezes them anew; the earlier proposals keep
    // theirs, and a second opening with the new members shares the new one.
    h.allowed("newcomer", ordinary(7));
    h.allowed("r2", ordinary(7));
    let (stored, named) = rosters(&h);
    assert_eq!(stored, 2);
    assert_eq!(named[2], named[3]);
    assert_ne!(named[0], named[2]);
    let state = h.trust.state();
    assert_eq!(state.rolls[&2].electorate().len(), 9);
    assert_eq!(state.rolls[&3].electorate().len(), 10);
    assert_eq!(state.rolls[&4].roster().voters().len(), 10);
    h.allowed("newcomer", vote(4, Choice::Yes));

    // What is stored is what was in memory, and the log replays to it.
    assert!(h.trust.verify().unwrap().is_ok());
    let before = h.trust.state().clone();
    let crate::support::Harness {
        dir, trust, clock, ..
    } = h;
    drop(trust);
    let reopened = cltd_runtime::Trust::open(
        dir.path(),
        crate::support::runtime(),
        Box::new(clock.clone()),
    )
    .unwrap();
    assert!(*reopened.state() == before, "the reopened state differs");
}
