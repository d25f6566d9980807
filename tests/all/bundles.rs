//! Audit bundles checked offline: a faithful bundle verifies with and without re-execution;
//! damage of every kind is detected and attributed; a forked history is caught against the
//! checkpoint verified before; and any decision can be explained.

use std::sync::OnceLock;

use cltd_runtime::{
    Action, AuditOptions, AuditReport, Bundle, Choice, Location, ManualClock, ProposalBody,
    ProposalDraft, Remembered, SignedNote, Trust, Vote, audit, explain,
};

use crate::support::{DAY, Harness, runtime};

fn propose(h: &mut Harness, who: &str, title: &str) -> u64 {
    let r = h.allowed(
        who,
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: title.into(),
            text: "reasons".into(),
            window: 7 * DAY,
        }),
    );
    match r.effects[0] {
        cltd_runtime::Effect::ProposalOpened { proposal, .. } => proposal,
        ref e => panic!("{e:?}"),
    }
}

fn vote(h: &mut Harness, id: u64, who: &[&str], choice: Choice) {
    for w in who {
        h.allowed(
            w,
            Action::Vote(Vote {
                proposal: id,
                choice,
            }),
        );
    }
}

/// A trust with a decided proposal, a denial and a charter amendment: 2 modules' worth of
/// history is not needed here (the amendments tests cover module switches in replay).
fn busy() -> Harness {
    let mut h = Harness::classic();
    let id = propose(&mut h, "r1", "Open the repair data");
    vote(&mut h, id, &["r1", "r2", "c1", "p1"], Choice::Yes);
    vote(&mut h, id, &["c2"], Choice::No);
    // A member's denial is logged too (the dataset is locked already).
    h.denied("c3", Action::LockAsset("tenancy-data".into()));
    h.wait_days(7);
    h.allowed("c1", Action::Close(id));
    h
}

/// A second copy of `h`'s trust (store and host key) that can go its own way from here:
/// one trust, two histories after a common prefix.
fn fork(h: &Harness) -> Harness {
    let dir = tempfile::TempDir::new().unwrap();
    for file in [cltd_runtime::STORE_FILE, cltd_runtime::HOST_KEY_FILE] {
        std::fs::copy(h.dir.path().join(file), dir.path().join(file)).unwrap();
    }
    let clock = std::sync::Arc::new(ManualClock::new(h.trust.state().time));
    Harness {
        trust: Trust::open(dir.path(), runtime(), Box::new(clock.clone())).unwrap(),
        dir,
        clock,
        keys: h.keys.clone(),
    }
}

fn bundle() -> (Vec<u8>, Bundle) {
    static BUNDLE: OnceLock<Vec<u8>> = OnceLock::new();
    let bytes = BUNDLE
        .get_or_init(|| busy().trust.export().unwrap().to_bytes())
        .clone();
    let parsed = Bundle::parse(&bytes).unwrap();
    (bytes, parsed)
}

fn check(bytes: &[u8], reexecute: bool, remembered: Option<Remembered>) -> AuditReport {
    audit(
        bytes,
        &runtime(),
        AuditOptions {
            reexecute,
            remembered,
            ..AuditOptions::default()
        },
        &mut |_, _| {},
    )
    .unwrap()
}

fn failure(bytes: &[u8], reexecute: bool) -> cltd_runtime::BundleError {
    check(bytes, reexecute, None)
        .failure
        .expect("the audit must fail")
}

#[test]
fn a_faithful_bundle_verifies_with_and_without_reexecution() {
    let (bytes, b) = bundle();
    let full = check(&bytes, true, None);
    assert!(full.is_ok(), "{:?}", full.failure);
    assert_eq!(full.checked, b.manifest.entries);
    assert_eq!((full.allowed, full.denied), (7, 1));
    let light = check(&bytes, false, None);
    assert!(light.is_ok(), "{:?}", light.failure);
    assert_eq!(light.checkpoint, full.checkpoint);
    // The checkpoint names the trust's origin and is signed by the genesis host key.
    let note = SignedNote::parse(&b.checkpoint).unwrap();
    note.verify(
        &cltd_runtime::origin(&b.manifest.trust_id),
        &b.manifest.host_key,
    )
    .unwrap();
}

/// A small deterministic generator, so failures reproduce.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_single_byte_mutations_are_detected_and_attributed() {
    // CI runs a sample; CLTD_MUTATIONS=1000 (or more) runs the full count.
    let count: usize = std::env::var("CLTD_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let (bytes, b) = bundle();
    let layout = b.layout();
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    for n in 0..count {
        let at = (xorshift(&mut seed) % bytes.len() as u64) as usize;
        let flip = (xorshift(&mut seed) % 255 + 1) as u8;
        let mut damaged = bytes.clone();
        damaged[at] ^= flip;
        let f = failure(&damaged, false);
        let expected = layout.iter().find(|(_, r)| r.contains(&at)).unwrap().0;
        assert_eq!(f.location, expected, "mutation {n} at byte {at}: {f}");
    }
}

#[test]
fn truncation_reordering_and_a_removed_module_are_detected() {
    let (bytes, b) = bundle();
    for cut in [10, 100, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            check(&bytes[..cut], false, None).failure.is_some(),
            "cut at {cut}"
        );
    }
    // Entries dropped from the end, with the framing and manifest redone: the signed
    // checkpoint still says how many there were.
    let mut short = b.clone();
    short.entries.pop();
    short.manifest.entries -= 1;
    let f = failure(&short.to_bytes(), false);
    assert_eq!(f.location, Location::Checkpoint, "{f}");

    // Two entries swapped, framing redone.
    let mut swapped = b.clone();
    swapped.entries.swap(3, 4);
    for reexecute in [false, true] {
        let f = failure(&swapped.to_bytes(), reexecute);
        assert_eq!(f.location, Location::Entry(3), "{f}");
        assert!(f.reason.contains("reordered"), "{f}");
    }

    // The module removed.
    let mut bare = b.clone();
    bare.modules.clear();
    bare.manifest.modules = 0;
    for reexecute in [false, true] {
        let f = failure(&bare.to_bytes(), reexecute);
        assert_eq!(f.location, Location::Entry(0), "{f}");
        assert!(f.reason.contains("not"), "{f}");
    }

    // An entry's content altered (a verdict flipped), framing redone: the next entry's
    // link breaks; re-execution also disagrees with the verdict.
    let mut altered = b.clone();
    let mut entry = cltd_runtime::Entry::from_bytes(&altered.entries[6]).unwrap();
    if let cltd_runtime::EntryBody::Transition(rec) = &mut entry.body {
        rec.fuel += 1;
    }
    altered.entries[6] = entry.to_bytes();
    let f = failure(&altered.to_bytes(), false);
    assert_eq!(f.location, Location::Entry(7), "{f}");
    let f = failure(&altered.to_bytes(), true);
    assert_eq!(f.location, Location::Entry(6), "{f}");
}

#[test]
fn a_forged_checkpoint_is_refused() {
    let (_, b) = bundle();
    // A signature byte changed.
    let mut note = SignedNote::parse(&b.checkpoint).unwrap();
    note.signatures[0].bytes[10] ^= 1;
    let forged = Bundle {
        checkpoint: note.to_string(),
        ..b.clone()
    };
    let f = failure(&forged.to_bytes(), false);
    assert_eq!(f.location, Location::Checkpoint);
    assert!(f.reason.contains("does not verify"), "{f}");
    // A checkpoint for another root, signed by another key under the trust's name.
    let mallory = cltd_runtime::Keypair::from_secret([66; 32]);
    let mut text = cltd_runtime::Checkpoint::parse(&note.text).unwrap();
    text.root[0] ^= 1;
    let other = SignedNote::sign(&text.text(), &text.origin, &mallory);
    let forged = Bundle {
        checkpoint: other.to_string(),
        ..b.clone()
    };
    let f = failure(&forged.to_bytes(), false);
    assert_eq!(f.location, Location::Checkpoint, "{f}");
    // A host key swapped in the manifest no longer matches the genesis entry.
    let mut swapped = b.clone();
    swapped.manifest.host_key = mallory.public();
    let f = failure(&swapped.to_bytes(), false);
    assert_eq!(f.location, Location::Entry(0), "{f}");
}

#[test]
fn a_split_view_is_caught_against_the_checkpoint_verified_before() {
    // One trust, two histories after a common prefix: the host shows each auditor another.
    let mut a = busy();
    let mut b = fork(&a);
    propose(&mut a, "r1", "History A");
    propose(&mut b, "r1", "History B");
    propose(&mut b, "r2", "More of history B");
    let first = a.trust.export().unwrap().to_bytes();
    let second = b.trust.export().unwrap().to_bytes();

    let seen = check(&first, false, None);
    assert!(seen.is_ok());
    // Each verifies on its own...
    assert!(check(&second, false, None).is_ok());
    // ...but not as the continuation of the first.
    let forked = check(&second, false, seen.checkpoint);
    let f = forked.failure.expect("a fork is detected");
    assert_eq!(f.location, Location::History);
    assert!(f.reason.contains("forked"), "{f}");
    // A genuine continuation is proven consistent.
    propose(&mut a, "r2", "History A goes on");
    let later = a.trust.export().unwrap().to_bytes();
    let grown = check(&later, false, seen.checkpoint);
    assert!(grown.is_ok(), "{:?}", grown.failure);
    assert_eq!(grown.consistent_with, Some(seen.checkpoint.unwrap().size));
    // And an older bundle is not accepted after a newer one.
    let shrunk = check(&first, false, grown.checkpoint);
    assert_eq!(shrunk.failure.unwrap().location, Location::History);
}

#[test]
fn a_decision_is_explained_from_the_bundle_alone() {
    let (bytes, b) = bundle();
    let last = b.manifest.entries - 1;
    let x = explain(&bytes, &runtime(), last).unwrap().unwrap();
    let body = x.body.expect("a transition");
    assert!(matches!(body.action, Action::Close(1)));
    assert_eq!(x.before.rolls[&1].turnout(), 5, "the tally as it stood");
    let cltd_runtime::EntryBody::Transition(rec) = &x.entry.body else {
        panic!("a transition")
    };
    let d = rec.verdict.decision().unwrap();
    assert!(d.explanation.contains("4 yes, 1 no"), "{}", d.explanation);
    let missing = explain(&bytes, &runtime(), 999).unwrap().unwrap_err();
    assert_eq!(missing.location, Location::End);
}

#[test]
fn a_witness_cosigns_only_consistent_checkpoints_and_auditors_can_require_it() {
    let wdir = tempfile::TempDir::new().unwrap();
    let witness = cltd_runtime::Witness::open(wdir.path(), "witness.example").unwrap();
    let mut h = busy();
    let name = cltd_runtime::origin(&h.trust.id());
    witness
        .add_log(&name, h.trust.genesis().unwrap().host_key)
        .unwrap();
    let wkey = witness.public();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || cltd::witness::serve(witness, listener));

    let note = cltd::witness::ask(&h.trust, &url).unwrap();
    note.verify_cosignature("witness.example", &wkey).unwrap();
    let bytes = h.trust.export().unwrap().to_bytes();
    let known = vec![("witness.example".to_string(), wkey)];
    let with = |witnesses: Vec<(String, [u8; 32])>, quorum| {
        audit(
            &bytes,
            &runtime(),
            AuditOptions {
                witnesses,
                quorum,
                ..AuditOptions::default()
            },
            &mut |_, _| {},
        )
        .unwrap()
    };
    let r = with(known.clone(), 1);
    assert!(r.is_ok(), "{:?}", r.failure);
    assert_eq!(r.cosigned_by, ["witness.example"]);
    let mut two = known.clone();
    two.push(("other.example".into(), [7; 32]));
    let f = with(two, 2).failure.expect("one cosignature is not two");
    assert_eq!(f.location, Location::Checkpoint);
    assert!(f.reason.contains("1 of the 2 required"), "{f}");

    // A copy of the trust as it is now, to go its own way later.
    let mut forked = fork(&h);
    // The log grows: the witness proves consistency from what it cosigned (the client
    // learns that size from a 409) and cosigns again.
    propose(&mut h, "r1", "History A");
    cltd::witness::ask(&h.trust, &url).unwrap();
    // The fork shows the witness another history after the shared prefix: refused.
    propose(&mut forked, "r2", "History B");
    propose(&mut forked, "r3", "More of history B");
    let err = cltd::witness::ask(&forked.trust, &url).unwrap_err();
    assert!(err.to_string().contains("(422)"), "{err:#}");
}
