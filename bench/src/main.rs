//! `cltd-bench`: cltd's measurements, outside the `cltd` binary. `cltd bench ARGS` and
//! `cltd crash-test ARGS` run `cltd-bench bench ARGS` and `cltd-bench crash-test ARGS`.
//!
//! Exit codes: 0 ok, 1 error, 3 the crash test found a lost acknowledgement or a failed
//! replay.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// cltd-bench: measure cltd (latency, throughput, amendments, audits, HTTP) and test its
/// crash consistency.
#[derive(Parser)]
#[command(name = "cltd-bench", version, about, long_about = None)]
struct Cli {
    /// Where built bylaws (NAME.wasm) are looked up.
    #[arg(long, global = true, env = "CLTD_BYLAWS_DIR")]
    bylaws_dir: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure bylaw and transition latency and throughput.
    Bench {
        #[command(flatten)]
        options: cltd_bench::transitions::BenchOptions,
        /// Instead, measure an amendment (check and compile, conformance, impact preview)
        /// against a history of this many entries; repeat or comma-separate for several.
        #[arg(long, value_delimiter = ',')]
        amendment_history: Vec<usize>,
        /// Instead, measure audits of bundles of this many entries (with and without
        /// re-execution); repeat or comma-separate for several.
        #[arg(long, value_delimiter = ',')]
        audit_history: Vec<usize>,
        /// Instead, measure `cltd serve`: signed votes per second over HTTP on loopback from
        /// concurrent clients, and memory with many idle trusts.
        #[arg(long)]
        http: bool,
        /// With --http: concurrent clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// With --http: signed votes to submit.
        #[arg(long, default_value_t = 6000)]
        votes: usize,
        /// With --http: idle trusts to open in one server.
        #[arg(long, default_value_t = 1000)]
        idle_trusts: usize,
        /// With --http: seconds of mixed load afterwards (8 voters, 8 unsigned previewers,
        /// 4 dashboard readers, /healthz probed every 10 ms); 0 to skip it.
        #[arg(long, default_value_t = 20)]
        load_seconds: u64,
        /// Instead, measure durable transitions through the NATS JetStream cluster at these
        /// servers (comma-separated; set up with `cltd cluster init`) beside one node, in one
        /// run (--submitters, --transitions, --batch apply).
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Crash consistency: serve a new trust in a child `cltd serve`, load it with signed
    /// transitions, SIGKILL it at random moments, and check after each kill that every
    /// acknowledged transition is in the log and the log replays to the stored state
    /// (exit 3 if not).
    CrashTest {
        /// Kill-and-restart cycles.
        #[arg(long, default_value_t = 200)]
        cycles: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Longest time the server runs before each kill, in milliseconds.
        #[arg(long, default_value_t = 800)]
        max_uptime_ms: u64,
        /// Seed of the kill times.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// The bylaw governing the test trust.
        #[arg(long, default_value = "classic-clt")]
        bylaw: String,
    },
    /// Open the trust in DIR in this fresh process and print, as JSON, the milliseconds it
    /// took and the resident memory it added (what `bench` runs to measure opening).
    #[command(hide = true)]
    OpenProbe {
        /// The trust's data directory.
        dir: PathBuf,
        /// Its bylaw (a core module or component), compiled before measuring: an engine
        /// compiles a module once for every trust that uses it.
        bylaw: PathBuf,
    },
}

/// The `cltd` binary the crash test serves with: `CLTD_BIN`, else the `cltd` beside this
/// executable (cargo builds both into the same directory).
fn cltd_exe() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("CLTD_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().context("find this executable")?;
    let cltd = exe.with_file_name(format!("cltd{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        cltd.exists(),
        "the crash test serves with {}, which is not built: `cargo build --release -p cltd`, or set CLTD_BIN",
        cltd.display()
    );
    Ok(cltd)
}

/// Print a report: as pretty JSON under `--json`, else its text.
fn print(
    out: &mut dyn Write,
    json: bool,
    report: &impl serde::Serialize,
    text: impl FnOnce() -> String,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(report)?)?;
    } else {
        writeln!(out, "{}", text())?;
    }
    Ok(())
}

fn dispatch(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let bylaws_dir = cli
        .bylaws_dir
        .clone()
        .unwrap_or_else(cltd::setup::default_bylaws_dir);
    let json = cli.json;
    match cli.command {
        Command::Bench {
            options,
            amendment_history,
            audit_history,
            http,
            clients,
            votes,
            idle_trusts,
            load_seconds,
            cluster,
        } => {
            let wasm = cltd::setup::read_bylaw("classic-clt", &bylaws_dir)?;
            if let Some(servers) = cluster {
                writeln!(
                    err,
                    "measuring {} transitions from {} submitters on one node, then through {servers}...",
                    options.transitions, options.submitters
                )?;
                let report = cltd_bench::cluster::run(
                    &wasm,
                    &servers,
                    options.submitters,
                    options.transitions,
                    options.batch,
                )?;
                print(out, json, &report, || report.text())?;
                return Ok(cltd::EXIT_OK);
            }
            if http {
                writeln!(
                    err,
                    "measuring cltd serve ({idle_trusts} idle trusts, then {votes} signed votes from {clients} clients)..."
                )?;
                let report =
                    cltd_bench::http::run(&wasm, options.members, votes, clients, idle_trusts)?;
                print(out, json, &report, || report.text())?;
                if load_seconds > 0 {
                    writeln!(err, "measuring {load_seconds} s of mixed load...")?;
                    let plan = cltd_bench::load::LoadPlan {
                        duration: std::time::Duration::from_secs(load_seconds),
                        ..Default::default()
                    };
                    let load = cltd_bench::load::run(&wasm, &plan)?;
                    print(out, json, &load, || load.text())?;
                }
                return Ok(cltd::EXIT_OK);
            }
            if !audit_history.is_empty() {
                writeln!(
                    err,
                    "measuring audits of bundles of {audit_history:?} entries..."
                )?;
                let figures = cltd_bench::audit::run(&wasm, &audit_history)?;
                print(out, json, &figures, || cltd_bench::audit::text(&figures))?;
                return Ok(cltd::EXIT_OK);
            }
            if !amendment_history.is_empty() {
                writeln!(
                    err,
                    "measuring amendments against histories of {amendment_history:?} entries..."
                )?;
                let figures = cltd_bench::amendment::run(&wasm, &amendment_history)?;
                print(out, json, &figures, || {
                    cltd_bench::amendment::text(&figures)
                })?;
                return Ok(cltd::EXIT_OK);
            }
            writeln!(
                err,
                "measuring ({} members, {} durable transitions per figure)...",
                options.members, options.transitions
            )?;
            let report = cltd_bench::transitions::run(&wasm, &options)?;
            print(out, json, &report, || report.text())?;
            Ok(cltd::EXIT_OK)
        }
        Command::OpenProbe { dir, bylaw } => {
            let wasm = std::fs::read(&bylaw)?;
            let (ms, mib) = cltd_bench::transitions::open_in_process(&dir, &wasm)?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"open_ms": ms, "rss_mib": mib})
            )?;
            Ok(cltd::EXIT_OK)
        }
        Command::CrashTest {
            cycles,
            clients,
            max_uptime_ms,
            seed,
            bylaw,
        } => {
            let wasm = cltd::setup::read_bylaw(&bylaw, &bylaws_dir)?;
            let dir = tempfile::TempDir::new()?;
            let options = cltd_bench::crash::Options {
                cycles,
                clients,
                max_uptime: std::time::Duration::from_millis(max_uptime_ms),
                seed,
            };
            let mut progress = |r: &cltd_bench::crash::Report| {
                if !json {
                    eprintln!(
                        "cycle {}/{cycles}: {} acknowledged, {} entries, {} lost, {} failed replays",
                        r.cycles, r.acknowledged, r.entries, r.lost, r.verify_failures
                    );
                }
            };
            let report = cltd_bench::crash::run(
                &cltd_bench::crash::Launch::binary(&cltd_exe()?),
                &wasm,
                dir.path(),
                &options,
                &mut progress,
            )?;
            print(out, json, &report, || report.text())?;
            Ok(if report.is_ok() {
                cltd::EXIT_OK
            } else {
                cltd::EXIT_VERIFY_FAILED
            })
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr();
    let code = match dispatch(cli, &mut out, &mut err) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(err, "error: {e:#}");
            cltd::EXIT_ERROR
        }
    };
    let _ = out.flush();
    std::process::exit(code);
}
