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
        treasury: None,
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
            treasury: None,
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
    let set_format = |format: u32| {
        let db = Database::open(dir.join("trust.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(TableDefinition::<&str, &[u8]>::new("meta"))
            .unwrap()
            .insert("format", format.to_le_bytes().as_slice())
            .unwrap();
        txn.commit().unwrap();
    };
    set_format(99);
    let err = Trust::open(&dir, runtime(), Box::new(SystemClock)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Store(StoreError::Format {
                found: 99,
                supported: 8
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("made by a newer cltd"), "{err}");
    // Stores made before founding checks and per-proposal rules (2), before ballots had
    // their own table (3), of bylaws speaking contract 0.5 (4), before proposals shared
    // frozen electorates (5), of bylaws speaking contract 0.6 (6) and 0.7 (7): refused
    // with what to do.
    for earlier in [2, 3, 4, 5, 6, 7] {
        set_format(earlier);
        let err = Trust::open(&dir, runtime(), Box::new(SystemClock)).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("made by an earlier cltd"), "{text}");
        assert!(
            text.contains("cltd export") && text.contains("init --from"),
            "{text}"
        );
    }
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
    let options = cltd_bench::transitions::BenchOptions {
        members: 3,
        transitions: 12,
        batch: 4,
        submitters: 4,
        on_demand: false,
        audit_entries: 50,
    };
    let report = cltd_bench::transitions::run(&classic(), &options).unwrap();
    assert!(
        report.sustained_tps > 0.0 && report.group_commit_tps > 0.0 && report.concurrent_tps > 0.0
    );
    assert_eq!(report.end_to_end.samples, 12);
    assert_eq!(report.end_to_end_native.samples, 12);
    assert_eq!(report.concurrent_latency.samples, 12);
    assert!(report.fuel_per_vote > 0);
    let audit = report.audit.as_ref().expect("audit figures");
    assert_eq!(audit.entries, 50);
    assert!(audit.reexec_per_s > 0.0 && audit.hash_merkle_per_s > 0.0);
    // Every figure that has a target is printed beside it.
    let text = report.text();
    for line in [
        "group commit, 4 per durable commit",
        "4 concurrent submitters, group committer",
        "p50 <= 10 us",
        ">= 20000 /s, p99 <= 25 ms",
        "<= 2x",
        ">= 50000 /s",
        ">= 1000000 /s",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
}

/// A store file whose writes and syncs fail while `fail` is set: a full disk, a failing
/// device, an fsync error.
#[derive(Debug)]
struct Faulty {
    inner: redb::backends::FileBackend,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

impl Faulty {
    fn check(&self) -> Result<(), std::io::Error> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(std::io::Error::other(
                "injected: the device reported an I/O error",
            ));
        }
        Ok(())
    }
}

impl redb::StorageBackend for Faulty {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.check()?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        self.check()?;
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        self.check()?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.inner.close()
    }
    fn try_lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }
    fn lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_range(start, end)
    }
    fn lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_shared_range(start, end)
    }
    fn unlock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(start, end)
    }
    fn query_lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.query_lock_range(start, end)
    }
}

/// A classic-clt trust whose store fails its writes while the returned flag is set.
fn on_a_faulty_device() -> (Harness, Arc<std::sync::atomic::AtomicBool>) {
    let h = Harness::classic();
    let Harness {
        dir,
        trust,
        clock,
        keys,
    } = h;
    let path = trust.path().join(cltd_runtime::STORE_FILE);
    drop(trust);
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    let backend = Faulty {
        inner: redb::backends::FileBackend::new(file).unwrap(),
        fail: fail.clone(),
    };
    let trust =
        Trust::open_with_backend(dir.path(), backend, runtime(), Box::new(clock.clone())).unwrap();
    let h = Harness {
        dir,
        trust,
        clock,
        keys,
    };
    (h, fail)
}

fn propose(title: &str) -> cltd_runtime::Action {
    cltd_runtime::Action::Propose(cltd_runtime::ProposalDraft {
        body: cltd_runtime::ProposalBody::Ordinary,
        title: title.into(),
        text: String::new(),
        window: 7 * 86_400,
    })
}

/// A storage error stops writes cleanly: the failed transition is not acknowledged and leaves
/// nothing, later writes are refused without touching the disk (a failed fsync is never
/// retried), and after reopening the store holds exactly what was acknowledged.
#[test]
fn a_storage_error_stops_writes_until_the_store_is_reopened() {
    use cltd_runtime::{StoreError, SystemClock};
    let (mut h, fail) = on_a_faulty_device();
    let first = h.allowed("r1", propose("Before the fault"));
    let before = h.trust.state().clone();

    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    let failed = h.act("r2", propose("During the fault")).unwrap_err();
    assert!(failed.to_string().contains("injected"), "{failed}");
    assert_eq!(
        h.trust.state(),
        &before,
        "the failed write changed the state in memory"
    );

    // The device recovers, but this handle does not try again.
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let refused = h.act("r2", propose("After the fault")).unwrap_err();
    assert!(
        matches!(refused, cltd_runtime::Error::Store(StoreError::Stopped(_))),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("until the trust is reopened"),
        "{refused}"
    );
    assert_eq!(h.trust.state(), &before);

    // Reopened: exactly what was acknowledged, and the log replays to it.
    let dir = h.dir;
    drop(h.trust);
    let reopened = Trust::open(dir.path(), runtime(), Box::new(SystemClock)).unwrap();
    assert_eq!(reopened.state().size, first.index + 1);
    let report = cltd_runtime::verify(reopened.database(), &runtime()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let mut again = reopened;
    let key = crate::support::key_for("r2");
    let seq = again.state().next_seq(&key.member_key());
    let bytes =
        cltd_runtime::SignedTransition::sign(&key, again.id(), seq, propose("Reopened")).to_bytes();
    again.submit(&bytes).unwrap();
}

/// Served, a trust whose writes stopped makes the server not ready, naming the trust, and
/// its writes answer `503 writes-stopped`; its reads still work.
#[test]
fn a_stopped_trust_makes_the_server_not_ready() {
    let (mut h, fail) = on_a_faulty_device();
    h.allowed("r1", propose("Before the fault"));
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    h.act("r2", propose("During the fault")).unwrap_err();
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
    let id = h.trust.id_hex();
    let bytes = h.sign("r2", propose("After the fault"));
    let server = crate::api::Server::hosting(
        cltd::server::Hub::hosting(vec![h.trust]),
        cltd::server::Limits::default(),
    );
    let (status, text) = server.get("/readyz");
    assert_eq!(status, 503, "{text}");
    assert!(
        text.contains(&id) && text.contains("writes stopped") && text.contains("injected"),
        "{text}"
    );
    let (status, body) = server.post(&format!("/v1/trusts/{id}/transitions"), &bytes);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "writes-stopped", "{body}");
    let (status, _) = server.get(&format!("/v1/trusts/{id}"));
    assert_eq!(status, 200, "reads go on");
    assert_eq!(server.get("/healthz").0, 200, "the process is alive");
}

/// The log's Merkle tree is kept in the store with the entries: checkpoints and proofs made
/// from it are the ones the entries give; a store written before the tree was kept reads
/// the same (from the entries) and gets its tree when next opened for writing; and `verify`
/// catches a stored tree that does not match the entries.
#[test]
fn the_stored_merkle_tree_matches_the_log_fills_in_for_old_stores_and_is_verified() {
    const TREE: TableDefinition<u64, &[u8; 32]> = TableDefinition::new("tree");
    let mut h = Harness::classic();
    for i in 0..6 {
        h.allowed("r1", propose(&format!("Proposal {i}")));
    }
    let leaves = h.trust.leaves().unwrap();
    let size = leaves.len() as u64;
    assert_eq!(h.trust.root().unwrap(), cltd_runtime::root(&leaves));
    for i in 0..size {
        let proof = h.trust.inclusion_proof(i).unwrap();
        assert_eq!(
            proof.hashes,
            cltd_runtime::inclusion_proof(&leaves, i as usize).unwrap()
        );
    }
    for old in 0..=size {
        let proof = h.trust.consistency_proof(old).unwrap();
        assert_eq!(
            proof.hashes,
            cltd_runtime::consistency_proof(&leaves, old as usize).unwrap()
        );
    }
    let checkpoint = h.trust.checkpoint().unwrap().text;

    // A store from before the tree was kept: no tree table.
    let txn = h.trust.database().begin_write().unwrap();
    assert!(txn.delete_table(TREE).unwrap());
    txn.commit().unwrap();
    let dir = h.dir;
    drop(h.trust);
    let reading = Trust::open_for_reading(dir.path(), runtime(), Box::new(SystemClock)).unwrap();
    assert_eq!(reading.checkpoint().unwrap().text, checkpoint);
    drop(reading);
    let writer = Trust::open(dir.path(), runtime(), Box::new(SystemClock)).unwrap();
    let rows = {
        use redb::{ReadableDatabase, ReadableTableMetadata};
        let txn = writer.database().begin_read().unwrap();
        txn.open_table(TREE).unwrap().len().unwrap()
    };
    assert!(
        rows >= size,
        "the tree was filled in: {rows} nodes for {size} entries"
    );
    assert_eq!(writer.checkpoint().unwrap().text, checkpoint);
    assert!(verify(writer.database(), &runtime()).unwrap().is_ok());

    // A stored node that does not match the entries: verify says so.
    let txn = writer.database().begin_write().unwrap();
    txn.open_table(TREE)
        .unwrap()
        .insert(0u64, &[9u8; 32])
        .unwrap();
    txn.commit().unwrap();
    let report = verify(writer.database(), &runtime()).unwrap();
    let why = report.divergence.expect("a diverging tree").reason;
    assert!(why.contains("Merkle tree node 0/0"), "{why}");
}
