//! Whole governance flows through classic-clt: admission, the asset lock, data access.

use cltd_runtime::{
    AccessRequest, Action, Applicant, Choice, Disposal, Effect, Error, Outcome, ProposalBody,
    ProposalDraft, RefusalError, StakeholderClass, Trust, Vote,
};

use crate::support::{DAY, Harness, runtime};

fn propose(body: ProposalBody, days: u64) -> Action {
    Action::Propose(ProposalDraft {
        body,
        title: "proposal".into(),
        text: String::new(),
        window: days * DAY,
    })
}

fn votes(h: &mut Harness, id: u64, names: &[&str], choice: Choice) {
    for n in names {
        h.allowed(
            n,
            Action::Vote(Vote {
                proposal: id,
                choice,
            }),
        );
    }
}

#[test]
fn perpetual_disposal_fails_without_a_supermajority_in_every_class() {
    let mut h = Harness::classic();
    let dispose = ProposalBody::DisposeAsset(Disposal {
        asset_id: "tenancy-data".into(),
        recipient: "DataCorp, sale".into(),
    });
    // Too short a window is denied, naming the clause.
    let r = h.act("c1", propose(dispose.clone(), 7)).unwrap();
    let d = r.verdict.denial().expect("denied");
    assert_eq!(d.code, "window-too-short");
    assert!(d.clause.contains("§5"), "{d:?}");

    h.allowed("c1", propose(dispose, 14));
    votes(
        &mut h,
        1,
        &["r1", "c1", "c2", "c3", "p1", "p2", "p3"],
        Choice::Yes,
    );
    votes(&mut h, 1, &["r2", "r3"], Choice::No);
    h.wait_days(14);
    let closed = h.allowed("c1", Action::Close(1));
    let decision = closed.verdict.decision().unwrap();
    assert_eq!(decision.outcome, Outcome::Rejected);
    assert!(
        decision
            .explanation
            .contains("resident class: 1 of 3 (33%)"),
        "{}",
        decision.explanation
    );
    assert!(
        h.refused("c1", Action::Execute(1))
            .to_string()
            .contains("only a passed proposal")
    );
    assert!(
        h.trust.state().assets.contains_key("tenancy-data"),
        "the asset lock held"
    );
}

#[test]
fn admission_then_access_grant_then_lock() {
    let mut h = Harness::classic();
    let ada = h.pk("ada");
    h.allowed(
        "p1",
        propose(
            ProposalBody::AdmitMember(Applicant {
                key: ada.clone(),
                name: "Ada".into(),
                class: StakeholderClass::Resident,
            }),
            7,
        ),
    );
    votes(&mut h, 1, &["r1", "c1", "p1", "p2"], Choice::Yes);
    votes(&mut h, 1, &["c2"], Choice::No);
    h.wait_days(7);
    assert_eq!(
        h.allowed("p1", Action::Close(1))
            .verdict
            .decision()
            .unwrap()
            .outcome,
        Outcome::Passed
    );
    let exec = h.allowed("p2", Action::Execute(1));
    assert!(exec.effects.contains(&Effect::MemberAdmitted {
        key: ada.clone(),
        class: StakeholderClass::Resident
    }));

    h.allowed(
        "ada",
        propose(
            ProposalBody::GrantAccess(AccessRequest {
                grantee: ada.clone(),
                asset_id: "tenancy-data".into(),
                fields: vec![],
                purpose: "study of rent arrears, aggregated".into(),
                duration: 180 * DAY,
            }),
            7,
        ),
    );
    votes(&mut h, 2, &["ada", "r1", "r2", "c1", "p3"], Choice::Yes);
    h.wait_days(7);
    h.allowed("ada", Action::Close(2));
    let exec = h.allowed("ada", Action::Execute(2));
    let grant = &h.trust.state().grants[&1];
    assert_eq!(grant.grantee, ada);
    assert_eq!(grant.expires_at, exec.time + 180 * DAY);

    let lock = h.allowed("r3", Action::LockAsset("old-site".into()));
    assert_eq!(
        lock.effects,
        vec![Effect::AssetLocked {
            asset: "old-site".into()
        }]
    );
    assert_eq!(
        h.denied("r3", Action::LockAsset("old-site".into())),
        "already-locked"
    );
}

#[test]
fn quorum_failure_expires_the_proposal() {
    let mut h = Harness::classic();
    h.allowed("r1", propose(ProposalBody::Ordinary, 7));
    votes(&mut h, 1, &["r1", "r2"], Choice::Yes);
    h.wait_days(8);
    let closed = h.allowed("r3", Action::Close(1));
    assert_eq!(closed.verdict.decision().unwrap().outcome, Outcome::Expired);
}

#[test]
fn group_commit_acknowledges_each_transition_and_isolates_refusals() {
    let mut h = Harness::classic();
    let a = h.sign("r1", propose(ProposalBody::Ordinary, 7));
    let b = h.sign("r2", propose(ProposalBody::Ordinary, 7));
    let bad = b"garbage".to_vec();
    let results = h.trust.submit_batch(&[&a, &bad, &b]);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    assert!(results[1].is_err());
    assert_eq!(
        results[2].as_ref().unwrap().index,
        results[0].as_ref().unwrap().index + 1
    );
    assert_eq!(h.trust.state().proposals.len(), 2);
    assert!(
        cltd_runtime::verify(h.trust.database(), &runtime())
            .unwrap()
            .is_ok()
    );
}

#[test]
fn state_survives_reopening() {
    let mut h = Harness::classic();
    h.allowed("r1", propose(ProposalBody::Ordinary, 7));
    votes(&mut h, 1, &["c1"], Choice::Abstain);
    let state = h.trust.state().clone();
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep,
        trust,
        clock,
        ..
    } = h;
    drop(trust);
    let reopened = Trust::open(&dir, runtime(), Box::new(clock)).expect("reopen");
    assert_eq!(reopened.state(), &state);
    drop(keep);
}

#[test]
fn concurrent_submitters_share_durable_group_commits() {
    let mut h = Harness::classic();
    let names = ["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2"];
    // Each member signs five proposals up front (sequence numbers 0..5).
    let mut work = Vec::new();
    for n in names {
        let kp = h.key(n);
        let txs: Vec<Vec<u8>> = (0..5)
            .map(|seq| {
                cltd_runtime::SignedTransition::sign(
                    &kp,
                    h.trust.id(),
                    seq,
                    propose(ProposalBody::Ordinary, 7),
                )
                .to_bytes()
            })
            .collect();
        work.push(txs);
    }
    let (r1, id) = (h.key("r1"), h.trust.id());
    let Harness { dir, trust, .. } = h;
    let committer = std::sync::Arc::new(cltd_runtime::GroupCommitter::new(trust, 16));
    let threads: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let s = committer.clone();
            std::thread::spawn(move || {
                txs.into_iter()
                    .map(|t| s.submit(t).unwrap().index)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut indices: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    indices.sort_unstable();
    assert_eq!(
        indices,
        (1..=40).collect::<Vec<_>>(),
        "every transition acknowledged once, in one gapless log"
    );
    // Encoding, trust and signature are checked on the submitter's thread: a forgery and a
    // transition for another trust are refused there and never reach the queue.
    let s = &committer;
    let sign = |trust| {
        cltd_runtime::SignedTransition::sign(&r1, trust, 5, propose(ProposalBody::Ordinary, 7))
    };
    let mut forged = sign(id);
    forged.signature[0] ^= 1;
    assert!(matches!(
        s.submit(forged.to_bytes()),
        Err(Error::Refused(RefusalError::BadSignature(_)))
    ));
    assert!(matches!(
        s.submit(sign(cltd_runtime::TrustId([7; 32])).to_bytes()),
        Err(Error::Refused(RefusalError::WrongTrust { .. }))
    ));
    let (batches, transitions) = committer.stats();
    assert_eq!(transitions, 40);
    assert!(
        (3..=40).contains(&batches),
        "at most 16 per durable batch: {batches}"
    );
    // Reads share the committer's lock.
    assert_eq!(committer.lock().unwrap().state().proposals.len(), 40);
    let trust = std::sync::Arc::into_inner(committer)
        .expect("every submitter has finished")
        .into_trust()
        .unwrap();
    assert_eq!(trust.state().proposals.len(), 40);
    assert!(
        cltd_runtime::verify(trust.database(), &runtime())
            .unwrap()
            .is_ok()
    );
    drop(dir);
}

#[test]
fn a_panic_while_committing_answers_every_waiting_submitter_with_an_error() {
    let mut h = Harness::classic();
    let id = h.trust.id();
    let names = ["r1", "r2", "r3", "c1", "c2"];
    let signed: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            cltd_runtime::SignedTransition::sign(
                &h.key(n),
                id,
                0,
                propose(ProposalBody::Ordinary, 7),
            )
            .to_bytes()
        })
        .collect();
    let Harness { dir, trust, .. } = h;
    let committer = std::sync::Arc::new(cltd_runtime::GroupCommitter::new(trust, 16));
    // The first submitter leads; its answer panics while it holds the trust, after the
    // others have had time to queue behind it.
    let leader = {
        let s = committer.clone();
        let first = cltd_runtime::CheckedTransition::check(signed[0].clone(), &id).unwrap();
        std::thread::spawn(move || {
            s.submit_checked(
                first,
                Box::new(|_, _| {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    panic!("a reply that panics");
                }),
            )
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(50));
    let (answered, answers) = std::sync::mpsc::channel();
    for t in signed[1..].iter().cloned() {
        let (s, answered) = (committer.clone(), answered.clone());
        std::thread::spawn(move || {
            let _ = answered.send(s.submit(t));
        });
    }
    assert!(leader.join().is_err(), "the leader's thread panicked");
    for _ in 1..signed.len() {
        // Each is answered, not left waiting: with an error, since the trust is unusable.
        let answer = answers
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a submitter queued behind a panicking leader is answered");
        assert!(matches!(&answer, Err(Error::Store(_))), "{answer:?}");
    }
    assert!(
        committer.lock().is_err(),
        "the fault is reported to readers too"
    );
    drop(dir);
}
