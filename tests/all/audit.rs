//! `verify`: a faithful store verifies; any tampering is found and located.

use cltd_runtime::{
    Action, Choice, ProposalBody, ProposalDraft, SignedTransition, Trust, Vote, verify,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::support::{DAY, Harness, bylaw, runtime};

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const MODULES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("modules");

/// A trust with some history, closed; returns the harness's directory guard and store path.
fn history() -> (tempfile::TempDir, std::path::PathBuf) {
    let mut h = Harness::classic();
    h.allowed(
        "r1",
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "t".into(),
            text: String::new(),
            window: 7 * DAY,
        }),
    );
    for v in ["r1", "c1", "p1", "p2"] {
        h.allowed(
            v,
            Action::Vote(Vote {
                proposal: 1,
                choice: Choice::Yes,
            }),
        );
    }
    // A member's denied proposal (too short a window) is logged too.
    h.denied(
        "r3",
        Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: "t".into(),
            text: String::new(),
            window: DAY,
        }),
    );
    h.wait_days(7);
    h.allowed("r2", Action::Close(1));
    let report = verify(h.trust.database(), &runtime()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checked, 8);
    let path = h.dir.path().join("trust.redb");
    let Harness { dir, trust, .. } = h;
    drop(trust);
    (dir, path)
}

fn verify_file(path: &std::path::Path) -> cltd_runtime::VerifyReport {
    let db = Database::open(path).unwrap();
    verify(&db, &runtime()).unwrap()
}

fn edit_log(path: &std::path::Path, f: impl FnOnce(&mut redb::Table<u64, &[u8]>)) {
    let db = Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut log = txn.open_table(LOG).unwrap();
        f(&mut log);
    }
    txn.commit().unwrap();
}

fn entry(path: &std::path::Path, i: u64) -> Vec<u8> {
    let db = Database::open(path).unwrap();
    let txn = db.begin_read().unwrap();
    txn.open_table(LOG)
        .unwrap()
        .get(i)
        .unwrap()
        .unwrap()
        .value()
        .to_vec()
}

#[test]
fn a_faithful_store_verifies() {
    let (_dir, path) = history();
    let report = verify_file(&path);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.allowed, report.denied), (6, 1));
}

#[test]
fn a_modified_entry_is_detected() {
    let (_dir, path) = history();
    let mut e = cltd_runtime::Entry::from_bytes(&entry(&path, 3)).unwrap();
    e.time += 1;
    edit_log(&path, |log| {
        log.insert(3, e.to_bytes().as_slice()).unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert_eq!(
        d.index, 4,
        "entry 4's link to the modified entry 3 breaks: {d}"
    );
    assert!(d.reason.contains("hash chain broken"), "{d}");
}

#[test]
fn a_modified_verdict_on_the_last_entry_is_detected() {
    let (_dir, path) = history();
    let mut e = cltd_runtime::Entry::from_bytes(&entry(&path, 7)).unwrap();
    if let cltd_runtime::EntryBody::Transition(rec) = &mut e.body {
        rec.effects.clear();
    }
    edit_log(&path, |log| {
        log.insert(7, e.to_bytes().as_slice()).unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert_eq!(d.index, 7, "{d}");
    assert!(d.reason.contains("effects differ"), "{d}");
}

#[test]
fn a_removed_entry_is_detected() {
    let (_dir, path) = history();
    edit_log(&path, |log| {
        log.remove(2).unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert_eq!(d.index, 2);
    assert!(d.reason.contains("missing"), "{d}");

    let (_dir, path) = history();
    edit_log(&path, |log| {
        log.remove(7).unwrap();
    });
    let d = verify_file(&path)
        .divergence
        .expect("removing the last entry is detected too");
    assert!(
        d.reason.contains("log head") || d.reason.contains("differ"),
        "{d}"
    );
}

#[test]
fn reordered_entries_are_detected() {
    let (_dir, path) = history();
    let (a, b) = (entry(&path, 2), entry(&path, 3));
    edit_log(&path, |log| {
        log.insert(2, b.as_slice()).unwrap();
        log.insert(3, a.as_slice()).unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert_eq!(d.index, 2);
    assert!(d.reason.contains("reordered"), "{d}");
}

#[test]
fn a_swapped_module_is_detected() {
    let (_dir, path) = history();
    let db = Database::open(&path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut modules = txn.open_table(MODULES).unwrap();
        let hash: [u8; 32] = *modules.iter().unwrap().next().unwrap().unwrap().0.value();
        let hostile = cltd_runtime::to_component(&bylaw("hostile-bylaw")).unwrap();
        modules.insert(&hash, hostile.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    let d = verify(&db, &runtime())
        .unwrap()
        .divergence
        .expect("divergence");
    assert_eq!(d.index, 0);
    assert!(d.reason.contains("swapped"), "{d}");
    drop(db);
    let err = Trust::open(
        path.parent().unwrap(),
        runtime(),
        Box::new(cltd_runtime::SystemClock),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("altered"),
        "opening refuses a swapped module: {err}"
    );
}

/// A history longer than the replay's window (1,024 entries), so that checking it spans
/// several windows of bylaw calls re-run in parallel.
fn long_history() -> (tempfile::TempDir, std::path::PathBuf, u64) {
    let mut h = Harness::classic();
    let names = ["r1", "r2", "r3", "c1", "c2", "c3", "p1", "p2", "p3"];
    // Signed ahead with consecutive sequence numbers, committed in batches of 100.
    let mut signed = Vec::new();
    for i in 0..1_100 {
        // Every seventh one is denied (too short a window), so verdicts differ in kind.
        let window = if i % 7 == 0 { DAY } else { 7 * DAY };
        let kp = h.key(names[i % names.len()]);
        let action = Action::Propose(ProposalDraft {
            body: ProposalBody::Ordinary,
            title: format!("resolution {i}"),
            text: String::new(),
            window,
        });
        let seq = (i / names.len()) as u64;
        signed.push(SignedTransition::sign(&kp, h.trust.id(), seq, action).to_bytes());
    }
    for chunk in signed.chunks(100) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        for r in h.trust.submit_batch(&refs) {
            r.unwrap();
        }
    }
    let size = h.trust.state().size;
    let path = h.dir.path().join("trust.redb");
    let Harness { dir, trust, .. } = h;
    drop(trust);
    (dir, path, size)
}

#[test]
fn a_long_history_verifies_and_the_earliest_tampering_is_named() {
    let (_dir, path, size) = long_history();
    let report = verify_file(&path);
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.checked, size);
    let denied = (0..1_100).filter(|i| i % 7 == 0).count() as u64;
    assert_eq!((report.allowed, report.denied), (1_100 - denied, denied));

    // Entry 1,030's fuel is rewritten: only re-running its bylaw call shows it, while the
    // next entry's link to it breaks the hash chain, which the in-order checks see. The
    // earlier of the two is the divergence, however the work was spread over the cores.
    let k = 1_030;
    let mut e = cltd_runtime::Entry::from_bytes(&entry(&path, k)).unwrap();
    if let cltd_runtime::EntryBody::Transition(rec) = &mut e.body {
        rec.fuel += 1;
    }
    edit_log(&path, |log| {
        log.insert(k, e.to_bytes().as_slice()).unwrap();
    });
    let report = verify_file(&path);
    let d = report.divergence.clone().expect("divergence");
    assert_eq!(d.index, k, "{d}");
    assert!(d.reason.contains("fuel differs"), "{d}");
    assert_eq!(
        report.checked, k,
        "entries before the divergence are checked"
    );
    assert_eq!(
        report.allowed + report.denied,
        k - 1,
        "only transitions before the divergence are counted"
    );
    assert_eq!(
        report.head,
        cltd_runtime::entry_hash_of(&entry(&path, k - 1)),
        "the head of the last entry checked"
    );
}

#[test]
fn a_ballot_moved_to_another_elector_is_detected() {
    // r1's yes moved to r2, of the same class: every count stays the same, so only the
    // stored ballots themselves can show it.
    let (_dir, path) = history();
    const BALLOTS: TableDefinition<(u64, &[u8; 32]), u8> = TableDefinition::new("ballots");
    let (r1, r2) = (
        crate::support::key_for("r1").public(),
        crate::support::key_for("r2").public(),
    );
    {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut ballots = txn.open_table(BALLOTS).unwrap();
            let choice = ballots.remove((1, &r1)).unwrap().unwrap().value();
            ballots.insert((1, &r2), choice).unwrap();
        }
        txn.commit().unwrap();
    }
    let d = verify_file(&path).divergence.expect("divergence");
    assert_eq!(
        d.index, 8,
        "found after the last entry, comparing the stored state: {d}"
    );
    assert!(d.reason.contains("electorates and ballots"), "{d}");

    // A ballot from a key outside the electorate: the stored state does not even load.
    let stranger = crate::support::key_for("stranger").public();
    {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(BALLOTS)
            .unwrap()
            .insert((1, &stranger), 0)
            .unwrap();
        txn.commit().unwrap();
    }
    let d = verify_file(&path).divergence.expect("divergence");
    assert!(
        d.reason
            .contains("a ballot on proposal 1 from a key outside its electorate"),
        "{d}"
    );
}

#[test]
fn a_frozen_electorate_rewritten_or_swapped_is_detected() {
    const ROSTERS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("rosters");
    const NAMED: TableDefinition<u64, &[u8; 32]> = TableDefinition::new("proposal_rosters");
    let (_dir, path) = history();
    let (hash, voters) = {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_read().unwrap();
        let rosters = txn.open_table(ROSTERS).unwrap();
        let (k, v) = rosters.iter().unwrap().next().unwrap().unwrap();
        let roster: cltd_runtime::Roster = postcard::from_bytes(v.value()).unwrap();
        (*k.value(), roster.voters().to_vec())
    };
    // Proposal 1's electorate without p3, an elector who did not vote: its count of ballots
    // is the same, only its denominator differs.
    let p3 = cltd_runtime::MemberKey(crate::support::key_for("p3").public());
    let fewer: Vec<_> = voters.iter().filter(|v| v.key != p3).cloned().collect();
    assert_eq!(fewer.len() + 1, voters.len());
    let fewer = cltd_runtime::Roster::new(fewer);
    let write = |f: &dyn Fn(&redb::WriteTransaction)| {
        let db = Database::open(&path).unwrap();
        let txn = db.begin_write().unwrap();
        f(&txn);
        txn.commit().unwrap();
    };
    // Stored under its own digest and named by the proposal: the replay disagrees (first on
    // the proposal's count, which the store recounts from its roll).
    write(&|txn| {
        txn.open_table(ROSTERS)
            .unwrap()
            .insert(
                fewer.hash(),
                postcard::to_stdvec(&fewer).unwrap().as_slice(),
            )
            .unwrap();
        txn.open_table(NAMED)
            .unwrap()
            .insert(1, fewer.hash())
            .unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert!(d.reason.contains("stored proposals differ"), "{d}");
    // Rewritten in place, under the digest of the electorate the log froze: the stored
    // state does not even load.
    write(&|txn| {
        txn.open_table(ROSTERS)
            .unwrap()
            .remove(fewer.hash())
            .unwrap();
        txn.open_table(NAMED).unwrap().insert(1, &hash).unwrap();
        txn.open_table(ROSTERS)
            .unwrap()
            .insert(&hash, postcard::to_stdvec(&fewer).unwrap().as_slice())
            .unwrap();
    });
    let d = verify_file(&path).divergence.expect("divergence");
    assert!(d.reason.contains("has digest"), "{d}");
}
