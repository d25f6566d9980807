//! Replication through an engine (here the in-memory one, with injected faults): two nodes
//! of one trust hold the same log; a node behind loses the race, catches up and judges
//! again; an unconfirmed append is resolved by reading back, never by judging again blind;
//! an unavailable engine answers and changes nothing; an envelope that does not replay stops
//! the trust on the node that reads it.

use std::sync::Arc;

use cltd_runtime::{
    Action, Choice, Entry, EntryBody, Envelope, Error, MemoryReplicator, NextAppend, ProposalBody,
    ProposalDraft, RefusalError, Replicator, Trust, Vote,
};
use tempfile::TempDir;

use crate::support::*;

/// A second node of `h`'s trust: a copy of its store as it is now (as if copied to another
/// machine), opened on the same clock. `h`'s handle is reopened.
fn second_node(h: &mut Harness) -> Harness {
    let dir = TempDir::new().unwrap();
    let trust = std::mem::replace(&mut h.trust, placeholder());
    drop(trust);
    for name in [cltd_runtime::STORE_FILE, cltd_runtime::HOST_KEY_FILE] {
        std::fs::copy(h.dir.path().join(name), dir.path().join(name)).unwrap();
    }
    h.trust = Trust::open(h.dir.path(), runtime(), Box::new(h.clock.clone())).unwrap();
    let trust = Trust::open(dir.path(), runtime(), Box::new(h.clock.clone())).unwrap();
    Harness {
        dir,
        trust,
        clock: h.clock.clone(),
        keys: h.keys.clone(),
    }
}

/// A trust to hold a harness's place while its own handle is closed.
fn placeholder() -> Trust {
    Harness::classic().trust
}

/// Two nodes of one classic-clt trust, both replicated through one engine.
fn pair() -> (Arc<MemoryReplicator>, Harness, Harness) {
    let engine = Arc::new(MemoryReplicator::new());
    let mut a = Harness::classic();
    let mut b = second_node(&mut a);
    // The first node puts the log it holds (the genesis) in the engine; the second finds
    // it holds the same and only takes the cursor.
    assert_eq!(a.trust.replicate(engine.clone()).unwrap(), 0);
    assert_eq!(b.trust.replicate(engine.clone()).unwrap(), 0);
    assert_eq!(a.trust.replication_cursor(), Some(1));
    assert_eq!(b.trust.replication_cursor(), Some(1));
    (engine, a, b)
}

/// A new node of `a`'s trust founded from `engine`'s stream in an empty directory,
/// governed by `wasm`.
fn follower(a: &Harness, engine: &Arc<MemoryReplicator>, wasm: &[u8]) -> Result<Harness, Error> {
    follower_of(a, engine, a.trust.id(), wasm)
}

/// [`follower`] of the trust `id`.
fn follower_of(
    a: &Harness,
    engine: &Arc<MemoryReplicator>,
    id: cltd_runtime::TrustId,
    wasm: &[u8],
) -> Result<Harness, Error> {
    let dir = TempDir::new().unwrap();
    let trust = Trust::follow(
        dir.path(),
        runtime(),
        Box::new(a.clock.clone()),
        engine.clone(),
        id,
        wasm,
    )
    .inspect_err(|_| {
        // A refused founding writes nothing.
        assert!(!dir.path().join(cltd_runtime::STORE_FILE).exists());
    })?;
    Ok(Harness {
        dir,
        trust,
        clock: a.clock.clone(),
        keys: a.keys.clone(),
    })
}

fn log(t: &Trust) -> Vec<Entry> {
    t.entries(0, usize::MAX).unwrap()
}

fn assert_same(a: &Harness, b: &Harness) {
    assert_eq!(log(&a.trust), log(&b.trust));
    assert_eq!(a.trust.state(), b.trust.state());
    for t in [&a.trust, &b.trust] {
        let report = t.verify().unwrap();
        assert!(report.is_ok(), "{:?}", report.divergence);
    }
}

/// A proposal by r1 and r2's vote for it.
fn some_history(a: &mut Harness) {
    a.allowed("r1", ordinary("one"));
    a.allowed(
        "r2",
        Action::Vote(Vote {
            proposal: 1,
            choice: Choice::Yes,
        }),
    );
}

/// An ordinary resolution titled `title`, open for 14 days.
pub(crate) fn ordinary(title: &str) -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::Ordinary,
        title: title.into(),
        text: String::new(),
        window: 14 * DAY,
    })
}

#[test]
fn nodes_of_a_replicated_trust_hold_the_same_log() {
    let (_engine, mut a, mut b) = pair();
    some_history(&mut a);
    // A denial is logged, so it is replicated too.
    a.denied(
        "c1",
        Action::Propose(ProposalDraft {
            window: 1,
            ..match ordinary("too short") {
                Action::Propose(d) => d,
                _ => unreachable!(),
            }
        }),
    );
    assert_eq!(b.trust.catch_up().unwrap(), 3);
    assert_same(&a, &b);
    // Either node writes; the other applies it.
    b.allowed(
        "c2",
        Action::Vote(Vote {
            proposal: 1,
            choice: Choice::No,
        }),
    );
    assert_eq!(a.trust.catch_up().unwrap(), 1);
    assert_eq!(a.trust.catch_up().unwrap(), 0);
    assert_same(&a, &b);
    // A node reopened later picks up where its cursor was.
    a.allowed("p1", ordinary("two"));
    let clock = b.clock.clone();
    drop(std::mem::replace(&mut b.trust, placeholder()));
    b.trust = Trust::open(b.dir.path(), runtime(), Box::new(clock)).unwrap();
    assert_eq!(b.trust.replicate(_engine.clone()).unwrap(), 1);
    assert_same(&a, &b);
}

#[test]
fn a_node_behind_loses_the_race_then_catches_up_and_judges_again() {
    let (_engine, mut a, mut b) = pair();
    // Signed on b's view, where r1 has not acted yet: sequence number 0.
    let stale = b.sign("r1", ordinary("from b"));
    let fresh = b.sign("c1", ordinary("also from b"));
    a.allowed("r1", ordinary("from a"));
    // b's append conflicts; it catches up and judges again: r1's 0 is spent now.
    match b.trust.submit(&stale) {
        Err(Error::Refused(RefusalError::BadSequence { .. })) => {}
        other => panic!("expected bad-sequence after catching up, got {other:?}"),
    }
    assert_same(&a, &b);
    // A transition still valid after catching up is committed in the same call.
    a.allowed("p2", ordinary("a again"));
    let r = b.trust.submit(&fresh).unwrap();
    assert!(r.verdict.is_allowed());
    assert_eq!(r.index, 3);
    assert_eq!(a.trust.catch_up().unwrap(), 1);
    assert_same(&a, &b);
}

/// A node judging behind the engine (it has just become the trust's writer, or its writer
/// did not answer) refuses nothing that the log it has not applied yet allows: a refusal
/// there sends it to catch up and judge the batch again; what is refused on the whole log
/// stays refused.
#[test]
fn a_node_behind_the_engine_judges_a_refusal_again_after_catching_up() {
    let (_engine, mut a, mut b) = pair();
    a.allowed("r1", ordinary("opened on a"));
    // On b, proposal 1 does not exist yet: r2's vote would be refused there.
    let vote = |proposal| {
        Action::Vote(Vote {
            proposal,
            choice: Choice::Yes,
        })
    };
    let r = b.allowed("r2", vote(1));
    assert_eq!(r.index, 2);
    assert_eq!(a.trust.catch_up().unwrap(), 1);
    assert_same(&a, &b);
    // Behind again, a vote on a proposal no node has is refused after catching up (what
    // b applied is a's entry), and nothing is written for it.
    a.allowed("c1", ordinary("opened on a too"));
    let size = a.trust.state().size;
    let bytes = b.sign("r3", vote(7));
    match b.trust.submit(&bytes) {
        Err(Error::Refused(e)) => assert_eq!(e.code(), "not-found", "{e}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(b.trust.state().size, size);
    assert_same(&a, &b);
}

#[test]
fn an_unconfirmed_append_is_resolved_by_reading_back() {
    let (engine, mut a, mut b) = pair();
    // Stored, but the reply was lost: reading back finds it, so it counts.
    engine.inject(NextAppend::StoreThenAmbiguous);
    let r = a.allowed("r1", ordinary("one"));
    assert_eq!(r.index, 1);
    // Lost on the way: reading back shows nothing came after the cursor, so nothing was
    // stored, and nothing here changed either; the same bytes go through afterwards.
    let bytes = a.sign("r2", ordinary("two"));
    let before = a.trust.dump().unwrap();
    engine.inject(NextAppend::LoseThenAmbiguous);
    let err = a.trust.submit(&bytes).unwrap_err();
    assert_eq!(err.code(), "cluster-unavailable", "{err}");
    assert_eq!(a.trust.dump().unwrap(), before);
    a.trust.submit(&bytes).unwrap();
    // Stored, then the engine went down before it could be read back: the outcome is
    // unknown, so the node undoes it here and says so; once the engine is back, the next
    // append conflicts with it and catching up applies it exactly as it was judged.
    let unknown = a.sign("c1", ordinary("three"));
    let before = a.trust.dump().unwrap();
    engine.inject(NextAppend::StoreThenDown);
    let err = a.trust.submit(&unknown).unwrap_err();
    assert_eq!(err.code(), "cluster-ambiguous", "{err}");
    assert!(
        err.to_string().contains("resubmit the same signed bytes"),
        "{err}"
    );
    assert_eq!(a.trust.dump().unwrap(), before);
    engine.set_down(false);
    a.allowed("c2", ordinary("four"));
    assert_eq!(a.trust.state().size, 5);
    match a.trust.submit(&unknown) {
        Err(Error::Refused(RefusalError::BadSequence { .. })) => {}
        other => panic!("the unknown transition is in the log: {other:?}"),
    }
    b.trust.catch_up().unwrap();
    assert_same(&a, &b);
}

#[test]
fn an_unavailable_engine_answers_and_changes_nothing() {
    let (engine, mut a, b) = pair();
    let bytes = a.sign("r1", ordinary("one"));
    let before = a.trust.dump().unwrap();
    let state = a.trust.state().clone();
    engine.inject(NextAppend::Unavailable);
    let err = a.trust.submit(&bytes).unwrap_err();
    assert_eq!(err.code(), "cluster-unavailable", "{err}");
    assert_eq!(a.trust.dump().unwrap(), before);
    assert_eq!(a.trust.state(), &state);
    engine.set_down(true);
    assert_eq!(
        a.trust.submit(&bytes).unwrap_err().code(),
        "cluster-unavailable"
    );
    assert_eq!(a.trust.dump().unwrap(), before);
    // Reads go on meanwhile, and writes once it is back.
    assert_eq!(a.trust.entries(0, 10).unwrap().len(), 1);
    engine.set_down(false);
    a.trust.submit(&bytes).unwrap();
    drop(b);
}

/// Replace the entry of envelope `seq` (its only one) by `tamper`'s version of it.
fn tamper(engine: &MemoryReplicator, trust: &Trust, seq: u64, tamper: impl Fn(&mut Entry)) {
    let (_, bytes) = engine
        .read_after(&trust.id(), seq - 1, 1)
        .unwrap()
        .pop()
        .unwrap();
    let mut envelope = Envelope::from_bytes(&bytes).unwrap();
    let mut entry = Entry::from_bytes(&envelope.entries[0]).unwrap();
    tamper(&mut entry);
    envelope.entries[0] = entry.to_bytes();
    assert!(engine.replace(&trust.id(), seq, envelope.to_bytes()));
}

#[test]
fn an_envelope_that_does_not_replay_stops_the_trust_on_the_follower() {
    type Tamper = fn(&mut Entry);
    let cases: [(&str, Tamper); 5] = [
        ("hash chain broken", |e| e.prev.0[0] ^= 1),
        ("verdict differs", |e| {
            if let EntryBody::Transition(r) = &mut e.body
                && let cltd_runtime::Verdict::Allow(a) = &mut r.verdict
            {
                a.notes.push("tampered".into());
            }
        }),
        ("state changes differ", |e| {
            if let EntryBody::Transition(r) = &mut e.body {
                r.changes[0] ^= 1;
            }
        }),
        ("fuel differs", |e| {
            if let EntryBody::Transition(r) = &mut e.body {
                r.fuel += 1;
            }
        }),
        ("signature", |e| {
            if let EntryBody::Transition(r) = &mut e.body {
                let last = r.signed.len() - 1;
                r.signed[last] ^= 1;
            }
        }),
    ];
    for (what, change) in cases {
        let (engine, mut a, mut b) = pair();
        a.allowed("r1", ordinary("one"));
        tamper(&engine, &a.trust, 2, change);
        let before = b.trust.dump().unwrap();
        let err = b.trust.catch_up().unwrap_err();
        let Error::Diverged(d) = &err else {
            panic!("{what}: expected a divergence, got {err}");
        };
        assert_eq!(d.index, 1, "{what}");
        assert!(d.reason.contains(what), "{what}: {}", d.reason);
        assert_eq!(err.code(), "diverged");
        assert_eq!(b.trust.dump().unwrap(), before, "{what}");
        // Stopped on this node: it writes and applies nothing more.
        assert!(b.trust.writes_stopped().is_some(), "{what}");
        assert!(b.trust.catch_up().is_err());
        let bytes = b.sign("c1", ordinary("after"));
        assert_eq!(
            b.trust.submit(&bytes).unwrap_err().code(),
            "writes-stopped",
            "{what}"
        );
        assert_eq!(engine.last(&a.trust.id()).unwrap().unwrap().0, 2);
    }
}

#[test]
fn a_node_started_empty_catches_up_from_the_stream() {
    let (engine, mut a, _b) = pair();
    some_history(&mut a);
    // Refused, writing nothing: a trust the engine holds no log of, and a bylaw that is not
    // the one the genesis entry names.
    let other = cltd_runtime::TrustId([9; 32]);
    let err = follower_of(&a, &engine, other, &classic()).err().unwrap();
    assert!(err.to_string().contains("holds no log"), "{err}");
    let err = follower(&a, &engine, &bylaw("minimal")).err().unwrap();
    assert_eq!(err.code(), "invalid", "{err}");
    // From the genesis entry on, every entry re-executed: the same log and state.
    let mut c = follower(&a, &engine, &classic()).unwrap();
    assert_same(&a, &c);
    // And it takes part like any node.
    c.allowed("c3", ordinary("from the new node"));
    assert_eq!(a.trust.catch_up().unwrap(), 1);
    assert_same(&a, &c);
}

/// A node that was away (or not yet there) when a candidate module was uploaded elsewhere
/// fetches it from the engine's module store before it re-executes the entry naming it;
/// without it there, the replay stops at that entry and says which module is missing.
#[test]
fn a_module_an_entry_names_is_fetched_from_the_engine_before_that_entry_is_replayed() {
    use crate::amendments::{amendment, draft, open, upload};
    let (engine, mut a, _b) = pair();
    some_history(&mut a);
    let module = upload(&mut a, "reasoned-clt");
    let charter = a.trust.state().charter.clone();
    a.trust.preview_amendment(&module, &charter).unwrap();
    open(&mut a, draft(amendment(&module, charter, &[]), 30));

    let stops = || {
        let dir = TempDir::new().unwrap();
        let stopped = Trust::follow(
            dir.path(),
            runtime(),
            Box::new(a.clock.clone()),
            engine.clone(),
            a.trust.id(),
            &classic(),
        )
        .err()
        .unwrap();
        assert!(
            matches!(stopped, Error::Diverged(_))
                && stopped.to_string().contains(&module.to_string()),
            "{stopped}"
        );
    };
    stops();
    // A copy the engine altered is not stored: the replay still stops.
    engine.put_module(module, b"not the module".to_vec());
    stops();
    let component = cltd_runtime::to_component(&bylaw("reasoned-clt")).unwrap();
    engine.put_module(module, component);
    let c = follower(&a, &engine, &classic()).unwrap();
    assert_same(&a, &c);
    assert!(
        c.trust
            .stored_modules()
            .unwrap()
            .iter()
            .any(|(h, _)| *h == module)
    );
}

#[test]
fn a_trust_replicated_late_puts_its_whole_log_in_the_engine() {
    let engine = Arc::new(MemoryReplicator::new());
    let mut a = Harness::classic();
    a.allowed("r1", ordinary("one"));
    a.allowed("c1", ordinary("two"));
    assert_eq!(a.trust.replicate(engine.clone()).unwrap(), 0);
    // Its three entries went in one envelope.
    assert_eq!(a.trust.replication_cursor(), Some(1));
    let (_, bytes) = engine.last(&a.trust.id()).unwrap().unwrap();
    assert_eq!(Envelope::from_bytes(&bytes).unwrap().entries.len(), 3);
    let c = follower(&a, &engine, &classic()).unwrap();
    assert_same(&a, &c);
}

#[test]
fn a_resubmitted_unconfirmed_transition_gets_its_logged_receipt() {
    let (engine, mut a, mut b) = pair();
    // Twice: judged again at the same time, the entry is the same, and the engine's
    // deduplication answers with the stored one; judged again later, it differs, the append
    // conflicts, and catching up finds the transition in the log.
    for (signer, later) in [("r1", 0), ("p1", 1)] {
        let x = a.sign(signer, ordinary("x"));
        engine.inject(NextAppend::StoreThenDown);
        assert_eq!(a.trust.submit(&x).unwrap_err().code(), "cluster-ambiguous");
        engine.set_down(false);
        // Another node applies it and appends after it.
        assert_eq!(b.trust.catch_up().unwrap(), 1);
        let x_index = b.trust.state().size - 1;
        b.allowed("c1", ordinary("y"));
        a.clock.advance(later);
        // Resubmitted, as the answer advised: its receipt is the logged entry.
        let r = a.trust.submit(&x).unwrap();
        assert_eq!(r.index, x_index, "{signer}");
        assert_eq!(
            r.entry_hash,
            cltd_runtime::entry_hash(&log(&b.trust)[x_index as usize])
        );
        a.trust.catch_up().unwrap();
        assert_same(&a, &b);
    }
}
