//! `cltd serve`, and the verbs that forward to the `cltd-bench` binary (`bench`,
//! `crash-test`).

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::Ctx;

/// Options of `cltd serve`.
#[derive(Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1:7300")]
    pub(crate) listen: String,
    /// A directory whose subdirectories are trusts' data directories.
    #[arg(long)]
    pub(crate) trusts: Option<PathBuf>,
    /// Seconds a read may take before it is answered 408.
    #[arg(long, default_value_t = 10)]
    pub(crate) read_timeout: u64,
    /// Seconds a write may take (uploads compile, previews replay the log).
    #[arg(long, default_value_t = 120)]
    pub(crate) write_timeout: u64,
    /// Sustained writes per second allowed from one client address.
    #[arg(long, default_value_t = 20)]
    pub(crate) writes_per_second: u32,
    /// Writes one client address may make in a burst above that rate.
    #[arg(long, default_value_t = 40)]
    pub(crate) write_burst: u32,
    /// Seconds a client may take to send a request's head before its connection is closed.
    #[arg(long, default_value_t = 10)]
    pub(crate) header_timeout: u64,
    /// Connections one client address may hold open at once.
    #[arg(long, default_value_t = 64)]
    pub(crate) connections_per_client: usize,
    /// Impact previews computed at once (each takes a core while it runs).
    #[arg(long, default_value_t = 1)]
    pub(crate) preview_workers: usize,
    /// Impact previews that may wait for a worker; more are answered 503 `busy`.
    #[arg(long, default_value_t = 4)]
    pub(crate) preview_queue: usize,
    /// Seconds one impact preview may run before it stops and reports where.
    #[arg(long, default_value_t = 30)]
    pub(crate) preview_time: u64,
    /// Serve as a node of a cluster: the NATS servers (comma-separated nats://host:port)
    /// every trust's log is replicated through (set up with `cltd cluster init`). Trusts in
    /// --trusts are replicated, and trusts other nodes replicate are taken on.
    #[arg(long, requires = "node_id")]
    pub(crate) cluster: Option<String>,
    /// This node's id in the cluster (letters, digits, `-`, `_`; unique per node).
    #[arg(long, requires = "cluster")]
    pub(crate) node_id: Option<String>,
}

/// `cltd serve`: the JSON API and dashboard for every trust under a directory.
pub(crate) fn serve(ctx: &mut Ctx, args: ServeArgs) -> Result<i32> {
    let ServeArgs {
        listen,
        trusts,
        read_timeout,
        write_timeout,
        writes_per_second,
        write_burst,
        header_timeout,
        connections_per_client,
        preview_workers,
        preview_queue,
        preview_time,
        cluster,
        node_id,
    } = args;
    let limits = crate::server::Limits {
        read_timeout: std::time::Duration::from_secs(read_timeout),
        write_timeout: std::time::Duration::from_secs(write_timeout),
        writes_per_second,
        write_burst,
        header_timeout: std::time::Duration::from_secs(header_timeout.max(1)),
        connections_per_client: connections_per_client.max(1),
        preview_workers: preview_workers.max(1),
        preview_queue,
        preview_time: std::time::Duration::from_secs(preview_time.max(1)),
    };
    let root = trusts.unwrap_or_else(|| ctx.data_dir());
    let listener =
        std::net::TcpListener::bind(&listen).with_context(|| format!("listen on {listen}"))?;
    if let (Some(servers), Some(node_id)) = (cluster, node_id) {
        return serve_node(ctx, &root, listener, &limits, &servers, &node_id);
    }
    let hub = crate::server::Hub::open(&root)?;
    writeln!(
        ctx.out,
        "serving {} trust(s) from {} on http://{}/ (API: /v1/trusts, docs: /docs)",
        hub.len(),
        root.display(),
        listener.local_addr()?
    )?;
    ctx.out.flush()?;
    crate::server::serve(hub, listener, &limits)?;
    Ok(crate::EXIT_OK)
}

/// `cltd serve --cluster`: replicate every trust under `root`, take on those other nodes
/// replicate, and serve them all.
fn serve_node(
    ctx: &mut Ctx,
    root: &std::path::Path,
    listener: std::net::TcpListener,
    limits: &crate::server::Limits,
    servers: &str,
    node_id: &str,
) -> Result<i32> {
    std::fs::create_dir_all(root).with_context(|| format!("create {}", root.display()))?;
    let http = listener.local_addr()?.to_string();
    // The engine may be between leaders or restarting as a node starts: wait for it.
    let node = std::sync::Arc::new(patiently(ctx, "join the cluster", || {
        crate::cluster::Node::join(servers, node_id, &http, root).map_err(|e| {
            let transient = !matches!(e, crate::cluster::EngineError::Address(_));
            (transient, anyhow::Error::from(e))
        })
    })?);
    let mut hub = crate::server::Hub::open(root)?;
    hub.limit_previews(limits);
    for id in hub.ids() {
        // Never hosted unreplicated (a write committed here alone would fork the log):
        // wait for the engine while it is unavailable; any other failure ends the start.
        patiently(ctx, &format!("replicate trust {id}"), || {
            crate::server::hub::with_trust_blocking(&hub, &id, |t| {
                node.share_modules(t).map_err(|e| {
                    crate::server::ApiError::new(
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        "cluster-unavailable",
                        format!("{e:#}"),
                    )
                })?;
                t.replicate(node.replicator())?;
                Ok(())
            })
            .and_then(|()| crate::server::hub::catch_up(&hub, &id).map(|_| ()))
            .map_err(|e| {
                (
                    e.code().starts_with("cluster-"),
                    anyhow::anyhow!("{} (`{}`)", e.message(), e.code()),
                )
            })
        })?;
    }
    hub.join(node.clone());
    let hub = std::sync::Arc::new(hub);
    node.start(hub.clone(), root.to_path_buf(), crate::setup::runtime()?);
    writeln!(
        ctx.out,
        "node {node_id} of the cluster at {servers}: serving {} trust(s) from {} on http://{}/",
        hub.len(),
        root.display(),
        listener.local_addr()?
    )?;
    ctx.out.flush()?;
    crate::server::serve_shared(hub, listener, limits)?;
    Ok(crate::EXIT_OK)
}

/// How long a starting cluster node waits for the engine before it gives up.
const ENGINE_WAIT: std::time::Duration = std::time::Duration::from_secs(180);

/// Run `attempt` until it succeeds, again every second while it fails with a transient
/// error (`(true, why)`: the engine unavailable), for at most [`ENGINE_WAIT`]; a lasting
/// error (`(false, why)`) ends it at once.
fn patiently<T>(
    ctx: &mut Ctx,
    what: &str,
    mut attempt: impl FnMut() -> std::result::Result<T, (bool, anyhow::Error)>,
) -> Result<T> {
    let started = std::time::Instant::now();
    loop {
        match attempt() {
            Ok(t) => return Ok(t),
            Err((true, e)) if started.elapsed() < ENGINE_WAIT => {
                writeln!(ctx.err, "{what}: {e:#}; waiting for the engine")?;
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
            Err((_, e)) => return Err(e.context(what.to_string())),
        }
    }
}

/// Run `cltd-bench SUBCOMMAND ARGS` (the measurements live outside this binary), found
/// beside this executable, with the global `--bylaws-dir` and `--json` passed on; its exit
/// code is this command's.
pub(crate) fn forward(ctx: &mut Ctx, subcommand: &str, args: &[OsString]) -> Result<i32> {
    let exe = std::env::current_exe().context("find this executable")?;
    let bench = exe.with_file_name(format!("cltd-bench{}", std::env::consts::EXE_SUFFIX));
    if !bench.exists() {
        bail!(
            "`cltd {subcommand}` runs {}, which is not built: build it with `cargo build --release -p cltd-bench` (or run `cargo run --release -p cltd-bench -- {subcommand}`)",
            bench.display()
        );
    }
    let mut command = std::process::Command::new(&bench);
    if let Some(dir) = &ctx.bylaws_dir_given {
        command.arg("--bylaws-dir").arg(dir);
    }
    if ctx.json {
        command.arg("--json");
    }
    command.arg(subcommand).args(args);
    let status = command
        .status()
        .with_context(|| format!("run {}", bench.display()))?;
    if status.code().is_none() {
        writeln!(ctx.err, "{} was stopped by a signal", bench.display())?;
    }
    Ok(status.code().unwrap_or(crate::EXIT_ERROR))
}
