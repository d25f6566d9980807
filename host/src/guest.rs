//! Building bylaw crates to Wasm with the pinned guest toolchain, reproducibly.
//!
//! The recipe (the one `scripts/build-bylaws.sh` uses too): Debian's `rustc-web` compiler
//! (pinned in `scripts/guest-toolchain.env`), `-Zbuild-std`, the workspace's `guest` profile
//! (single codegen unit, LTO, abort on panic), `--locked` dependencies, and source paths
//! remapped to fixed prefixes, so the same source gives the same bytes in any directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use cltd_runtime::{module_hash, to_component};
use serde_json::Value;

/// The pinned toolchain, as recorded in the repository.
const TOOLCHAIN_ENV: &str = include_str!("../../scripts/guest-toolchain.env");

/// Debian's compiler and cargo, which carry the wasm32 standard library's source.
const GUEST_RUSTC: &str = "/usr/bin/rustc";
const GUEST_CARGO: &str = "/usr/bin/cargo";

/// A value pinned in `scripts/guest-toolchain.env`.
pub fn pinned(key: &str) -> Option<&'static str> {
    TOOLCHAIN_ENV.lines().find_map(|line| {
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// A bylaw crate built to Wasm.
#[derive(Debug, Clone)]
pub struct Built {
    /// The crate's package name.
    pub package: String,
    /// Where the built component was written.
    pub wasm: PathBuf,
    /// The blake3 hash the component gets in a trust's log.
    pub hash: cltd_runtime::ModuleHash,
    /// The guest compiler's version string.
    pub rustc: String,
    /// False when that compiler is not the pinned one (hashes may then differ from logged
    /// ones).
    pub pinned: bool,
}

/// The guest's shadow stack in linear memory (Rust's default for Wasm is 1 MiB). It lies
/// below the data and heap, so a smaller one means a fresh instance touches, and the host
/// resets, far less memory per call; an overflow traps (below address 0), never corrupts.
pub const GUEST_STACK_BYTES: usize = 64 * 1024;

/// Free heap the guest is linked with in its initial memory, past the stack and static data
/// (a whole number of wasm pages, as the linker requires). `bylaws-sdk`'s arena allocates
/// there first, so a call that needs no more never grows memory: a call that grows it costs
/// the host two page-protection changes of the pooled slot (grow, then shrink back for the
/// next instance), about a third of a vote's call before this. Pages it never touches cost
/// nothing: the host resets only the pages a call dirtied.
pub const GUEST_INITIAL_HEAP_BYTES: usize = 3 * 64 * 1024;

fn guest_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    cmd.env("RUSTC", GUEST_RUSTC).env("RUSTC_BOOTSTRAP", "1");
    for var in [
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

fn guest_rustc_version() -> Result<String> {
    if !Path::new(GUEST_RUSTC).exists() || !Path::new(GUEST_CARGO).exists() {
        bail!(
            "the guest toolchain is not installed ({GUEST_RUSTC}, {GUEST_CARGO}): run scripts/guest-toolchain.sh, which installs Debian's rustc-web {}",
            pinned("GUEST_DEB_VERSION").unwrap_or("(see scripts/guest-toolchain.env)")
        );
    }
    let out = Command::new(GUEST_RUSTC)
        .arg("--version")
        .output()
        .context("run the guest rustc")?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The package at `crate_dir`: its name, its library's name and its workspace root.
fn locate(crate_dir: &Path) -> Result<(String, String, PathBuf)> {
    let manifest = crate_dir
        .join("Cargo.toml")
        .canonicalize()
        .with_context(|| format!("{} has no Cargo.toml", crate_dir.display()))?;
    let out = guest_command(GUEST_CARGO)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(&manifest)
        .output()
        .context("run cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed for {}: {}",
            manifest.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let meta: Value = serde_json::from_slice(&out.stdout).context("parse cargo metadata")?;
    let package = meta["packages"]
        .as_array()
        .and_then(|ps| {
            ps.iter()
                .find(|p| p["manifest_path"].as_str().map(Path::new) == Some(&manifest))
        })
        .with_context(|| format!("no package at {}", manifest.display()))?;
    let name = package["name"]
        .as_str()
        .context("cargo metadata gives no package name")?
        .to_string();
    let lib = package["targets"]
        .as_array()
        .and_then(|ts| {
            ts.iter().find(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "cdylib"))
            })
        })
        .and_then(|t| t["name"].as_str())
        .with_context(|| {
            format!("package `{name}` has no cdylib library: a bylaw crate needs crate-type = [\"cdylib\", \"rlib\"]")
        })?
        .replace('-', "_");
    let root = meta["workspace_root"]
        .as_str()
        .context("cargo metadata gives no workspace root")?
        .into();
    Ok((name, lib, root))
}

/// Build the bylaw crate at `crate_dir`, turn wit-bindgen's core module into the component
/// a trust stores, and write it to `out_dir` (default: the workspace's `target/bylaws`) as
/// `PACKAGE.wasm`, whose plain blake3 (`b3sum`) is the hash a log records.
pub fn build(crate_dir: &Path, out_dir: Option<&Path>) -> Result<Built> {
    let rustc = guest_rustc_version()?;
    let (package, lib, root) = locate(crate_dir)?;
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .context("neither CARGO_HOME nor HOME is set")?;
    let target = root.join("target/guest");
    if !root.join("Cargo.lock").exists() {
        // A new crate (`cltd bylaws new`): lock its dependencies once; the author commits
        // the lockfile, and every later build (anyone's) uses exactly it.
        eprintln!(
            "{} has no Cargo.lock: resolving its dependencies once (commit the lockfile)",
            root.display()
        );
        let status = guest_command(GUEST_CARGO)
            .current_dir(&root)
            .arg("generate-lockfile")
            .status()
            .context("run the guest cargo")?;
        if !status.success() {
            bail!("could not lock the dependencies of `{package}` ({status})");
        }
    }
    let status = guest_command(GUEST_CARGO)
        .current_dir(&root)
        .env(
            "RUSTFLAGS",
            format!(
                "--remap-path-prefix={}=/cltd --remap-path-prefix={}=/cargo -Clink-arg=-zstack-size={GUEST_STACK_BYTES} -Clink-arg=--initial-heap={GUEST_INITIAL_HEAP_BYTES}",
                root.display(),
                cargo_home.display()
            ),
        )
        .args([
            "build",
            "--locked",
            "--quiet",
            "--profile",
            "guest",
            "--target",
            "wasm32-unknown-unknown",
            "-Zbuild-std=std,panic_abort",
            "-p",
            &package,
            "--target-dir",
        ])
        .arg(&target)
        .status()
        .context("run the guest cargo")?;
    if !status.success() {
        bail!("building `{package}` for wasm32 failed ({status})");
    }
    let built = target
        .join("wasm32-unknown-unknown/guest")
        .join(format!("{lib}.wasm"));
    let core = std::fs::read(&built).with_context(|| format!("read {}", built.display()))?;
    let component = to_component(&core)?;
    let out_dir = out_dir.map_or_else(|| root.join("target/bylaws"), Path::to_path_buf);
    std::fs::create_dir_all(&out_dir)?;
    let wasm = out_dir.join(format!("{package}.wasm"));
    std::fs::write(&wasm, &component).with_context(|| format!("write {}", wasm.display()))?;
    let hash = module_hash(&component);
    let pinned = pinned("GUEST_RUSTC_VERSION") == Some(rustc.as_str());
    Ok(Built {
        package,
        wasm,
        hash,
        rustc,
        pinned,
    })
}
