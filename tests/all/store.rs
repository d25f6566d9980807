//! The store: creation and opening refuse what they must, formats are checked, engine
//! profiles are compared, and the benchmark fixtures keep working.

use std::sync::Arc;

use cltd_runtime::{
    Applicant, Charter, Clause, EngineProfile, Error, Runtime, StakeholderClass, StoreError,
    SystemClock, Trust, verify,
};
use redb::{Database, TableDefinition};

use crate::support::{Harness, classic, runtime};

fn charter(founders: Vec<Applicant>) -> Charter {
    Charter {
        name: "T".into(),
        params: vec![],
        founders,
        assets: vec![],
        entrenched: Clause::ALL.to_vec(),
    }
}

#[test]
fn a_data_directory_holds_one_trust() {
    let h = Harness::classic();
    let err = Trust::create(
        h.dir.path(),
        runtime(),
        charter(vec![]),
        &classic(),
        Box::new(SystemClock),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::Exists(_))), "{err}");
    let empty = tempfile::TempDir::new().unwrap();
    let err = Trust::open(empty.path(), runtime(), Box::new(SystemClock)).unwrap_err();
    assert!(
        matches!(err, Error::Store(StoreError::NotFound(_))),
        "{err}"
    );
}

#[test]
fn invalid_charters_are_refused_before_anything_is_written() {
    let dir = tempfile::TempDir::new().unwrap();
    let a = Applicant {
        key: vec![1; 32],
        name: "a".into(),
        class: StakeholderClass::Public,
    };
    for bad in [
        charter(vec![a.clone(), a.clone()]),
        charter(vec![Applicant {
            key: vec![1; 5],
            ..a.clone()
        }]),
        Charter {
            name: " ".into(),
            ..charter(vec![])
        },
    ] {
        let err = Trust::create(
            dir.path(),
            runtime(),
            bad,
            &classic(),
            Box::new(SystemClock),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Charter(_)), "{err}");
    }
    assert!(!dir.path().join("trust.redb").exists());
}

#[test]
fn an_unknown_store_format_is_refused_by_number() {
    let h = Harness::classic();
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep, trust, ..
    } = h;
    drop(trust);
    let db = Database::open(dir.join("trust.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(TableDefinition::<&str, &[u8]>::new("meta"))
        .unwrap()
        .insert("format", 99u32.to_le_bytes().as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    let err = Trust::open(&dir, runtime(), Box::new(SystemClock)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(StoreError::Format {
                found: 99,
                supported: 2
            })
        ),
        "{err}"
    );
    drop(keep);
}

#[test]
fn a_different_engine_profile_still_verifies_and_says_so() {
    let mut h = Harness::classic();
    h.allowed("r1", cltd_runtime::Action::LockAsset("old-site".into()));
    let other = Arc::new(
        Runtime::new(EngineProfile {
            fuel_per_call: 50_000_000,
            ..Default::default()
        })
        .unwrap(),
    );
    let report = verify(h.trust.database(), &other).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert!(!report.engine_matches);
    assert!(
        verify(h.trust.database(), &runtime())
            .unwrap()
            .engine_matches
    );
}

#[test]
fn the_benchmark_runs_end_to_end() {
    let report = cltd::bench::run(&classic(), 3, 12, 4, false).unwrap();
    assert!(
        report.sustained_tps > 0.0 && report.group_commit_tps > 0.0 && report.concurrent_tps > 0.0
    );
    assert_eq!(report.end_to_end.samples, 12);
    assert!(report.fuel_per_vote > 0);
    assert!(
        report
            .text()
            .contains("group commit,  4 per durable commit")
    );
}
