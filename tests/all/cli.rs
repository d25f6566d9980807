//! The `cltd` command line, driven exactly as a user types it: output and exit codes.

use std::path::Path;

use serde_json::Value;

use crate::support::bylaws_path;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn cltd(dir: &Path, args: &[&str]) -> Run {
    let mut argv = vec![
        "cltd".to_string(),
        "--data-dir".to_string(),
        dir.display().to_string(),
        "--bylaws-dir".to_string(),
        bylaws_path().display().to_string(),
    ];
    argv.extend(args.iter().map(|a| a.to_string()));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = cltd::cli::run(argv, &mut out, &mut err);
    Run {
        code,
        out: String::from_utf8(out).unwrap(),
        err: String::from_utf8(err).unwrap(),
    }
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let r = cltd(dir, args);
    assert_eq!(r.code, 0, "cltd {args:?} failed: {}{}", r.out, r.err);
    r.out
}

fn founded() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    for m in ["amara", "bo", "chen", "eli", "farah"] {
        ok(d, &["keys", "new", m]);
    }
    let out = ok(
        d,
        &[
            "init",
            "--name",
            "Riverside",
            "--bylaw",
            "classic-clt",
            "--founder",
            "amara:resident",
            "--founder",
            "bo:resident",
            "--founder",
            "chen:community",
            "--founder",
            "eli:public",
            "--asset",
            "tenancy-records:dataset:perpetual:Tenancy records",
        ],
    );
    assert!(out.contains("founded trust"), "{out}");
    dir
}

/// chen proposes selling the locked dataset with the default 7-day window (§5 denies it).
const SALE_IN_7_DAYS: &[&str] = &[
    "propose",
    "--as",
    "chen",
    "--title",
    "Sell",
    "dispose",
    "--asset",
    "tenancy-records",
    "--recipient",
    "Acme",
];

/// A founded trust with proposal 1 open and eli's abstention on it.
fn with_an_abstention() -> tempfile::TempDir {
    let dir = founded();
    ok(
        dir.path(),
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Adopt a policy",
            "ordinary",
        ],
    );
    ok(dir.path(), &["vote", "--as", "eli", "1", "abstain"]);
    dir
}

#[test]
fn a_member_session_has_documented_exit_codes() {
    let dir = founded();
    let d = dir.path();
    let out = ok(
        d,
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Admit Farah",
            "admit",
            "--key",
            "farah",
            "--name",
            "Farah",
            "--class",
            "resident",
        ],
    );
    assert!(
        out.contains("ALLOWED") && out.contains("proposal 1 opened"),
        "{out}"
    );
    let receipt: Value =
        serde_json::from_str(&ok(d, &["vote", "--as", "bo", "1", "yes", "--json"])).unwrap();
    assert_eq!(receipt["index"], 2);
    assert_eq!(receipt["verdict"]["allowed"], true);
    assert_eq!(receipt["effects"][0], "yes vote counted on proposal 1");

    let denied = cltd(d, SALE_IN_7_DAYS);
    assert_eq!(
        denied.code,
        cltd::EXIT_DENIED,
        "{}{}",
        denied.out,
        denied.err
    );
    assert!(
        denied
            .out
            .contains("DENIED [window-too-short] under §5 asset lock"),
        "{}",
        denied.out
    );

    let again = cltd(d, &[&["--json"], SALE_IN_7_DAYS].concat());
    assert_eq!(again.code, cltd::EXIT_DENIED);
    let receipt: Value = serde_json::from_str(&again.out).unwrap();
    assert_eq!(receipt["verdict"]["code"], "window-too-short");
    assert_eq!(receipt["index"], 4);

    let refused = cltd(d, &["close", "--as", "chen", "1"]);
    assert_eq!(refused.code, cltd::EXIT_ERROR);
    assert!(
        refused.err.contains("refused, nothing recorded") && refused.err.contains("open until"),
        "{}",
        refused.err
    );

    let double = cltd(d, &["vote", "--as", "bo", "1", "no"]);
    assert_eq!(double.code, cltd::EXIT_ERROR);
    assert!(double.err.contains("already voted"), "{}", double.err);

    let nobody = cltd(d, &["vote", "--as", "zed", "1", "no"]);
    assert_eq!(nobody.code, cltd::EXIT_ERROR);
    assert!(nobody.err.contains("no key named `zed`"), "{}", nobody.err);

    let proposals: Value = serde_json::from_str(&ok(d, &["show", "proposals", "--json"])).unwrap();
    assert_eq!(proposals[0]["voted"], 1);
    assert_eq!(proposals[0]["eligible"], 4);
    assert_eq!(proposals[0]["kind"], "admit-member");

    let log: Value = serde_json::from_str(&ok(d, &["log", "--json"])).unwrap();
    let entries = log.as_array().unwrap();
    assert_eq!(
        entries.len(),
        5,
        "genesis, proposal, vote, two logged denials"
    );
    assert_eq!(entries[4]["verdict"]["code"], "window-too-short");

    let verified = ok(d, &["verify"]);
    assert!(verified.contains("VERIFIED"), "{verified}");
    let v: Value = serde_json::from_str(&ok(d, &["verify", "--json"])).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["checked"], 5);
}

#[test]
fn verify_exits_3_on_a_tampered_log() {
    let dir = with_an_abstention();
    let d = dir.path();
    {
        let db = redb::Database::open(d.join("trust.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(redb::TableDefinition::<u64, &[u8]>::new("log"))
            .unwrap()
            .remove(1)
            .unwrap();
        txn.commit().unwrap();
    }
    let r = cltd(d, &["verify"]);
    assert_eq!(r.code, cltd::EXIT_VERIFY_FAILED, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("FAILED at entry 1: entry 1 is missing"),
        "{}",
        r.out
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let r = cltd(d, &["show"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("no trust at"), "{}", r.err);
    let r = cltd(d, &["init", "--name", "X", "--founder", "ghost:resident"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("no key named `ghost`"), "{}", r.err);
    let r = cltd(
        d,
        &["init", "--name", "X", "--founder", "amara:landlord:00"],
    );
    assert!(
        r.err.contains("not resident, community or public"),
        "{}",
        r.err
    );
    let r = cltd(d, &["vote", "--as", "bo", "1", "maybe"]);
    assert_eq!(r.code, cltd::EXIT_ERROR, "clap rejects a bad choice");
    assert!(!d.join("trust.redb").exists(), "nothing was created");
}

#[test]
fn bylaws_can_be_hashed_and_described_before_use() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let hash = ok(d, &["bylaws", "hash", "classic-clt"]);
    let hex = hash.split_whitespace().next().unwrap();
    assert_eq!(hex.len(), 64, "{hash}");
    let described = ok(d, &["bylaws", "describe", "classic-clt"]);
    assert!(described.starts_with("classic-clt 0.1.0"), "{described}");
    assert!(
        described.contains(hex),
        "describe names the same hash the log will record"
    );
    assert!(described.contains("§5 asset lock"), "{described}");
    let missing = cltd(d, &["bylaws", "hash", "no-such-bylaw"]);
    assert_eq!(missing.code, cltd::EXIT_ERROR);
    assert!(
        missing.err.contains("scripts/build-bylaws.sh"),
        "{}",
        missing.err
    );
}

#[test]
fn show_reports_turnout_and_the_quorum_picture() {
    let dir = with_an_abstention();
    let d = dir.path();
    let text = ok(d, &["show", "proposal", "1"]);
    assert!(text.contains("1 of 4 eligible have voted (25%)"), "{text}");
    assert!(
        text.contains("public    0 yes, 0 no, 1 abstain of 1"),
        "{text}"
    );
    let all = ok(d, &["show"]);
    assert!(
        all.contains("members (4)") && all.contains("tenancy-records") && all.contains("perpetual"),
        "{all}"
    );
}
