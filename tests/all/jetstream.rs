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
    /// Its monitoring endpoint (`/varz`, ...).
    monitor: String,
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
    server_syncing(true)
}

/// A server that fsyncs before acknowledging (`sync_always`), or one that does not (the
/// engine's default).
fn server_syncing(always: bool) -> Server {
    let dir = TempDir::new().unwrap();
    let (port, http) = (free_port(), free_port());
    let conf = dir.path().join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: 127.0.0.1:{port}\nhttp: 127.0.0.1:{http}\nmax_payload: 8MB\njetstream {{ store_dir: \"{}\"{} }}\n",
            dir.path().join("js").display(),
            if always { ", sync_interval: always" } else { "" }
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
        monitor: format!("http://127.0.0.1:{http}"),
        _dir: dir,
    }
}

fn log_on(server: &Server) -> Arc<JetStreamLog> {
    let engine = Arc::new(Engine::connect(&server.url, "cltd-test").unwrap());
    engine.init(1, 2, &[]).unwrap();
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
    // Another trust, in the other log stream (its id picks shard 0 of 2, this one's shard
    // 1), does not count against this one's sequence.
    let other = TrustId([8; 32]);
    let o1 = log.append(&other, 0, &id(3), b"other").unwrap();
    let s3 = log.append(&trust, s2, &id(4), b"three").unwrap();
    assert_eq!((o1, s3), (1, s2 + 1));
    // The registry holds each trust's stream, and every node opening the log reads the same.
    let again = JetStreamLog::open(Arc::new(
        Engine::connect(&server.url, "cltd-test-2").unwrap(),
    ))
    .unwrap();
    for l in [&*log, &again] {
        assert_eq!(
            l.shard_of(&trust, false).unwrap(),
            Some((1, format!("cltd.log.1.{}", hex::encode([7; 32]))))
        );
        assert_eq!(l.shard_of(&other, false).unwrap().unwrap().0, 0);
        assert_eq!(l.shard_of(&TrustId([9; 32]), false).unwrap(), None);
        assert_eq!(l.last(&TrustId([9; 32])).unwrap(), None);
    }
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

/// `cltd cluster init` refuses servers that acknowledge before fsync unless told to accept
/// them; accepted, the fact is recorded in the engine and every node says so on `/readyz`
/// and on the dashboard's front page; a later init over servers that fsync clears it.
#[test]
fn servers_acknowledging_before_fsync_are_refused_unless_accepted_and_then_every_node_says_so() {
    let server = server_syncing(false);
    let init = |extra: &[&str]| {
        let mut args = vec![
            "cltd",
            "cluster",
            "init",
            "--cluster",
            &server.url,
            "--monitor",
            &server.monitor,
            "--replicas",
            "1",
        ];
        args.extend_from_slice(extra);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = cltd::cli::run(args, &mut out, &mut err);
        crate::cli::Run {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
        }
    };
    let refused = init(&[]);
    assert_ne!(refused.code, 0, "{}", refused.out);
    assert!(
        refused.err.contains("acknowledge before fsync") && refused.err.contains("sync_interval"),
        "{}",
        refused.err
    );
    let engine = Engine::connect(&server.url, "cltd-test").unwrap();
    assert!(
        engine.lazy_fsync().is_err(),
        "a refused init creates nothing"
    );

    let accepted = init(&["--allow-lazy-fsync"]);
    assert_eq!(accepted.code, 0, "{}{}", accepted.out, accepted.err);
    assert_eq!(engine.lazy_fsync().unwrap(), Some(server.monitor.clone()));

    let trusts = TempDir::new().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let args = [
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--trusts",
        &trusts.path().display().to_string(),
        "--cluster",
        &server.url,
        "--node-id",
        "a",
    ];
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let mut node = crate::crash::cltd()
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let ready = loop {
        match ureq::get(&format!("{base}/readyz")).call() {
            Ok(mut r) => break r.body_mut().read_to_string().unwrap(),
            Err(_) if started.elapsed() < Duration::from_secs(60) => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("the node did not answer: {e}"),
        }
    };
    let front = ureq::get(&format!("{base}/"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let _ = node.kill();
    let _ = node.wait();
    let warning = format!("servers {} acknowledge before fsync", server.monitor);
    assert!(ready.contains(&warning), "{ready}");
    assert!(
        front.contains("class=\"warning\"") && front.contains(&warning),
        "{front}"
    );

    // The number of log streams is fixed by the first init.
    let refused = engine.init(1, 5, &[]).unwrap_err().to_string();
    assert!(refused.contains("--shards 3"), "{refused}");
    engine.init(1, 3, &[]).unwrap();
    assert_eq!(engine.lazy_fsync().unwrap(), None);
}
