//! Crash consistency: `cltd serve` in a child process, loaded by signed transitions and
//! killed with SIGKILL at random moments; after each kill every acknowledged transition is in
//! the log where its receipt said, and the log replays to the stored state. CI runs a few
//! cycles; `cltd crash-test --cycles 200` is the long run. The server is this test
//! executable re-run as `cltd`, so the test always exercises the code it was built from.

use std::ffi::{OsStr, OsString};
use std::io::BufRead;

use cltd_bench::crash::{Ack, Launch, Options, Report, check, run};

use crate::support::bylaw;

/// Set in the child: this test executable then acts as `cltd` with these arguments, one per
/// line.
const AS_CLTD: &str = "CLTD_TEST_RUN_AS_CLTD";

/// `cltd ARGS` as this very test executable (the code just built, never a stale binary):
/// it re-runs itself with only [`as_cltd`] selected, which runs cltd's CLI.
pub(crate) fn cltd() -> Launch {
    Launch::with(|args: &[&OsStr]| {
        let mut c = std::process::Command::new(std::env::current_exe().unwrap());
        c.args([
            "--ignored",
            "--exact",
            "crash::as_cltd",
            "--nocapture",
            "-q",
        ]);
        let lines: Vec<String> = args.iter().map(|a| a.to_string_lossy().into()).collect();
        c.env(AS_CLTD, lines.join("\n"));
        c
    })
}

/// Not a check: the child process [`cltd`] starts. Without its variable it does nothing.
#[test]
#[ignore = "the crash test's child process: runs cltd's CLI when started by it"]
fn as_cltd() {
    let Some(args) = std::env::var_os(AS_CLTD) else {
        return;
    };
    let mut argv = vec![OsString::from("cltd")];
    argv.extend(args.to_string_lossy().lines().map(OsString::from));
    cltd::cli::install_logging(&argv);
    let code = cltd::cli::run(argv, &mut std::io::stdout().lock(), &mut std::io::stderr());
    std::process::exit(code);
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
        &cltd(),
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
    let args = ["serve", "--listen", "127.0.0.1:0", "--trusts"].map(OsStr::new);
    let mut server = cltd()
        .command(&[&args[..], &[dir.path().as_os_str()]].concat())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let line = std::io::BufReader::new(server.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|l| !l.trim().is_empty() && !l.starts_with("running "))
        .unwrap();
    assert!(line.starts_with("serving 1 trust(s)"), "{line}");
    server.kill().unwrap();
    server.wait().unwrap();
    let r = crate::cli::cltd(dir.path(), &["verify"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("VERIFIED"), "{}", r.out);
    assert!(r.out.contains("was repaired on opening"), "{}", r.out);
}
