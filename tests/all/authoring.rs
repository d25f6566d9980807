//! The authoring kit: `cltd bylaws test` (scenario files run against the built component
//! through the real runtime, one line per scenario and a closing count, exit 3 on any
//! failure), `cltd bylaws check` and `cltd bylaws inspect`.

use crate::cli::cltd;
use crate::support::bylaws_path;

fn classic_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bylaws/classic-clt")
}

fn wasm() -> String {
    bylaws_path().join("classic-clt.wasm").display().to_string()
}

/// Every trust model in `bylaws/` passes all its scenarios, each run twice (the component,
/// and the same source compiled natively into cltd) with the same verdicts and explanations.
#[test]
fn every_models_scenarios_pass_as_a_component_and_natively() {
    let dir = tempfile::TempDir::new().unwrap();
    for name in [
        "minimal",
        "classic-clt",
        "civic-data-trust",
        "platform-coop",
    ] {
        let crate_dir = classic_dir().join("..").join(name);
        let files = std::fs::read_dir(crate_dir.join("scenarios"))
            .unwrap()
            .count();
        let component = bylaws_path()
            .join(format!("{name}.wasm"))
            .display()
            .to_string();
        let r = cltd(
            dir.path(),
            &[
                "bylaws",
                "test",
                &crate_dir.display().to_string(),
                "--wasm",
                &component,
            ],
        );
        assert_eq!(r.code, 0, "{name}: {}{}", r.out, r.err);
        assert!(
            r.out.ends_with(&format!("{files} passed, 0 failed\n")),
            "{name}: {}",
            r.out
        );
        assert_eq!(
            r.out
                .lines()
                .filter(|l| l.starts_with("ok ") && l.ends_with(", native agrees)"))
                .count(),
            files,
            "{name}: {}",
            r.out
        );
    }
    // --explain shows each step's verdict and the bylaw's numbers.
    let crate_dir = classic_dir().display().to_string();
    let r = cltd(
        dir.path(),
        &["bylaws", "test", &crate_dir, "--wasm", &wasm(), "--explain"],
    );
    assert!(r.out.contains("public class: 1 of 2 (50%)"), "{}", r.out);
}

/// When the component and the native build disagree (here: minimal's component under
/// classic-clt's source), the scenario fails and says at which step and how.
#[test]
fn a_component_that_differs_from_its_source_fails_its_scenarios() {
    let dir = tempfile::TempDir::new().unwrap();
    let crate_dir = classic_dir().display().to_string();
    let minimal = classic_dir().join("../minimal");
    let component = bylaws_path().join("minimal.wasm").display().to_string();
    let r = cltd(
        dir.path(),
        &[
            "bylaws",
            "test",
            &crate_dir,
            "--wasm",
            &component,
            "--scenarios",
            &minimal.join("scenarios").display().to_string(),
        ],
    );
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(r.out.contains("native run differs: step "), "{}", r.out);
    assert!(r.out.ends_with("0 passed, 1 failed\n"), "{}", r.out);
    // A crate cltd was not built with runs as a component only, and says so.
    let copy = dir.path().join("elsewhere");
    std::fs::create_dir_all(copy.join("src")).unwrap();
    std::fs::write(
        copy.join("Cargo.toml"),
        "[package]\nname = \"elsewhere\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let r = cltd(
        dir.path(),
        &[
            "bylaws",
            "test",
            &copy.display().to_string(),
            "--wasm",
            &component,
            "--scenarios",
            &minimal.join("scenarios").display().to_string(),
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out
            .starts_with("native run skipped: cltd has no native build of `elsewhere`"),
        "{}",
        r.out
    );
}

#[test]
fn a_failing_or_broken_scenario_says_where_and_exits_3() {
    let dir = tempfile::TempDir::new().unwrap();
    let scenarios = dir.path().join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    // Wrong on purpose: a stranger's proposal is refused, not allowed.
    std::fs::write(
        scenarios.join("a-wrong-expectation.toml"),
        r#"
name = "A stranger proposes"
[trust]
members = [{ name = "amara", class = "resident" }]
[[step]]
as = "stranger"
propose = { kind = "ordinary", title = "Mine now", days = 7 }
expect = "allowed"
"#,
    )
    .unwrap();
    std::fs::write(
        scenarios.join("b-typo.toml"),
        r#"
name = "A typo"
[trust]
members = [{ name = "amara", class = "resident" }]
[[step]]
as = "amara"
propose = { kind = "ordinary", title = "Hello", days = 7 }
expekt = "allowed"
"#,
    )
    .unwrap();
    let crate_dir = classic_dir().display().to_string();
    let list = scenarios.display().to_string();
    let r = cltd(
        dir.path(),
        &[
            "bylaws",
            "test",
            &crate_dir,
            "--wasm",
            &wasm(),
            "--scenarios",
            &list,
        ],
    );
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(r.out.contains("FAIL  "), "{}", r.out);
    assert!(
        r.out
            .contains("expected allowed, got refused [not-a-member]"),
        "{}",
        r.out
    );
    assert!(
        r.out.contains("ERROR ") && r.out.contains("expekt"),
        "{}",
        r.out
    );
    assert!(r.out.ends_with("0 passed, 2 failed\n"), "{}", r.out);
    // --json carries the same.
    let r = cltd(
        dir.path(),
        &[
            "--json",
            "bylaws",
            "test",
            &crate_dir,
            "--wasm",
            &wasm(),
            "--scenarios",
            &list,
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    assert_eq!(v["failed"], 2);
    assert_eq!(
        v["scenarios"][0]["steps"][0]["got"],
        "refused [not-a-member]"
    );
}

#[test]
fn check_says_whether_cltd_can_run_a_component_and_inspect_says_what_it_is() {
    let dir = tempfile::TempDir::new().unwrap();
    let r = cltd(dir.path(), &["bylaws", "check", &wasm()]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(
        r.out.contains("[ok] imports: only the contract's types"),
        "{}",
        r.out
    );
    assert!(r.out.contains("VALID"), "{}", r.out);

    let clock = dir.path().join("clock.wasm");
    std::fs::write(
        &clock,
        wat::parse_str(
            r#"(component
                (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64)))))
            )"#,
        )
        .unwrap(),
    )
    .unwrap();
    let r = cltd(
        dir.path(),
        &["bylaws", "check", &clock.display().to_string()],
    );
    assert_eq!(r.code, 3, "{}{}", r.out, r.err);
    assert!(
        r.out
            .contains("[FAIL] imports: imports outside the contract: wasi:clocks/wall-clock@0.2.0"),
        "{}",
        r.out
    );
    assert!(
        r.out
            .contains("[FAIL] exports: missing evaluate and describe"),
        "{}",
        r.out
    );
    assert!(r.out.contains("NOT VALID"), "{}", r.out);
    let garbage = dir.path().join("garbage.wasm");
    std::fs::write(&garbage, b"not wasm at all").unwrap();
    let r = cltd(
        dir.path(),
        &["bylaws", "check", &garbage.display().to_string()],
    );
    assert_eq!(r.code, 3);
    assert!(r.out.contains("[FAIL] a component"), "{}", r.out);

    let r = cltd(dir.path(), &["--json", "bylaws", "inspect", &wasm()]);
    assert_eq!(r.code, 0, "{}", r.err);
    let v: serde_json::Value = serde_json::from_str(&r.out).unwrap();
    let bytes = std::fs::read(wasm()).unwrap();
    assert_eq!(v["hash"], hex::encode(cltd_runtime::module_hash(&bytes)));
    assert_eq!(
        v["sdk"],
        format!("bylaws-sdk {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        v["exports"],
        serde_json::json!(["evaluate", "describe", "migrate"])
    );
    assert!(
        v["wit"]
            .as_str()
            .unwrap()
            .contains("export evaluate: func(view: view, action: action) -> verdict;")
    );
}

#[test]
fn a_new_bylaw_crate_from_a_template_builds_and_passes_its_scenarios() {
    let dir = tempfile::TempDir::new().unwrap();
    let parent = dir.path().display().to_string();
    let r = cltd(dir.path(), &["bylaws", "new", "my-rules", "--dir", &parent]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    let made = dir.path().join("my-rules");
    let readme = std::fs::read_to_string(made.join("README.md")).unwrap();
    assert!(readme.starts_with("# my-rules\n") && readme.contains("## Rejects when"));
    let manifest = std::fs::read_to_string(made.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"my-rules\"") && manifest.contains("bylaws-sdk = { path = ")
    );
    // Refusals: the same name again, a bad name, an unknown template.
    for (args, says) in [
        (vec!["my-rules"], "already exists"),
        (vec!["My Rules"], "lowercase letters"),
        (vec!["other", "--template", "nope"], "no template `nope`"),
    ] {
        let mut argv = vec!["bylaws", "new"];
        argv.extend(args);
        argv.extend(["--dir", &parent]);
        let r = cltd(dir.path(), &argv);
        assert_eq!(r.code, 1, "{argv:?}");
        assert!(r.err.contains(says), "{argv:?}: {}", r.err);
    }
    // Every other template brings its crate's sources, README and every scenario file.
    for template in ["classic-clt", "civic-data-trust", "platform-coop"] {
        let name = format!("our-{template}");
        let r = cltd(
            dir.path(),
            &[
                "bylaws",
                "new",
                &name,
                "--template",
                template,
                "--dir",
                &parent,
            ],
        );
        assert_eq!(r.code, 0, "{}{}", r.out, r.err);
        let source = classic_dir().join("..").join(template);
        for sub in ["src", "scenarios"] {
            for file in std::fs::read_dir(source.join(sub)).unwrap() {
                let file = file.unwrap().file_name();
                let copied = dir.path().join(&name).join(sub).join(&file);
                assert_eq!(
                    std::fs::read_to_string(&copied).ok(),
                    std::fs::read_to_string(source.join(sub).join(&file)).ok(),
                    "template {template}: {}",
                    copied.display()
                );
            }
        }
    }

    // The new crate builds with the pinned guest toolchain and passes its own scenarios.
    let crate_dir = made.display().to_string();
    let r = cltd(dir.path(), &["bylaws", "test", &crate_dir]);
    assert_eq!(r.code, 0, "{}{}", r.out, r.err);
    assert!(r.out.ends_with("1 passed, 0 failed\n"), "{}", r.out);
    assert!(
        made.join("Cargo.lock").exists(),
        "the first build locks the dependencies"
    );
}

/// Every code block in the guide marked `<!-- from PATH -->` is text of that file, so the
/// guide cannot drift from the crates it quotes.
#[test]
fn the_guide_quotes_real_crates() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let guide = std::fs::read_to_string(root.join("docs/writing-bylaws.md")).unwrap();
    let mut quoted = 0;
    let mut lines = guide.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- from ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        assert!(
            lines.next().unwrap().starts_with("```"),
            "a fence follows {line}"
        );
        let block: Vec<&str> = lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .collect();
        let source = std::fs::read_to_string(root.join(path)).unwrap();
        assert!(
            source.contains(&block.join("\n")),
            "docs/writing-bylaws.md quotes {path} but the file no longer says:\n{}",
            block.join("\n")
        );
        quoted += 1;
    }
    assert!(quoted >= 3, "the guide quotes {quoted} blocks");
}

/// Every reason a bylaw in `bylaws/` declares (`bylaws_sdk::reasons!`) is documented in its
/// README's "Rejects when" table, on the row of its code with its clause's section, and the
/// table lists nothing the bylaw does not declare: reason codes are part of a bylaw's
/// interface. The bylaws deny only with declared reasons (no untyped `deny(` call).
#[test]
fn every_declared_reason_is_documented_and_every_documented_one_declared() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bylaws");
    for builtin in &cltd::native::BUILTINS {
        let name = builtin.name;
        let readme = std::fs::read_to_string(root.join(name).join("README.md")).unwrap();
        let table = readme
            .split("## Rejects when")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default();
        // `| `code` | §1, §4 | when |` rows: code to the clause column.
        let rows: Vec<(String, String)> = table
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((code.to_string(), cells.get(2)?.to_string()))
            })
            .collect();
        let reasons = (builtin.reasons)();
        assert!(reasons.len() >= 5, "{name}: declares only {reasons:?}");
        for (code, clause) in &reasons {
            let section = clause.split_whitespace().next().unwrap();
            let row = rows.iter().find(|(c, _)| c == code);
            let Some((_, clauses)) = row else {
                panic!(
                    "{name} declares `{code}` but its README's \"Rejects when\" does not list it"
                )
            };
            assert!(
                clauses
                    .split(',')
                    .map(str::trim)
                    .any(|c| c == *clause || c.split_whitespace().next() == Some(section)),
                "{name}: `{code}` applies {clause}, but the README's row gives the clauses {clauses:?}"
            );
        }
        for (code, _) in &rows {
            assert!(
                reasons.iter().any(|(c, _)| c == code),
                "{name}'s README lists `{code}`, which the bylaw does not declare"
            );
        }
        let untyped = builtin
            .source
            .match_indices("deny(")
            .filter(|(at, _)| !builtin.source[..*at].ends_with('.'))
            .count();
        assert_eq!(
            untyped, 0,
            "{name} denies with an undeclared reason: use a `Why` variant"
        );
    }
}

#[test]
fn every_readme_lists_the_parameters_its_bylaw_reads() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../bylaws");
    for builtin in &cltd::native::BUILTINS {
        let readme = std::fs::read_to_string(root.join(builtin.name).join("README.md")).unwrap();
        let section = readme
            .split("## Parameters")
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_default();
        let rows: Vec<Vec<String>> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                l.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().trim_matches('`').to_string())
                    .collect()
            })
            .collect();
        let info = (builtin.bylaw)().describe(&[]);
        let expected: Vec<Vec<String>> = info
            .parameters
            .iter()
            .map(|p| {
                vec![
                    p.key.clone(),
                    p.accepts.clone(),
                    p.default.clone(),
                    p.about.clone(),
                ]
            })
            .collect();
        assert_eq!(
            rows, expected,
            "{}: the README's parameter table is not what the bylaw reads",
            builtin.name
        );
        assert!(
            info.problems.is_empty(),
            "{}: {:?}",
            builtin.name,
            info.problems
        );
        assert!(
            readme.contains("## What founding checks"),
            "{}: the README does not say what founding checks",
            builtin.name
        );
    }
}
