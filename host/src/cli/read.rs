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
    print_state(
        out,
        &crate::wire::StateDoc::of(trust.state(), trust.now()),
        what,
        id,
        json,
    )
}

/// `cltd --server URL show`: the server's state of the trust, printed as `cltd show` prints
/// the store's.
pub(crate) fn show_remote(
    out: &mut dyn Write,
    remote: &super::remote::Remote,
    what: ShowWhat,
    id: Option<u64>,
    json: bool,
) -> Result<i32> {
    let state = remote_state(remote)?;
    print_state(out, &state, what, id, json)
}

/// The trust's whole state as the server has it, gathered as `cltd show` prints it: the
/// trust at a glance, then its members and proposals a page at a time, its assets and its
/// grants. A commit between two pages can make the lists a mix of two moments; the log size
/// is read first, so what is shown is at least that recent.
fn remote_state(remote: &super::remote::Remote) -> Result<crate::wire::StateDoc> {
    use crate::wire::{AssetsDoc, GrantsDoc, MembersDoc, ProposalsDoc, StateDoc, TrustDoc};
    fn read<T: serde::de::DeserializeOwned>(
        remote: &super::remote::Remote,
        path: &str,
    ) -> Result<T> {
        serde_json::from_value(remote.get(path)?)
            .with_context(|| format!("the server's answer to {path} does not read as expected"))
    }
    let id = remote.trust_id()?;
    let base = format!("/v1/trusts/{id}");
    let glance: TrustDoc = read(remote, &base)?;
    let mut members = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = after
            .as_ref()
            .map_or_else(String::new, |k| format!("?after={k}"));
        let page: MembersDoc = read(remote, &format!("{base}/members{query}"))?;
        members.extend(page.members.into_values().flatten());
        match page.next {
            None => break,
            // Keys only grow from page to page: a faulty server that named the same page
            // again would otherwise keep the client asking forever.
            Some(key) if after.as_ref().is_some_and(|a| key <= *a) => {
                bail!(
                    "the server's members page after {after:?} names {key} next: it does not move on"
                )
            }
            Some(key) => after = Some(key),
        }
    }
    members.sort_by(|a, b| a.key.cmp(&b.key));
    let mut proposals = Vec::new();
    let mut from = Some(0);
    while let Some(at) = from {
        let page: ProposalsDoc = read(remote, &format!("{base}/proposals?from={at}"))?;
        proposals.extend(page.proposals);
        from = page.next;
        if from.is_some_and(|next| next <= at) {
            bail!("the server's proposals page from {at} names {from:?} next: it does not move on");
        }
    }
    let assets: AssetsDoc = read(remote, &format!("{base}/assets"))?;
    let grants: GrantsDoc = read(remote, &format!("{base}/grants"))?;
    Ok(StateDoc {
        trust: glance.trust,
        members,
        assets: assets.assets,
        proposals,
        grants: grants.grants,
    })
}

fn print_state(
    out: &mut dyn Write,
    s: &crate::wire::StateDoc,
    what: ShowWhat,
    id: Option<u64>,
    json: bool,
) -> Result<i32> {
    if what == ShowWhat::Proposal {
        let id = id.context("`show proposal` needs a proposal number")?;
        let p = s
            .proposals
            .iter()
            .find(|p| p.id == id)
            .with_context(|| format!("there is no proposal {id}"))?;
        if json {
            writeln!(out, "{}", serde_json::to_string_pretty(p)?)?;
        } else {
            writeln!(
                out,
                "{}",
                render::proposal_doc_text(p, &s.trust.module, &s.trust.charter)
            )?;
        }
        return Ok(crate::EXIT_OK);
    }
    let (v, part) = match what {
        ShowWhat::All | ShowWhat::Proposal => (serde_json::to_value(s)?, "all"),
        ShowWhat::Members => (serde_json::to_value(&s.members)?, "members"),
        ShowWhat::Assets => (serde_json::to_value(&s.assets)?, "assets"),
        ShowWhat::Proposals => (serde_json::to_value(&s.proposals)?, "proposals"),
        ShowWhat::Grants => (serde_json::to_value(&s.grants)?, "grants"),
    };
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        let text = render::state_doc_text(s, part);
        writeln!(out, "{}", text.trim_start_matches('\n'))?;
    }
    Ok(crate::EXIT_OK)
}

/// `cltd --server URL log`: the server's log pages, printed as `cltd log` prints the store's.
pub(crate) fn log_remote(
    out: &mut dyn Write,
    remote: &super::remote::Remote,
    from: u64,
    limit: usize,
    json: bool,
) -> Result<i32> {
    let id = remote.trust_id()?;
    let mut entries: Vec<crate::wire::EntryDoc> = Vec::new();
    let mut next = Some(from);
    while let Some(at) = next.filter(|_| entries.len() < limit) {
        let want = (limit - entries.len()).min(crate::server::MAX_PAGE);
        let page: crate::wire::LogPageDoc = serde_json::from_value(
            remote.get(&format!("/v1/trusts/{id}/log?from={at}&limit={want}"))?,
        )
        .context("the server's log page does not read as one")?;
        if page.entries.is_empty() {
            break;
        }
        entries.extend(page.entries);
        next = page.next;
    }
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&entries)?)?;
    } else {
        for e in &entries {
            writeln!(out, "{}", render::entry_doc_text(e))?;
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
