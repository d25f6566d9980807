//! Founding a trust (`init`, `init --from`), the local keyring (`keys`) and the demo.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cltd_runtime::{
    Applicant, AssetDraft, AssetKind, Charter, Clause, LockStatus, StakeholderClass, SystemClock,
    Trust,
};
use serde_json::json;

use super::Ctx;
use super::args::*;
use crate::keyring::Keyring;
use crate::setup;

#[derive(Args)]
pub(crate) struct InitArgs {
    /// The trust's name.
    #[arg(long, required_unless_present = "from")]
    name: Option<String>,
    /// The bylaw: a name in the bylaws directory (e.g. classic-clt) or a path to a .wasm file.
    #[arg(long, default_value = "classic-clt")]
    bylaw: String,
    /// A founder, NAME:CLASS (key NAME from the keyring) or NAME:CLASS:PUBLIC_KEY_HEX.
    #[arg(long = "founder", required_unless_present_any = ["from", "members_file"])]
    founders: Vec<String>,
    /// A membership roll to found the trust with, beside any --founder: one member per
    /// line, `NAME,CLASS,PUBLIC_KEY_HEX` (blank lines and lines starting with `#` skipped).
    /// The whole roll is checked before anything is written; every bad line is named.
    #[arg(long, value_name = "ROLL_CSV")]
    members_file: Option<PathBuf>,
    /// An asset held from the start, ID:KIND:LOCK[:DESCRIPTION]
    /// (KIND: dataset, code-repository, platform, domain, server; LOCK: perpetual, unlocked).
    #[arg(long = "asset")]
    assets: Vec<String>,
    /// A field of a dataset held from the start, ASSET:FIELD or ASSET:FIELD:personal (repeat).
    #[arg(long = "field")]
    fields: Vec<String>,
    /// A charter parameter passed to the bylaws, KEY=VALUE (with --from: set or add it).
    #[arg(long = "param")]
    params: Vec<String>,
    /// With --from: remove this parameter of the earlier charter.
    #[arg(long = "unset", requires = "from")]
    unset: Vec<String>,
    /// An entrenched clause (asset-lock, amendment-supermajority, one-member-one-vote), or
    /// `none`. Default: all three.
    #[arg(long = "entrench")]
    entrench: Vec<String>,
    /// The treasury's currency, a code of three capital letters (e.g. EUR): the trust then
    /// keeps a ledger with accounts operating, reserve and community-projects (and any
    /// --account). Without it the trust keeps no treasury. With --from: the successor's
    /// treasury (an earlier store kept none).
    #[arg(long, value_name = "CODE")]
    currency: Option<String>,
    /// A further treasury account (kebab-case; repeat), beside the standard three.
    #[arg(long = "account", requires = "currency")]
    accounts: Vec<String>,
    /// Found the successor of the trust in this data directory, a store an earlier cltd made
    /// (which this one cannot run): its name, members, assets and entrenched clauses carry
    /// over, its charter with --param and --unset applied; that store is left unchanged.
    #[arg(long, value_name = "EARLIER_DATA_DIR",
          conflicts_with_all = ["name", "founders", "members_file", "assets", "fields", "entrench"])]
    from: Option<PathBuf>,
}

#[derive(Subcommand)]
pub(crate) enum KeysCommand {
    /// Make a new key pair and store it under NAME.
    New {
        /// Key name.
        name: String,
    },
    /// List stored keys and their public keys.
    List,
}

/// `cltd init --from EARLIER`: found the successor of a store an earlier cltd made.
pub(crate) fn succeed(ctx: &mut Ctx, from: &Path, args: &InitArgs) -> Result<i32> {
    let dir = &ctx.data_dir();
    let bylaws_dir = &ctx.bylaws_dir;
    if from.canonicalize().ok() == dir.canonicalize().ok() {
        bail!("--from names the data directory itself: found the successor in another one");
    }
    let mut earlier = cltd_runtime::read_earlier(from)?;
    earlier.treasury = args
        .currency
        .as_ref()
        .map(|c| cltd_runtime::TreasuryCharter {
            currency: c.clone(),
            accounts: args.accounts.clone(),
        });
    let wasm = setup::read_bylaw(&args.bylaw, bylaws_dir)?;
    let trust = Trust::succeed(
        dir,
        setup::runtime()?,
        &earlier,
        &params_of(&args.params)?,
        &args.unset,
        &wasm,
        Box::new(SystemClock),
    )?;
    let value = json!({
        "trust_id": trust.id_hex(),
        "dir": dir.display().to_string(),
        "module": hex::encode(trust.state().module),
        "predecessor": {
            "trust_id": hex::encode(earlier.trust_id), "format": earlier.format,
            "size": earlier.size, "head": hex::encode(earlier.head),
        },
        "carried_over": {"members": earlier.members.len(), "assets": earlier.assets.len()},
        "not_carried_over": {"proposals": earlier.proposals},
    });
    ctx.print(&value, || {
        format!(
            "founded trust {} in {}, the successor of trust {} (store format {}, {} log entries, head {}), which is left unchanged\n\
             carried over: {} members, {} assets, the entrenched clauses and the charter{}; not carried over: {} proposals (propose again), delegations and grants\n\
             bylaw module {}",
            trust.id_hex(),
            dir.display(),
            hex::encode(earlier.trust_id),
            earlier.format,
            earlier.size,
            hex::encode(earlier.head),
            earlier.members.len(),
            earlier.assets.len(),
            if args.params.is_empty() && args.unset.is_empty() {
                ""
            } else {
                " (with your changes)"
            },
            earlier.proposals,
            hex::encode(trust.state().module)
        )
    })?;
    Ok(crate::EXIT_OK)
}

/// Most bad lines of a roll named in one refusal (the count of the rest follows).
const ROLL_ERRORS_SHOWN: usize = 20;

/// The members of a roll: `NAME,CLASS,PUBLIC_KEY_HEX` per line, blank lines and `#` comments
/// skipped. Every line is checked (a name of 1 to 200 bytes without a comma, a class cltd
/// knows, 64 hex digits, no key twice) before any is accepted; `Err` names the bad lines
/// (the first twenty, and how many more). `cltd init --members-file` and `cltd propose
/// admit-members --roll` read rolls with it.
pub(crate) fn read_roll(text: &str) -> Result<Vec<Applicant>, String> {
    let mut members = Vec::new();
    let mut seen = std::collections::HashMap::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [name, class, key] = fields.as_slice() else {
            errors.push(format!(
                "line {n}: {} fields, expected NAME,CLASS,PUBLIC_KEY_HEX",
                fields.len()
            ));
            continue;
        };
        let class = StakeholderClass::parse(class).ok_or_else(|| {
            format!(
                "line {n}: `{class}` is not a stakeholder class ({})",
                StakeholderClass::ALL.map(StakeholderClass::name).join(", ")
            )
        });
        let key = hex::decode(key)
            .ok()
            .filter(|k| k.len() == 32)
            .ok_or_else(|| format!("line {n}: `{key}` is not 64 hex digits"));
        let name_ok = (!name.is_empty() && name.len() <= 200)
            .then_some(())
            .ok_or_else(|| format!("line {n}: a name is 1 to 200 bytes"));
        match (class, key, name_ok) {
            (Ok(class), Ok(key), Ok(())) => {
                if let Some(first) = seen.insert(key.clone(), n) {
                    errors.push(format!("line {n}: the same key as line {first}"));
                    continue;
                }
                members.push(Applicant {
                    key,
                    name: (*name).to_string(),
                    class,
                });
            }
            (class, key, name_ok) => {
                errors.extend(
                    [class.err(), key.err(), name_ok.err()]
                        .into_iter()
                        .flatten(),
                );
            }
        }
    }
    if errors.is_empty() {
        return Ok(members);
    }
    let more = errors.len().saturating_sub(ROLL_ERRORS_SHOWN);
    let mut text = errors
        .into_iter()
        .take(ROLL_ERRORS_SHOWN)
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    Err(text)
}

/// `cltd init`: found a trust (or, with `--from`, its successor).
pub(crate) fn init(ctx: &mut Ctx, args: InitArgs) -> Result<i32> {
    if let Some(from) = &args.from {
        return succeed(ctx, from, &args);
    }
    let dir = &ctx.data_dir();
    let bylaws_dir = &ctx.bylaws_dir.clone();
    let keyring = Keyring::new(dir);
    let mut founders = Vec::new();
    for f in &args.founders {
        let parts: Vec<&str> = f.splitn(3, ':').collect();
        let (name, class) = match parts.as_slice() {
            [n, c] | [n, c, _] => (*n, *c),
            _ => bail!("--founder `{f}` must be NAME:CLASS or NAME:CLASS:PUBLIC_KEY_HEX"),
        };
        let class = StakeholderClass::parse(class).with_context(|| {
            format!(
                "`{class}` is not a stakeholder class ({})",
                StakeholderClass::ALL.map(StakeholderClass::name).join(", ")
            )
        })?;
        let key = match parts.get(2) {
            Some(hexkey) => hex::decode(hexkey)
                .ok()
                .filter(|k| k.len() == 32)
                .with_context(|| format!("`{hexkey}` is not 64 hex digits"))?,
            None => keyring.load(name)?.public().to_vec(),
        };
        founders.push(Applicant {
            key,
            name: name.to_string(),
            class,
        });
    }
    if let Some(path) = &args.members_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the roll {}", path.display()))?;
        founders.extend(read_roll(&text).map_err(|e| {
            anyhow::anyhow!("the roll {}: nothing was founded: {e}", path.display())
        })?);
    }
    let mut assets = Vec::new();
    for a in &args.assets {
        let parts: Vec<&str> = a.splitn(4, ':').collect();
        let [id, kind, lock, rest @ ..] = parts.as_slice() else {
            bail!("--asset `{a}` must be ID:KIND:LOCK[:DESCRIPTION]");
        };
        let kind = AssetKind::parse(kind).with_context(|| {
            format!(
                "`{kind}` is not an asset kind ({})",
                AssetKind::ALL.map(AssetKind::name).join(", ")
            )
        })?;
        let lock = match *lock {
            "perpetual" => LockStatus::Perpetual,
            "unlocked" => LockStatus::Unlocked,
            other => bail!("`{other}` is not perpetual or unlocked"),
        };
        assets.push(AssetDraft {
            id: id.to_string(),
            kind,
            lock,
            description: rest.first().unwrap_or(&"").to_string(),
            fields: args
                .fields
                .iter()
                .filter_map(|f| f.strip_prefix(&format!("{id}:")))
                .map(data_field)
                .collect::<Result<_>>()?,
        });
    }
    if let Some(f) = args
        .fields
        .iter()
        .find(|f| !assets.iter().any(|a| f.starts_with(&format!("{}:", a.id))))
    {
        bail!("--field `{f}` names no --asset (use ASSET:FIELD[:personal])");
    }
    let params = params_of(&args.params)?;
    let entrenched = match args.entrench.as_slice() {
        [] => Clause::ALL.to_vec(),
        [none] if none == "none" => Vec::new(),
        names => names
            .iter()
            .map(|n| {
                Clause::parse(n).with_context(|| {
                    format!(
                        "`{n}` is not an entrenched clause ({} or none)",
                        Clause::ALL.map(Clause::name).join(", ")
                    )
                })
            })
            .collect::<Result<_>>()?,
    };
    let wasm = setup::read_bylaw(&args.bylaw, bylaws_dir)?;
    let charter = Charter {
        name: args.name.context("a trust needs a --name")?,
        params,
        founders,
        assets,
        entrenched,
        treasury: args
            .currency
            .as_ref()
            .map(|c| cltd_runtime::TreasuryCharter {
                currency: c.clone(),
                accounts: args.accounts.clone(),
            }),
    };
    let trust = Trust::create(
        dir,
        setup::runtime()?,
        charter,
        &wasm,
        Box::new(SystemClock),
    )?;
    let s = trust.state();
    let kept: Vec<&str> = s.entrenched.iter().map(|c| c.name()).collect();
    let value = json!({
        "trust_id": trust.id_hex(),
        "dir": dir.display().to_string(),
        "module": hex::encode(s.module),
        "members": s.members.len(),
        "entrenched": kept,
    });
    ctx.print(&value, || {
        format!(
            "founded trust {} in {}\nbylaw module {}\nfounding checks passed: the bylaw reads every charter parameter{}",
            trust.id_hex(),
            dir.display(),
            hex::encode(s.module),
            if kept.is_empty() {
                "; no clause is entrenched".to_string()
            } else {
                format!(
                    ", and keeps the entrenched clauses ({}) on their conformance vectors",
                    kept.join(", ")
                )
            }
        )
    })?;
    Ok(crate::EXIT_OK)
}

/// `cltd keys new|list`: the local keyring.
pub(crate) fn keys(ctx: &mut Ctx, command: KeysCommand) -> Result<i32> {
    let keyring = Keyring::new(&ctx.data_dir());
    match command {
        KeysCommand::New { name } => {
            let public = hex::encode(keyring.create(&name)?.public());
            ctx.print(&json!({"name": name, "public_key": public}), || {
                format!("{name} {public}")
            })?;
        }
        KeysCommand::List => {
            let list = keyring.list()?;
            let v: Vec<_> = list
                .iter()
                .map(|(n, k)| json!({"name": n, "public_key": hex::encode(k.public())}))
                .collect();
            ctx.print(&v, || {
                list.iter()
                    .map(|(n, k)| format!("{n:<16} {}", hex::encode(k.public())))
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
    }
    Ok(crate::EXIT_OK)
}

/// `cltd demo`: the narrated demo on a fresh store.
pub(crate) fn demo(ctx: &mut Ctx) -> Result<i32> {
    let wasm = setup::read_bylaw("classic-clt", &ctx.bylaws_dir)?;
    let dir = match &ctx.data_dir_given {
        Some(d) => d.clone(),
        None => tempfile::Builder::new()
            .prefix("cltd-demo-")
            .tempdir()?
            .keep(),
    };
    let report = crate::demo::run(&dir, &wasm, &ctx.program, ctx.out)?;
    ctx.out.flush()?;
    Ok(if report.verified {
        crate::EXIT_OK
    } else {
        crate::EXIT_VERIFY_FAILED
    })
}
