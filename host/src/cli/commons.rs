//! The commons economy on the command line: the proposal kinds of `cltd propose` that
//! govern money and licences, `cltd treasury` (show it, record income and expenditure) and
//! `cltd budget` (submit a project, cast an approval ballot, show a round). Amounts are
//! written in the currency's major units with at most two decimals (`12.50`), and kept as
//! whole minor units: a fraction of a cent is refused, never rounded.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use cltd_runtime::{
    Action, Allocation, Appointment, Approval, LicenceTerms, Parameter, Payment, PaymentDirection,
    ProjectDraft, ProposalBody, RoundTerms, Share, Spending, parse_money,
};

use super::Ctx;
use crate::keyring::Keyring;
use crate::setup;
use crate::wire::{RoundDoc, TreasuryDoc};

/// The proposal kinds of the commons economy (subcommands of `cltd propose`).
#[derive(Subcommand)]
pub(crate) enum EconomyKind {
    /// Give a member a role (e.g. treasurer), or take it away with --remove.
    Appoint {
        /// The member: a keyring name or 64 hex digits.
        #[arg(long)]
        member: String,
        /// The role, kebab-case.
        #[arg(long)]
        role: String,
        /// Take the role away instead.
        #[arg(long)]
        remove: bool,
    },
    /// Adopt a budget line: authority to spend up to an amount from an account.
    Spend {
        /// The account it spends from.
        #[arg(long)]
        account: String,
        /// The most it authorises (e.g. 120.50).
        #[arg(long)]
        amount: String,
        /// Who is to be paid.
        #[arg(long)]
        payee: String,
        /// What for.
        #[arg(long)]
        purpose: String,
    },
    /// Move money out of one account into others (e.g. a year-end surplus allocation).
    Allocate {
        /// The account the money leaves.
        #[arg(long = "from")]
        source: String,
        /// A share, ACCOUNT=AMOUNT (repeat).
        #[arg(long = "share", required = true)]
        shares: Vec<String>,
    },
    /// Open a participatory budgeting round.
    BudgetRound {
        /// The account the budget is taken from.
        #[arg(long)]
        account: String,
        /// The whole budget (e.g. 5000).
        #[arg(long)]
        budget: String,
        /// Days of the submission phase; approval ballots follow until the window closes.
        #[arg(long = "submission-days")]
        submission_days: u64,
    },
    /// License a dataset's fields to a third party.
    License {
        /// The licensee's name.
        #[arg(long)]
        licensee: String,
        /// The licensee's public key: a keyring name or 64 hex digits.
        #[arg(long = "licensee-key")]
        licensee_key: String,
        /// The dataset.
        #[arg(long)]
        asset: String,
        /// A field licensed (repeat; none licenses the whole dataset).
        #[arg(long = "field")]
        fields: Vec<String>,
        /// The category of use (e.g. public-good, research, commercial).
        #[arg(long)]
        category: String,
        /// The stated purpose.
        #[arg(long)]
        purpose: String,
        /// How long it lasts once executed, in days.
        #[arg(long = "term-days")]
        term_days: u64,
        /// The fee (the fee schedule's price for the category).
        #[arg(long)]
        price: String,
    },
    /// End a licence before its term.
    RevokeLicence {
        /// The licence's number.
        #[arg(long)]
        licence: u64,
    },
    /// Replace the fee schedule in force.
    SetFees {
        /// A fee, ITEM.TIER=AMOUNT (e.g. membership.standard=12, licence.research=250;
        /// repeat).
        #[arg(long = "fee", required = true)]
        fees: Vec<String>,
    },
}

/// `cltd treasury`.
#[derive(Subcommand)]
pub(crate) enum TreasuryCommand {
    /// Show balances, budget lines and what is left of them, the latest payments, licences
    /// and the fee schedule.
    Show,
    /// Record income (membership or service fees, licence fees, grants, donations).
    Receive {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// The account credited.
        #[arg(long, default_value = "operating")]
        account: String,
        /// How much (e.g. 12.50).
        #[arg(long)]
        amount: String,
        /// membership-fee, service-fee, licence-fee, grant or donation.
        #[arg(long)]
        category: String,
        /// Who paid.
        #[arg(long = "from")]
        payer: String,
        /// The outside reference (invoice, bank transfer).
        #[arg(long, default_value = "")]
        reference: String,
        /// A licence fee: the licence it pays for.
        #[arg(long)]
        licence: Option<u64>,
    },
    /// Record expenditure against a budget line.
    Pay {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// The budget line it spends.
        #[arg(long)]
        line: u64,
        /// The account debited (the line's own).
        #[arg(long)]
        account: String,
        /// How much (e.g. 120).
        #[arg(long)]
        amount: String,
        /// Who was paid.
        #[arg(long = "to")]
        payee: String,
        /// The outside reference.
        #[arg(long, default_value = "")]
        reference: String,
    },
}

/// `cltd budget`.
#[derive(Subcommand)]
pub(crate) enum BudgetCommand {
    /// Submit a project to a round in its submission phase.
    Submit {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// The round's proposal number.
        #[arg(long)]
        round: u64,
        /// Title.
        #[arg(long)]
        title: String,
        /// What it costs (e.g. 800).
        #[arg(long)]
        cost: String,
        /// What it is.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Cast an approval ballot: every project you support, once.
    Approve {
        /// Sign as this key: a keyring name, or a secret key file.
        #[arg(long = "as")]
        signer: String,
        /// The round's proposal number.
        #[arg(long)]
        round: u64,
        /// A project you approve, by number (repeat).
        #[arg(long = "project", required = true)]
        projects: Vec<u32>,
    },
    /// Show a round: its phase, projects, approvals and, once closed, the result.
    Show {
        /// The round's proposal number.
        round: u64,
    },
}

fn money(what: &str, text: &str) -> Result<u64> {
    parse_money(text).map_err(|e| anyhow::anyhow!("--{what}: {e}; nothing was signed"))
}

fn pair(flag: &str, text: &str) -> Result<(String, String)> {
    let (k, v) = text
        .split_once('=')
        .with_context(|| format!("--{flag} `{text}` must be NAME=AMOUNT"))?;
    Ok((k.to_string(), v.to_string()))
}

/// The body of a proposal of one of the economy's kinds.
pub(crate) fn body(kind: EconomyKind, keyring: &Keyring) -> Result<ProposalBody> {
    Ok(match kind {
        EconomyKind::Appoint {
            member,
            role,
            remove,
        } => ProposalBody::Appoint(Appointment {
            member: keyring.resolve_public(&member)?,
            role,
            holds: !remove,
        }),
        EconomyKind::Spend {
            account,
            amount,
            payee,
            purpose,
        } => ProposalBody::Spend(Spending {
            account,
            amount: money("amount", &amount)?,
            payee,
            purpose,
        }),
        EconomyKind::Allocate { source, shares } => ProposalBody::Allocate(Allocation {
            source,
            shares: shares
                .iter()
                .map(|s| {
                    let (account, amount) = pair("share", s)?;
                    Ok(Share {
                        amount: money("share", &amount)?,
                        account,
                    })
                })
                .collect::<Result<_>>()?,
        }),
        EconomyKind::BudgetRound {
            account,
            budget,
            submission_days,
        } => ProposalBody::BudgetRound(RoundTerms {
            account,
            budget: money("budget", &budget)?,
            submission: submission_days.saturating_mul(86_400),
        }),
        EconomyKind::License {
            licensee,
            licensee_key,
            asset,
            fields,
            category,
            purpose,
            term_days,
            price,
        } => ProposalBody::License(LicenceTerms {
            licensee,
            licensee_key: keyring.resolve_public(&licensee_key)?,
            asset_id: asset,
            fields,
            category,
            purpose,
            term: term_days.saturating_mul(86_400),
            price: money("price", &price)?,
        }),
        EconomyKind::RevokeLicence { licence } => ProposalBody::RevokeLicence(licence),
        EconomyKind::SetFees { fees } => ProposalBody::SetFees(
            fees.iter()
                .map(|f| {
                    let (key, amount) = pair("fee", f)?;
                    Ok(Parameter {
                        key,
                        value: money("fee", &amount)?.to_string(),
                    })
                })
                .collect::<Result<_>>()?,
        ),
    })
}

/// The treasury, from the store or the server.
fn treasury_doc(ctx: &Ctx) -> Result<TreasuryDoc> {
    match &ctx.remote {
        Some(remote) => {
            let id = remote.trust_id()?;
            serde_json::from_value(remote.get(&format!("/v1/trusts/{id}/treasury"))?)
                .context("the server's treasury does not read as expected")
        }
        None => {
            let trust = setup::open_for_reading(&ctx.data_dir())?;
            Ok(TreasuryDoc::of(trust.state(), trust.now()))
        }
    }
}

/// The trust's currency, which every payment names.
fn currency(ctx: &Ctx) -> Result<String> {
    treasury_doc(ctx)?.currency.context(
        "this trust keeps no treasury (it was founded without --currency): nothing was signed",
    )
}

/// `cltd treasury ...`.
pub(crate) fn treasury(ctx: &mut Ctx, command: TreasuryCommand) -> Result<i32> {
    match command {
        TreasuryCommand::Show => {
            let doc = treasury_doc(ctx)?;
            ctx.print(&doc, || doc.text())?;
            Ok(crate::EXIT_OK)
        }
        TreasuryCommand::Receive {
            signer,
            account,
            amount,
            category,
            payer,
            reference,
            licence,
        } => {
            let payment = Payment {
                direction: PaymentDirection::Income,
                account,
                amount: money("amount", &amount)?,
                currency: currency(ctx)?,
                category,
                counterparty: payer,
                reference,
                against: licence,
            };
            super::act::submit(ctx, &signer, Action::RecordPayment(payment))
        }
        TreasuryCommand::Pay {
            signer,
            line,
            account,
            amount,
            payee,
            reference,
        } => {
            let payment = Payment {
                direction: PaymentDirection::Expenditure,
                account,
                amount: money("amount", &amount)?,
                currency: currency(ctx)?,
                category: cltd_runtime::EXPENDITURE_CATEGORY.into(),
                counterparty: payee,
                reference,
                against: Some(line),
            };
            super::act::submit(ctx, &signer, Action::RecordPayment(payment))
        }
    }
}

/// `cltd budget ...`.
pub(crate) fn budget(ctx: &mut Ctx, command: BudgetCommand) -> Result<i32> {
    match command {
        BudgetCommand::Submit {
            signer,
            round,
            title,
            cost,
            description,
        } => {
            let draft = ProjectDraft {
                round,
                title,
                description,
                cost: money("cost", &cost)?,
            };
            super::act::submit(ctx, &signer, Action::SubmitProject(draft))
        }
        BudgetCommand::Approve {
            signer,
            round,
            projects,
        } => super::act::submit(ctx, &signer, Action::Approve(Approval { round, projects })),
        BudgetCommand::Show { round } => {
            let doc: RoundDoc = match &ctx.remote {
                Some(remote) => {
                    let id = remote.trust_id()?;
                    serde_json::from_value(remote.get(&format!("/v1/trusts/{id}/rounds/{round}"))?)
                        .context("the server's round does not read as expected")?
                }
                None => {
                    let trust = setup::open_for_reading(&ctx.data_dir())?;
                    match RoundDoc::of(trust.state(), round, trust.now()) {
                        Some(doc) => doc,
                        None => bail!("proposal {round} is not a budgeting round"),
                    }
                }
            };
            ctx.print(&doc, || doc.text())?;
            Ok(crate::EXIT_OK)
        }
    }
}
