//! Amendments: candidate upload, impact preview, entrenched clauses, the vote, the timelock,
//! activation (with `migrate`), and replay across module versions.

use cltd_runtime::{
    Action, Amendment, Choice, Clause, Effect, Error, Judgement, LifecycleError, LoadError,
    ModuleHash, Outcome, Parameter, ProposalBody, ProposalDraft, RefusalError, UploadSignature,
    Vote, verify,
};

use crate::support::{DAY, Harness, bylaw, runtime};

const MODULES: redb::TableDefinition<&[u8; 32], &[u8]> = redb::TableDefinition::new("modules");

pub(crate) fn param(key: &str, value: &str) -> Parameter {
    Parameter {
        key: key.into(),
        value: value.into(),
    }
}

/// Upload `wasm` as `who`, signing the upload as the CLI does.
pub(crate) fn upload_as(
    h: &mut Harness,
    who: &str,
    wasm: &[u8],
) -> Result<cltd_runtime::Upload, Error> {
    let kp = h.key(who);
    let hash = cltd_runtime::to_component(wasm).map(|c| cltd_runtime::module_hash(&c));
    let approval = UploadSignature::sign(&kp, h.trust.id(), hash.unwrap_or_default());
    h.trust.upload_module(wasm, &approval)
}

pub(crate) fn upload(h: &mut Harness, name: &str) -> ModuleHash {
    upload_as(h, "r1", &bylaw(name)).unwrap().hash
}

pub(crate) fn amendment(
    module: &ModuleHash,
    charter: Vec<Parameter>,
    releases: &[&str],
) -> ProposalBody {
    ProposalBody::AmendBylaws(Amendment {
        module: hex::encode(module),
        charter,
        releases: releases.iter().map(|r| r.to_string()).collect(),
    })
}

pub(crate) fn draft(body: ProposalBody, days: u64) -> Action {
    Action::Propose(ProposalDraft {
        body,
        title: "Amend the bylaws".into(),
        text: "Our reasons, stated for every member to read.".into(),
        window: days * DAY,
    })
}

/// Propose `action` as r1; returns the proposal number.
pub(crate) fn open(h: &mut Harness, action: Action) -> u64 {
    let r = h.allowed("r1", action);
    match r.effects[0] {
        Effect::ProposalOpened { proposal, .. } => proposal,
        ref other => panic!("expected a proposal to open, got {other:?}"),
    }
}

pub(crate) fn vote(h: &mut Harness, id: u64, yes: &[&str], no: &[&str]) {
    for (voters, choice) in [(yes, Choice::Yes), (no, Choice::No)] {
        for v in voters {
            h.allowed(
                v,
                Action::Vote(Vote {
                    proposal: id,
                    choice,
                }),
            );
        }
    }
}

pub(crate) fn close(h: &mut Harness, id: u64) -> Outcome {
    let r = h.allowed("r1", Action::Close(id));
    match r.effects[0] {
        Effect::ProposalDecided { outcome, .. } => outcome,
        ref other => panic!("expected a decision, got {other:?}"),
    }
}

const ALL: [&str; 9] = ["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2", "p3"];

/// Preview, propose, vote (7 yes, 2 no), wait out the window and close: a passed amendment.
fn pass(h: &mut Harness, module: &ModuleHash, charter: Vec<Parameter>) -> u64 {
    let preview = h.trust.preview_amendment(module, &charter).unwrap();
    assert!(preview.conforms(), "{:?}", preview.conformance);
    let id = open(h, draft(amendment(module, charter, &[]), 30));
    vote(h, id, &ALL[..7], &ALL[7..]);
    h.wait_days(30);
    assert_eq!(close(h, id), Outcome::Passed);
    id
}

#[test]
fn an_amendment_passes_after_its_timelock_and_the_new_rules_decide() {
    let mut h = Harness::classic();
    // History: classic-clt lets a proposal through without reasons.
    let silent = Action::Propose(ProposalDraft {
        body: ProposalBody::Ordinary,
        title: "Paint the community room".into(),
        text: String::new(),
        window: 7 * DAY,
    });
    let silent_entry = h.allowed("c1", silent.clone()).index;

    let classic = h.trust.state().module;
    let reasoned = upload(&mut h, "reasoned-clt");
    let charter = h.trust.state().charter.clone();

    // No amendment opens before members can read its impact preview.
    let err = h.refused("r1", draft(amendment(&reasoned, charter.clone(), &[]), 30));
    assert!(
        matches!(&err, RefusalError::Amendment(m) if m.contains("impact preview")),
        "{err}"
    );

    let preview = h.trust.preview_amendment(&reasoned, &charter).unwrap();
    assert!(preview.conforms());
    assert_eq!(preview.conformance.len(), 9, "three vectors per clause");
    assert_eq!(preview.entries, h.trust.state().size);
    assert!(
        preview.charter.contains(&param("reasons-required", "yes")),
        "migrate ran"
    );
    assert_eq!(preview.differing, 1, "{:?}", preview.differences);
    let d = &preview.differences[0];
    assert_eq!(d.index, silent_entry);
    assert!(matches!(d.logged, Judgement::Allowed { .. }));
    assert!(
        matches!(&d.candidate, Judgement::Denied { code, .. } if code == "missing-reasons"),
        "{d:?}"
    );
    assert_eq!(
        h.trust
            .stored_preview(&reasoned, &charter)
            .unwrap()
            .as_ref(),
        Some(&preview)
    );

    let id = open(&mut h, draft(amendment(&reasoned, charter, &[]), 30));
    vote(&mut h, id, &ALL[..7], &ALL[7..]);
    h.wait_days(30);
    assert_eq!(close(&mut h, id), Outcome::Passed);

    // The timelock set by the rules in force (7 days) holds.
    let err = h.refused("r1", Action::Execute(id));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::Timelocked { .. })
        ),
        "{err}"
    );
    h.wait_days(7);
    let r = h.allowed("r1", Action::Execute(id));
    assert_eq!(r.module, classic, "the old rules judged the activation");
    assert!(r.effects.iter().any(|e| matches!(
        e,
        Effect::BylawsAmended { module, charter, .. }
            if *module == reasoned && charter.contains(&param("reasons-required", "yes"))
    )));
    assert_eq!(h.trust.state().module, reasoned);
    assert_eq!(h.trust.state().entrenched, Clause::ALL.to_vec());

    // Executing twice is refused and changes nothing.
    let err = h.refused("r1", Action::Execute(id));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::AlreadyExecuted { .. })
        ),
        "{err}"
    );

    // Later transitions are decided by the new rules.
    assert_eq!(h.denied("c1", silent), "missing-reasons");
    let r = h.allowed("c1", draft(ProposalBody::Ordinary, 7));
    assert_eq!(r.module, reasoned);

    // A second amendment, under the new rules: lower the ordinary quorum to a quarter.
    let mut lower = h.trust.state().charter.clone();
    lower.push(param("ordinary-quorum", "1/4"));
    let id = pass(&mut h, &reasoned, lower);
    h.wait_days(7);
    h.allowed("r1", Action::Execute(id));
    assert!(
        h.trust
            .state()
            .charter
            .contains(&param("ordinary-quorum", "1/4"))
    );

    // The whole history replays, each entry under the module then in force.
    let report = verify(h.trust.database(), &runtime()).unwrap();
    assert!(report.is_ok(), "{:?}", report.divergence);
    assert_eq!(report.modules, vec![classic, reasoned]);

    // Swapping a historical module's bytes is detected where it was first checked.
    let hostile = cltd_runtime::to_component(&bylaw("hostile-bylaw")).unwrap();
    let txn = h.trust.database().begin_write().unwrap();
    txn.open_table(MODULES)
        .unwrap()
        .insert(reasoned.as_bytes(), hostile.as_slice())
        .unwrap();
    txn.commit().unwrap();
    let d = verify(h.trust.database(), &runtime())
        .unwrap()
        .divergence
        .expect("divergence");
    assert!(d.reason.contains("altered"), "{d}");
    assert!(d.index > silent_entry, "{d}");
}

#[test]
fn an_amendment_that_fails_its_vote_changes_nothing() {
    let mut h = Harness::classic();
    let reasoned = upload(&mut h, "reasoned-clt");
    let charter = h.trust.state().charter.clone();
    h.trust.preview_amendment(&reasoned, &charter).unwrap();
    let id = open(&mut h, draft(amendment(&reasoned, charter, &[]), 30));
    // 4 yes, 3 no: 57% of votes cast, below two thirds.
    vote(&mut h, id, &ALL[..4], &ALL[4..7]);
    h.wait_days(30);
    assert_eq!(close(&mut h, id), Outcome::Rejected);
    h.wait_days(7);
    let err = h.refused("r1", Action::Execute(id));
    assert!(
        matches!(
            err,
            RefusalError::Lifecycle(LifecycleError::NotPassed { .. })
        ),
        "{err}"
    );
    assert_ne!(h.trust.state().module, reasoned);
}

#[test]
fn bad_uploads_are_refused_and_store_nothing() {
    let mut h = Harness::classic();
    let before = h.trust.dump().unwrap();
    let clock = wat::parse_str(
        r#"(component
            (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64)))))
        )"#,
    )
    .unwrap();
    let err = upload_as(&mut h, "r1", &clock).unwrap_err();
    assert!(
        matches!(&err, Error::Load(LoadError::Link(m)) if m.contains("wasi:clocks")),
        "{err}"
    );
    let err = upload_as(&mut h, "r1", b"not wasm at all").unwrap_err();
    assert!(matches!(err, Error::Load(LoadError::NotWasm(_))), "{err}");
    let mut big = bylaw("classic-clt");
    big.resize(3 << 20, 0);
    let err = upload_as(&mut h, "r1", &big).unwrap_err();
    assert!(
        matches!(err, Error::Load(LoadError::TooLarge { .. })),
        "{err}"
    );
    let err = upload_as(&mut h, "r1", &wat::parse_str("(component)").unwrap()).unwrap_err();
    assert!(matches!(err, Error::Load(LoadError::Link(_))), "{err}");
    // Only members upload, and the signature must cover this module on this trust.
    let reasoned = bylaw("reasoned-clt");
    let err = upload_as(&mut h, "stranger", &reasoned).unwrap_err();
    assert!(err.to_string().contains("only members may upload"), "{err}");
    let kp = h.key("r1");
    let wrong = UploadSignature::sign(&kp, h.trust.id(), ModuleHash([9; 32]));
    let err = h.trust.upload_module(&reasoned, &wrong).unwrap_err();
    assert!(
        matches!(err, Error::Refused(RefusalError::BadSignature(_))),
        "{err}"
    );
    assert_eq!(
        h.trust.dump().unwrap(),
        before,
        "a bad upload stored something"
    );
    // A good upload is idempotent.
    let first = upload_as(&mut h, "r1", &reasoned).unwrap();
    let again = upload_as(&mut h, "c1", &reasoned).unwrap();
    assert!(first.new && !again.new);
    assert_eq!(first.hash, again.hash);
    assert_eq!(first.info.name, "reasoned-clt");
}

#[test]
fn a_candidate_breaking_an_entrenched_clause_is_refused_whatever_the_vote() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    let mut cases = Vec::new();
    // The same module, with a charter that weakens the asset lock or the amendment rule.
    for (key, value, clause) in [
        ("disposal-threshold", "1/2", "asset-lock"),
        ("amendment-threshold", "1/2", "amendment-supermajority"),
    ] {
        cases.push((classic, vec![param(key, value)], clause));
    }
    // A module that allows everything (and decides nothing) keeps no clause.
    let hostile = upload(&mut h, "hostile-bylaw");
    cases.push((hostile, vec![], "asset-lock"));
    // One that counts residents' votes twice on ordinary resolutions.
    cases.push((
        hostile,
        vec![param("hostile", "weighted")],
        "one-member-one-vote",
    ));
    // One that keeps the asset lock today and lifts it in 2030: the vectors also run a year
    // and ten years ahead.
    cases.push((hostile, vec![param("hostile", "time-bomb")], "asset-lock"));
    for (module, charter, clause) in cases {
        let preview = h.trust.preview_amendment(&module, &charter).unwrap();
        assert!(!preview.conforms());
        assert!(
            preview
                .conformance
                .iter()
                .any(|c| !c.passed && c.clause.name() == clause),
            "{clause}: {:?}",
            preview.conformance
        );
        let err = h.refused("r1", draft(amendment(&module, charter, &[]), 30));
        assert!(
            matches!(&err, RefusalError::Entrenched { clause: c, .. } if c == clause),
            "{err}"
        );
    }
    assert_eq!(h.trust.state().module, classic);
}

#[test]
fn a_bait_and_switch_is_refused_at_execution() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    let reasoned = upload(&mut h, "reasoned-clt");
    let charter = h.trust.state().charter.clone();
    let id = pass(&mut h, &reasoned, charter);
    h.wait_days(7);
    // After the vote, somebody with access to the store swaps the voted bytes.
    let other = cltd_runtime::to_component(&bylaw("hostile-bylaw")).unwrap();
    let txn = h.trust.database().begin_write().unwrap();
    txn.open_table(MODULES)
        .unwrap()
        .insert(reasoned.as_bytes(), other.as_slice())
        .unwrap();
    txn.commit().unwrap();
    let before = h.trust.dump().unwrap();
    let state = h.trust.state().clone();
    let err = h.act("r1", Action::Execute(id)).unwrap_err();
    assert!(
        matches!(err, Error::Load(LoadError::HashMismatch { .. })),
        "{err}"
    );
    assert_eq!(h.trust.dump().unwrap(), before);
    assert_eq!(h.trust.state(), &state);
    assert_eq!(h.trust.state().module, classic);
}

#[test]
fn a_failing_migrate_abandons_the_activation() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    let reasoned = upload(&mut h, "reasoned-clt");
    let charter = h.trust.state().charter.clone();

    // A migrate that traps is caught before the amendment can even open.
    let trapping = vec![param("migrate", "trap")];
    let err = h.trust.preview_amendment(&reasoned, &trapping).unwrap_err();
    assert!(err.to_string().contains("migrate failed"), "{err}");

    // The trust adopts reasoned-clt (whose migrate records reasons-required=yes).
    let adopt = pass(&mut h, &reasoned, charter.clone());
    h.wait_days(7);
    h.allowed("r1", Action::Execute(adopt));
    assert_eq!(h.trust.state().module, reasoned);
    // Two amendments pass side by side: first the members resolve not to require reasons
    // (a charter-only amendment), then a quorum change, whose migrate cannot take over
    // from a charter that says so.
    let first = pass(&mut h, &reasoned, vec![param("reasons-required", "no")]);
    let second = pass(&mut h, &reasoned, vec![param("ordinary-quorum", "1/4")]);
    h.wait_days(7);
    h.allowed("r1", Action::Execute(first));
    let err = h.refused("r1", Action::Execute(second));
    assert!(
        matches!(&err, RefusalError::Amendment(m) if m.contains("migrate refused") && m.contains("reasons-required=no")),
        "{err}"
    );
    assert_eq!(h.trust.state().module, reasoned);
    assert_eq!(
        h.trust.state().charter,
        vec![param("reasons-required", "no")]
    );
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
    let _ = classic;
}

#[test]
fn releasing_an_entrenched_clause_follows_the_entrenched_procedure() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    let weaker = vec![param("disposal-threshold", "1/2")];
    h.trust.preview_amendment(&classic, &weaker).unwrap();
    let release = |days| draft(amendment(&classic, weaker.clone(), &["asset-lock"]), days);

    // The procedure needs a 60-day window.
    let err = h.refused("r1", release(30));
    assert!(err.to_string().contains("60 days"), "{err}");
    // Releasing a clause that is not entrenched is refused.
    let err = h.refused(
        "r1",
        draft(amendment(&classic, weaker.clone(), &["no-such-clause"]), 60),
    );
    assert!(
        err.to_string().contains("not an entrenched clause"),
        "{err}"
    );

    // 8 of 9 in favour passes the bylaws (two thirds), but the residents split 2 to 1:
    // below three quarters in that class, so the host rejects it.
    let id = open(&mut h, release(60));
    vote(
        &mut h,
        id,
        &["r1", "r2", "c1", "c2", "c3", "p1", "p2", "p3"],
        &["r3"],
    );
    h.wait_days(60);
    assert_eq!(close(&mut h, id), Outcome::Rejected);
    let decision = h.trust.state().proposals[&id].decision.clone().unwrap();
    assert!(
        decision.explanation.contains("entrenched procedure")
            && decision.explanation.contains("resident class"),
        "{}",
        decision.explanation
    );

    // Every class in favour: released, and the weaker rule is in force.
    let id = open(&mut h, release(60));
    vote(&mut h, id, &ALL, &[]);
    h.wait_days(60);
    assert_eq!(close(&mut h, id), Outcome::Passed);
    h.wait_days(7);
    h.allowed("r1", Action::Execute(id));
    assert_eq!(
        h.trust.state().entrenched,
        vec![Clause::AmendmentSupermajority, Clause::OneMemberOneVote]
    );
    assert_eq!(h.trust.state().charter, weaker);
    assert!(verify(h.trust.database(), &runtime()).unwrap().is_ok());
}

#[test]
fn a_hostile_candidates_preview_is_contained() {
    let mut h = Harness::classic();
    for _ in 0..2 {
        let id = open(&mut h, draft(ProposalBody::Ordinary, 7));
        vote(&mut h, id, &ALL, &[]);
    }
    let hostile = upload(&mut h, "hostile-bylaw");
    let preview = h
        .trust
        .preview_amendment(&hostile, &[param("hostile", "trap")])
        .unwrap();
    assert!(!preview.is_complete());
    assert_eq!(preview.transitions, cltd_runtime::MAX_FAILURES);
    assert!(preview.stopped.unwrap().contains("failed to judge 16"));
    assert!(preview.conformance.iter().all(|c| !c.passed));
    assert!(
        preview.differences.iter().all(
            |d| matches!(&d.candidate, Judgement::Failed { error } if error.contains("trapped"))
        )
    );
}

/// Impact previews are immutable records, keyed by the candidate, the charter it proposes
/// and the log size they covered: a record is never overwritten, a report that is not of
/// this log is refused, and once an amendment names the pair nothing more is stored for it,
/// so the preview members read before they voted is the one they read after it was executed.
/// It compares the proposed charter with the one in force when it ran, not today's. A
/// snapshot taken before all this still shows the trust as it was; a preview past its
/// deadline stops and says where.
#[test]
fn impact_previews_are_immutable_records_of_what_members_read_before_they_voted() {
    let mut h = Harness::classic();
    let classic = h.trust.state().module;
    let quorum = vec![param("ordinary-quorum", "1/4")];
    let before = h.trust.snapshot();
    let first = h.trust.preview_amendment(&classic, &quorum).unwrap();
    assert_eq!(first.in_force.as_ref(), Some(&h.trust.state().charter));
    assert!(
        !h.trust.store_preview(&first).unwrap(),
        "stored twice at one size"
    );
    let mut forged = first.clone();
    forged.head = cltd_runtime::EntryHash::default();
    let err = h.trust.store_preview(&forged).unwrap_err();
    assert!(err.to_string().contains("not a prefix"), "{err}");
    forged = first.clone();
    forged.entries = h.trust.state().size + 1;
    assert!(h.trust.store_preview(&forged).is_err());

    // The log grows: a preview at the new size is a new record, and the latest.
    h.denied("r1", Action::LockAsset("tenancy-data".into()));
    let second = h.trust.preview_amendment(&classic, &quorum).unwrap();
    assert_eq!(second.entries, first.entries + 1);
    assert_eq!(
        h.trust.stored_preview(&classic, &quorum).unwrap().as_ref(),
        Some(&second)
    );

    // The amendment opens, passes and is executed; later previews are not stored.
    let id = open(&mut h, draft(amendment(&classic, quorum.clone(), &[]), 30));
    vote(
        &mut h,
        id,
        &["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2", "p3"],
        &[],
    );
    h.wait_days(30);
    assert_eq!(close(&mut h, id), Outcome::Passed);
    h.wait_days(7);
    h.allowed("c1", Action::Execute(id));
    assert_eq!(h.trust.state().charter, quorum);
    let late = h.trust.preview_amendment(&classic, &quorum).unwrap();
    assert_ne!(late, second);
    assert!(!h.trust.store_preview(&late).unwrap());
    let stored = h.trust.stored_preview(&classic, &quorum).unwrap().unwrap();
    assert_eq!(stored, second, "the amendment's preview was replaced");
    // Rendered today, it still shows the change members voted on.
    let text = cltd::render::preview_text(h.trust.state(), &stored);
    assert!(
        text.contains("ordinary-quorum") && !text.contains("charter: unchanged"),
        "{text}"
    );

    assert_eq!(before.state().size, first.entries);
    assert_ne!(before.state().size, h.trust.state().size);
    let stopped = h
        .trust
        .compute_preview_until(
            &classic,
            &quorum,
            Some(std::time::Instant::now()),
            &mut |_, _| {},
        )
        .unwrap();
    let why = stopped.stopped.unwrap_or_default();
    assert!(why.contains("time limit"), "{why}");
    assert!(stopped.entries < h.trust.state().size);
}
