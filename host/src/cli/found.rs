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
    #[arg(long = "founder", required_unless_present = "from")]
    founders: Vec<String>,
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
    /// Found the successor of the trust in this data directory, a store an earlier cltd made
    /// (which this one cannot run): its name, members, assets and entrenched clauses carry
    /// over, its charter with --param and --unset applied; that store is left unchanged.
    #[arg(long, value_name = "EARLIER_DATA_DIR",
          conflicts_with_all = ["name", "founders", "assets", "fields", "entrench"])]
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
    let earlier = cltd_runtime::read_earlier(from)?;
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
