//! The amendment commands: uploading a candidate bylaw, computing and reading its impact
//! preview, and building the charter an amendment proposes.

use std::io::Write;
use std::path::Path;

use super::Ctx;
use super::context::{advance, progress};
use anyhow::{Context, Result, bail};
use clap::Subcommand;
use cltd_runtime::{
    Hash, ImpactPreview, ModuleHash, Parameter, ProposalBody, SystemClock, TrustState,
    UploadSignature, module_hash, to_component,
};
use serde_json::json;

use crate::keyring::Keyring;
use crate::{render, setup};

/// Parse 64 hex digits (a key, say).
pub fn parse_hash(text: &str) -> Result<Hash> {
    cltd_runtime::parse_hash(text)
        .with_context(|| format!("`{text}` is not a 64-digit hex blake3 hash"))
}

/// The charter an amendment proposes: the charter in force with `set` (`KEY=VALUE`) applied
/// and the `unset` keys removed.
pub fn proposed_charter(
    current: &[Parameter],
    set: &[String],
    unset: &[String],
) -> Result<Vec<Parameter>> {
    let set = set
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .with_context(|| format!("--set `{kv}` must be KEY=VALUE"))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(cltd_runtime::amended_charter(current, &set, unset)?)
}

/// `cltd bylaws upload`: check and store a candidate module, approved by `signer`.
pub fn upload(
    out: &mut dyn Write,
    dir: &Path,
    signer: &str,
    wasm: &[u8],
    json: bool,
) -> Result<i32> {
    let kp = Keyring::new(dir).load(signer)?;
    let trust = setup::open(dir, Box::new(SystemClock))?;
    let hash = module_hash(&to_component(wasm).context("upload refused, nothing stored")?);
    let approval = UploadSignature::sign(&kp, trust.id(), hash);
    let up = trust
        .upload_module(wasm, &approval)
        .context("upload refused, nothing stored")?;
    if json {
        let v = json!({
            "hash": hex::encode(up.hash),
            "size": up.size,
            "new": up.new,
            "name": up.info.name,
            "version": up.info.version,
            "summary": up.info.summary,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "{} module {} ({} bytes): {} {}",
            if up.new { "stored" } else { "already stored:" },
            hex::encode(up.hash),
            up.size,
            up.info.name,
            up.info.version
        )?;
        for line in &up.info.summary {
            writeln!(out, "  {line}")?;
        }
        writeln!(
            out,
            "next: `cltd amend preview {}` so members can see its impact, then `cltd propose amend`",
            hex::encode(up.hash)
        )?;
    }
    Ok(crate::EXIT_OK)
}

/// `cltd --server URL bylaws upload`: the component is made and hashed here, the upload
/// signed with the member's key here, and the server checks and stores it.
pub(crate) fn upload_remote(ctx: &mut Ctx, signer: &str, wasm: &[u8]) -> Result<i32> {
    let remote = ctx.remote.as_ref().context("no --server")?;
    let kp = ctx.signing_key(signer)?;
    let id = remote.trust_id()?;
    let component = to_component(wasm).context("upload refused, nothing stored")?;
    let approval = UploadSignature::sign(&kp, id, module_hash(&component));
    let up = remote
        .post_signed(
            &format!("/v1/trusts/{id}/modules"),
            "application/wasm",
            &component,
            Some(&approval),
        )
        .context("upload refused, nothing stored")?;
    let field = |k: &str| up[k].as_str().unwrap_or_default().to_string();
    ctx.print(&up, || {
        let mut text = format!(
            "{} module {} ({} bytes): {} {}",
            if up["new"].as_bool().unwrap_or(false) {
                "stored"
            } else {
                "already stored:"
            },
            field("module"),
            up["size"],
            field("name"),
            field("version")
        );
        for line in up["summary"].as_array().into_iter().flatten() {
            text.push_str(&format!("\n  {}", line.as_str().unwrap_or_default()));
        }
        text
    })?;
    Ok(crate::EXIT_OK)
}

/// `cltd --server URL amend preview`: the server computes the preview (storing it when a
/// member signs, `--as`); printed as `cltd amend preview` prints one.
fn preview_remote(
    ctx: &mut Ctx,
    module: &str,
    set: &[String],
    unset: &[String],
    signer: Option<&str>,
) -> Result<i32> {
    let remote = ctx.remote.as_ref().context("no --server")?;
    let module: ModuleHash = module.parse()?;
    let id = remote.trust_id()?;
    let current = remote.charter(&id)?;
    let proposed = proposed_charter(&current, set, unset)?;
    let approval = match signer {
        Some(signer) => Some(UploadSignature::sign_preview(
            &ctx.signing_key(signer)?,
            id,
            module,
            &proposed,
        )),
        None => None,
    };
    let changes = serde_json::json!({
        "set": set.iter().filter_map(|s| s.split_once('=')).collect::<std::collections::BTreeMap<_, _>>(),
        "unset": unset,
    });
    let doc = remote
        .post_signed(
            &format!("/v1/trusts/{id}/modules/{module}/preview"),
            "application/json",
            changes.to_string().as_bytes(),
            approval.as_ref(),
        )
        .context("no impact preview was made (nothing stored)")?;
    let typed: crate::wire::PreviewDoc = serde_json::from_value(doc.clone())
        .context("the server's impact preview does not read as one")?;
    ctx.print(&doc, || {
        let stored = match typed.stored {
            Some(true) => "\nstored: amendments naming this candidate and charter may open",
            _ if signer.is_some() => "\nnot stored: an amendment already names this candidate and charter, or one is stored at this log size",
            _ => "\nnot stored (unsigned): sign with --as to store it",
        };
        format!("{}{stored}", render::preview_doc_text(&typed))
    })?;
    Ok(crate::EXIT_OK)
}

/// `cltd amend preview`: replay the history under the candidate and store the report.
pub fn preview(
    out: &mut dyn Write,
    dir: &Path,
    module: &str,
    set: &[String],
    unset: &[String],
    json: bool,
) -> Result<i32> {
    let module: ModuleHash = module.parse()?;
    let trust = setup::open(dir, Box::new(SystemClock))?;
    let proposed = proposed_charter(&trust.state().charter, set, unset)?;
    let bar = progress("re-judging the log")?;
    let report = trust
        .preview_amendment_with(&module, &proposed, &mut |done, total| {
            advance(&bar, done, total);
        })
        .context("no impact preview was made (nothing stored)")?;
    bar.finish_and_clear();
    print(out, trust.state(), &report, json)?;
    Ok(crate::EXIT_OK)
}

/// `cltd amend show N`: the stored preview of amendment proposal `N`.
pub fn show(out: &mut dyn Write, dir: &Path, proposal: u64, json: bool) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let p = trust
        .state()
        .proposals
        .get(&proposal)
        .with_context(|| format!("there is no proposal {proposal}"))?;
    let ProposalBody::AmendBylaws(a) = &p.proposal.body else {
        bail!(
            "proposal {proposal} is {}, not an amendment",
            p.proposal.body.kind()
        );
    };
    let module: ModuleHash = a.module.parse()?;
    let report = trust
        .stored_preview(&module, &a.charter)?
        .context("no impact preview is stored for this amendment (run `cltd amend preview`)")?;
    print(out, trust.state(), &report, json)?;
    Ok(crate::EXIT_OK)
}

fn print(
    out: &mut dyn Write,
    state: &TrustState,
    report: &ImpactPreview,
    json: bool,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
    } else {
        writeln!(out, "{}", render::preview_text(state, report))?;
    }
    Ok(())
}

#[derive(Subcommand)]
pub(crate) enum AmendCommand {
    /// Replay the whole log under an uploaded candidate (a dry run), run the entrenched
    /// clauses' conformance checks, store the report and print it. An amendment can open
    /// only once its preview is stored.
    Preview {
        /// The candidate's blake3 hash (from `cltd bylaws upload`).
        module: String,
        /// Change a charter parameter, KEY=VALUE.
        #[arg(long)]
        set: Vec<String>,
        /// Remove a charter parameter.
        #[arg(long)]
        unset: Vec<String>,
        /// With --server: sign as this member (keyring name or key file) so that the server
        /// stores the preview; without, it computes it and stores nothing.
        #[arg(long = "as")]
        signer: Option<String>,
    },
    /// Print the stored impact preview of amendment proposal N.
    Show {
        /// Proposal number.
        proposal: u64,
    },
}

/// `cltd amend preview|show`.
pub(crate) fn amend(ctx: &mut Ctx, command: AmendCommand) -> Result<i32> {
    let dir = ctx.data_dir();
    match command {
        AmendCommand::Preview {
            module,
            set,
            unset,
            signer,
        } => match ctx.remote.is_some() {
            true => preview_remote(ctx, &module, &set, &unset, signer.as_deref()),
            false => preview(ctx.out, &dir, &module, &set, &unset, ctx.json),
        },
        AmendCommand::Show { proposal } => show(ctx.out, &dir, proposal, ctx.json),
    }
}
