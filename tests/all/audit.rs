//! `verify`: a faithful store verifies; any tampering is found and located.

use cltd_runtime::{Action, Choice, ProposalBody, ProposalDraft, Trust, Vote, verify};
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
