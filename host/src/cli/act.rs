//! The member verbs: `propose`, `vote`, `close`, `execute`, `withdraw`, `delegate`,
//! `asset`; each signs one transition with a keyring key and submits it.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cltd_runtime::{
    AccessRequest, Action, Amendment, Applicant, AssetDraft, Choice, Clock, Delegation, Disposal,
    Error, Parameter, ProposalBody, ProposalDraft, Resolution, SignedTransition, SystemClock, Vote,
};
use serde_json::json;

use super::Ctx;
use super::args::*;
use crate::keyring::Keyring;
use crate::{render, setup};

#[derive(Args)]
pub(crate) struct ProposeArgs {
    /// Sign as this key: a keyring name, or a secret key file.
    #[arg(long = "as")]
    signer: String,
    /// Title.
    #[arg(long)]
    title: String,
    /// Full text.
    #[arg(long, default_value = "")]
    text: String,
    /// Voting window in days.
    #[arg(long, default_value_t = 7)]
    days: u64,
    #[command(subcommand)]
    kind: ProposalKind,
}

#[derive(Subcommand)]
pub(crate) enum ProposalKind {
    /// An ordinary resolution.
    Ordinary,
    /// Admit an applicant.
    Admit {
        /// The applicant's key: a keyring name or 64 hex digits.
        #[arg(long)]
        key: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Stakeholder class.
        #[arg(long, value_enum)]
        class: ClassArg,
    },
    /// Admit several applicants by one resolution, from a membership roll.
    AdmitMembers {
        /// The roll: one applicant per line, `NAME,CLASS,PUBLIC_KEY_HEX` (blank lines and
        /// lines starting with `#` skipped), as for `cltd init --members-file`; at most
        /// 1,000 applicants. The whole roll is checked before anything is signed.
        #[arg(long, value_name = "ROLL_CSV")]
        roll: std::path::PathBuf,
    },
    /// Remove a member.
    Remove {
        /// The member's key: a keyring name or 64 hex digits.
        #[arg(long)]
        member: String,
    },
    /// Sell, transfer or exclusively licence an asset.
    Dispose {
        /// Asset id.
        #[arg(long)]
        asset: String,
        /// Recipient and terms.
        #[arg(long)]
        recipient: String,
    },
    /// Grant a member access to a data asset.
    Grant {
        /// The grantee's key: a keyring name or 64 hex digits.
        #[arg(long)]
        grantee: String,
        /// Data asset id.
        #[arg(long)]
        asset: String,
        /// Stated purpose.
        #[arg(long)]
        purpose: String,
        /// How long the grant lasts, in days.
        #[arg(long = "for-days")]
        for_days: u64,
        /// A field asked for (repeat; none asks for the whole dataset).
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// A resolution of a kind the bylaws define.
    Resolution {
        /// Its kind.
        #[arg(long)]
        kind: String,
        /// A term, KEY=VALUE (repeat).
        #[arg(long = "term")]
        terms: Vec<String>,
    },
    /// Amend the bylaws: put an uploaded module in force, with a changed charter.
    Amend {
        /// The candidate's blake3 hash (from `cltd bylaws upload`; the module in force for a
        /// charter-only amendment).
        #[arg(long)]
        module: String,
        /// Change a charter parameter, KEY=VALUE.
        #[arg(long)]
        set: Vec<String>,
        /// Remove a charter parameter.
        #[arg(long)]
        unset: Vec<String>,
        /// Release an entrenched clause (the host's entrenched procedure then applies).
        #[arg(long)]
        release: Vec<String>,
    },
    #[command(flatten)]
    Economy(super::commons::EconomyKind),
}

#[derive(Args)]
pub(crate) struct ProposalRef {
    /// Sign as this key: a keyring name, or a secret key file.
    #[arg(long = "as")]
    signer: String,
    /// Proposal number.
    proposal: u64,
}

#[derive(Subcommand)]
pub(crate) enum AssetCommand {
    /// Bring a new asset into the trust.
    Register {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// Asset id.
        id: String,
        /// Kind of asset.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Lock status.
        #[arg(long, value_enum, default_value = "unlocked")]
        lock: LockArg,
        /// Description.
        #[arg(long, default_value = "")]
        description: String,
        /// A dataset's field (repeat); NAME, or NAME:personal for a field of personal data.
        #[arg(long = "field")]
        fields: Vec<String>,
    },
    /// Put an asset under the perpetual asset lock.
    Lock {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// Asset id.
        id: String,
    },
}

/// Sign `action` with the key `signer` names (keyring name or key file) at its next
/// sequence number, submit it (to the store, or with `--server` to the server), and print
/// the receipt (exit 2 when the bylaws denied it; a refusal is an error).
pub(crate) fn submit(ctx: &mut Ctx, signer: &str, action: Action) -> Result<i32> {
    let kp = ctx.signing_key(signer)?;
    if let Some(remote) = &ctx.remote {
        let id = remote.trust_id()?;
        let seq = remote.next_seq(&id, &kp.member_key())?;
        let bytes = SignedTransition::sign(&kp, id, seq, action).to_bytes();
        let r = remote
            .post(
                &format!("/v1/trusts/{id}/transitions"),
                "application/octet-stream",
                &bytes,
            )
            .context("refused, nothing recorded")?;
        let receipt = json!({
            "signer": signer,
            "public_key": r["signer"],
            "action": r["action"],
            "index": r["index"],
            "entry_hash": r["entry_hash"],
            "time": r["time"],
            "module": r["module"],
            "verdict": r["verdict"],
            "effects": r["effects"],
            "fuel": r["fuel"],
        });
        let verdict = r["verdict_text"].as_str().unwrap_or_default().to_string();
        return print_receipt(ctx, receipt, &verdict);
    }
    let dir = ctx.data_dir();
    let mut trust = setup::open(&dir, Box::new(SystemClock))?;
    let seq = trust.state().next_seq(&kp.member_key());
    let line = render::action_text(trust.state(), &action);
    let bytes = SignedTransition::sign(&kp, trust.id(), seq, action).to_bytes();
    let r = match trust.submit(&bytes) {
        Ok(r) => r,
        Err(e @ Error::Refused(_)) => {
            return Err(anyhow::Error::new(e).context("refused, nothing recorded"));
        }
        Err(e) => return Err(e.into()),
    };
    let s = trust.state();
    let verdict = render::as_recorded(s, &r.action, &r.verdict);
    let effects: Vec<String> = r
        .effects
        .iter()
        .map(|e| render::effect_text(s, e))
        .collect();
    let receipt = json!({
        "signer": signer,
        "public_key": hex::encode(r.signer),
        "action": line,
        "index": r.index,
        "entry_hash": hex::encode(r.entry_hash),
        "time": r.time,
        "module": hex::encode(r.module),
        "verdict": crate::wire::VerdictDoc::of(&verdict),
        "effects": effects,
        "fuel": r.fuel,
    });
    print_receipt(ctx, receipt, &render::verdict_text(&verdict))
}

/// Print a receipt (the JSON under `--json`, else its lines) and give the exit code its
/// verdict means: one printer for receipts from the store and from a server.
fn print_receipt(ctx: &mut Ctx, receipt: serde_json::Value, verdict: &str) -> Result<i32> {
    let allowed = receipt["verdict"]["allowed"].as_bool().unwrap_or(false);
    ctx.print(&receipt, || {
        let mut text = format!(
            "{}: {}\nentry {} ({})\n-> {verdict}",
            receipt["signer"].as_str().unwrap_or_default(),
            receipt["action"].as_str().unwrap_or_default(),
            receipt["index"],
            receipt["entry_hash"].as_str().unwrap_or_default(),
        );
        for e in receipt["effects"].as_array().into_iter().flatten() {
            text.push_str(&format!("\n   {}", e.as_str().unwrap_or_default()));
        }
        text
    })?;
    Ok(if allowed {
        crate::EXIT_OK
    } else {
        crate::EXIT_DENIED
    })
}

/// `cltd propose`: open a proposal of any kind, signed with a keyring key.
pub(crate) fn propose(ctx: &mut Ctx, args: ProposeArgs) -> Result<i32> {
    let dir = ctx.data_dir();
    let keyring = Keyring::new(&dir);
    let body = match args.kind {
        ProposalKind::Ordinary => ProposalBody::Ordinary,
        ProposalKind::Admit { key, name, class } => ProposalBody::AdmitMember(Applicant {
            key: keyring.resolve_public(&key)?,
            name,
            class: class.into(),
        }),
        ProposalKind::AdmitMembers { roll } => {
            let text = std::fs::read_to_string(&roll)
                .with_context(|| format!("reading the roll {}", roll.display()))?;
            let list = super::found::read_roll(&text).map_err(|e| {
                anyhow::anyhow!("the roll {}: nothing was proposed: {e}", roll.display())
            })?;
            if list.is_empty() {
                bail!(
                    "the roll {} lists nobody: nothing was proposed",
                    roll.display()
                );
            }
            if list.len() > cltd_runtime::MAX_APPLICANTS {
                bail!(
                    "the roll {} lists {} applicants; one proposal admits at most {}: split it",
                    roll.display(),
                    list.len(),
                    cltd_runtime::MAX_APPLICANTS
                );
            }
            ProposalBody::AdmitMembers(list)
        }
        ProposalKind::Remove { member } => {
            ProposalBody::RemoveMember(keyring.resolve_public(&member)?)
        }
        ProposalKind::Dispose { asset, recipient } => ProposalBody::DisposeAsset(Disposal {
            asset_id: asset,
            recipient,
        }),
        ProposalKind::Grant {
            grantee,
            asset,
            purpose,
            for_days,
            fields,
        } => ProposalBody::GrantAccess(AccessRequest {
            grantee: keyring.resolve_public(&grantee)?,
            asset_id: asset,
            fields,
            purpose,
            duration: for_days.saturating_mul(86_400),
        }),
        ProposalKind::Resolution { kind, terms } => ProposalBody::Resolution(Resolution {
            kind,
            terms: terms
                .iter()
                .map(|t| {
                    let (k, v) = t
                        .split_once('=')
                        .with_context(|| format!("--term `{t}` must be KEY=VALUE"))?;
                    Ok(Parameter {
                        key: k.to_string(),
                        value: v.to_string(),
                    })
                })
                .collect::<Result<_>>()?,
        }),
        ProposalKind::Amend {
            module,
            set,
            unset,
            release,
        } => {
            let current = match &ctx.remote {
                Some(remote) => remote.charter(&remote.trust_id()?)?,
                None => setup::open_for_reading(&dir)?.state().charter.clone(),
            };
            ProposalBody::AmendBylaws(Amendment {
                module: module.parse::<cltd_runtime::ModuleHash>()?.to_hex(),
                charter: super::amend::proposed_charter(&current, &set, &unset)?,
                releases: release,
            })
        }
        ProposalKind::Economy(kind) => super::commons::body(kind, &keyring)?,
    };
    let window = args.days.saturating_mul(86_400);
    submit(
        ctx,
        &args.signer,
        Action::Propose(ProposalDraft {
            body,
            title: args.title,
            text: args.text,
            window,
        }),
    )
}

/// `cltd vote`.
pub(crate) fn vote(ctx: &mut Ctx, signer: String, proposal: u64, choice: ChoiceArg) -> Result<i32> {
    let choice = match choice {
        ChoiceArg::Yes => Choice::Yes,
        ChoiceArg::No => Choice::No,
        ChoiceArg::Abstain => Choice::Abstain,
    };
    submit(ctx, &signer, Action::Vote(Vote { proposal, choice }))
}

/// `cltd delegate`: name a proxy until a date, or withdraw one.
pub(crate) fn delegate(
    ctx: &mut Ctx,
    signer: String,
    to: Option<String>,
    days: u64,
    withdraw: bool,
) -> Result<i32> {
    let delegation = match (to, withdraw) {
        (Some(to), false) => Delegation {
            delegate: Some(Keyring::new(&ctx.data_dir()).resolve_public(&to)?),
            until: SystemClock
                .now()
                .saturating_add(days.saturating_mul(86_400)),
        },
        _ => Delegation {
            delegate: None,
            until: 0,
        },
    };
    submit(ctx, &signer, Action::Delegate(delegation))
}

/// `cltd asset register|lock`.
pub(crate) fn asset(ctx: &mut Ctx, command: AssetCommand) -> Result<i32> {
    match command {
        AssetCommand::Register {
            signer,
            id,
            kind,
            lock,
            description,
            fields,
        } => submit(
            ctx,
            &signer,
            Action::RegisterAsset(AssetDraft {
                id,
                kind: kind.into(),
                lock: lock.into(),
                description,
                fields: fields
                    .iter()
                    .map(|f| data_field(f))
                    .collect::<Result<_>>()?,
            }),
        ),
        AssetCommand::Lock { signer, id } => submit(ctx, &signer, Action::LockAsset(id)),
    }
}

/// `cltd close|execute|withdraw N`: one action on a proposal, signed with a keyring key.
pub(crate) fn on_proposal(
    ctx: &mut Ctx,
    target: ProposalRef,
    action: fn(u64) -> Action,
) -> Result<i32> {
    submit(ctx, &target.signer, action(target.proposal))
}
