//! Crash consistency: `cltd serve` in a child process, loaded by signed transitions and
//! killed with SIGKILL at random moments; after each kill every acknowledged transition is in
//! the log where its receipt said, and the log replays to the stored state. CI runs a few
//! cycles; `cltd crash-test --cycles 200` is the long run.

use cltd_bench::crash::{Ack, Options, Report, check, run};

use crate::support::bylaw;

/// The cltd binary `scripts/build-bylaws.sh` builds before the tests (or `CLTD_BIN`).
fn cltd_bin() -> std::path::PathBuf {
    std::env::var_os("CLTD_BIN").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/cltd"),
        std::path::PathBuf::from,
    )
}

#[test]
fn acknowledged_transitions_survive_sigkill_and_the_log_replays() {
    let dir = tempfile::TempDir::new().unwrap();
    let options = Options {
        cycles: 3,
        clients: 2,
        max_uptime: std::time::Duration::from_millis(1500),
        seed: 7,
    };
    let mut seen = 0;
    let report = run(
        &cltd_bin(),
        &bylaw("classic-clt"),
        dir.path(),
        &options,
        &mut |r| seen = r.cycles,
    )
    .unwrap();
    assert_eq!(seen, 3);
    assert!(report.is_ok(), "{}", report.text());
    assert_eq!(report.cycles, 3);
    assert!(report.acknowledged > 0, "{}", report.text());
    assert_eq!(
        report.entries,
        1 + report.acknowledged + report.committed_unacknowledged,
        "{}",
        report.text()
    );

    // The check is not vacuous: an acknowledgement the log does not hold is counted lost.
    let mut after = Report::default();
    let bogus = Ack {
        index: report.entries + 5,
        entry_hash: "00".repeat(32),
        signed: vec![1, 2, 3],
    };
    check(dir.path(), &[bogus], &mut after).unwrap();
    assert_eq!(after.lost, 1);
    assert!(!after.is_ok());

    // A server killed before anything repaired its store: `cltd verify` repairs and verifies.
    let mut server = std::process::Command::new(cltd_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--trusts"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("serving 1 trust(s)"), "{line}");
    server.kill().unwrap();
    server.wait().unwrap();
    let r = crate::cli::cltd(dir.path(), &["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("VERIFIED"), "{}", r.out);
    assert!(r.out.contains("was repaired on opening"), "{}", r.out);
}
