//! The auditor's commands: `cltd checkpoint`, `cltd export`, `cltd audit verify` and
//! `cltd audit explain`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::Ctx;
use super::context::{advance, progress};
use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use clap::Subcommand;
use cltd_runtime::{
    AuditOptions, AuditReport, EntryBody, LogProof, Remembered, SystemClock, audit, explain_with,
};
use serde_json::json;

use crate::{render, setup};

/// The default directory where `audit verify` remembers checkpoints:
/// `$XDG_STATE_HOME/cltd/audit`, or `~/.local/state/cltd/audit`.
pub fn default_state_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("cltd/audit");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/state/cltd/audit")
}

/// `cltd checkpoint`: the log's current checkpoint, signed by the host key (under `--json`,
/// `{"checkpoint": NOTE, "size": N}`).
pub(crate) fn checkpoint(ctx: &mut Ctx) -> Result<i32> {
    let (note, size) = match &ctx.remote {
        Some(remote) => {
            let note = remote.get_text(&format!("/v1/trusts/{}/checkpoint", remote.trust_id()?))?;
            let size = cltd_runtime::SignedNote::parse(&note)
                .ok()
                .and_then(|n| cltd_runtime::Checkpoint::parse(&n.text).ok())
                .map(|c| c.size)
                .context("the server's checkpoint is not a signed checkpoint")?;
            (note, size)
        }
        None => {
            let trust = setup::open_for_reading(&ctx.data_dir())?;
            (trust.checkpoint()?.to_string(), trust.state().size)
        }
    };
    ctx.print(&json!({"checkpoint": note, "size": size}), || {
        note.trim_end_matches('\n').to_string()
    })?;
    Ok(crate::EXIT_OK)
}

/// `cltd prove inclusion INDEX` (with `index`) or `cltd prove consistency OLD` (with
/// `old`): the proof, checked before it is printed, and the checkpoint it is relative to.
pub fn prove(
    out: &mut dyn Write,
    dir: &Path,
    index: Option<u64>,
    old: Option<u64>,
    json: bool,
) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let LogProof {
        kind,
        size,
        hashes: proof,
        ..
    } = match (index, old) {
        (Some(i), _) => trust.inclusion_proof(i)?,
        (None, Some(m)) => trust.consistency_proof(m)?,
        (None, None) => anyhow::bail!("nothing to prove"),
    };
    let kind = kind.to_string();
    let note = trust.checkpoint()?;
    let hashes: Vec<String> = proof.iter().map(|h| B64.encode(h)).collect();
    if json {
        let v =
            json!({"proof": kind, "size": size, "hashes": hashes, "checkpoint": note.to_string()});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "# {kind} in the log of {size} entries (RFC 6962, base64 SHA-256)"
        )?;
        for h in &hashes {
            writeln!(out, "{h}")?;
        }
        write!(out, "\n{note}")?;
    }
    Ok(crate::EXIT_OK)
}

/// `cltd --server URL prove ...`: the server's proof, printed as `cltd prove` prints one,
/// with the server's signed checkpoint it is relative to. An inclusion proof is checked
/// here first: the entry's leaf, hashed from the entry the server serves, must lead to the
/// checkpoint's root.
pub(crate) fn prove_remote(
    out: &mut dyn Write,
    remote: &super::remote::Remote,
    index: Option<u64>,
    old: Option<u64>,
    json: bool,
) -> Result<i32> {
    let id = remote.trust_id()?;
    let query = match (index, old) {
        (Some(i), _) => format!("index={i}"),
        (None, Some(m)) => format!("old={m}"),
        (None, None) => anyhow::bail!("nothing to prove"),
    };
    // A commit between the two reads moves the checkpoint on: ask again, a few times.
    let mut tries = 0;
    let (proof, note, checkpoint) = loop {
        let note = remote.get_text(&format!("/v1/trusts/{id}/checkpoint"))?;
        let checkpoint = cltd_runtime::SignedNote::parse(&note)
            .ok()
            .and_then(|n| cltd_runtime::Checkpoint::parse(&n.text).ok())
            .context("the server's checkpoint is not a signed checkpoint")?;
        let proof: crate::wire::ProofDoc =
            serde_json::from_value(remote.get(&format!("/v1/trusts/{id}/proof?{query}"))?)
                .context("the server's proof does not read as one")?;
        if proof.size == checkpoint.size {
            break (proof, note, checkpoint);
        }
        tries += 1;
        anyhow::ensure!(
            tries < 5,
            "the server's log kept growing between its checkpoint and its proof"
        );
    };
    let hash = |b64: &str| -> Result<cltd_runtime::TreeHash> {
        B64.decode(b64)
            .ok()
            .and_then(|v| v.try_into().ok())
            .with_context(|| format!("`{b64}` is not a base64 SHA-256 hash"))
    };
    anyhow::ensure!(
        hash(&proof.root)? == checkpoint.root,
        "the server's proof is not relative to its own checkpoint"
    );
    if let Some(i) = index {
        let page: crate::wire::LogPageDoc =
            serde_json::from_value(remote.get(&format!("/v1/trusts/{id}/log?from={i}&limit=1"))?)
                .context("the server's log page does not read as one")?;
        let entry = page
            .entries
            .first()
            .context("the server has no such entry")?;
        let entry_hash = match entry {
            crate::wire::EntryDoc::Genesis(g) => &g.hash,
            crate::wire::EntryDoc::Transition(t) => &t.hash,
        };
        let leaf = cltd_runtime::leaf_hash(
            &hex::decode(entry_hash).context("the server's entry hash is not hex")?,
        );
        let path = proof
            .hashes
            .iter()
            .map(|h| hash(h))
            .collect::<Result<Vec<_>>>()?;
        cltd_runtime::verify_inclusion(i, checkpoint.size, &leaf, &path, &checkpoint.root)
            .context("the server's inclusion proof does not verify")?;
    }
    if json {
        let v = json!({"proof": proof.proof, "size": proof.size, "hashes": proof.hashes, "checkpoint": note});
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "# {} in the log of {} entries (RFC 6962, base64 SHA-256)",
            proof.proof, proof.size
        )?;
        for h in &proof.hashes {
            writeln!(out, "{h}")?;
        }
        write!(out, "\n{note}")?;
    }
    Ok(crate::EXIT_OK)
}

/// `cltd export`: write the audit bundle to `path`.
pub fn export(out: &mut dyn Write, dir: &Path, path: &Path, json: bool) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let bundle = trust.export()?;
    let bytes = bundle.to_bytes();
    std::fs::write(path, &bytes).with_context(|| format!("write {}", path.display()))?;
    if json {
        let v = json!({
            "path": path.display().to_string(),
            "bytes": bytes.len(),
            "trust_id": hex::encode(bundle.manifest.trust_id),
            "entries": bundle.manifest.entries,
            "modules": bundle.manifest.modules,
            "checkpoint": bundle.checkpoint,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        writeln!(
            out,
            "wrote {} ({} bytes): {} entries, {} modules, checkpoint:\n{}",
            path.display(),
            bytes.len(),
            bundle.manifest.entries,
            bundle.manifest.modules,
            bundle.checkpoint.trim_end()
        )?;
    }
    Ok(crate::EXIT_OK)
}

fn remembered_path(state_dir: &Path, trust: &cltd_runtime::TrustId) -> PathBuf {
    state_dir.join(format!("{}.json", trust))
}

fn read_remembered(path: &Path) -> Result<Option<Remembered>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
            format!("{} is not a remembered checkpoint", path.display())
        })?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

/// What `cltd audit verify` is asked to check.
#[derive(Debug, Clone)]
pub struct VerifyArgs {
    /// Where remembered checkpoints live.
    pub state_dir: PathBuf,
    /// Re-execute every transition.
    pub reexecute: bool,
    /// Known witnesses (`NAME=KEYHEX`).
    pub witnesses: Vec<String>,
    /// How many of them must have cosigned (default: all given).
    pub quorum: Option<usize>,
}

/// Parse `NAME=KEYHEX` witness arguments.
fn witnesses(args: &[String]) -> Result<Vec<(String, [u8; 32])>> {
    args.iter()
        .map(|w| {
            let (name, key) = w
                .split_once('=')
                .with_context(|| format!("--witness `{w}` must be NAME=PUBLIC_KEY_HEX"))?;
            let key = hex::decode(key)
                .ok()
                .and_then(|k| k.try_into().ok())
                .with_context(|| format!("witness key `{key}` is not 64 hex digits"))?;
            Ok((name.to_string(), key))
        })
        .collect()
}

/// `cltd audit verify`.
pub fn verify(
    out: &mut dyn Write,
    bundle_path: &Path,
    args: &VerifyArgs,
    json: bool,
) -> Result<i32> {
    let (state_dir, reexecute) = (args.state_dir.as_path(), args.reexecute);
    let known = witnesses(&args.witnesses)?;
    let quorum = args.quorum.unwrap_or(known.len());
    let bytes =
        std::fs::read(bundle_path).with_context(|| format!("read {}", bundle_path.display()))?;
    // Which trust is it? Only the manifest's claim until verified, used to find the
    // remembered checkpoint.
    let remembered_at = cltd_runtime::Bundle::parse(&bytes)
        .ok()
        .map(|b| remembered_path(state_dir, &b.manifest.trust_id));
    let remembered = match &remembered_at {
        Some(p) => read_remembered(p)?,
        None => None,
    };
    let bar = progress(if reexecute {
        "re-executing"
    } else {
        "checking"
    })?;
    let runtime = setup::runtime()?;
    let report = audit(
        &bytes,
        &runtime,
        AuditOptions {
            reexecute,
            remembered,
            quorum,
            witnesses: known,
        },
        &mut |done, total| advance(&bar, done, total),
    )?;
    bar.finish_and_clear();
    if report.is_ok()
        && let (Some(path), Some(checkpoint)) = (&remembered_at, report.checkpoint)
    {
        std::fs::create_dir_all(state_dir)
            .with_context(|| format!("create {}", state_dir.display()))?;
        std::fs::write(path, serde_json::to_vec_pretty(&checkpoint)?)
            .with_context(|| format!("write {}", path.display()))?;
    }
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report_json(&report))?
        )?;
    } else {
        writeln!(out, "{}", verdict_line(&report))?;
    }
    Ok(if report.is_ok() {
        crate::EXIT_OK
    } else {
        crate::EXIT_VERIFY_FAILED
    })
}

fn report_json(r: &AuditReport) -> serde_json::Value {
    json!({
        "verified": r.is_ok(),
        "trust_id": r.trust_id.map(hex::encode),
        "entries": r.entries,
        "checked": r.checked,
        "reexecuted": r.reexecuted,
        "allowed": r.allowed,
        "denied": r.denied,
        "modules": r.modules.iter().map(hex::encode).collect::<Vec<_>>(),
        "checkpoint": r.checkpoint.map(|c| json!({"size": c.size, "root": hex::encode(c.root)})),
        "consistent_with": r.consistent_with,
        "cosigned_by": r.cosigned_by,
        "cosigned_by": r.cosigned_by,
        "failure": r.failure.as_ref().map(|f| json!({"location": f.location.to_string(), "reason": f.reason})),
    })
}

/// The one-line verdict.
pub fn verdict_line(r: &AuditReport) -> String {
    match &r.failure {
        Some(f) => format!("FAILED at {}: {}", f.location, f.reason),
        None => {
            let c = r.checkpoint.expect("a verified report has a checkpoint");
            format!(
                "VERIFIED trust {}: {} entries ({}), {} allowed, {} denied, {} module(s), root {}{}{}",
                r.trust_id.map(hex::encode).unwrap_or_default(),
                c.size,
                if r.reexecuted {
                    "every transition re-executed"
                } else {
                    "hashes, signatures and sequence numbers; not re-executed"
                },
                r.allowed,
                r.denied,
                r.modules.len(),
                hex::encode(c.root),
                match r.consistent_with {
                    Some(old) =>
                        format!(", consistent with the {old}-entry checkpoint verified before"),
                    None => String::new(),
                },
                if r.cosigned_by.is_empty() {
                    String::new()
                } else {
                    format!(", cosigned by {}", r.cosigned_by.join(", "))
                }
            )
        }
    }
}

/// `cltd audit explain`.
pub fn explain_entry(
    out: &mut dyn Write,
    bundle_path: &Path,
    index: u64,
    json: bool,
) -> Result<i32> {
    let bytes =
        std::fs::read(bundle_path).with_context(|| format!("read {}", bundle_path.display()))?;
    explain_bundle(out, &bytes, index, json)
}

/// `cltd explain INDEX`: the same account of an entry of the trust in `dir`, from the
/// trust's own log (exported in memory, so the entry is re-executed from genesis exactly
/// as an auditor would).
pub fn explain_live(out: &mut dyn Write, dir: &Path, index: u64, json: bool) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let bytes = trust.export()?.to_bytes();
    drop(trust);
    explain_bundle(out, &bytes, index, json)
}

/// `cltd --server URL explain N`: the server's audit bundle, re-executed here (the member
/// trusts their own replay, not the server's word), then explained as on the store.
pub(crate) fn explain_remote(
    out: &mut dyn Write,
    remote: &super::remote::Remote,
    index: u64,
    json: bool,
) -> Result<i32> {
    let id = remote.trust_id()?;
    let bytes = remote.get_bytes(&format!("/v1/trusts/{id}/bundle"))?;
    explain_bundle(out, &bytes, index, json)
}

/// Explain entry `index` of the bundle `bytes`.
fn explain_bundle(out: &mut dyn Write, bytes: &[u8], index: u64, json: bool) -> Result<i32> {
    let runtime = setup::runtime()?;
    let bar = progress("replaying")?;
    let explained = explain_with(bytes, &runtime, index, &mut |done, total| {
        advance(&bar, done, total);
    })?;
    bar.finish_and_clear();
    let x = match explained {
        Ok(x) => x,
        Err(e) => {
            writeln!(out, "FAILED at {}: {}", e.location, e.reason)?;
            return Ok(crate::EXIT_VERIFY_FAILED);
        }
    };
    let s = &x.before;
    let EntryBody::Transition(rec) = &x.entry.body else {
        writeln!(
            out,
            "entry {index} is the genesis entry: it founds the trust and records its charter, first module and engine profile"
        )?;
        return Ok(crate::EXIT_OK);
    };
    let body = x
        .body
        .as_ref()
        .context("the entry's transition does not decode")?;
    let proposal = body.action.target().and_then(|id| s.proposals.get(&id));
    // An action on a proposal is judged by the rules it was opened under.
    let rules = s.rules_for(&body.action);
    let charter: Vec<String> = rules
        .charter
        .iter()
        .map(|p| format!("{}={}", p.key, p.value))
        .collect();
    if json {
        let v = json!({
            "index": index,
            "time": x.entry.time,
            "hash": hex::encode(cltd_runtime::entry_hash(&x.entry)),
            "signer": hex::encode(body.signer),
            "signer_name": s.member(body.signer).map(|m| m.name.clone()),
            "seq": body.seq,
            "action": render::action_text(s, &body.action),
            "module": hex::encode(rec.module),
            "charter": charter,
            "proposal": proposal.map(|p| crate::wire::ProposalDoc::of(s, p)),
            "verdict": crate::wire::VerdictDoc::of(&rec.verdict),
            "effects": rec.effects.iter().map(|e| render::effect_text(s, e)).collect::<Vec<_>>(),
            "fuel": rec.fuel,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(crate::EXIT_OK);
    }
    writeln!(
        out,
        "entry {index} at {} (hash {})",
        render::when(x.entry.time),
        hex::encode(cltd_runtime::entry_hash(&x.entry))
    )?;
    writeln!(
        out,
        "signed by {} (key {}), sequence number {}",
        render::who(s, body.signer),
        hex::encode(body.signer),
        body.seq
    )?;
    writeln!(out, "action: {}", render::action_text(s, &body.action))?;
    writeln!(
        out,
        "{}: module {} with charter [{}]",
        if proposal.is_some() {
            "rules (as when the proposal opened)"
        } else {
            "rules in force"
        },
        hex::encode(rec.module),
        charter.join(", ")
    )?;
    if let Some(p) = proposal {
        writeln!(out, "the proposal as it stood:")?;
        writeln!(
            out,
            "  {}",
            render::proposal_text(s, p).replace('\n', "\n  ")
        )?;
    }
    writeln!(out, "verdict: {}", render::verdict_text(&rec.verdict))?;
    for e in &rec.effects {
        writeln!(out, "  {}", render::effect_text(s, e))?;
    }
    writeln!(out, "fuel: {}", rec.fuel)?;
    writeln!(
        out,
        "(re-executed from genesis to this entry: the log's record of it is what the rules give)"
    )?;
    Ok(crate::EXIT_OK)
}

#[derive(Subcommand)]
pub(crate) enum ProveCommand {
    /// The RFC 6962 inclusion proof of entry INDEX in the current log.
    Inclusion {
        /// The entry's index.
        index: u64,
    },
    /// The RFC 6962 consistency proof from the log's first OLD_SIZE entries to all of them.
    Consistency {
        /// The earlier tree size.
        old_size: u64,
    },
}

#[derive(Subcommand)]
pub(crate) enum WitnessCommand {
    /// Run a witness (C2SP tlog-witness: POST /add-checkpoint) until stopped.
    Serve {
        /// The witness's directory (its key and what it cosigned).
        #[arg(long)]
        dir: PathBuf,
        /// The witness's name, used as the key name of its cosignatures.
        #[arg(long)]
        name: String,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// A log to witness, ORIGIN=HOST_KEY_HEX (repeatable; remembered).
        #[arg(long)]
        log: Vec<String>,
    },
    /// Ask the witness at URL to cosign this trust's current checkpoint; the cosigned
    /// checkpoint goes into later audit bundles.
    Ask {
        /// The witness's base URL, e.g. http://127.0.0.1:7380.
        url: String,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditCommand {
    /// Check everything in a bundle (exit 0 only if all verifies, 3 if not), remember its
    /// checkpoint, and prove the next bundle of the same trust extends it.
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// Check hashes, signatures, sequence numbers and the Merkle root only; do not
        /// re-execute the bylaws.
        #[arg(long)]
        no_reexec: bool,
        /// Where verified checkpoints are remembered, per trust.
        #[arg(long, env = "CLTD_AUDIT_STATE_DIR")]
        state_dir: Option<PathBuf>,
        /// A witness the auditor trusts, NAME=PUBLIC_KEY_HEX (repeatable).
        #[arg(long)]
        witness: Vec<String>,
        /// How many of those witnesses must have cosigned the checkpoint (default: all).
        #[arg(long)]
        quorum: Option<usize>,
    },
    /// Why entry INDEX came out as it did: the action, the signer, the rules in force, the
    /// tally and the bylaw's explanation.
    Explain {
        /// The bundle file.
        bundle: PathBuf,
        /// The entry's index.
        index: u64,
    },
}

/// `cltd witness serve|ask`.
pub(crate) fn witness(ctx: &mut Ctx, command: WitnessCommand) -> Result<i32> {
    match command {
        WitnessCommand::Serve {
            dir,
            name,
            listen,
            log,
        } => {
            let witness = cltd_runtime::Witness::open(&dir, &name)?;
            for l in &log {
                let (origin, key) = l
                    .split_once('=')
                    .with_context(|| format!("--log `{l}` must be ORIGIN=HOST_KEY_HEX"))?;
                let key = super::amend::parse_hash(key)?;
                witness.add_log(origin, key)?;
            }
            let listener = std::net::TcpListener::bind(&listen)
                .with_context(|| format!("listen on {listen}"))?;
            writeln!(
                ctx.out,
                "witness {name} (public key {}) listening on http://{}",
                hex::encode(witness.public()),
                listener.local_addr()?
            )?;
            ctx.out.flush()?;
            crate::witness::serve(witness, listener)?;
            Ok(crate::EXIT_OK)
        }
        WitnessCommand::Ask { url } => {
            let trust = setup::open(&ctx.data_dir(), Box::new(SystemClock))?;
            let note = crate::witness::ask(&trust, &url)?;
            let names: Vec<&str> = note.signatures.iter().map(|s| s.name.as_str()).collect();
            let text = note.to_string();
            ctx.print(&json!({"signed_by": names, "checkpoint": text}), || {
                format!(
                    "checkpoint signed by: {}\n{}",
                    names.join(", "),
                    text.trim_end_matches('\n')
                )
            })?;
            Ok(crate::EXIT_OK)
        }
    }
}

/// `cltd audit verify|explain`: check an exported bundle, offline.
pub(crate) fn audit_bundle(ctx: &mut Ctx, command: AuditCommand) -> Result<i32> {
    match command {
        AuditCommand::Verify {
            bundle,
            no_reexec,
            state_dir,
            witness,
            quorum,
        } => super::audit::verify(
            ctx.out,
            &bundle,
            &super::audit::VerifyArgs {
                state_dir: state_dir.unwrap_or_else(super::audit::default_state_dir),
                reexecute: !no_reexec,
                witnesses: witness,
                quorum,
            },
            ctx.json,
        ),
        AuditCommand::Explain { bundle, index } => {
            super::audit::explain_entry(ctx.out, &bundle, index, ctx.json)
        }
    }
}
