//! The JetStream replicator against a real NATS server (the pinned 2.15.1 binary that
//! `scripts/engine-setup.sh` installs; `CLTD_NATS_SERVER` names another): compare-and-append
//! conflicts, deduplication by envelope id, reads in order, two nodes of one trust through
//! it, and an engine gone away refusing writes with nothing committed. The three-node
//! cluster under kills is `scripts/cluster-test.sh`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cltd::cluster::{Engine, JetStreamLog};
use cltd_runtime::{EntryHash, ReplicaError, Replicator, Trust, TrustId};
use tempfile::TempDir;

use crate::cluster::ordinary;
use crate::support::*;

/// A single JetStream server (one replica) in a directory of its own, killed when dropped.
struct Server {
    child: Child,
    url: String,
    _dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> PathBuf {
    if let Some(p) = std::env::var_os("CLTD_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/engine/nats-server");
    assert!(
        p.exists(),
        "{} is missing: run scripts/engine-setup.sh (the test command does), or set CLTD_NATS_SERVER",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn server() -> Server {
    let dir = TempDir::new().unwrap();
    let port = free_port();
    let conf = dir.path().join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\nmax_payload: 8MB\njetstream {{ store_dir: \"{}\", sync_interval: always }}\n",
            dir.path().join("js").display()
        ),
    )
    .unwrap();
    let child = Command::new(nats_server())
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("nats://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the NATS server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        url,
        _dir: dir,
    }
}

fn log_on(server: &Server) -> Arc<JetStreamLog> {
    let engine = Arc::new(Engine::connect(&server.url, "cltd-test").unwrap());
    engine.init(1).unwrap();
    Arc::new(JetStreamLog::open(engine).unwrap())
}

fn id(n: u8) -> EntryHash {
    EntryHash([n; 32])
}

#[test]
fn the_jetstream_log_appends_by_compare_and_append_and_deduplicates() {
    let server = server();
    let log = log_on(&server);
    let trust = TrustId([7; 32]);
    assert_eq!(log.last(&trust).unwrap(), None);
    let s1 = log.append(&trust, 0, &id(1), b"one").unwrap();
    // The same envelope again (its id): the first append's sequence, nothing stored twice.
    assert_eq!(log.append(&trust, s1, &id(1), b"one").unwrap(), s1);
    // Naming a stale last sequence: a conflict, nothing stored.
    match log.append(&trust, 0, &id(2), b"two") {
        Err(ReplicaError::Conflict { expected: 0, found }) => assert_eq!(found, s1),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let s2 = log.append(&trust, s1, &id(2), b"two").unwrap();
    assert!(s2 > s1);
    // Another trust's subject does not count against this one's sequence.
    let other = TrustId([8; 32]);
    let o1 = log.append(&other, 0, &id(3), b"other").unwrap();
    let s3 = log.append(&trust, s2, &id(4), b"three").unwrap();
    assert!(s3 > o1);
    assert_eq!(
        log.read_after(&trust, 0, 10).unwrap(),
        vec![
            (s1, b"one".to_vec()),
            (s2, b"two".to_vec()),
            (s3, b"three".to_vec())
        ]
    );
    assert_eq!(
        log.read_after(&trust, s1, 1).unwrap(),
        vec![(s2, b"two".to_vec())]
    );
    assert_eq!(log.last(&trust).unwrap(), Some((s3, b"three".to_vec())));
    let mut trusts = log.trusts().unwrap();
    trusts.sort();
    assert_eq!(trusts, vec![hex::encode([7; 32]), hex::encode([8; 32])]);
}

#[test]
fn two_nodes_replicate_through_jetstream_and_an_engine_gone_refuses_with_nothing_written() {
    let server = server();
    let log = log_on(&server);
    let mut a = Harness::classic();
    a.trust.replicate(log.clone()).unwrap();
    a.allowed("r1", ordinary("one"));
    // A second node founded from the stream alone.
    let dir = TempDir::new().unwrap();
    let mut b = Trust::follow(
        dir.path(),
        runtime(),
        Box::new(a.clock.clone()),
        log.clone(),
        a.trust.id(),
        &classic(),
    )
    .unwrap();
    assert_eq!(
        b.entries(0, usize::MAX).unwrap(),
        a.trust.entries(0, usize::MAX).unwrap()
    );
    // b, behind after a writes again, loses the compare-and-append, catches up and commits.
    a.allowed("r2", ordinary("two"));
    let from_b = a.sign("c1", ordinary("three"));
    let r = b.submit(&from_b).unwrap();
    assert_eq!(r.index, 3);
    assert_eq!(a.trust.catch_up().unwrap(), 1);
    assert_eq!(
        b.entries(0, usize::MAX).unwrap(),
        a.trust.entries(0, usize::MAX).unwrap()
    );
    // The engine goes away: a write is refused, and nothing of it is committed here.
    let before = a.trust.dump().unwrap();
    let bytes = a.sign("p1", ordinary("four"));
    drop(server);
    let err = a.trust.submit(&bytes).unwrap_err();
    assert!(
        matches!(err.code(), "cluster-unavailable" | "cluster-ambiguous"),
        "{err}"
    );
    assert_eq!(a.trust.dump().unwrap(), before);
}
