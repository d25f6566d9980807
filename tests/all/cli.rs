//! The `cltd` command line, driven exactly as a user types it: output and exit codes.
//! (One module of ~900 lines: the integration tests are one binary with a module per
//! topic, and this topic is every verb of the command line.)

use std::path::Path;

use serde_json::Value;

use crate::support::bylaws_path;

pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) out: String,
    pub(crate) err: String,
}

pub(crate) fn cltd(dir: &Path, args: &[&str]) -> Run {
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
        r.err
            .contains("`landlord` is not a stakeholder class (resident, community, public,"),
        "{}",
        r.err
    );
    let r = cltd(d, &["vote", "--as", "bo", "1", "maybe"]);
    assert_eq!(r.code, cltd::EXIT_ERROR, "clap rejects a bad choice");
    assert!(!d.join("trust.redb").exists(), "nothing was created");
}

#[test]
fn init_refuses_a_charter_its_bylaw_cannot_keep_and_writes_nothing() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    for m in ["amara", "chen", "eli"] {
        ok(d, &["keys", "new", m]);
    }
    let init = |extra: &[&str]| {
        let mut args = vec![
            "init",
            "--name",
            "Census Trust",
            "--founder",
            "amara:resident",
            "--founder",
            "chen:community",
            "--founder",
            "eli:public",
            "--asset",
            "census-2026:dataset:perpetual",
        ];
        args.extend_from_slice(extra);
        let r = cltd(d, &args);
        assert!(!d.join("trust.redb").exists(), "nothing founded: {}", r.err);
        assert!(!d.join("host.key").exists(), "no host key written");
        r
    };
    // A weak lock under an entrenched asset lock.
    let r = init(&["--param", "disposal-threshold=1/2"]);
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}{}", r.out, r.err);
    assert!(
        r.err
            .contains("entrenches `asset-lock`, but the bylaw with this charter breaks it")
            && r.err.contains("60% support in the resident class"),
        "{}",
        r.err
    );
    // A float: every later action would be denied.
    let r = init(&["--param", "disposal-threshold=0.75"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(
        r.err.contains(
            "`disposal-threshold`: `0.75` is not a ratio N/D from 1/2 to 1 (the default is 2/3)"
        ),
        "{}",
        r.err
    );
    // A misspelling: the default would silently apply.
    let r = init(&["--param", "disposal-threshhold=3/4"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(
        r.err.contains("`disposal-threshhold`: unknown parameter"),
        "{}",
        r.err
    );
    // No quorum at all.
    let r = init(&["--param", "ordinary-quorum=0/1"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(
        r.err.contains("`ordinary-quorum`: `0/1` is not"),
        "{}",
        r.err
    );
    // An asset kind that does not exist lists the ones that do.
    let r = init(&["--asset", "sheet:spreadsheet:unlocked"]);
    assert!(
        r.err
            .contains("dataset, code-repository, platform, domain, server"),
        "{}",
        r.err
    );
    // A sound charter founds, and says what was checked.
    let r = cltd(
        d,
        &[
            "init",
            "--name",
            "Census Trust",
            "--founder",
            "amara:resident",
            "--founder",
            "chen:community",
            "--founder",
            "eli:public",
            "--asset",
            "census-2026:dataset:perpetual",
            "--param",
            "disposal-threshold=3/4",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("founding checks passed: the bylaw reads every charter parameter, and keeps the entrenched clauses (asset-lock, amendment-supermajority, one-member-one-vote)"),
        "{}",
        r.out
    );
}

/// Make the trust in `d` look like a store an earlier cltd made: store format 2, and a
/// charter its bylaw cannot read (as a founding before founding checks could leave one).
fn make_earlier(d: &Path) {
    use redb::{Database, ReadableTable, TableDefinition};
    let meta: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
    let db = Database::open(d.join("trust.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(meta).unwrap();
        let stored = table.get("constitution").unwrap().unwrap().value().to_vec();
        let mut constitution: cltd_runtime::Constitution = postcard::from_bytes(&stored).unwrap();
        constitution.charter = vec![cltd_runtime::Parameter {
            key: "disposal-threshold".into(),
            value: "0.75".into(),
        }];
        let bytes = postcard::to_stdvec(&constitution).unwrap();
        table.insert("constitution", bytes.as_slice()).unwrap();
        table
            .insert("format", 2u32.to_le_bytes().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_store_from_an_earlier_cltd_is_refused_and_its_successor_repairs_the_charter() {
    let old = founded();
    let o = old.path();
    make_earlier(o);
    let before = std::fs::read(o.join("trust.redb")).unwrap();
    // Refused with what to do, and unchanged.
    let r = cltd(o, &["show"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(
        r.err.contains("made by an earlier cltd") && r.err.contains("init --from"),
        "{}",
        r.err
    );
    let new = tempfile::TempDir::new().unwrap();
    let n = new.path();
    let from = o.display().to_string();
    // The charter carried over cannot be read: refused, naming the parameter.
    let r = cltd(n, &["init", "--from", &from]);
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}", r.out);
    assert!(
        r.err.contains("`disposal-threshold`: `0.75` is not"),
        "{}",
        r.err
    );
    // Nor can a successor release the asset lock the earlier trust entrenched.
    let r = cltd(
        n,
        &["init", "--from", &from, "--param", "disposal-threshold=1/2"],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("entrenches `asset-lock`"), "{}", r.err);
    assert!(!n.join("trust.redb").exists());
    // Repaired: the successor carries members, assets and clauses over and names its
    // predecessor; the earlier store is byte-identical.
    let out = ok(
        n,
        &["init", "--from", &from, "--param", "disposal-threshold=3/4"],
    );
    assert!(out.contains("the successor of trust"), "{out}");
    assert!(out.contains("carried over: 4 members, 1 assets"), "{out}");
    assert!(
        std::fs::read(o.join("trust.redb")).unwrap() == before,
        "the earlier store changed"
    );
    let shown: Value = serde_json::from_str(&ok(n, &["--json", "show"])).unwrap();
    assert_eq!(shown["name"], "Riverside");
    assert_eq!(shown["members"].as_array().unwrap().len(), 4);
    assert_eq!(shown["assets"][0]["id"], "tenancy-records");
    assert_eq!(shown["assets"][0]["lock"], "perpetual");
    assert_eq!(shown["entrenched"].as_array().unwrap().len(), 3);
    assert_eq!(shown["charter"][0]["value"], "3/4");
    let log: Value = serde_json::from_str(&ok(n, &["--json", "log"])).unwrap();
    assert!(
        log.to_string().contains("\"predecessor\""),
        "the genesis names the earlier trust: {log}"
    );
    // The members act in the successor with the keys they had.
    std::fs::create_dir_all(n.join("keys")).unwrap();
    for key in std::fs::read_dir(o.join("keys")).unwrap() {
        let key = key.unwrap().path();
        std::fs::copy(&key, n.join("keys").join(key.file_name().unwrap())).unwrap();
    }
    let r = cltd(n, SALE_IN_7_DAYS);
    assert_eq!(r.code, cltd::EXIT_DENIED, "{}{}", r.out, r.err);
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
    assert!(
        described.contains(
            "  disposal-threshold = a ratio N/D from 1/2 to 1 [default 2/3]: §5 share of votes cast needed in each class to dispose of a perpetual asset"
        ),
        "{described}"
    );
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

/// The hash `cltd bylaws hash NAME` reports.
fn hash_of(d: &Path, bylaw: &str) -> String {
    ok(d, &["bylaws", "hash", bylaw])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn amendments_through_the_cli_upload_preview_and_propose() {
    let dir = founded();
    let d = dir.path();
    let show = ok(d, &["show"]);
    assert!(
        show.contains("entrenched: asset-lock, amendment-supermajority, one-member-one-vote"),
        "{show}"
    );
    let up = ok(d, &["bylaws", "upload", "--as", "amara", "reasoned-clt"]);
    let module = hash_of(d, "reasoned-clt");
    assert!(up.contains(&format!("stored module {module}")), "{up}");
    assert!(
        up.contains("§9 every proposal must state its reasons"),
        "{up}"
    );
    let again = ok(
        d,
        &["--json", "bylaws", "upload", "--as", "bo", "reasoned-clt"],
    );
    let v: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(v["new"], false);

    let propose = [
        "propose",
        "--as",
        "amara",
        "--title",
        "Give reasons",
        "--text",
        "So we can judge",
        "--days",
        "30",
        "amend",
        "--module",
        &module,
    ];
    let r = cltd(d, &propose);
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}", r.out);
    assert!(r.err.contains("cltd amend preview"), "{}", r.err);

    let preview = ok(d, &["amend", "preview", &module]);
    assert!(
        preview.contains("9 of 9 conformance checks passed"),
        "{preview}"
    );
    assert!(
        preview.contains("charter: reasons-required: (unset) -> yes"),
        "{preview}"
    );
    let json: Value =
        serde_json::from_str(&ok(d, &["--json", "amend", "preview", &module])).unwrap();
    assert_eq!(json["conformance"].as_array().unwrap().len(), 9);

    let opened = ok(d, &propose);
    assert!(opened.contains("proposal 1 opened"), "{opened}");
    let shown = ok(d, &["amend", "show", "1"]);
    assert_eq!(
        shown, preview,
        "members read the preview the proposal was opened with"
    );

    // A charter that weakens the asset lock is refused before any vote.
    let classic = hash_of(d, "classic-clt");
    ok(
        d,
        &[
            "amend",
            "preview",
            &classic,
            "--set",
            "disposal-threshold=1/2",
        ],
    );
    let r = cltd(
        d,
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Weaken",
            "--days",
            "30",
            "amend",
            "--module",
            &classic,
            "--set",
            "disposal-threshold=1/2",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(
        r.err.contains("breaks entrenched clause `asset-lock`"),
        "{}",
        r.err
    );

    let bad = cltd(
        d,
        &["bylaws", "upload", "--as", "amara", "/nonexistent/x.wasm"],
    );
    assert_eq!(bad.code, cltd::EXIT_ERROR);
    ok(d, &["keys", "new", "mallory"]);
    let outsider = cltd(d, &["bylaws", "upload", "--as", "mallory", "hostile-bylaw"]);
    assert_eq!(outsider.code, cltd::EXIT_ERROR);
    assert!(
        outsider.err.contains("only members may upload"),
        "{}",
        outsider.err
    );
    assert!(ok(d, &["verify"]).contains("VERIFIED"));
}

#[test]
fn init_takes_the_entrenched_clauses() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    ok(d, &["keys", "new", "amara"]);
    let r = cltd(
        d,
        &[
            "init",
            "--name",
            "X",
            "--founder",
            "amara:resident",
            "--entrench",
            "asset-lok",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("not an entrenched clause"), "{}", r.err);
    ok(
        d,
        &[
            "init",
            "--name",
            "X",
            "--founder",
            "amara:resident",
            "--entrench",
            "asset-lock",
        ],
    );
    assert!(ok(d, &["show"]).contains("entrenched: asset-lock\n"));
}

fn repo_root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

#[test]
fn verify_source_says_whether_a_crate_builds_to_a_hash() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let expected = hash_of(d, "classic-clt");
    // The built file is the component itself: its plain blake3 is the logged hash.
    let file = std::fs::read(bylaws_path().join("classic-clt.wasm")).unwrap();
    assert_eq!(hex::encode(blake3::hash(&file).as_bytes()), expected);
    let crate_dir = repo_root().join("bylaws/classic-clt");
    let crate_dir = crate_dir.to_str().unwrap();
    let matches = ok(d, &["bylaws", "verify-source", crate_dir, &expected]);
    assert!(matches.starts_with("MATCHES"), "{matches}");
    let other = hash_of(d, "reasoned-clt");
    let r = cltd(d, &["bylaws", "verify-source", crate_dir, &other]);
    assert_eq!(r.code, cltd::EXIT_VERIFY_FAILED, "{}{}", r.out, r.err);
    assert!(
        r.out.contains(&format!(
            "DOES NOT MATCH: classic-clt built from {crate_dir} is module {expected}"
        )),
        "{}",
        r.out
    );
}

#[test]
fn bylaws_build_byte_identical_in_another_directory() {
    // Copy the sources (as git sees them) to a fresh directory with no target/, build
    // classic-clt there, and compare with the build the test run uses.
    let root = repo_root();
    let files = std::process::Command::new("git")
        .arg("-C")
        .arg(&root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .expect("git lists the sources");
    assert!(files.status.success());
    let copy = tempfile::TempDir::new().unwrap();
    for file in files.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let rel = std::str::from_utf8(file).unwrap();
        let (from, to) = (root.join(rel), copy.path().join("src").join(rel));
        if from.is_file() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&from, &to).unwrap();
        }
    }
    let out = copy.path().join("out");
    let crate_dir = copy.path().join("src/bylaws/classic-clt");
    let built = ok(
        copy.path(),
        &[
            "bylaws",
            "build",
            crate_dir.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(built.contains("classic-clt"), "{built}");
    let here = std::fs::read(bylaws_path().join("classic-clt.wasm")).unwrap();
    let there = std::fs::read(out.join("classic-clt.wasm")).unwrap();
    assert!(here == there, "classic-clt built at another path differs");
    assert!(
        built.starts_with(&hash_of(copy.path(), "classic-clt")),
        "{built}"
    );
}

#[test]
fn an_auditor_verifies_an_exported_bundle_and_explains_a_decision() {
    let dir = with_an_abstention();
    let d = dir.path();
    let note = ok(d, &["checkpoint"]);
    assert!(note.starts_with("cltd/trust/"), "{note}");
    assert!(note.contains("\n\n\u{2014} cltd/trust/"), "{note}");
    let proof = ok(d, &["prove", "inclusion", "1"]);
    assert!(
        proof.starts_with("# inclusion of entry 1 in the log of 3 entries"),
        "{proof}"
    );
    assert!(ok(d, &["prove", "consistency", "2"]).contains("cltd/trust/"));
    assert_eq!(
        cltd(d, &["prove", "consistency", "9"]).code,
        cltd::EXIT_ERROR
    );
    let bundle = d.join("out.cltd-bundle");
    let bundle = bundle.to_str().unwrap();
    ok(d, &["export", "--out", bundle]);
    // The auditor's machine: nothing but the bundle and a place to remember checkpoints.
    let elsewhere = tempfile::TempDir::new().unwrap();
    let state = elsewhere.path().join("state");
    let state = state.to_str().unwrap();
    let e = elsewhere.path();
    let verified = ok(e, &["audit", "verify", bundle, "--state-dir", state]);
    assert!(verified.starts_with("VERIFIED trust "), "{verified}");
    assert!(
        verified.contains("every transition re-executed"),
        "{verified}"
    );
    let again = ok(
        e,
        &[
            "--json",
            "audit",
            "verify",
            bundle,
            "--state-dir",
            state,
            "--no-reexec",
        ],
    );
    let v: Value = serde_json::from_str(&again).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["consistent_with"], v["checkpoint"]["size"]);
    let explained = ok(e, &["audit", "explain", bundle, "2"]);
    assert!(
        explained.contains("action: vote abstain on proposal 1"),
        "{explained}"
    );
    // A vote is judged by the rules its proposal was opened under.
    assert!(
        explained.contains("rules (as when the proposal opened): module "),
        "{explained}"
    );
    // One byte changed: exit 3, and where.
    let mut bytes = std::fs::read(bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(bundle, bytes).unwrap();
    let r = cltd(e, &["audit", "verify", bundle, "--state-dir", state]);
    assert_eq!(r.code, cltd::EXIT_VERIFY_FAILED, "{}{}", r.out, r.err);
    assert!(r.out.starts_with("FAILED at module section 0"), "{}", r.out);
}

#[test]
fn explain_tells_an_entry_with_its_clause_and_numbers() {
    let dir = founded();
    let d = dir.path();
    // §5 denies a 7-day window for a disposal: entry 1, a logged denial.
    let r = cltd(d, SALE_IN_7_DAYS);
    assert_eq!(r.code, 2, "{}{}", r.out, r.err);
    let out = ok(d, &["explain", "1"]);
    assert!(out.contains("signed by chen"), "{out}");
    assert!(out.contains("DENIED [window-too-short]"), "{out}");
    assert!(
        out.contains("at least 14 days; this one is 7 days"),
        "{out}"
    );
    assert!(out.contains("re-executed from genesis"), "{out}");
    let v: Value = serde_json::from_str(&ok(d, &["--json", "explain", "1"])).unwrap();
    assert_eq!(v["verdict"]["code"], "window-too-short");
    let r = cltd(d, &["explain", "9"]);
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(r.out.contains("there is no entry 9"), "{}", r.out);
}

#[test]
fn reading_commands_do_not_load_the_bylaw() {
    // With the stored bytes of the module in force altered, every command that runs the
    // bylaw refuses (the bytes no longer hash to their name), while the commands that only
    // read the state, the log and the checkpoint never load it and go on working.
    let dir = with_an_abstention();
    let d = dir.path();
    let module = cltd_runtime::Trust::open_for_reading(
        d,
        crate::support::runtime(),
        Box::new(cltd_runtime::SystemClock),
    )
    .unwrap()
    .state()
    .module;
    let db = redb::Database::open(d.join(cltd_runtime::STORE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(redb::TableDefinition::<&[u8; 32], &[u8]>::new("modules"))
        .unwrap()
        .insert(module.as_bytes(), b"not the bylaw".as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    for args in [
        &["show"][..],
        &["show", "proposals"],
        &["log"],
        &["checkpoint"],
        &["prove", "inclusion", "1"],
    ] {
        ok(d, args);
    }
    let r = cltd(d, &["vote", "--as", "bo", "1", "yes"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.err.contains("altered"), "{}", r.err);
}

#[test]
fn completions_cover_every_verb() {
    let dir = tempfile::TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = ok(dir.path(), &["completions", shell]);
        for verb in ["propose", "vote", "bylaws", "audit", "serve", "completions"] {
            assert!(script.contains(verb), "{shell} completions lack `{verb}`");
        }
    }
    let r = cltd(dir.path(), &["completions", "tcsh"]);
    assert_eq!(r.code, 1, "{}", r.err);
}

#[test]
fn json_is_printed_by_keys_and_checkpoint_and_errors_carry_the_api_code() {
    let dir = with_an_abstention();
    let d = dir.path();
    let key: serde_json::Value =
        serde_json::from_str(&ok(d, &["--json", "keys", "new", "gwen"])).unwrap();
    assert_eq!(key["name"], "gwen");
    assert_eq!(key["public_key"].as_str().unwrap().len(), 64);
    let note: serde_json::Value = serde_json::from_str(&ok(d, &["--json", "checkpoint"])).unwrap();
    assert!(
        note["checkpoint"]
            .as_str()
            .unwrap()
            .starts_with("cltd/trust/")
    );
    assert!(note["size"].as_u64().unwrap() > 1);
    // A refusal: the error is one JSON object on stderr with the API's code; nothing else.
    let r = cltd(d, &["--json", "close", "--as", "amara", "1"]);
    assert_eq!(r.code, 1, "{}{}", r.out, r.err);
    assert!(r.out.is_empty(), "{}", r.out);
    let e: serde_json::Value = serde_json::from_str(r.err.trim()).unwrap();
    assert_eq!(e["error"]["code"], "lifecycle", "{}", r.err);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("refused, nothing recorded: voting on proposal 1 is open until"),
        "{}",
        r.err
    );
    let hash: serde_json::Value =
        serde_json::from_str(&ok(d, &["--json", "bylaws", "hash", "minimal"])).unwrap();
    assert_eq!(hash["module"].as_str().unwrap().len(), 64);
    let other = tempfile::TempDir::new().unwrap();
    ok(other.path(), &["keys", "new", "ada"]);
    let founded: serde_json::Value = serde_json::from_str(&ok(
        other.path(),
        &[
            "--json",
            "init",
            "--name",
            "Solo",
            "--bylaw",
            "minimal",
            "--founder",
            "ada:resident",
        ],
    ))
    .unwrap();
    assert_eq!(founded["members"], 1);
    assert_eq!(founded["trust_id"].as_str().unwrap().len(), 64);
    // An error that is not the runtime's has the code `error`.
    let r = cltd(d, &["--json", "vote", "--as", "nobody", "1", "yes"]);
    let e: serde_json::Value = serde_json::from_str(r.err.trim()).unwrap();
    assert_eq!(e["error"]["code"], "error", "{}", r.err);
}

/// Members act from their own machines on a trust that a real `cltd serve` hosts on
/// loopback, while it runs (the store is the server's: the local CLI could not open it):
/// `cltd --server URL` signs with a key file or the member's own keyring, learns the trust
/// and the next sequence number from the server, and prints the same receipts with the same
/// exit codes as on the store; the dashboard shows the vote, and its no-JavaScript fallback
/// names this command with the server's URL.
#[test]
fn members_act_through_cltd_server_while_it_runs() {
    let dir = founded();
    let served = dir.path().to_path_buf();
    let id = {
        let trust = cltd_runtime::Trust::open_for_reading(
            &served,
            crate::support::runtime(),
            Box::new(cltd_runtime::SystemClock),
        )
        .unwrap();
        trust.id_hex()
    };
    let hub = cltd::server::Hub::open(&served).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        cltd::server::serve(hub, listener, &cltd::server::Limits::default())
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    while agent
        .get(&format!("{base}/readyz"))
        .call()
        .map_or(true, |r| r.status() != 200)
    {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    // amara's machine: her key in her own keyring; bo's: a key file anywhere.
    let amara = tempfile::TempDir::new().unwrap();
    std::fs::create_dir_all(amara.path().join("keys")).unwrap();
    std::fs::copy(
        served.join("keys/amara.key"),
        amara.path().join("keys/amara.key"),
    )
    .unwrap();
    let bo = tempfile::TempDir::new().unwrap();
    let bo_key = bo.path().join("bo.key");
    std::fs::copy(served.join("keys/bo.key"), &bo_key).unwrap();
    let bo_key = bo_key.display().to_string();
    let remote = |home: &Path, args: &[&str]| {
        let mut all = vec!["--server", base.as_str()];
        all.extend_from_slice(args);
        cltd(home, &all)
    };

    let r = remote(
        amara.path(),
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Adopt a policy",
            "ordinary",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.starts_with(
            "amara: propose an ordinary resolution \"Adopt a policy\" (7 days)\nentry 1 ("
        ) && r.out.contains("-> ALLOWED")
            && r.out.contains("proposal 1 opened"),
        "{}",
        r.out
    );
    let r = remote(bo.path(), &["vote", "--as", &bo_key, "1", "yes", "--json"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let receipt: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(receipt["index"], 2);
    assert_eq!(receipt["verdict"]["allowed"], true);
    assert_eq!(receipt["effects"][0], "yes vote counted on proposal 1");

    // A second vote is refused by the host: exit 1, the API's code, nothing recorded.
    let r = remote(bo.path(), &["vote", "--as", &bo_key, "1", "no", "--json"]);
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}{}", r.out, r.err);
    let e: Value = serde_json::from_str(r.err.trim()).unwrap();
    assert_eq!(e["error"]["code"], "lifecycle", "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused, nothing recorded"),
        "{e}"
    );
    // The bylaws deny selling the locked dataset: exit 2, logged as entry 3.
    let r = remote(
        amara.path(),
        &[
            "propose",
            "--as",
            "amara",
            "--title",
            "Sell",
            "dispose",
            "--asset",
            "tenancy-records",
            "--recipient",
            "Acme",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_DENIED, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("entry 3 (") && r.out.contains("DENIED"),
        "{}",
        r.out
    );

    // The server's checkpoint covers all of it.
    let r = remote(amara.path(), &["checkpoint", "--json"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let c: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(c["size"], 4);
    // The reads print what they print on the store, from the server's answers; an inclusion
    // proof is checked against the server's signed checkpoint before it is printed.
    let r = remote(amara.path(), &["show"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("members (4):")
            && r.out.contains("amara            resident")
            && r.out.contains("#1 [open] Adopt a policy")
            && r.out.contains("resident  1 yes, 0 no, 0 abstain of 2"),
        "{}",
        r.out
    );
    let r = remote(amara.path(), &["show", "proposal", "1", "--json"]);
    let p: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(p["ballots"][0]["voter_name"], "bo", "{p}");
    let r = remote(amara.path(), &["log"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("GENESIS \"Riverside\"")
            && r.out.contains("bo: vote yes on proposal 1")
            && r.out.contains("-> DENIED"),
        "{}",
        r.out
    );
    let r = remote(amara.path(), &["prove", "inclusion", "2"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.starts_with("# inclusion in the log of 4 entries"),
        "{}",
        r.out
    );
    // `explain` re-executes the server's audit bundle on the member's machine.
    let r = remote(amara.path(), &["explain", "2"]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("bo") && r.out.contains("vote yes"),
        "{}",
        r.out
    );
    // What does not talk to a server says so, and does nothing.
    let r = remote(amara.path(), &["verify"]);
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("does not work with --server"), "{}", r.err);
    // A server hosting no trust with that id: the server's 404, exit 1.
    let r = remote(
        amara.path(),
        &[
            "--trust",
            &"0".repeat(64),
            "vote",
            "--as",
            "amara",
            "1",
            "yes",
        ],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR);
    assert!(r.err.contains("not-found"), "{}", r.err);

    // Amending from afar: upload a candidate, preview it (unsigned: nothing stored; signed:
    // stored), then propose the amendment, whose charter comes from the server.
    let r = remote(
        amara.path(),
        &["bylaws", "upload", "--as", "amara", "minimal"],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.starts_with("stored module "), "{}", r.out);
    let minimal = r.out["stored module ".len()..][..64].to_string();
    let r = remote(amara.path(), &["amend", "preview", &minimal]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out
            .starts_with(&format!("impact preview of module {minimal}"))
            && r.out.contains("not stored (unsigned)"),
        "{}",
        r.out
    );
    let propose_minimal = [
        "propose",
        "--as",
        "amara",
        "--title",
        "Adopt minimal",
        "--days",
        "30",
        "amend",
        "--module",
        &minimal,
    ];
    let r = remote(amara.path(), &propose_minimal);
    assert_eq!(
        r.code,
        cltd::EXIT_ERROR,
        "no stored preview yet: {}{}",
        r.out,
        r.err
    );
    let r = remote(
        amara.path(),
        &["amend", "preview", &minimal, "--as", "amara", "--json"],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let p: Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(p["stored"], true, "{p}");
    let r = remote(amara.path(), &propose_minimal);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.contains("proposal 2 opened"), "{}", r.out);

    // The dashboard shows the vote, and tells a member without JavaScript this command.
    let mut page = agent
        .get(&format!("{base}/trusts/{id}/proposals/1"))
        .call()
        .unwrap();
    let html = page.body_mut().read_to_string().unwrap();
    assert!(html.contains("1 of 4 eligible have voted"), "{html}");
    assert!(
        html.contains(&format!(
            "cltd --server {base} --trust {id} vote --as KEY_FILE 1 yes"
        )),
        "{html}"
    );
}

#[test]
fn a_trust_is_founded_from_a_membership_roll_checked_whole() {
    let dir = tempfile::TempDir::new().unwrap();
    let d = dir.path();
    let key = |n: u8| hex::encode(crate::support::key_for(&format!("m{n}")).public());
    let roll_path = d.join("roll.csv");
    // A bad roll: every bad line is named and nothing is founded.
    std::fs::write(
        &roll_path,
        format!(
            "# name,class,key\nm1,resident,{}\nm2,landlord,{}\nm3,public,abcd\nm4,community,{}\n\nm5,public\n",
            key(1),
            key(2),
            key(1)
        ),
    )
    .unwrap();
    let roll = roll_path.display().to_string();
    let r = cltd(
        d,
        &["init", "--name", "Roll Trust", "--members-file", &roll],
    );
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}{}", r.out, r.err);
    for expected in [
        "nothing was founded",
        "line 3: `landlord` is not a stakeholder class",
        "line 4: `abcd` is not 64 hex digits",
        "line 5: the same key as line 2",
        "line 7: 2 fields",
    ] {
        assert!(r.err.contains(expected), "{expected}: {}", r.err);
    }
    assert!(!d.join("trust.redb").exists(), "nothing founded: {}", r.err);
    // A good roll of 1,200 members (more than a page of the API's members), three classes,
    // with a founder named beside it.
    ok(d, &["keys", "new", "amara"]);
    let mut text = String::from("# the roll\n");
    for n in 0..1200u32 {
        let class = ["resident", "community", "public"][n as usize % 3];
        let kp = crate::support::key_for(&format!("member {n}"));
        text.push_str(&format!(
            "member {n},{class},{}\n",
            hex::encode(kp.public())
        ));
    }
    std::fs::write(&roll_path, text).unwrap();
    let out = ok(
        d,
        &[
            "--json",
            "init",
            "--name",
            "Roll Trust",
            "--members-file",
            &roll,
            "--founder",
            "amara:resident",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["members"], 1201, "{out}");
    let shown = ok(d, &["--json", "show"]);
    assert!(shown.contains("member 1199"), "{shown}");

    // A membership drive: a bad roll proposes nothing; a good one opens one proposal.
    let intake = d.join("intake.csv");
    std::fs::write(
        &intake,
        format!("gita,resident,{}\nhugo,resident,xyz\n", key(7)),
    )
    .unwrap();
    let intake = intake.display().to_string();
    let drive = |roll: &str| {
        let args = [
            "propose",
            "--as",
            "amara",
            "--title",
            "Spring intake",
            "--days",
            "7",
            "admit-members",
            "--roll",
            roll,
        ];
        cltd(d, &args)
    };
    let r = drive(&intake);
    assert_eq!(r.code, cltd::EXIT_ERROR, "{}{}", r.out, r.err);
    assert!(
        r.err.contains("nothing was proposed") && r.err.contains("line 2: `xyz`"),
        "{}",
        r.err
    );
    std::fs::write(
        d.join("intake.csv"),
        format!("gita,resident,{}\nhugo,community,{}\n", key(7), key(8)),
    )
    .unwrap();
    let r = drive(&intake);
    assert_eq!(r.code, cltd::EXIT_OK, "{}{}", r.out, r.err);
    let shown = ok(d, &["show", "proposals"]);
    assert!(
        shown.contains("admitting 2 applicants (gita, hugo): 1 community, 1 resident"),
        "{shown}"
    );

    // Served, the trust reads the same through `cltd --server`, which gathers the members
    // a page at a time (1,000 a page) and the rest from their own endpoints.
    let local: serde_json::Value = serde_json::from_str(&ok(d, &["--json", "show"])).unwrap();
    let hub = cltd::server::Hub::open(d).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        cltd::server::serve(hub, listener, &cltd::server::Limits::default())
    });
    let home = tempfile::TempDir::new().unwrap();
    let remote: serde_json::Value = serde_json::from_str(&ok(
        home.path(),
        &["--server", base.as_str(), "--json", "show"],
    ))
    .unwrap();
    assert_eq!(remote["members"].as_array().unwrap().len(), 1201);
    assert_eq!(remote, local);
}
