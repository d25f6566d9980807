//! The guarantees of issue 14, attacked from outside: an entrenched clause cannot be released
//! by an ordinary amendment on any path, a trust cannot be founded broken, strangers cannot
//! grow a trust's log, and refusals speak in names.

use cltd_runtime::{
    Action, Applicant, CharterError, Choice, Clause, Decision, Disposal, Effect, Error,
    LifecycleError, Outcome, Parameter, ProposalBody, ProposalDraft, ProposalStatus, RefusalError,
    StakeholderClass, Vote, verify,
};

use crate::amendments::{amendment, close, draft, open, param, upload, vote};
use crate::support::{DAY, Harness, bylaw, classic, runtime};

/// A disposal of `asset` to CityScape Analytics Ltd, proposed by r1 with a `days` window.
fn disposal(h: &mut Harness, asset: &str, days: u64) -> u64 {
    open(
        h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::DisposeAsset(Disposal {
                asset_id: asset.into(),
                recipient: "CityScape Analytics Ltd, outright".into(),
            }),
            title: format!("Sell {asset}"),
            text: "A buyer has made an offer.".into(),
            window: days * DAY,
        }),
    )
}

/// Six yes and two no, with the resident class 1 of 3: what classic-clt's asset lock rejects.
const YES: [&str; 6] = ["r1", "c1", "c2", "c3", "p1", "p2"];
const NO: [&str; 2] = ["r2", "r3"];

/// Amend to `minimal` (which refuses to open disposals and amendments, so it passes every
/// conformance vector) with 6–2 ballots, and execute it after the timelock.
fn adopt_minimal(h: &mut Harness) -> cltd_runtime::ModuleHash {
    let minimal = upload(h, "minimal");
    let preview = h.trust.preview_amendment(&minimal, &[]).unwrap();
    assert!(preview.conforms(), "{:?}", preview.conformance);
    assert_eq!(preview.conformance.len(), 9);
    let id = open(h, draft(amendment(&minimal, vec![], &[]), 30));
    vote(h, id, &YES, &NO);
    h.wait_days(30);
    assert_eq!(close(h, id), Outcome::Passed);
    h.wait_days(7);
    h.allowed("c1", Action::Execute(id));
    assert_eq!(h.trust.state().module, minimal);
    minimal
}

#[test]
fn an_ordinary_amendment_cannot_release_the_asset_lock_of_a_disposal_already_open() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    // A member proposes selling the perpetual tenancy records (90-day window); the votes are
    // 6 yes, 2 no, with the resident class 1 of 3.
    let sale = disposal(&mut h, "tenancy-data", 90);
    vote(&mut h, sale, &YES, &NO);
    // Meanwhile the members adopt `minimal` by the same ballots (75%, above 2/3).
    adopt_minimal(&mut h);
    // The disposal is closed under the rules it was opened under, not minimal's majority.
    h.wait_days(90);
    let r = h.allowed("c1", Action::Close(sale));
    assert_eq!(
        r.module, classic,
        "judged by the module it was opened under"
    );
    let decision = r.verdict.decision().unwrap();
    assert_eq!(
        decision.outcome,
        Outcome::Rejected,
        "{}",
        decision.explanation
    );
    assert!(
        decision
            .explanation
            .contains("resident class: 1 of 3 (33%), needs 2/3"),
        "{}",
        decision.explanation
    );
    // Nothing can be executed; the asset is still held.
    assert!(matches!(
        h.refused("c1", Action::Execute(sale)),
        RefusalError::Lifecycle(_)
    ));
    assert!(h.trust.state().assets.contains_key("tenancy-data"));
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
}

#[test]
fn an_ordinary_amendment_cannot_release_the_amendment_supermajority_of_one_already_open() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    // A pending amendment (a lower quorum) with 5 yes and 4 no: 56%, short of 2/3.
    let quorum = vec![param("ordinary-quorum", "1/4")];
    h.trust.preview_amendment(&classic, &quorum).unwrap();
    let pending = open(&mut h, draft(amendment(&classic, quorum, &[]), 60));
    vote(
        &mut h,
        pending,
        &["r1", "r2", "c1", "c2", "p1"],
        &["r3", "c3", "p2", "p3"],
    );
    // minimal, which would pass it by a simple majority, comes into force meanwhile.
    adopt_minimal(&mut h);
    h.wait_days(60);
    let r = h.allowed("c1", Action::Close(pending));
    assert_eq!(r.module, classic);
    let decision = r.verdict.decision().unwrap();
    assert_eq!(
        decision.outcome,
        Outcome::Rejected,
        "{}",
        decision.explanation
    );
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
}

#[test]
fn a_proposal_opened_before_an_amendment_is_executed_after_it_under_its_own_rules() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    // An admission, and an amendment whose timelock runs past minimal's adoption.
    let newcomer = h.pk("newcomer");
    let admit = open(
        &mut h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::AdmitMember(Applicant {
                key: newcomer.clone(),
                name: "newcomer".into(),
                class: StakeholderClass::Public,
            }),
            title: "Admit a newcomer".into(),
            text: String::new(),
            window: 31 * DAY,
        }),
    );
    vote(&mut h, admit, &YES, &NO);
    let quorum = vec![param("ordinary-quorum", "1/4")];
    h.trust.preview_amendment(&classic, &quorum).unwrap();
    let later = open(&mut h, draft(amendment(&classic, quorum.clone(), &[]), 36));
    vote(&mut h, later, &YES, &NO);
    let minimal = adopt_minimal(&mut h); // executed on day 37
    // The admission passed under classic-clt and executes under it.
    h.allowed("c1", Action::Close(admit));
    let r = h.allowed("c1", Action::Execute(admit));
    assert_eq!(r.module, classic);
    let key = h.key("newcomer").member_key();
    assert!(h.trust.state().members.contains_key(&key));
    // The amendment's timelock, set by classic-clt, holds under minimal too.
    let r = h.allowed("c1", Action::Close(later));
    assert_eq!(r.module, classic);
    let not_before = r.verdict.decision().unwrap().not_before.unwrap();
    assert!(matches!(
        h.refused("c1", Action::Execute(later)),
        RefusalError::Lifecycle(LifecycleError::Timelocked { .. })
    ));
    h.clock.set(not_before);
    let r = h.allowed("c1", Action::Execute(later));
    assert_eq!(
        r.module, classic,
        "executed under the rules it passed under"
    );
    assert_eq!(h.trust.state().module, classic);
    assert_eq!(h.trust.state().charter, quorum);
    // Proposals opened under minimal are judged by minimal.
    let _ = minimal;
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
}

#[test]
fn a_migrate_that_weakens_the_charter_is_caught_at_proposal() {
    let mut h = Harness::classic();
    let hostile = upload(&mut h, "hostile-bylaw");
    let charter = vec![param("hostile", "weak-migrate")];
    let preview = h.trust.preview_amendment(&hostile, &charter).unwrap();
    assert!(
        preview
            .charter
            .contains(&param("disposal-threshold", "1/2")),
        "{:?}",
        preview.charter
    );
    assert!(!preview.conforms());
    let err = h.refused("r1", draft(amendment(&hostile, charter, &[]), 30));
    assert!(
        matches!(&err, RefusalError::Entrenched { clause, .. } if clause == "asset-lock"),
        "{err}"
    );
}

/// The decision the host recorded on proposal `id`.
fn recorded(h: &Harness, id: u64) -> Decision {
    h.trust.state().proposals[&id].decision.clone().unwrap()
}

/// A trust on a bylaw written to fool the conformance vectors: it behaves in their synthetic
/// trust and passes anything with more yes than no elsewhere.
fn gamer() -> Harness {
    Harness::with(&bylaw("hostile-bylaw"), vec![param("hostile", "gamer")])
}

#[test]
fn the_host_holds_the_asset_lock_whatever_the_bylaw_decides() {
    let mut h = gamer();
    let sale = disposal(&mut h, "tenancy-data", 30);
    vote(&mut h, sale, &YES, &NO);
    h.wait_days(30);
    h.allowed("c1", Action::Close(sale));
    let decision = recorded(&h, sale);
    assert_eq!(decision.outcome, Outcome::Rejected);
    assert!(
        decision.explanation.starts_with(
            "rejected by the host: entrenched clause `asset-lock`: disposing of the perpetual asset `tenancy-data` needs 2/3 of the votes cast in each class; resident class: 1 of 3 (33%), needs 2/3"
        ),
        "{}",
        decision.explanation
    );
    assert!(
        decision
            .explanation
            .contains("The bylaws alone would have passed it: gamer: 6 yes against 2 no"),
        "{}",
        decision.explanation
    );
    assert_eq!(
        h.trust.state().proposals[&sale].proposal.status,
        ProposalStatus::Rejected
    );
    // The same bylaw passes an unlocked asset's disposal: the floor is the lock's alone.
    let site = disposal(&mut h, "old-site", 30);
    vote(&mut h, site, &YES, &NO);
    h.wait_days(30);
    assert_eq!(close(&mut h, site), Outcome::Passed);
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
}

#[test]
fn the_host_holds_the_amendment_supermajority_whatever_the_bylaw_decides() {
    let mut h = gamer();
    let module = h.trust.state().module;
    let charter = vec![param("hostile", "gamer"), param("ordinary-quorum", "1/4")];
    h.trust.preview_amendment(&module, &charter).unwrap();
    let id = open(&mut h, draft(amendment(&module, charter, &[]), 30));
    vote(
        &mut h,
        id,
        &["r1", "r2", "c1", "c2", "p1"],
        &["r3", "c3", "p2", "p3"],
    );
    h.wait_days(30);
    // The bylaw passes it; the host records it as rejected.
    let r = h.allowed("c1", Action::Close(id));
    assert_eq!(r.verdict.decision().unwrap().outcome, Outcome::Passed);
    assert!(r.effects.contains(&Effect::ProposalDecided {
        proposal: id,
        outcome: Outcome::Rejected
    }));
    let decision = recorded(&h, id);
    assert_eq!(decision.outcome, Outcome::Rejected);
    assert!(
        decision.explanation.contains(
            "entrenched clause `amendment-supermajority`: an amendment needs 2/3 of the votes cast; 5 of 9 (56%)"
        ),
        "{}",
        decision.explanation
    );
}

#[test]
fn a_disposal_whose_asset_is_locked_after_it_passed_cannot_be_executed() {
    let mut h = Harness::classic();
    // old-site is unlocked: an ordinary resolution decides its disposal.
    let site = disposal(&mut h, "old-site", 7);
    vote(&mut h, site, &["r1", "c1", "p1"], &["r2"]);
    h.wait_days(7);
    assert_eq!(close(&mut h, site), Outcome::Passed);
    // Then the members put it under the perpetual lock.
    h.allowed("c2", Action::LockAsset("old-site".into()));
    let err = h.refused("c1", Action::Execute(site));
    assert!(
        matches!(&err, RefusalError::Lifecycle(LifecycleError::LockedSinceDecided { shortfall, .. }) if shortfall.contains("entrenched clause `asset-lock`") && shortfall.contains("resident class: 1 of 2 (50%), needs 2/3")),
        "{err}"
    );
    assert!(h.trust.state().assets.contains_key("old-site"));
}

/// Found a classic-clt trust with `params`, entrenching every clause: the refusal.
fn found(params: Vec<Parameter>) -> Error {
    match Harness::try_with(&classic(), params, Clause::ALL.to_vec()) {
        Ok(_) => panic!("the founding should be refused"),
        Err(e) => e,
    }
}

#[test]
fn a_trust_cannot_be_founded_with_a_lock_it_does_not_keep() {
    let err = found(vec![param("disposal-threshold", "1/2")]);
    match &err {
        Error::Charter(CharterError::Entrenched { clause, vector, .. }) => {
            assert_eq!(clause, "asset-lock");
            assert!(vector.contains("60% support"), "{vector}");
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("entrenches `asset-lock`"), "{err}");
    // The amendment rule likewise.
    let err = found(vec![param("amendment-threshold", "1/2")]);
    assert!(
        matches!(&err, Error::Charter(CharterError::Entrenched { clause, .. }) if clause == "amendment-supermajority"),
        "{err}"
    );
    // And one member, one vote: a bylaw that weighs residents' votes.
    let weighted = Harness::try_with(
        &bylaw("hostile-bylaw"),
        vec![param("hostile", "weighted")],
        vec![Clause::OneMemberOneVote],
    );
    assert!(
        matches!(&weighted, Err(Error::Charter(CharterError::Entrenched { clause, .. })) if clause == "one-member-one-vote"),
        "{:?}",
        weighted.err()
    );
    // Entrenching fewer clauses is a choice a trust may make, and then says so.
    let h = Harness::try_with(
        &classic(),
        vec![param("disposal-threshold", "1/2")],
        vec![Clause::AmendmentSupermajority, Clause::OneMemberOneVote],
    )
    .unwrap();
    assert!(!h.trust.state().entrenched.contains(&Clause::AssetLock));
}

#[test]
fn a_charter_the_bylaw_cannot_read_is_refused_naming_every_problem() {
    let problems = |params: Vec<Parameter>| match found(params) {
        Error::Charter(CharterError::Problems(p)) => {
            assert_eq!(p.bylaw, "classic-clt");
            p.problems
        }
        other => panic!("{other}"),
    };
    // A float where a ratio belongs: locked forever, before this check.
    let p = problems(vec![param("disposal-threshold", "0.75")]);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].key, "disposal-threshold");
    assert_eq!(
        p[0].problem,
        "`0.75` is not a ratio N/D from 1/2 to 1 (the default is 2/3)"
    );
    // A misspelled key: the default would silently apply.
    let p = problems(vec![param("disposal-threshhold", "3/4")]);
    assert_eq!(p[0].key, "disposal-threshhold");
    assert!(
        p[0].problem.starts_with("unknown parameter")
            && p[0].problem.contains("`disposal-threshold`"),
        "{}",
        p[0].problem
    );
    // No quorum at all, and every other problem at once.
    let p = problems(vec![
        param("ordinary-quorum", "0/1"),
        param("max-window-days", "3"),
        param("amendment-timelock-days", "forever"),
    ]);
    let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ordinary-quorum",
            "amendment-timelock-days",
            "ordinary-min-window-days"
        ],
        "{p:?}"
    );
    assert!(p[0].problem.contains("above 0"), "{}", p[0].problem);
    assert!(
        p[2].problem
            .contains("longer than `max-window-days` (3 days)"),
        "{}",
        p[2].problem
    );
}

#[test]
fn a_refused_founding_writes_nothing() {
    let dir = tempfile::TempDir::new().unwrap();
    let inside = dir.path().join("trust");
    let err = cltd_runtime::Trust::create(
        &inside,
        runtime(),
        cltd_runtime::Charter {
            treasury: None,
            name: "Broken".into(),
            params: vec![param("disposal-threshold", "0.75")],
            founders: vec![Applicant {
                key: vec![1; 32],
                name: "a".into(),
                class: StakeholderClass::Resident,
            }],
            assets: vec![],
            entrenched: Clause::ALL.to_vec(),
        },
        &classic(),
        Box::new(cltd_runtime::SystemClock),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Charter(_)), "{err}");
    assert!(
        !inside.exists(),
        "not even the data directory or a host key"
    );
}

#[test]
fn an_amendment_with_a_charter_its_module_cannot_read_is_refused_at_preview_and_proposal() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    for bad in [
        vec![param("disposal-threshhold", "3/4")],
        vec![param("ordinary-quorum", "0.25")],
    ] {
        let err = h.trust.preview_amendment(&classic, &bad).unwrap_err();
        assert!(
            matches!(&err, Error::Refused(RefusalError::Charter(p)) if p.problems[0].key == bad[0].key),
            "{err}"
        );
        let err = h.refused("r1", draft(amendment(&classic, bad, &[]), 30));
        assert!(matches!(err, RefusalError::Charter(_)), "{err}");
    }
}

#[test]
fn a_strangers_transitions_leave_no_trace() {
    let mut h = Harness::classic();
    let before = h.trust.dump().unwrap();
    // A flood of fresh keys: each is refused without a log entry or a sequence number.
    for i in 0..50 {
        let who = format!("stranger-{i}");
        let err = h.refused(
            &who,
            Action::Propose(ProposalDraft {
                body: ProposalBody::Ordinary,
                title: "Sell everything".into(),
                text: String::new(),
                window: 7 * DAY,
            }),
        );
        assert!(
            matches!(
                &err,
                RefusalError::NotAMember {
                    action: "propose",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().starts_with("key "), "{err}");
    }
    for action in [
        Action::LockAsset("old-site".into()),
        Action::Close(1),
        Action::Vote(Vote {
            proposal: 1,
            choice: Choice::Yes,
        }),
    ] {
        h.refused("stranger", action);
    }
    assert_eq!(
        h.trust.dump().unwrap(),
        before,
        "the store is byte-identical"
    );
}

fn ordinary(title: &str) -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::Ordinary,
        title: title.into(),
        text: String::new(),
        window: 7 * DAY,
    })
}

fn yes(proposal: u64) -> Action {
    Action::Vote(Vote {
        proposal,
        choice: Choice::Yes,
    })
}

#[test]
fn refusals_name_members() {
    let mut h = Harness::classic();
    let first = open(&mut h, ordinary("Adopt a code of conduct"));
    h.allowed("r2", yes(first));
    let err = h.refused("r2", yes(first));
    assert_eq!(err.to_string(), "r2 has already voted on proposal 1");
    // Two members of one name are told apart by the start of their keys.
    let another = h.pk("another-r2");
    let admit = open(
        &mut h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::AdmitMember(Applicant {
                key: another,
                name: "r2".into(),
                class: StakeholderClass::Public,
            }),
            title: "Admit another r2".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    vote(&mut h, admit, &["r1", "r3", "c1", "p1"], &[]);
    h.wait_days(7);
    h.allowed("c1", Action::Close(admit));
    h.allowed("c1", Action::Execute(admit));
    let later = open(&mut h, ordinary("Open the repair data"));
    h.allowed("r2", yes(later));
    let err = h.refused("r2", yes(later));
    let short = hex::encode(&h.key("r2").public()[..4]);
    assert_eq!(
        err.to_string(),
        format!("r2 ({short}) has already voted on proposal {later}")
    );
    // A stranger is a short key, never a full one.
    let err = h.refused("stranger", yes(later));
    let short = hex::encode(&h.key("stranger").public()[..4]);
    assert!(
        err.to_string()
            .starts_with(&format!("key {short}… is not a member")),
        "{err}"
    );
}

#[test]
fn an_expired_grant_is_shown_as_expired() {
    let mut h = Harness::classic();
    let grantee = h.pk("c1");
    let id = open(
        &mut h,
        Action::Propose(ProposalDraft {
            body: ProposalBody::GrantAccess(cltd_runtime::AccessRequest {
                grantee,
                asset_id: "tenancy-data".into(),
                fields: vec![],
                purpose: "a one-day study".into(),
                duration: DAY,
            }),
            title: "One day of access".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    vote(&mut h, id, &["r1", "c1", "p1", "p2"], &[]);
    h.wait_days(7);
    h.allowed("c1", Action::Close(id));
    h.allowed("c1", Action::Execute(id));
    // Two days on, the trust's clock has passed the grant's expiry.
    h.wait_days(2);
    h.allowed("r1", ordinary("Review the study"));
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep, trust, ..
    } = h;
    drop(trust);
    let r = crate::cli::cltd(&dir, &["show", "grants"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out
            .contains("#1 c1 -> the whole dataset of `tenancy-data` EXPIRED "),
        "{}",
        r.out
    );
    let r = crate::cli::cltd(&dir, &["--json", "show"]);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["grants"][0]["expired"], true);
    assert_eq!(v["grants"][0]["grantee_name"], "c1");
    drop(keep);
}
