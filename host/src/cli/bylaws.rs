//! `cltd bylaws`: build, hash, describe, check, inspect, test, scaffold, upload and verify
//! bylaw components against their source.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::{guest, setup};

#[derive(Subcommand)]
pub(crate) enum BylawsCommand {
    /// Print the blake3 hash a bylaw gets in the log (after conversion to a component).
    Hash {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Check a bylaw loads, and print what it says about itself.
    Describe {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Build a bylaw crate to Wasm with the pinned guest toolchain (reproducibly) and print
    /// the hash its component gets in a trust's log.
    Build {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// Where to write PACKAGE.wasm (default: the workspace's target/bylaws).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild a bylaw crate and say whether it gives the module with this hash (exit 3 if
    /// not), so members can read exactly the code they vote on.
    VerifySource {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// The module hash, e.g. from the log or an amendment proposal.
        hash: String,
    },
    /// Start a new bylaw crate from a template embedded in this binary (works offline): its
    /// sources, a README of its parameters and what it rejects, and scenario files.
    New {
        /// The crate's name (lowercase letters, digits, `-`).
        name: String,
        /// `minimal`, `classic-clt`, `civic-data-trust` or `platform-coop`.
        #[arg(long, default_value = "minimal")]
        template: String,
        /// Where to create it (default: the current directory).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The bylaws-sdk crate to depend on (default: the one beside this cltd build).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Say whether a component is valid for cltd: size, world and version, imports,
    /// exports, compiles, describes itself (exit 3 if not).
    Check {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// List a component's hash, size, imports and exports, WIT world and the SDK that
    /// built it.
    Inspect {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Run a bylaw crate's scenario files (CRATE/scenarios/*.toml) against its built
    /// component through the real runtime: one line per scenario, then `N passed, N
    /// failed`; exit 3 if any failed.
    Test {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// Test this component instead of building the crate.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// Scenario files or directories (default: CRATE/scenarios).
        #[arg(long)]
        scenarios: Vec<PathBuf>,
        /// Show every step's verdict and explanation, not only failures.
        #[arg(long)]
        explain: bool,
    },
    /// Upload a candidate bylaw to the trust's module store, signed by a member (checked
    /// first: size, signature and membership, world, imports, compile).
    Upload {
        /// Sign as this member (keyring name).
        #[arg(long = "as")]
        signer: String,
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
}

/// `cltd bylaws test`.
pub(crate) fn bylaws_test(
    out: &mut dyn Write,
    crate_dir: &Path,
    wasm: Option<PathBuf>,
    scenarios: Vec<PathBuf>,
    explain: bool,
    json: bool,
) -> Result<i32> {
    let wasm = match wasm {
        Some(path) => std::fs::read(&path).with_context(|| format!("read {}", path.display()))?,
        None => {
            let dest = tempfile::tempdir()?;
            std::fs::read(guest::build(crate_dir, Some(dest.path()))?.wasm)?
        }
    };
    let sources = if scenarios.is_empty() {
        vec![crate_dir.join("scenarios")]
    } else {
        scenarios
    };
    let mut files = Vec::new();
    for s in sources {
        if s.is_dir() {
            files.extend(crate::scenario::files(&s)?);
        } else {
            files.push(s);
        }
    }
    let runtime = setup::runtime()?;
    // The same logic compiled natively, when cltd was built with this crate's source.
    let native = match crate::native::for_crate(&package_name(crate_dir)?, crate_dir) {
        Ok(bylaw) => {
            let native = setup::fresh_runtime()?;
            let component = cltd_runtime::to_component(&wasm)?;
            native.run_natively(cltd_runtime::module_hash(&component), bylaw);
            Ok(native)
        }
        Err(why) => Err(why.to_string()),
    };
    let results: Vec<_> = files
        .iter()
        .map(|f| crate::scenario::run_both(f, runtime.clone(), native.clone().ok(), &wasm))
        .collect();
    let passed = results.iter().filter(|r| r.passed).count();
    let failed = results.len() - passed;
    if json {
        let v = serde_json::json!({
            "scenarios": results, "passed": passed, "failed": failed,
            "native": native.as_ref().err(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        match &native {
            Ok(_) => writeln!(
                out,
                "each scenario runs twice: the component, and the same source compiled natively"
            )?,
            Err(why) => writeln!(out, "native run skipped: {why}")?,
        }
        for r in &results {
            writeln!(out, "{}", r.text(explain))?;
        }
        writeln!(out, "{passed} passed, {failed} failed")?;
    }
    Ok(if failed == 0 {
        crate::EXIT_OK
    } else {
        crate::EXIT_VERIFY_FAILED
    })
}

/// The package name in `crate_dir`'s Cargo.toml.
pub(crate) fn package_name(crate_dir: &Path) -> Result<String> {
    let path = crate_dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let manifest: toml::Table =
        toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} names no [package]", path.display()))
}

pub(crate) fn bylaws(
    out: &mut dyn Write,
    bylaws_dir: &Path,
    data_dir: &Path,
    command: BylawsCommand,
    json: bool,
) -> Result<i32> {
    match command {
        BylawsCommand::Upload { signer, bylaw } => {
            let wasm = setup::read_bylaw(&bylaw, bylaws_dir)?;
            return super::amend::upload(out, data_dir, &signer, &wasm, json);
        }
        BylawsCommand::Build {
            crate_dir,
            out: dest,
        } => {
            let built = guest::build(&crate_dir, dest.as_deref())?;
            if json {
                let v = serde_json::json!({
                    "package": built.package, "module": hex::encode(built.hash),
                    "wasm": built.wasm.display().to_string(), "rustc": built.rustc,
                    "pinned": built.pinned,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                return Ok(crate::EXIT_OK);
            }
            if !built.pinned {
                writeln!(
                    out,
                    "warning: built with `{}`, not the pinned `{}`; the hash may differ from logged ones",
                    built.rustc,
                    guest::pinned("GUEST_RUSTC_VERSION").unwrap_or("?")
                )?;
            }
            writeln!(
                out,
                "{}  {} ({})",
                hex::encode(built.hash),
                built.package,
                built.wasm.display()
            )?;
        }
        BylawsCommand::New {
            name,
            template,
            dir,
            sdk,
        } => {
            let made = crate::scaffold::new(&name, &template, &dir, sdk.as_deref())?;
            if json {
                let v = serde_json::json!({
                    "name": name, "template": template,
                    "dir": made.dir.display().to_string(), "files": made.files,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                return Ok(crate::EXIT_OK);
            }
            writeln!(
                out,
                "created bylaw crate `{name}` from the {template} template in {}:",
                made.dir.display()
            )?;
            for f in &made.files {
                writeln!(out, "  {f}")?;
            }
            let d = made.dir.display();
            writeln!(
                out,
                "next: cltd bylaws build {d}   (then) cltd bylaws test {d}   (and natively) cargo test --manifest-path {d}/Cargo.toml"
            )?;
        }
        BylawsCommand::Check { bylaw } => {
            let wasm = setup::read_bylaw(&bylaw, bylaws_dir)?;
            let checks = cltd_runtime::check(&setup::runtime()?, &wasm);
            let valid = checks.iter().all(|c| c.ok);
            if json {
                let v = serde_json::json!({"bylaw": bylaw, "valid": valid, "checks": checks});
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for c in &checks {
                    writeln!(
                        out,
                        "[{}] {}: {}",
                        if c.ok { "ok" } else { "FAIL" },
                        c.what,
                        c.detail
                    )?;
                }
                writeln!(
                    out,
                    "{bylaw}: {}",
                    if valid {
                        "VALID: cltd can run it as a trust's bylaws"
                    } else {
                        "NOT VALID for cltd"
                    }
                )?;
            }
            return Ok(if valid {
                crate::EXIT_OK
            } else {
                crate::EXIT_VERIFY_FAILED
            });
        }
        BylawsCommand::Inspect { bylaw } => {
            let i = cltd_runtime::inspect(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&i)?)?;
            } else {
                writeln!(out, "hash     {}", i.hash)?;
                writeln!(out, "size     {} bytes", i.size)?;
                writeln!(
                    out,
                    "sdk      {}",
                    i.sdk.as_deref().unwrap_or("(not recorded)")
                )?;
                writeln!(out, "imports  {}", i.imports.join(", "))?;
                writeln!(out, "exports  {}", i.exports.join(", "))?;
                for (field, name, version) in &i.producers {
                    writeln!(out, "{field:<8} {name} {version}")?;
                }
                writeln!(out, "world:\n{}", i.wit.trim_end())?;
            }
        }
        BylawsCommand::Test {
            crate_dir,
            wasm,
            scenarios,
            explain,
        } => return bylaws_test(out, &crate_dir, wasm, scenarios, explain, json),
        BylawsCommand::VerifySource { crate_dir, hash } => {
            let expected: cltd_runtime::ModuleHash = hash.parse()?;
            let dest = tempfile::tempdir()?;
            let built = guest::build(&crate_dir, Some(dest.path()))?;
            let matches = built.hash == expected;
            if json {
                let v = serde_json::json!({
                    "matches": matches, "package": built.package,
                    "crate": crate_dir.display().to_string(), "expected": hash,
                    "built": hex::encode(built.hash), "rustc": built.rustc, "pinned": built.pinned,
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                return Ok(if matches {
                    crate::EXIT_OK
                } else {
                    crate::EXIT_VERIFY_FAILED
                });
            }
            if matches {
                writeln!(
                    out,
                    "MATCHES: {} built from {} is module {}",
                    built.package,
                    crate_dir.display(),
                    hash
                )?;
            } else {
                writeln!(
                    out,
                    "DOES NOT MATCH: {} built from {} is module {}, not {}{}",
                    built.package,
                    crate_dir.display(),
                    hex::encode(built.hash),
                    hash,
                    if built.pinned {
                        String::new()
                    } else {
                        format!(" (built with `{}`, not the pinned toolchain)", built.rustc)
                    }
                )?;
                return Ok(crate::EXIT_VERIFY_FAILED);
            }
        }
        BylawsCommand::Hash { bylaw } => {
            let component = cltd_runtime::to_component(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            let hash = hex::encode(cltd_runtime::module_hash(&component));
            if json {
                let v = serde_json::json!({"bylaw": bylaw, "module": hash});
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                writeln!(out, "{hash}  {bylaw}")?;
            }
        }
        BylawsCommand::Describe { bylaw } => {
            let component = cltd_runtime::to_component(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            let rt = setup::runtime()?;
            let hash = rt.prepare(&component)?;
            let info = rt.describe(&hash, &[])?;
            if json {
                let v = serde_json::json!({
                    "name": info.name, "version": info.version, "bytes": component.len(),
                    "module": hex::encode(hash), "summary": info.summary,
                    "parameters": info.parameters.iter().map(|p| serde_json::json!({
                        "key": p.key, "accepts": p.accepts, "default": p.default, "about": p.about,
                    })).collect::<Vec<_>>(),
                    "open_to_non_members": info.open_to_non_members.iter().map(|k| k.name()).collect::<Vec<_>>(),
                });
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                return Ok(crate::EXIT_OK);
            }
            writeln!(
                out,
                "{} {} ({} bytes, blake3 {})",
                info.name,
                info.version,
                component.len(),
                hex::encode(hash)
            )?;
            for line in &info.summary {
                writeln!(out, "  {line}")?;
            }
            if info.parameters.is_empty() {
                writeln!(out, "charter parameters: none (any key is refused)")?;
            } else {
                writeln!(
                    out,
                    "charter parameters (cltd init --param KEY=VALUE; any other key is refused):"
                )?;
                for p in &info.parameters {
                    writeln!(
                        out,
                        "  {} = {} [default {}]: {}",
                        p.key, p.accepts, p.default, p.about
                    )?;
                }
            }
            if !info.open_to_non_members.is_empty() {
                let kinds: Vec<&str> = info.open_to_non_members.iter().map(|k| k.name()).collect();
                writeln!(out, "open to non-members: {}", kinds.join(", "))?;
            }
        }
    }
    Ok(crate::EXIT_OK)
}
