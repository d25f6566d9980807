//! `cltd bylaws new NAME --template T`: a new bylaw crate from a template embedded in the
//! binary (so it works offline). The templates are the real crates in `bylaws/`, compiled
//! into the binary from their sources, so a template cannot drift from code that is built
//! and tested with every change.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// A template's files: (path inside the crate, contents).
struct Template {
    files: &'static [(&'static str, &'static str)],
    /// The template crate's own name, replaced by the new crate's in the README title.
    name: &'static str,
    description: &'static str,
}

/// A template crate's files, each included from `bylaws/CRATE/PATH`.
macro_rules! files {
    ($krate:literal: $($path:literal),+ $(,)?) => {
        &[$(($path, include_str!(concat!("../../bylaws/", $krate, "/", $path)))),+]
    };
}

const MINIMAL: Template = Template {
    name: "minimal",
    description: "Members decide ordinary resolutions by a simple majority of votes cast.",
    files: files!("minimal": "src/lib.rs", "README.md", "scenarios/01-majority.toml"),
};

const CLASSIC_CLT: Template = Template {
    name: "classic-clt",
    description: "A classic community land trust: three stakeholder classes, an asset lock, open membership.",
    files: files!("classic-clt":
        "src/lib.rs",
        "src/tests.rs",
        "README.md",
        "scenarios/01-members-act.toml",
        "scenarios/02-ordinary-resolutions.toml",
        "scenarios/03-membership.toml",
        "scenarios/04-asset-lock.toml",
        "scenarios/05-data-access.toml",
        "scenarios/06-withdraw.toml",
        "scenarios/07-amendments.toml",
        "scenarios/08-founding-checks.toml",
        "scenarios/09-entrenched-lock-holds.toml",
        "scenarios/10-treasury.toml",
        "scenarios/11-budget-round-equal-shares.toml",
        "scenarios/12-budget-round-greedy.toml",
    ),
};

const CIVIC_DATA_TRUST: Template = Template {
    name: "civic-data-trust",
    description: "A civic data trust: personal data shared only with the data-ethics council's approval, for listed purposes, field by field, for a limited time, under any class's veto.",
    files: files!("civic-data-trust":
        "src/lib.rs",
        "README.md",
        "scenarios/01-members-and-datasets.toml",
        "scenarios/02-what-a-grant-must-say.toml",
        "scenarios/03-council-approves-personal-data.toml",
        "scenarios/04-any-class-vetoes.toml",
        "scenarios/05-quorum-lock-amendments.toml",
        "scenarios/06-bad-charter.toml",
        "scenarios/07-licences.toml",
    ),
};

const PLATFORM_COOP: Template = Template {
    name: "platform-coop",
    description: "A platform cooperative: worker and user members, proxy voting, and surplus allocation by a majority in both classes.",
    files: files!("platform-coop":
        "src/lib.rs",
        "README.md",
        "scenarios/01-members-and-resolutions.toml",
        "scenarios/02-proxy-voting.toml",
        "scenarios/03-surplus-allocation.toml",
        "scenarios/04-assets-data-amendments.toml",
        "scenarios/05-bad-charter.toml",
        "scenarios/06-commons.toml",
    ),
};

/// The template names `cltd bylaws new` accepts.
pub const TEMPLATES: [&str; 4] = [
    "minimal",
    "classic-clt",
    "civic-data-trust",
    "platform-coop",
];

fn template(name: &str) -> Result<&'static Template> {
    match name {
        "minimal" => Ok(&MINIMAL),
        "classic-clt" => Ok(&CLASSIC_CLT),
        "civic-data-trust" => Ok(&CIVIC_DATA_TRUST),
        "platform-coop" => Ok(&PLATFORM_COOP),
        other => bail!(
            "no template `{other}`: choose one of {}",
            TEMPLATES.join(", ")
        ),
    }
}

/// Where this binary was built from has the SDK next to it; a bylaw crate depends on it by
/// path (the SDK is not published to a registry).
fn default_sdk() -> Option<PathBuf> {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../bylaws-sdk"))
        .canonicalize()
        .ok()
        .filter(|p| p.join("Cargo.toml").exists())
}

fn cargo_toml(name: &str, description: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
description = "{description}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# cdylib: the Wasm component cltd runs; rlib: native unit tests of the same logic.
crate-type = ["cdylib", "rlib"]

[features]
# Export the bylaw as the component's world (only in the Wasm build).
default = ["export"]
export = []

[dependencies]
bylaws-sdk = {{ path = "{sdk}" }}

# A bylaw crate is a workspace of its own: it builds, and locks its dependencies, by itself.
# `cltd bylaws build` writes Cargo.lock on the first build; commit it, so that anyone can
# rebuild the component byte for byte and check the hash a trust's log records.
[workspace]

# What `cltd bylaws build` uses: optimised for speed (every transition runs it), aborting on
# panic, one codegen unit (reproducible).
[profile.guest]
inherits = "release"
panic = "abort"
opt-level = 3
codegen-units = 1
lto = true
strip = "debuginfo"
debug = false
"#,
        sdk = sdk.display()
    )
}

/// What `new` wrote.
#[derive(Debug)]
pub struct Scaffold {
    /// The crate's directory.
    pub dir: PathBuf,
    /// The files written, relative to it.
    pub files: Vec<String>,
}

/// Write a new bylaw crate `name` under `parent` from template `template_name`, depending on
/// the SDK at `sdk` (default: the one this binary was built beside).
pub fn new(name: &str, template_name: &str, parent: &Path, sdk: Option<&Path>) -> Result<Scaffold> {
    if name.is_empty()
        || !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!(
            "a bylaw crate's name is lowercase letters, digits and `-`, starting with a letter: `{name}` is not"
        );
    }
    let t = template(template_name)?;
    let sdk = match sdk {
        Some(p) => p
            .canonicalize()
            .with_context(|| format!("the SDK path {} does not exist", p.display()))?,
        None => default_sdk().context(
            "cannot find bylaws-sdk beside this cltd build: pass --sdk path/to/cltd/bylaws-sdk",
        )?,
    };
    let dir = parent.join(name);
    if dir.exists() {
        bail!(
            "{} already exists: choose another name or directory",
            dir.display()
        );
    }
    let mut files = vec![(
        "Cargo.toml".to_string(),
        cargo_toml(name, t.description, &sdk),
    )];
    for (path, text) in t.files {
        let text = if *path == "README.md" {
            text.replacen(&format!("# {}", t.name), &format!("# {name}"), 1)
        } else {
            (*text).to_string()
        };
        files.push((path.to_string(), text));
    }
    for (path, text) in &files {
        let full = dir.join(path);
        if let Some(p) = full.parent() {
            std::fs::create_dir_all(p).with_context(|| format!("create {}", p.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("write {}", full.display()))?;
    }
    Ok(Scaffold {
        dir,
        files: files.into_iter().map(|(p, _)| p).collect(),
    })
}
