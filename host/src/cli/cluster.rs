//! `cltd cluster init|status`: set up what cltd keeps in a NATS JetStream cluster, and show
//! the nodes, the trusts and who writes each.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use cltd_runtime::{Replicator, TrustId};

use super::Ctx;
use crate::cluster::{Engine, JetStreamLog};

/// `cltd cluster ...`.
#[derive(Subcommand)]
pub(crate) enum ClusterCommand {
    /// Create the log stream, the heartbeat bucket and the module store (idempotent), after
    /// checking that every server fsyncs before it acknowledges (`sync_interval: always`).
    Init {
        /// The NATS servers, comma-separated (nats://host:port,...).
        #[arg(long)]
        cluster: String,
        /// The servers' monitoring endpoints, comma-separated (http://host:port,...): each
        /// must report `sync_always`.
        #[arg(long)]
        monitor: String,
        /// Copies of each stream (3 for a 3-server cluster; 1 for a single test server).
        #[arg(long, default_value_t = 3)]
        replicas: usize,
        /// Log streams the trusts are spread over, each with its own leader (fixed by the
        /// first init: a trust stays in its stream).
        #[arg(long, default_value_t = crate::cluster::engine::DEFAULT_SHARDS)]
        shards: u32,
        /// Accept servers that acknowledge before fsync (an acknowledged decision can then be
        /// lost when machines lose power). For tests only.
        #[arg(long)]
        allow_lazy_fsync: bool,
    },
    /// The live nodes, every replicated trust, its stream sequence and its writer.
    Status {
        /// The NATS servers, comma-separated.
        #[arg(long)]
        cluster: String,
    },
}

/// Run a `cltd cluster` command.
pub(crate) fn cluster(ctx: &mut Ctx, command: ClusterCommand) -> Result<i32> {
    match command {
        ClusterCommand::Init {
            cluster,
            monitor,
            replicas,
            shards,
            allow_lazy_fsync,
        } => {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .timeout_global(Some(std::time::Duration::from_secs(10)))
                .build()
                .into();
            let mut lazy = Vec::new();
            for url in monitor.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let varz = format!("{}/varz", url.trim_end_matches('/'));
                let text = agent
                    .get(&varz)
                    .call()
                    .with_context(|| format!("read {varz}"))?
                    .body_mut()
                    .read_to_string()
                    .with_context(|| format!("read {varz}"))?;
                let body: serde_json::Value =
                    serde_json::from_str(&text).with_context(|| format!("read {varz} as JSON"))?;
                let always = body["jetstream"]["config"]["sync_always"].as_bool() == Some(true);
                writeln!(
                    ctx.out,
                    "{url}: server {} , JetStream sync_always = {always}",
                    body["version"].as_str().unwrap_or("?")
                )?;
                if !always {
                    lazy.push(url.to_string());
                }
            }
            if !lazy.is_empty() && !allow_lazy_fsync {
                bail!(
                    "these servers acknowledge before fsync, so an acknowledged decision could be lost when machines lose power: {}; set `jetstream {{ sync_interval: always }}` in their configuration (or pass --allow-lazy-fsync for a test cluster)",
                    lazy.join(", ")
                );
            }
            let engine = Engine::connect(&cluster, "cltd-init")?;
            for line in engine.init(replicas, shards, &lazy)? {
                writeln!(ctx.out, "{line}")?;
            }
            Ok(crate::EXIT_OK)
        }
        ClusterCommand::Status { cluster } => {
            let engine = std::sync::Arc::new(Engine::connect(&cluster, "cltd-status")?);
            let log = JetStreamLog::open(engine.clone())?;
            let beats = {
                let js = engine.js().clone();
                engine.block(async move {
                    use futures_util::StreamExt;
                    let kv = js
                        .get_key_value(crate::cluster::engine::NODES_BUCKET)
                        .await
                        .map_err(|e| anyhow::anyhow!("open the heartbeat bucket: {e}"))?;
                    let keys = kv
                        .keys()
                        .await
                        .map_err(|e| anyhow::anyhow!("read the heartbeat bucket: {e}"))?;
                    let keys: Vec<String> =
                        keys.filter_map(|k| async move { k.ok() }).collect().await;
                    let mut beats = Vec::new();
                    for key in keys {
                        let Some(node) = key.strip_prefix("node.").map(str::to_string) else {
                            continue;
                        };
                        let beat = kv.get(key.as_str()).await.ok().flatten().and_then(|v| {
                            serde_json::from_slice::<crate::cluster::node::Heartbeat>(&v).ok()
                        });
                        beats.push((node, beat));
                    }
                    beats.sort_by(|a, b| a.0.cmp(&b.0));
                    Ok::<_, anyhow::Error>(beats)
                })?
            };
            let nodes: Vec<String> = beats.iter().map(|(n, _)| n.clone()).collect();
            writeln!(ctx.out, "live nodes: {}", nodes.join(", "))?;
            for (node, beat) in &beats {
                if let Some(beat) = beat {
                    writeln!(
                        ctx.out,
                        "node {node}: http://{}/, witness --witness {}={}",
                        beat.http,
                        crate::cluster::node::witness_name(node),
                        beat.witness
                    )?;
                }
            }
            for trust in log.trusts()? {
                let id: TrustId = trust
                    .parse()
                    .map_err(|e| anyhow::anyhow!("trust id {trust}: {e:?}"))?;
                let (seq, end) = match log.last(&id)? {
                    Some((seq, bytes)) => (seq, cltd_runtime::Envelope::from_bytes(&bytes)?.end()),
                    None => (0, 0),
                };
                let writer = crate::cluster::node::writer_among(&trust, &nodes)
                    .cloned()
                    .unwrap_or_else(|| "(no live node)".into());
                let stream = match log.shard_of(&id, false)? {
                    Some((shard, _)) => crate::cluster::engine::log_stream(shard),
                    None => "(none)".into(),
                };
                writeln!(
                    ctx.out,
                    "trust {trust}: {end} entries, stream {stream} sequence {seq}, writer {writer}"
                )?;
            }
            Ok(crate::EXIT_OK)
        }
    }
}
