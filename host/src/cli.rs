//! The `cltd` command line: argument parsing and one handler per verb, writing to the
//! given output so tests can drive it exactly as a user would.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::keyring::Keyring;
use crate::{amend, guest, render, setup};
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cltd_runtime::{
    AccessRequest, Action, Amendment, Applicant, AssetDraft, AssetKind, Charter, Choice, Clause,
    Clock, DataField, Delegation, Disposal, Error, LockStatus, Parameter, ProposalBody,
    ProposalDraft, Resolution, SignedTransition, StakeholderClass, SystemClock, Trust, Vote,
};
use serde_json::json;

/// cltd: a governance runtime for digital community land trusts.
///
/// Exit codes: 0 ok (or allowed), 1 error (including refusals by the host), 2 denied by the
/// bylaws (the denial is logged), 3 verification failed.
#[derive(Parser)]
#[command(name = "cltd", version, about, long_about = None)]
struct Cli {
    /// The trust's data directory.
    #[arg(long, global = true, env = "CLTD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where built bylaws (NAME.wasm) are looked up.
    #[arg(long, global = true, env = "CLTD_BYLAWS_DIR")]
    bylaws_dir: Option<PathBuf>,
    /// Print JSON instead of text: state, log and verification reports, and the receipt of
    /// every write command.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the narrated demo on a fresh store (in --data-dir, or a new temporary directory).
    Demo,
    /// Found a trust.
    Init(InitArgs),
    /// Manage the local keyring (DATA_DIR/keys).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Propose a resolution.
    Propose(ProposeArgs),
    /// Vote on an open proposal.
    Vote {
        /// Sign as this key (keyring name).
        #[arg(long = "as")]
        signer: String,
        /// Proposal number.
        proposal: u64,
        /// Your ballot.
        choice: ChoiceArg,
    },
    /// Close voting on a proposal whose window has ended, and tally it.
    Close(ProposalRef),
    /// Carry out a passed proposal.
    Execute(ProposalRef),
    /// Withdraw your open proposal.
    Withdraw(ProposalRef),
    /// Delegate your vote to another member until a date (a proxy, where the bylaws allow
    /// one), or withdraw your delegation.
    Delegate {
        /// Sign as this key (keyring name).
        #[arg(long = "as")]
        signer: String,
        /// The delegate: a keyring name or 64 hex digits.
        #[arg(long, required_unless_present = "withdraw")]
        to: Option<String>,
        /// How many days the delegation lasts.
        #[arg(long, default_value_t = 90)]
        days: u64,
        /// Withdraw the delegation in force instead.
        #[arg(long, conflicts_with = "to")]
        withdraw: bool,
    },
    /// Register or lock assets.
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
    },
    /// Show the trust's state.
    Show {
        /// What to show.
        #[arg(value_enum, default_value = "all")]
        what: ShowWhat,
        /// A proposal number, with `proposal`.
        id: Option<u64>,
    },
    /// List the log.
    Log {
        /// First entry.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Most entries.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Replay the whole log from genesis against the stored modules (exit 3 on divergence).
    Verify,
    /// Measure bylaw and transition latency and throughput (forwards to the `cltd-bench`
    /// binary beside this one: `cargo build --release -p cltd-bench`; `cltd bench --help`
    /// lists its options).
    #[command(disable_help_flag = true)]
    Bench {
        /// The options `cltd-bench bench` takes.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Crash consistency: SIGKILL a loaded `cltd serve` at random moments and check that no
    /// acknowledged transition is lost (forwards to `cltd-bench crash-test`).
    #[command(disable_help_flag = true)]
    CrashTest {
        /// The options `cltd-bench crash-test` takes.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Work with bylaw components: build, upload, verify against source.
    Bylaws {
        #[command(subcommand)]
        command: BylawsCommand,
    },
    /// Amendments: impact previews of candidate bylaws.
    Amend {
        #[command(subcommand)]
        command: AmendCommand,
    },
    /// Explain one log entry: who asked what, the rules then in force, the proposal's tally
    /// as it stood, the verdict with the bylaw's clause and numbers, the effects, the fuel
    /// (re-executed from genesis to that entry).
    Explain {
        /// The entry's index in the log.
        index: u64,
    },
    /// Print the log's checkpoint (C2SP signed note), signed by the host key.
    Checkpoint,
    /// Prove that an entry is in the log, or that the log extends an earlier size.
    Prove {
        #[command(subcommand)]
        command: ProveCommand,
    },
    /// Write an audit bundle: every entry, every module, a signed checkpoint, the keys.
    Export {
        /// Where to write it.
        #[arg(long, default_value = "trust.cltd-bundle")]
        out: PathBuf,
    },
    /// Verify or explain an audit bundle, offline.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Serve the dashboard (`/`), the JSON API (`/v1`, documented at `/docs` and
    /// `/openapi.json`) and `/metrics` for the trust in --data-dir, or for every trust in the
    /// subdirectories of --trusts.
    Serve {
        /// Address to listen on (loopback unless you say otherwise).
        #[arg(long, default_value = "127.0.0.1:7300")]
        listen: String,
        /// A directory whose subdirectories are trusts' data directories.
        #[arg(long)]
        trusts: Option<PathBuf>,
        /// Seconds a read may take before it is answered 408.
        #[arg(long, default_value_t = 10)]
        read_timeout: u64,
        /// Seconds a write may take (uploads compile, previews replay the log).
        #[arg(long, default_value_t = 120)]
        write_timeout: u64,
        /// Sustained writes per second allowed from one client address.
        #[arg(long, default_value_t = 20)]
        writes_per_second: u32,
        /// Writes one client address may make in a burst above that rate.
        #[arg(long, default_value_t = 40)]
        write_burst: u32,
    },
    /// Witness other trusts' logs, or ask a witness to cosign this trust's checkpoint.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
}

#[derive(Subcommand)]
enum ProveCommand {
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
enum WitnessCommand {
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
enum AuditCommand {
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

#[derive(Subcommand)]
enum AmendCommand {
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
    },
    /// Print the stored impact preview of amendment proposal N.
    Show {
        /// Proposal number.
        proposal: u64,
    },
}

#[derive(Args)]
struct InitArgs {
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
enum KeysCommand {
    /// Make a new key pair and store it under NAME.
    New {
        /// Key name.
        name: String,
    },
    /// List stored keys and their public keys.
    List,
}

#[derive(Args)]
struct ProposeArgs {
    /// Sign as this key (keyring name).
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
enum ProposalKind {
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
    /// A resolution of a kind the bylaws define (e.g. platform-coop's surplus-allocation).
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
}

#[derive(Args)]
struct ProposalRef {
    /// Sign as this key (keyring name).
    #[arg(long = "as")]
    signer: String,
    /// Proposal number.
    proposal: u64,
}

#[derive(Subcommand)]
enum AssetCommand {
    /// Bring a new asset into the trust.
    Register {
        /// Sign as this key (keyring name).
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
        /// Sign as this key (keyring name).
        #[arg(long = "as")]
        signer: String,
        /// Asset id.
        id: String,
    },
}

#[derive(Subcommand)]
enum BylawsCommand {
    /// Print the blake3 hash a bylaw gets in the log (after conversion to a component).
    Hash {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Check a bylaw loads, and print what it says about itself.
    Describe {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Build a bylaw crate to Wasm with the pinned guest toolchain (reproducibly) and print
    /// the hash its component gets in a trust's log.
    Build {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// Where to write PACKAGE.wasm (default: the workspace's target/bylaws).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Rebuild a bylaw crate and say whether it gives the module with this hash (exit 3 if
    /// not), so members can read exactly the code they vote on.
    VerifySource {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// The module hash, e.g. from the log or an amendment proposal.
        hash: String,
    },
    /// Start a new bylaw crate from a template embedded in this binary (works offline): its
    /// sources, a README of its parameters and what it rejects, and scenario files.
    New {
        /// The crate's name (lowercase letters, digits, `-`).
        name: String,
        /// `minimal`, `classic-clt`, `civic-data-trust` or `platform-coop`.
        #[arg(long, default_value = "minimal")]
        template: String,
        /// Where to create it (default: the current directory).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The bylaws-sdk crate to depend on (default: the one beside this cltd build).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Say whether a component is valid for cltd: size, world and version, imports,
    /// exports, compiles, describes itself (exit 3 if not).
    Check {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// List a component's hash, size, imports and exports, WIT world and the SDK that
    /// built it.
    Inspect {
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
    /// Run a bylaw crate's scenario files (CRATE/scenarios/*.toml) against its built
    /// component through the real runtime: one line per scenario, then `N passed, N
    /// failed`; exit 3 if any failed.
    Test {
        /// The crate's directory.
        #[arg(value_name = "CRATE")]
        crate_dir: PathBuf,
        /// Test this component instead of building the crate.
        #[arg(long)]
        wasm: Option<PathBuf>,
        /// Scenario files or directories (default: CRATE/scenarios).
        #[arg(long)]
        scenarios: Vec<PathBuf>,
        /// Show every step's verdict and explanation, not only failures.
        #[arg(long)]
        explain: bool,
    },
    /// Upload a candidate bylaw to the trust's module store, signed by a member (checked
    /// first: size, signature and membership, world, imports, compile).
    Upload {
        /// Sign as this member (keyring name).
        #[arg(long = "as")]
        signer: String,
        /// A bylaw name or .wasm path.
        bylaw: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ChoiceArg {
    Yes,
    No,
    Abstain,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClassArg {
    Resident,
    Community,
    Public,
    Worker,
    User,
    DataEthicsCouncil,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Dataset,
    CodeRepository,
    Platform,
    Domain,
    Server,
}

#[derive(Clone, Copy, ValueEnum)]
enum LockArg {
    Perpetual,
    Unlocked,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ShowWhat {
    All,
    Members,
    Assets,
    Proposals,
    Proposal,
    Grants,
}

impl From<ClassArg> for StakeholderClass {
    fn from(c: ClassArg) -> Self {
        match c {
            ClassArg::Resident => StakeholderClass::Resident,
            ClassArg::Community => StakeholderClass::Community,
            ClassArg::Public => StakeholderClass::Public,
            ClassArg::Worker => StakeholderClass::Worker,
            ClassArg::User => StakeholderClass::User,
            ClassArg::DataEthicsCouncil => StakeholderClass::DataEthicsCouncil,
        }
    }
}

impl From<KindArg> for AssetKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Dataset => AssetKind::Dataset,
            KindArg::CodeRepository => AssetKind::CodeRepository,
            KindArg::Platform => AssetKind::Platform,
            KindArg::Domain => AssetKind::Domain,
            KindArg::Server => AssetKind::Server,
        }
    }
}

impl From<LockArg> for LockStatus {
    fn from(l: LockArg) -> Self {
        match l {
            LockArg::Perpetual => LockStatus::Perpetual,
            LockArg::Unlocked => LockStatus::Unlocked,
        }
    }
}

fn dispatch(cli: Cli, program: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let bylaws_dir = cli
        .bylaws_dir
        .clone()
        .unwrap_or_else(setup::default_bylaws_dir);
    let data_dir = || cli.data_dir.clone().unwrap_or_else(setup::default_data_dir);
    let json = cli.json;
    match cli.command {
        Command::Demo => {
            let wasm = setup::read_bylaw("classic-clt", &bylaws_dir)?;
            let dir = match &cli.data_dir {
                Some(d) => d.clone(),
                None => tempfile::Builder::new()
                    .prefix("cltd-demo-")
                    .tempdir()?
                    .keep(),
            };
            let report = crate::demo::run(&dir, &wasm, program, out)?;
            out.flush()?;
            Ok(if report.verified {
                crate::EXIT_OK
            } else {
                crate::EXIT_VERIFY_FAILED
            })
        }
        Command::Init(args) => init(out, &data_dir(), &bylaws_dir, args),
        Command::Keys { command } => keys(out, &data_dir(), command, json),
        Command::Propose(args) => {
            let dir = data_dir();
            let keyring = Keyring::new(&dir);
            let body = match args.kind {
                ProposalKind::Ordinary => ProposalBody::Ordinary,
                ProposalKind::Admit { key, name, class } => ProposalBody::AdmitMember(Applicant {
                    key: keyring.resolve_public(&key)?,
                    name,
                    class: class.into(),
                }),
                ProposalKind::Remove { member } => {
                    ProposalBody::RemoveMember(keyring.resolve_public(&member)?)
                }
                ProposalKind::Dispose { asset, recipient } => {
                    ProposalBody::DisposeAsset(Disposal {
                        asset_id: asset,
                        recipient,
                    })
                }
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
                    let current = setup::open(&dir, Box::new(SystemClock))?
                        .state()
                        .charter
                        .clone();
                    ProposalBody::AmendBylaws(Amendment {
                        module: hex::encode(amend::parse_hash(&module)?),
                        charter: amend::proposed_charter(&current, &set, &unset)?,
                        releases: release,
                    })
                }
            };
            let window = args.days.saturating_mul(86_400);
            submit(
                out,
                &dir,
                &args.signer,
                Action::Propose(ProposalDraft {
                    body,
                    title: args.title,
                    text: args.text,
                    window,
                }),
                json,
            )
        }
        Command::Vote {
            signer,
            proposal,
            choice,
        } => {
            let choice = match choice {
                ChoiceArg::Yes => Choice::Yes,
                ChoiceArg::No => Choice::No,
                ChoiceArg::Abstain => Choice::Abstain,
            };
            submit(
                out,
                &data_dir(),
                &signer,
                Action::Vote(Vote { proposal, choice }),
                json,
            )
        }
        Command::Close(r) => submit(out, &data_dir(), &r.signer, Action::Close(r.proposal), json),
        Command::Execute(r) => submit(
            out,
            &data_dir(),
            &r.signer,
            Action::Execute(r.proposal),
            json,
        ),
        Command::Withdraw(r) => submit(
            out,
            &data_dir(),
            &r.signer,
            Action::Withdraw(r.proposal),
            json,
        ),
        Command::Delegate {
            signer,
            to,
            days,
            withdraw,
        } => {
            let delegation = match (to, withdraw) {
                (Some(to), false) => Delegation {
                    delegate: Some(Keyring::new(&data_dir()).resolve_public(&to)?),
                    until: SystemClock
                        .now()
                        .saturating_add(days.saturating_mul(86_400)),
                },
                _ => Delegation {
                    delegate: None,
                    until: 0,
                },
            };
            submit(
                out,
                &data_dir(),
                &signer,
                Action::Delegate(delegation),
                json,
            )
        }
        Command::Asset { command } => match command {
            AssetCommand::Register {
                signer,
                id,
                kind,
                lock,
                description,
                fields,
            } => submit(
                out,
                &data_dir(),
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
                json,
            ),
            AssetCommand::Lock { signer, id } => {
                submit(out, &data_dir(), &signer, Action::LockAsset(id), json)
            }
        },
        Command::Show { what, id } => show(out, &data_dir(), what, id, json),
        Command::Log { from, limit } => log(out, &data_dir(), from, limit, json),
        Command::Verify => verify(out, &data_dir(), json),
        Command::Bylaws { command } => bylaws(out, &bylaws_dir, &data_dir(), command, json),
        Command::Bench { args } => forward("bench", &args, &cli.bylaws_dir, json, err),
        Command::CrashTest { args } => forward("crash-test", &args, &cli.bylaws_dir, json, err),
        Command::Checkpoint => crate::audit::checkpoint(out, &data_dir()),
        Command::Explain { index } => crate::audit::explain_live(out, &data_dir(), index, json),
        Command::Serve {
            listen,
            trusts,
            read_timeout,
            write_timeout,
            writes_per_second,
            write_burst,
        } => {
            let limits = crate::server::Limits {
                read_timeout: std::time::Duration::from_secs(read_timeout),
                write_timeout: std::time::Duration::from_secs(write_timeout),
                writes_per_second,
                write_burst,
            };
            let root = trusts.unwrap_or_else(data_dir);
            let hub = crate::server::Hub::open(&root)?;
            let listener = std::net::TcpListener::bind(&listen)
                .with_context(|| format!("listen on {listen}"))?;
            writeln!(
                out,
                "serving {} trust(s) from {} on http://{}/ (API: /v1/trusts, docs: /docs)",
                hub.len(),
                root.display(),
                listener.local_addr()?
            )?;
            out.flush()?;
            crate::server::serve(hub, listener, &limits)?;
            Ok(crate::EXIT_OK)
        }
        Command::Prove { command } => {
            let (index, old) = match command {
                ProveCommand::Inclusion { index } => (Some(index), None),
                ProveCommand::Consistency { old_size } => (None, Some(old_size)),
            };
            crate::audit::prove(out, &data_dir(), index, old, json)
        }
        Command::Witness { command } => match command {
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
                    let key = amend::parse_hash(key)?;
                    witness.add_log(origin, key)?;
                }
                let listener = std::net::TcpListener::bind(&listen)
                    .with_context(|| format!("listen on {listen}"))?;
                writeln!(
                    out,
                    "witness {name} (public key {}) listening on http://{}",
                    hex::encode(witness.public()),
                    listener.local_addr()?
                )?;
                out.flush()?;
                crate::witness::serve(witness, listener)?;
                Ok(crate::EXIT_OK)
            }
            WitnessCommand::Ask { url } => {
                let trust = setup::open(&data_dir(), Box::new(SystemClock))?;
                let note = crate::witness::ask(&trust, &url)?;
                let names: Vec<&str> = note.signatures.iter().map(|s| s.name.as_str()).collect();
                writeln!(out, "checkpoint signed by: {}", names.join(", "))?;
                write!(out, "{note}")?;
                Ok(crate::EXIT_OK)
            }
        },
        Command::Export { out: path } => crate::audit::export(out, &data_dir(), &path, json),
        Command::Audit { command } => match command {
            AuditCommand::Verify {
                bundle,
                no_reexec,
                state_dir,
                witness,
                quorum,
            } => crate::audit::verify(
                out,
                &bundle,
                &crate::audit::VerifyArgs {
                    state_dir: state_dir.unwrap_or_else(crate::audit::default_state_dir),
                    reexecute: !no_reexec,
                    witnesses: witness,
                    quorum,
                },
                json,
            ),
            AuditCommand::Explain { bundle, index } => {
                crate::audit::explain_entry(out, &bundle, index, json)
            }
        },
        Command::Amend { command } => match command {
            AmendCommand::Preview { module, set, unset } => {
                amend::preview(out, &data_dir(), &module, &set, &unset, json)
            }
            AmendCommand::Show { proposal } => amend::show(out, &data_dir(), proposal, json),
        },
    }
}

/// A dataset field from `NAME` or `NAME:personal`.
fn data_field(spec: &str) -> Result<DataField> {
    let (name, personal) = match spec.rsplit_once(':') {
        Some((name, "personal")) => (name, true),
        Some(_) => bail!("field `{spec}` must be NAME or NAME:personal"),
        None => (spec, false),
    };
    Ok(DataField {
        name: name.to_string(),
        personal,
    })
}

/// `--param KEY=VALUE` arguments as parameters.
fn params_of(args: &[String]) -> Result<Vec<Parameter>> {
    args.iter()
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .with_context(|| format!("--param `{p}` must be KEY=VALUE"))?;
            Ok(Parameter {
                key: k.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}

/// `cltd init --from EARLIER`: found the successor of a store an earlier cltd made.
fn succeed(
    out: &mut dyn Write,
    dir: &Path,
    bylaws_dir: &Path,
    from: &Path,
    args: &InitArgs,
) -> Result<i32> {
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
    writeln!(
        out,
        "founded trust {} in {}, the successor of trust {} (store format {}, {} log entries, head {}), which is left unchanged",
        trust.id_hex(),
        dir.display(),
        hex::encode(earlier.trust_id),
        earlier.format,
        earlier.size,
        hex::encode(earlier.head)
    )?;
    writeln!(
        out,
        "carried over: {} members, {} assets, the entrenched clauses and the charter{}; not carried over: {} proposals (propose again), delegations and grants",
        earlier.members.len(),
        earlier.assets.len(),
        if args.params.is_empty() && args.unset.is_empty() {
            ""
        } else {
            " (with your changes)"
        },
        earlier.proposals
    )?;
    writeln!(out, "bylaw module {}", hex::encode(trust.state().module))?;
    Ok(crate::EXIT_OK)
}

fn init(out: &mut dyn Write, dir: &Path, bylaws_dir: &Path, args: InitArgs) -> Result<i32> {
    if let Some(from) = &args.from {
        return succeed(out, dir, bylaws_dir, from, &args);
    }
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
    writeln!(out, "founded trust {} in {}", trust.id_hex(), dir.display())?;
    writeln!(out, "bylaw module {}", hex::encode(trust.state().module))?;
    let s = trust.state();
    let kept: Vec<&str> = s.entrenched.iter().map(|c| c.name()).collect();
    writeln!(
        out,
        "founding checks passed: the bylaw reads every charter parameter{}",
        if kept.is_empty() {
            "; no clause is entrenched".to_string()
        } else {
            format!(
                ", and keeps the entrenched clauses ({}) on their conformance vectors",
                kept.join(", ")
            )
        }
    )?;
    Ok(crate::EXIT_OK)
}

fn keys(out: &mut dyn Write, dir: &Path, command: KeysCommand, json: bool) -> Result<i32> {
    let keyring = Keyring::new(dir);
    match command {
        KeysCommand::New { name } => {
            let kp = keyring.create(&name)?;
            writeln!(out, "{name} {}", hex::encode(kp.public()))?;
        }
        KeysCommand::List => {
            let list = keyring.list()?;
            if json {
                let v: Vec<_> = list
                    .iter()
                    .map(|(n, k)| json!({"name": n, "public_key": hex::encode(k.public())}))
                    .collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for (n, k) in list {
                    writeln!(out, "{n:<16} {}", hex::encode(k.public()))?;
                }
            }
        }
    }
    Ok(crate::EXIT_OK)
}

fn submit(
    out: &mut dyn Write,
    dir: &Path,
    signer: &str,
    action: Action,
    json: bool,
) -> Result<i32> {
    let kp = Keyring::new(dir).load(signer)?;
    let mut trust = setup::open(dir, Box::new(SystemClock))?;
    let seq = trust.state().next_seq(&kp.public());
    let line = render::action_text(trust.state(), &action);
    let bytes = SignedTransition::sign(&kp, trust.id(), seq, action).to_bytes();
    match trust.submit(&bytes) {
        Ok(r) if json => {
            let receipt = json!({
                "signer": signer,
                "public_key": hex::encode(r.signer),
                "action": line,
                "index": r.index,
                "entry_hash": hex::encode(r.entry_hash),
                "time": r.time,
                "module": hex::encode(r.module),
                "verdict": render::verdict_json(&render::as_recorded(trust.state(), &r.action, &r.verdict)),
                "effects": r.effects.iter().map(|e| render::effect_text(trust.state(), e)).collect::<Vec<_>>(),
                "fuel": r.fuel,
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&receipt)?)?;
            Ok(if r.verdict.is_allowed() {
                crate::EXIT_OK
            } else {
                crate::EXIT_DENIED
            })
        }
        Ok(r) => {
            writeln!(out, "{signer}: {line}")?;
            writeln!(out, "entry {} ({})", r.index, hex::encode(r.entry_hash))?;
            writeln!(
                out,
                "-> {}",
                render::verdict_text(&render::as_recorded(trust.state(), &r.action, &r.verdict))
            )?;
            for e in &r.effects {
                writeln!(out, "   {}", render::effect_text(trust.state(), e))?;
            }
            Ok(if r.verdict.is_allowed() {
                crate::EXIT_OK
            } else {
                crate::EXIT_DENIED
            })
        }
        Err(Error::Refused(r)) => bail!("refused, nothing recorded: {r}"),
        Err(e) => Err(e.into()),
    }
}

fn show(
    out: &mut dyn Write,
    dir: &Path,
    what: ShowWhat,
    id: Option<u64>,
    json: bool,
) -> Result<i32> {
    let trust = setup::open(dir, Box::new(SystemClock))?;
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
                serde_json::to_string_pretty(&render::proposal_json(s, p))?
            )?;
        } else {
            writeln!(out, "{}", render::proposal_text(s, p))?;
        }
        return Ok(crate::EXIT_OK);
    }
    if json {
        let all = render::state_json(s, trust.now());
        let v = match what {
            ShowWhat::All | ShowWhat::Proposal => all,
            ShowWhat::Members => all["members"].clone(),
            ShowWhat::Assets => all["assets"].clone(),
            ShowWhat::Proposals => all["proposals"].clone(),
            ShowWhat::Grants => all["grants"].clone(),
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

fn log(out: &mut dyn Write, dir: &Path, from: u64, limit: usize, json: bool) -> Result<i32> {
    let trust = setup::open(dir, Box::new(SystemClock))?;
    let entries = trust.entries(from, limit)?;
    if json {
        let v: Vec<_> = entries
            .iter()
            .map(|e| render::entry_json(trust.state(), e))
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        for e in &entries {
            writeln!(out, "{}", render::entry_text(trust.state(), e))?;
        }
    }
    Ok(crate::EXIT_OK)
}

fn verify(out: &mut dyn Write, dir: &Path, json: bool) -> Result<i32> {
    if !dir.join(cltd_runtime::STORE_FILE).exists() {
        bail!("no trust in {}", dir.display());
    }
    let runtime = setup::runtime()?;
    let cltd_runtime::StoreVerification { report, repaired } =
        cltd_runtime::verify_store(dir, &runtime, &mut |_, _| {})?;
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

/// `cltd bylaws test`.
fn bylaws_test(
    out: &mut dyn Write,
    crate_dir: &Path,
    wasm: Option<PathBuf>,
    scenarios: Vec<PathBuf>,
    explain: bool,
    json: bool,
) -> Result<i32> {
    let wasm = match wasm {
        Some(path) => std::fs::read(&path).with_context(|| format!("read {}", path.display()))?,
        None => {
            let dest = tempfile::tempdir()?;
            std::fs::read(guest::build(crate_dir, Some(dest.path()))?.wasm)?
        }
    };
    let sources = if scenarios.is_empty() {
        vec![crate_dir.join("scenarios")]
    } else {
        scenarios
    };
    let mut files = Vec::new();
    for s in sources {
        if s.is_dir() {
            files.extend(crate::scenario::files(&s)?);
        } else {
            files.push(s);
        }
    }
    let runtime = setup::runtime()?;
    // The same logic compiled natively, when cltd was built with this crate's source.
    let native = match crate::native::for_crate(&package_name(crate_dir)?, crate_dir) {
        Ok(bylaw) => {
            let native = setup::fresh_runtime()?;
            let component = cltd_runtime::to_component(&wasm)?;
            native.run_natively(cltd_runtime::module_hash(&component), bylaw);
            Ok(native)
        }
        Err(why) => Err(why.to_string()),
    };
    let results: Vec<_> = files
        .iter()
        .map(|f| crate::scenario::run_both(f, runtime.clone(), native.clone().ok(), &wasm))
        .collect();
    let passed = results.iter().filter(|r| r.passed).count();
    let failed = results.len() - passed;
    if json {
        let v = serde_json::json!({
            "scenarios": results, "passed": passed, "failed": failed,
            "native": native.as_ref().err(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        match &native {
            Ok(_) => writeln!(
                out,
                "each scenario runs twice: the component, and the same source compiled natively"
            )?,
            Err(why) => writeln!(out, "native run skipped: {why}")?,
        }
        for r in &results {
            writeln!(out, "{}", r.text(explain))?;
        }
        writeln!(out, "{passed} passed, {failed} failed")?;
    }
    Ok(if failed == 0 {
        crate::EXIT_OK
    } else {
        crate::EXIT_VERIFY_FAILED
    })
}

/// The package name in `crate_dir`'s Cargo.toml.
fn package_name(crate_dir: &Path) -> Result<String> {
    let path = crate_dir.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let manifest: toml::Table =
        toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} names no [package]", path.display()))
}

fn bylaws(
    out: &mut dyn Write,
    bylaws_dir: &Path,
    data_dir: &Path,
    command: BylawsCommand,
    json: bool,
) -> Result<i32> {
    match command {
        BylawsCommand::Upload { signer, bylaw } => {
            let wasm = setup::read_bylaw(&bylaw, bylaws_dir)?;
            return amend::upload(out, data_dir, &signer, &wasm, json);
        }
        BylawsCommand::Build {
            crate_dir,
            out: dest,
        } => {
            let built = guest::build(&crate_dir, dest.as_deref())?;
            if !built.pinned {
                writeln!(
                    out,
                    "warning: built with `{}`, not the pinned `{}`; the hash may differ from logged ones",
                    built.rustc,
                    guest::pinned("GUEST_RUSTC_VERSION").unwrap_or("?")
                )?;
            }
            writeln!(
                out,
                "{}  {} ({})",
                hex::encode(built.hash),
                built.package,
                built.wasm.display()
            )?;
        }
        BylawsCommand::New {
            name,
            template,
            dir,
            sdk,
        } => {
            let made = crate::scaffold::new(&name, &template, &dir, sdk.as_deref())?;
            writeln!(
                out,
                "created bylaw crate `{name}` from the {template} template in {}:",
                made.dir.display()
            )?;
            for f in &made.files {
                writeln!(out, "  {f}")?;
            }
            let d = made.dir.display();
            writeln!(
                out,
                "next: cltd bylaws build {d}   (then) cltd bylaws test {d}   (and natively) cargo test --manifest-path {d}/Cargo.toml"
            )?;
        }
        BylawsCommand::Check { bylaw } => {
            let wasm = setup::read_bylaw(&bylaw, bylaws_dir)?;
            let checks = cltd_runtime::check(&setup::runtime()?, &wasm);
            let valid = checks.iter().all(|c| c.ok);
            if json {
                let v = serde_json::json!({"bylaw": bylaw, "valid": valid, "checks": checks});
                writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
            } else {
                for c in &checks {
                    writeln!(
                        out,
                        "[{}] {}: {}",
                        if c.ok { "ok" } else { "FAIL" },
                        c.what,
                        c.detail
                    )?;
                }
                writeln!(
                    out,
                    "{bylaw}: {}",
                    if valid {
                        "VALID: cltd can run it as a trust's bylaws"
                    } else {
                        "NOT VALID for cltd"
                    }
                )?;
            }
            return Ok(if valid {
                crate::EXIT_OK
            } else {
                crate::EXIT_VERIFY_FAILED
            });
        }
        BylawsCommand::Inspect { bylaw } => {
            let i = cltd_runtime::inspect(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&i)?)?;
            } else {
                writeln!(out, "hash     {}", i.hash)?;
                writeln!(out, "size     {} bytes", i.size)?;
                writeln!(
                    out,
                    "sdk      {}",
                    i.sdk.as_deref().unwrap_or("(not recorded)")
                )?;
                writeln!(out, "imports  {}", i.imports.join(", "))?;
                writeln!(out, "exports  {}", i.exports.join(", "))?;
                for (field, name, version) in &i.producers {
                    writeln!(out, "{field:<8} {name} {version}")?;
                }
                writeln!(out, "world:\n{}", i.wit.trim_end())?;
            }
        }
        BylawsCommand::Test {
            crate_dir,
            wasm,
            scenarios,
            explain,
        } => return bylaws_test(out, &crate_dir, wasm, scenarios, explain, json),
        BylawsCommand::VerifySource { crate_dir, hash } => {
            let expected = amend::parse_hash(&hash)?;
            let dest = tempfile::tempdir()?;
            let built = guest::build(&crate_dir, Some(dest.path()))?;
            if built.hash == expected {
                writeln!(
                    out,
                    "MATCHES: {} built from {} is module {}",
                    built.package,
                    crate_dir.display(),
                    hash
                )?;
            } else {
                writeln!(
                    out,
                    "DOES NOT MATCH: {} built from {} is module {}, not {}{}",
                    built.package,
                    crate_dir.display(),
                    hex::encode(built.hash),
                    hash,
                    if built.pinned {
                        String::new()
                    } else {
                        format!(" (built with `{}`, not the pinned toolchain)", built.rustc)
                    }
                )?;
                return Ok(crate::EXIT_VERIFY_FAILED);
            }
        }
        BylawsCommand::Hash { bylaw } => {
            let component = cltd_runtime::to_component(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            writeln!(
                out,
                "{}  {bylaw}",
                hex::encode(cltd_runtime::module_hash(&component))
            )?;
        }
        BylawsCommand::Describe { bylaw } => {
            let component = cltd_runtime::to_component(&setup::read_bylaw(&bylaw, bylaws_dir)?)?;
            let rt = setup::runtime()?;
            let hash = rt.prepare(&component)?;
            let info = rt.describe(&hash, &[])?;
            writeln!(
                out,
                "{} {} ({} bytes, blake3 {})",
                info.name,
                info.version,
                component.len(),
                hex::encode(hash)
            )?;
            for line in &info.summary {
                writeln!(out, "  {line}")?;
            }
            if info.parameters.is_empty() {
                writeln!(out, "charter parameters: none (any key is refused)")?;
            } else {
                writeln!(
                    out,
                    "charter parameters (cltd init --param KEY=VALUE; any other key is refused):"
                )?;
                for p in &info.parameters {
                    writeln!(
                        out,
                        "  {} = {} [default {}]: {}",
                        p.key, p.accepts, p.default, p.about
                    )?;
                }
            }
            if !info.open_to_non_members.is_empty() {
                let kinds: Vec<&str> = info.open_to_non_members.iter().map(|k| k.name()).collect();
                writeln!(out, "open to non-members: {}", kinds.join(", "))?;
            }
        }
    }
    Ok(crate::EXIT_OK)
}

/// Run `cltd-bench SUBCOMMAND ARGS` (the measurements live outside this binary), found
/// beside this executable, with the global `--bylaws-dir` and `--json` passed on; its exit
/// code is this command's.
fn forward(
    subcommand: &str,
    args: &[OsString],
    bylaws_dir: &Option<PathBuf>,
    json: bool,
    err: &mut dyn Write,
) -> Result<i32> {
    let exe = std::env::current_exe().context("find this executable")?;
    let bench = exe.with_file_name(format!("cltd-bench{}", std::env::consts::EXE_SUFFIX));
    if !bench.exists() {
        bail!(
            "`cltd {subcommand}` runs {}, which is not built: build it with `cargo build --release -p cltd-bench` (or run `cargo run --release -p cltd-bench -- {subcommand}`)",
            bench.display()
        );
    }
    let mut command = std::process::Command::new(&bench);
    if let Some(dir) = bylaws_dir {
        command.arg("--bylaws-dir").arg(dir);
    }
    if json {
        command.arg("--json");
    }
    command.arg(subcommand).args(args);
    let status = command
        .status()
        .with_context(|| format!("run {}", bench.display()))?;
    if status.code().is_none() {
        writeln!(err, "{} was stopped by a signal", bench.display())?;
    }
    Ok(status.code().unwrap_or(crate::EXIT_ERROR))
}

/// Run `cltd` with `args` (including the program name), writing results to `out` and
/// diagnostics to `err`; returns the exit code (see the crate's `EXIT_*` constants).
pub fn run<I, T>(args: I, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let program = args
        .first()
        .map_or_else(|| "cltd".to_string(), |p| p.to_string_lossy().into_owned());
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                crate::EXIT_ERROR
            } else {
                crate::EXIT_OK
            };
            let text = e.render().to_string();
            let _ = if e.use_stderr() {
                write!(err, "{text}")
            } else {
                write!(out, "{text}")
            };
            return code;
        }
    };
    match dispatch(cli, &program, out, err) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            crate::EXIT_ERROR
        }
    }
}
