//! Reading a trust: `show`, `log`, `verify`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::json;

use super::context::{advance, progress};
use crate::{render, setup};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShowWhat {
    All,
    Members,
    Assets,
    Proposals,
    Proposal,
    Grants,
}

pub(crate) fn show(
    out: &mut dyn Write,
    dir: &Path,
    what: ShowWhat,
    id: Option<u64>,
    json: bool,
) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let s = trust.state();
    if what == ShowWhat::Proposal {
        let id = id.context("`show proposal` needs a proposal number")?;
        let p = s
            .proposals
            .get(&id)
            .with_context(|| format!("there is no proposal {id}"))?;
        if json {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&crate::wire::ProposalDoc::of(s, p))?
            )?;
        } else {
            writeln!(out, "{}", render::proposal_text(s, p))?;
        }
        return Ok(crate::EXIT_OK);
    }
    if json {
        let all = crate::wire::StateDoc::of(s, trust.now());
        let v = match what {
            ShowWhat::All | ShowWhat::Proposal => serde_json::to_value(&all)?,
            ShowWhat::Members => serde_json::to_value(&all.members)?,
            ShowWhat::Assets => serde_json::to_value(&all.assets)?,
            ShowWhat::Proposals => serde_json::to_value(&all.proposals)?,
            ShowWhat::Grants => serde_json::to_value(&all.grants)?,
        };
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(crate::EXIT_OK);
    }
    if what == ShowWhat::All {
        writeln!(out, "{} (trust {})", s.name, hex::encode(s.id))?;
        writeln!(
            out,
            "bylaw module {}; log of {} entries, head {}",
            hex::encode(s.module),
            s.size,
            hex::encode(s.head)
        )?;
        let params: Vec<String> = s
            .charter
            .iter()
            .map(|p| format!("{}={}", p.key, p.value))
            .collect();
        writeln!(
            out,
            "charter: {}",
            if params.is_empty() {
                "(defaults)".to_string()
            } else {
                params.join(", ")
            }
        )?;
        let clauses: Vec<&str> = s.entrenched.iter().map(|c| c.name()).collect();
        writeln!(
            out,
            "entrenched: {}",
            if clauses.is_empty() {
                "(none)".to_string()
            } else {
                clauses.join(", ")
            }
        )?;
    }
    if matches!(what, ShowWhat::All | ShowWhat::Members) {
        writeln!(out, "\nmembers ({}):", s.members.len())?;
        for m in s.members.values() {
            writeln!(
                out,
                "  {:<16} {:<9} admitted {}  {}{}",
                m.name,
                m.class.name(),
                render::when(m.admitted_at),
                hex::encode(&m.key),
                m.proxy.as_ref().map_or_else(String::new, |p| format!(
                    "\n  {:<16} delegates to {} until {}",
                    "",
                    render::who(s, &p.delegate),
                    render::when(p.until)
                ))
            )?;
        }
    }
    if matches!(what, ShowWhat::All | ShowWhat::Assets) {
        writeln!(out, "\nassets ({}):", s.assets.len())?;
        for a in s.assets.values() {
            writeln!(
                out,
                "  {:<20} {:<15} {:<9} {}{}",
                a.id,
                a.kind.name(),
                a.lock.name(),
                a.description,
                if a.fields.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\n  {:<20} fields: {}",
                        "",
                        render::dataset_fields(&a.fields)
                    )
                }
            )?;
        }
    }
    if matches!(what, ShowWhat::All | ShowWhat::Proposals) {
        writeln!(out, "\nproposals ({}):", s.proposals.len())?;
        for p in s.proposals.values() {
            writeln!(
                out,
                "  {}",
                render::proposal_text(s, p).replace('\n', "\n  ")
            )?;
        }
    }
    if matches!(what, ShowWhat::All | ShowWhat::Grants) {
        writeln!(out, "\naccess grants ({}):", s.grants.len())?;
        let now = trust.now();
        for g in s.grants.values() {
            writeln!(
                out,
                "  #{} {} -> {} of `{}` {} {} for: {}",
                g.id,
                render::who(s, &g.grantee),
                render::fields_text(&g.fields),
                g.asset_id,
                if g.expires_at <= now {
                    "EXPIRED"
                } else {
                    "until"
                },
                render::when(g.expires_at),
                g.purpose
            )?;
        }
    }
    Ok(crate::EXIT_OK)
}

pub(crate) fn log(
    out: &mut dyn Write,
    dir: &Path,
    from: u64,
    limit: usize,
    json: bool,
) -> Result<i32> {
    let trust = setup::open_for_reading(dir)?;
    let entries = trust.entries(from, limit)?;
    if json {
        let v: Vec<_> = entries
            .iter()
            .map(|e| crate::wire::EntryDoc::of(trust.state(), e))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for e in &entries {
            writeln!(out, "{}", render::entry_text(trust.state(), e))?;
        }
    }
    Ok(crate::EXIT_OK)
}

pub(crate) fn verify(out: &mut dyn Write, dir: &Path, json: bool) -> Result<i32> {
    if !dir.join(cltd_runtime::STORE_FILE).exists() {
        bail!("no trust in {}", dir.display());
    }
    let runtime = setup::runtime()?;
    let bar = progress("replaying")?;
    let cltd_runtime::StoreVerification { report, repaired } =
        cltd_runtime::verify_store(dir, &runtime, &mut |done, total| {
            advance(&bar, done, total);
        })?;
    bar.finish_and_clear();
    if json {
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&json!({
                "verified": report.is_ok(),
                "trust_id": hex::encode(report.trust_id),
                "size": report.size,
                "checked": report.checked,
                "head": hex::encode(report.head),
                "allowed": report.allowed,
                "denied": report.denied,
                "modules": report.modules.iter().map(hex::encode).collect::<Vec<_>>(),
                "engine_matches": report.engine_matches,
                "divergence": report.divergence.as_ref().map(|d| json!({"index": d.index, "reason": d.reason})),
                "repaired": repaired,
            }))?
        )?;
    } else {
        writeln!(out, "trust   {}", hex::encode(report.trust_id))?;
        writeln!(
            out,
            "entries {} stored, {} replayed ({} allowed, {} denied)",
            report.size, report.checked, report.allowed, report.denied
        )?;
        writeln!(out, "head    {}", hex::encode(report.head))?;
        for m in &report.modules {
            writeln!(out, "module  {}", hex::encode(m))?;
        }
        if !report.engine_matches {
            writeln!(
                out,
                "note    the log was written under another engine profile; fuel figures were not compared"
            )?;
        }
        if repaired {
            writeln!(
                out,
                "note    the store was not closed cleanly (its writer stopped abruptly) and was repaired on opening"
            )?;
        }
        match &report.divergence {
            None => writeln!(out, "VERIFIED")?,
            Some(d) => writeln!(out, "FAILED at {d}")?,
        }
    }
    Ok(if report.is_ok() {
        crate::EXIT_OK
    } else {
        crate::EXIT_VERIFY_FAILED
    })
}
