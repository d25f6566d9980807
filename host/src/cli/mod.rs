//! The `cltd` command line: argument parsing, then one module per group of verbs, each
//! handed one [`Ctx`] (directories, `--json`, the writers) so tests drive the commands
//! exactly as a user would.
//!
//! | verbs | module |
//! |---|---|
//! | `demo`, `init`, `keys` | [`found`] |
//! | `completions` | here |
//! | `propose`, `vote`, `close`, `execute`, `withdraw`, `delegate`, `asset` | [`act`] |
//! | `treasury ...`, `budget ...`, and the economy's proposal kinds | [`commons`] |
//! | `show`, `log`, `verify` | [`read`] |
//! | `bylaws ...` | [`bylaws`] |
//! | `amend ...` | [`amend`] |
//! | `checkpoint`, `explain`, `prove`, `export`, `audit ...`, `witness ...` | [`audit`] |
//! | `serve`, and `bench` / `crash-test` (forwarded to `cltd-bench`) | [`serve`] |

mod act;
pub mod amend;
mod args;
pub mod audit;
mod bylaws;
mod cluster;
mod commons;
mod context;
mod found;
mod read;
mod remote;
mod serve;

pub use remote::ServerError;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use cltd_runtime::Action;

pub(crate) use context::Ctx;

use act::{AssetCommand, ProposalRef, ProposeArgs};
use amend::AmendCommand;
use args::ChoiceArg;
use audit::{AuditCommand, ProveCommand, WitnessCommand};
use bylaws::BylawsCommand;
use found::{InitArgs, KeysCommand};
use read::ShowWhat;

use crate::setup;
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
    /// Diagnostics on stderr at this level and above: error, warn (the default), info
    /// (every HTTP request of `cltd serve`), debug (every commit and refusal), trace.
    /// `RUST_LOG` (e.g. `cltd=debug`) takes precedence.
    #[arg(long, global = true, value_name = "LEVEL")]
    log: Option<String>,
    /// How diagnostics are written: `text` (the default) or `json`, one object per line
    /// for log shippers (the request log's fields become keys).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
    /// Print JSON instead of text: state, log and verification reports, and the receipt of
    /// every write command.
    #[arg(long, global = true)]
    json: bool,
    /// Act on a trust that a `cltd serve` at this URL hosts, from your own machine: the
    /// member verbs (propose, vote, close, execute, withdraw, delegate, asset) and `bylaws
    /// upload` sign locally and post; `amend preview` asks the server (`--as` to store it);
    /// `show`, `log`, `checkpoint` and `prove` read the server's (an inclusion proof checked
    /// here), `explain` re-executes the server's audit bundle here. Others refuse it.
    #[arg(long, global = true, env = "CLTD_SERVER", value_name = "URL")]
    server: Option<String>,
    /// With --server: the trust's id (needed when the server hosts more than one).
    #[arg(long, global = true, env = "CLTD_TRUST", value_name = "ID")]
    trust: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a shell completion script, e.g. `cltd completions bash > ~/.local/share/bash-completion/completions/cltd`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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
        /// Sign as this key: a keyring name, or a secret key file.
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
        /// Sign as this key: a keyring name, or a secret key file.
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
    /// The treasury: show balances, budget lines, payments, licences and fees; record income
    /// and expenditure (as the member holding the treasurer role).
    Treasury {
        #[command(subcommand)]
        command: commons::TreasuryCommand,
    },
    /// Participatory budgeting: submit a project, cast an approval ballot, show a round.
    Budget {
        #[command(subcommand)]
        command: commons::BudgetCommand,
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
    Serve(serve::ServeArgs),
    /// Set up or inspect the NATS JetStream cluster that `cltd serve --cluster` nodes
    /// replicate trusts through.
    Cluster {
        #[command(subcommand)]
        command: cluster::ClusterCommand,
    },
    /// Witness other trusts' logs, or ask a witness to cosign this trust's checkpoint.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
}

fn dispatch(cli: Cli, program: &str, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let mut ctx = Ctx {
        bylaws_dir: cli
            .bylaws_dir
            .clone()
            .unwrap_or_else(setup::default_bylaws_dir),
        bylaws_dir_given: cli.bylaws_dir,
        data_dir_given: cli.data_dir,
        json: cli.json,
        program: program.to_string(),
        remote: cli
            .server
            .as_deref()
            .map(|url| remote::Remote::new(url, cli.trust.clone())),
        out,
        err,
    };
    let ctx = &mut ctx;
    if ctx.remote.is_some()
        && !matches!(
            cli.command,
            Command::Propose(_)
                | Command::Vote { .. }
                | Command::Close(_)
                | Command::Execute(_)
                | Command::Withdraw(_)
                | Command::Delegate { .. }
                | Command::Asset { .. }
                | Command::Treasury { .. }
                | Command::Budget { .. }
                | Command::Checkpoint
                | Command::Log { .. }
                | Command::Prove { .. }
                | Command::Show { .. }
                | Command::Explain { .. }
                | Command::Bylaws {
                    command: bylaws::BylawsCommand::Upload { .. }
                }
                | Command::Amend {
                    command: amend::AmendCommand::Preview { .. }
                }
                | Command::Keys { .. }
                | Command::Completions { .. }
        )
    {
        anyhow::bail!(
            "this command does not work with --server: over a server, cltd signs and posts the member verbs (propose, vote, close, execute, withdraw, delegate, asset, treasury, budget) and `bylaws upload`, asks for `amend preview`, and reads with `show`, `log`, `explain`, `checkpoint` and `prove`; nothing was done"
        );
    }
    let json = ctx.json;
    let data_dir = ctx.data_dir();
    match cli.command {
        Command::Completions { shell } => {
            // Generated into memory first: clap_complete panics on a failed write (a closed
            // pipe), where cltd reports an error.
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "cltd", &mut script);
            ctx.out.write_all(&script)?;
            Ok(crate::EXIT_OK)
        }
        Command::Demo => found::demo(ctx),
        Command::Init(args) => found::init(ctx, args),
        Command::Keys { command } => found::keys(ctx, command),
        Command::Propose(args) => act::propose(ctx, args),
        Command::Vote {
            signer,
            proposal,
            choice,
        } => act::vote(ctx, signer, proposal, choice),
        Command::Close(r) => act::on_proposal(ctx, r, Action::Close),
        Command::Execute(r) => act::on_proposal(ctx, r, Action::Execute),
        Command::Withdraw(r) => act::on_proposal(ctx, r, Action::Withdraw),
        Command::Delegate {
            signer,
            to,
            days,
            withdraw,
        } => act::delegate(ctx, signer, to, days, withdraw),
        Command::Asset { command } => act::asset(ctx, command),
        Command::Treasury { command } => commons::treasury(ctx, command),
        Command::Budget { command } => commons::budget(ctx, command),
        Command::Show { what, id } => match &ctx.remote {
            Some(remote) => read::show_remote(ctx.out, remote, what, id, json),
            None => read::show(ctx.out, &data_dir, what, id, json),
        },
        Command::Log { from, limit } => match &ctx.remote {
            Some(remote) => read::log_remote(ctx.out, remote, from, limit, json),
            None => read::log(ctx.out, &data_dir, from, limit, json),
        },
        Command::Verify => read::verify(ctx.out, &data_dir, json),
        Command::Bylaws {
            command: bylaws::BylawsCommand::Upload { signer, bylaw },
        } if ctx.remote.is_some() => {
            let wasm = setup::read_bylaw(&bylaw, &ctx.bylaws_dir)?;
            amend::upload_remote(ctx, &signer, &wasm)
        }
        Command::Bylaws { command } => {
            bylaws::bylaws(ctx.out, &ctx.bylaws_dir, &data_dir, command, json)
        }
        Command::Bench { args } => serve::forward(ctx, "bench", &args),
        Command::CrashTest { args } => serve::forward(ctx, "crash-test", &args),
        Command::Checkpoint => audit::checkpoint(ctx),
        Command::Explain { index } => match &ctx.remote {
            Some(remote) => audit::explain_remote(ctx.out, remote, index, json),
            None => audit::explain_live(ctx.out, &data_dir, index, json),
        },
        Command::Serve(args) => serve::serve(ctx, args),
        Command::Cluster { command } => cluster::cluster(ctx, command),
        Command::Prove { command } => {
            let (index, old) = match command {
                ProveCommand::Inclusion { index } => (Some(index), None),
                ProveCommand::Consistency { old_size } => (None, Some(old_size)),
            };
            match &ctx.remote {
                Some(remote) => audit::prove_remote(ctx.out, remote, index, old, json),
                None => audit::prove(ctx.out, &data_dir, index, old, json),
            }
        }
        Command::Witness { command } => audit::witness(ctx, command),
        Command::Export { out: path } => audit::export(ctx.out, &data_dir, &path, json),
        Command::Audit { command } => audit::audit_bundle(ctx, command),
        Command::Amend { command } => amend::amend(ctx, command),
    }
}

/// Print the runtime's and the server's diagnostics (`tracing` events) on stderr, at the
/// level `--log` in `args` gives (or `RUST_LOG`; default: warnings and errors). For the
/// binary's `main`; a second call does nothing.
pub fn install_logging(args: &[OsString]) {
    use tracing_subscriber::EnvFilter;
    let cli = Cli::try_parse_from(args).ok();
    let json = cli
        .as_ref()
        .is_some_and(|c| c.log_format.as_deref() == Some("json"));
    let level = cli
        .and_then(|c| c.log)
        .unwrap_or_else(|| "warn".to_string());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        fmt.json().flatten_event(true).try_init()
    } else {
        fmt.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init()
    };
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
    let json = cli.json;
    match dispatch(cli, &program, out, err) {
        Ok(code) => code,
        Err(e) if json => {
            // The runtime's stable code (as the API sends it) when the error is the runtime's.
            let code = e
                .chain()
                .find_map(|c| c.downcast_ref::<cltd_runtime::Error>())
                .map(cltd_runtime::Error::code)
                .or_else(|| {
                    e.chain()
                        .find_map(|c| c.downcast_ref::<ServerError>())
                        .map(|s| s.code.as_str())
                })
                .unwrap_or("error");
            let body = serde_json::json!({"error": {"code": code, "message": format!("{e:#}")}});
            let _ = writeln!(err, "{body}");
            crate::EXIT_ERROR
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            crate::EXIT_ERROR
        }
    }
}
