//! The connection to the NATS JetStream cluster the nodes replicate through, and the names
//! of what cltd keeps there: the log streams (a fixed number of shards, one subject per
//! trust), the registry saying which shard holds each trust (a KV bucket), the node
//! heartbeats (a KV bucket whose entries expire), stored impact previews (a KV bucket), and
//! the bylaw modules (an object store).
//!
//! The runtime's replication calls are synchronous (a trust's writer appends from a blocking
//! thread), and the client is asynchronous: the connection lives on a small runtime of its
//! own, and a blocking caller waits for a future run there on a channel, so no caller ever
//! blocks inside an asynchronous context.

use std::future::Future;
use std::time::Duration;

use async_nats::ServerAddr;
use async_nats::jetstream::{self, stream};

/// The KV bucket that says how many log streams the cluster has ([`SHARDS_KEY`]), which one
/// holds each trust (`trust.<id hex>`: its shard, set once, by the node that appends the
/// trust's first envelope) and which servers acknowledge before fsync ([`LAZY_FSYNC_KEY`],
/// when an operator accepted that).
pub const REGISTRY_BUCKET: &str = "cltd-registry";
/// The registry key holding the number of log streams, fixed when the cluster is set up.
pub const SHARDS_KEY: &str = "shards";
/// The registry key under which `cltd cluster init --allow-lazy-fsync` records the servers
/// it found acknowledging before fsync, so that every node can say so.
pub const LAZY_FSYNC_KEY: &str = "lazy-fsync";
/// Log streams a cluster gets unless `cltd cluster init --shards` says otherwise: each has
/// its own leader, so three spread the trusts' appends over a 3-server cluster.
pub const DEFAULT_SHARDS: u32 = 3;
/// The most log streams a cluster may have.
pub const MAX_SHARDS: u32 = 64;

/// Log stream number `shard`: subjects `cltd.log.<shard>.<trust id hex>`.
pub fn log_stream(shard: u32) -> String {
    format!("CLTD_LOG_{shard}")
}

/// The registry key of trust `hex`.
pub fn trust_key(hex: &str) -> String {
    format!("trust.{hex}")
}
/// The KV bucket where live nodes heartbeat (`node.<id>`; an entry expires after
/// [`HEARTBEAT_TTL`]).
pub const NODES_BUCKET: &str = "cltd-nodes";
/// The KV bucket holding every stored impact preview (`<trust>.<blake3 of the report>`):
/// an amendment opens only on a node that holds its preview.
pub const PREVIEWS_BUCKET: &str = "cltd-previews";
/// The object store holding every bylaw module a replicated trust names, by blake3 hash (hex).
pub const MODULES_BUCKET: &str = "cltd-modules";
/// How long a node's heartbeat lasts without renewal: a node silent this long is not live,
/// and the trusts it wrote move to another node.
pub const HEARTBEAT_TTL: Duration = Duration::from_secs(4);
/// How long an append or a read waits for the engine before its outcome is unknown.
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest message the engine must accept (an envelope of one group commit; the server
/// configuration's `max_payload` must be at least this).
pub const MAX_MESSAGE: usize = 8 << 20;

/// The subject of trust `hex`'s log in log stream `shard` (`*` for every trust's).
pub fn log_subject(shard: u32, hex: &str) -> String {
    format!("cltd.log.{shard}.{hex}")
}

/// Why the engine could not be reached or set up.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A server address that does not parse.
    #[error("`{0}` is not a NATS server address (nats://host:port)")]
    Address(String),
    /// No server answered.
    #[error("cannot connect to the NATS servers {servers}: {source}")]
    Connect {
        /// The addresses tried.
        servers: String,
        /// Why.
        source: async_nats::ConnectError,
    },
    /// A JetStream request failed.
    #[error("{what}: {message}")]
    JetStream {
        /// What was asked.
        what: &'static str,
        /// The engine's answer.
        message: String,
    },
    /// What is in the engine does not fit what was asked.
    #[error("{0}")]
    Layout(String),
    /// The client's own runtime could not start.
    #[error("start the replication client's runtime: {0}")]
    Runtime(std::io::Error),
}

impl EngineError {
    /// A failed JetStream request.
    pub fn js(what: &'static str, e: impl std::fmt::Display) -> EngineError {
        EngineError::JetStream {
            what,
            message: e.to_string(),
        }
    }
}

/// A connection to the JetStream cluster, on a runtime of its own.
pub struct Engine {
    runtime: tokio::runtime::Runtime,
    client: async_nats::Client,
    js: jetstream::Context,
    servers: String,
}

/// Parse a comma-separated list of server addresses.
pub fn parse_servers(servers: &str) -> Result<Vec<ServerAddr>, EngineError> {
    servers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ServerAddr>()
                .map_err(|_| EngineError::Address(s.to_string()))
        })
        .collect()
}

impl Engine {
    /// Connect to the servers `servers` (comma-separated `nats://host:port`), as client
    /// `name`. The client reconnects to any of them by itself, for as long as it lives.
    pub fn connect(servers: &str, name: &str) -> Result<Engine, EngineError> {
        let addrs = parse_servers(servers)?;
        if addrs.is_empty() {
            return Err(EngineError::Address(servers.to_string()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("cltd-cluster")
            .enable_all()
            .build()
            .map_err(EngineError::Runtime)?;
        let options = async_nats::ConnectOptions::new()
            .name(name)
            .connection_timeout(ENGINE_TIMEOUT)
            .request_timeout(Some(ENGINE_TIMEOUT))
            .max_reconnects(None);
        let client =
            runtime
                .block_on(options.connect(addrs))
                .map_err(|source| EngineError::Connect {
                    servers: servers.to_string(),
                    source,
                })?;
        // The context spawns its acknowledgement task on the runtime it is made in.
        let mut js = {
            let _in_runtime = runtime.enter();
            jetstream::new(client.clone())
        };
        js.set_timeout(ENGINE_TIMEOUT);
        Ok(Engine {
            runtime,
            client,
            js,
            servers: servers.to_string(),
        })
    }

    /// The addresses this engine was given.
    pub fn servers(&self) -> &str {
        &self.servers
    }

    /// The client (for request/reply and subscriptions).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn js(&self) -> &jetstream::Context {
        &self.js
    }

    /// The runtime the connection lives on (for background tasks).
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// Run `fut` on the connection's runtime and wait for it on this (blocking) thread.
    pub fn block<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .expect("the replication client's runtime ended while a call was waiting")
    }

    /// Create what cltd keeps in the engine, or check it is there (idempotent): the
    /// registry, `shards` log streams, the heartbeat and preview buckets and the module
    /// store, each with `replicas` copies. The number of log streams is fixed by the first
    /// init (a trust stays in its stream); a later init asking for another is refused.
    ///
    /// `lazy` names the servers found acknowledging before fsync (accepted by the
    /// operator): recorded in the registry, or cleared when empty.
    pub fn init(
        &self,
        replicas: usize,
        shards: u32,
        lazy: &[String],
    ) -> Result<Vec<String>, EngineError> {
        if !(1..=MAX_SHARDS).contains(&shards) {
            return Err(EngineError::Layout(format!(
                "--shards {shards}: a cluster has from 1 to {MAX_SHARDS} log streams"
            )));
        }
        let js = self.js.clone();
        let lazy = (!lazy.is_empty()).then(|| lazy.join(", "));
        self.block(async move {
            let mut made = Vec::new();
            let kv = |bucket: &str, description: &str| jetstream::kv::Config {
                bucket: bucket.to_string(),
                description: description.to_string(),
                history: 1,
                num_replicas: replicas,
                ..Default::default()
            };
            let registry = ensure_kv(
                &js,
                kv(REGISTRY_BUCKET, "cltd: log streams, each trust's shard"),
                &mut made,
            )
            .await?;
            match registry
                .get(SHARDS_KEY)
                .await
                .map_err(|e| EngineError::js("read the number of log streams", e))?
            {
                Some(v) if v.as_ref() == shards.to_string().as_bytes() => {}
                Some(v) => {
                    return Err(EngineError::Layout(format!(
                        "this cluster's trusts are spread over {} log streams, fixed when it was set up: run init with --shards {0}",
                        String::from_utf8_lossy(&v)
                    )));
                }
                None => {
                    registry
                        .create(SHARDS_KEY, shards.to_string().into())
                        .await
                        .map_err(|e| EngineError::js("record the number of log streams", e))?;
                }
            }
            for shard in 0..shards {
                let name = log_stream(shard);
                if js.get_stream(&name).await.is_ok() {
                    made.push(format!("stream {name}: present"));
                    continue;
                }
                js.create_stream(stream::Config {
                    name: name.clone(),
                    description: Some(format!(
                        "cltd: log shard {shard} of {shards}, one subject per trust"
                    )),
                    subjects: vec![log_subject(shard, "*")],
                    num_replicas: replicas,
                    storage: stream::StorageType::File,
                    retention: stream::RetentionPolicy::Limits,
                    discard: stream::DiscardPolicy::New,
                    max_message_size: MAX_MESSAGE as i32,
                    duplicate_window: Duration::from_secs(120),
                    ..Default::default()
                })
                .await
                .map_err(|e| EngineError::js("create a log stream", e))?;
                made.push(format!("stream {name}: created, {replicas} replicas"));
            }
            let recorded = registry
                .get(LAZY_FSYNC_KEY)
                .await
                .map_err(|e| EngineError::js("read the servers' fsync setting", e))?;
            match (&lazy, recorded) {
                (Some(servers), was) if was.as_deref() != Some(servers.as_bytes()) => {
                    registry
                        .put(LAZY_FSYNC_KEY, servers.clone().into())
                        .await
                        .map_err(|e| EngineError::js("record the servers' fsync setting", e))?;
                    made.push(format!(
                        "recorded that {servers} acknowledge before fsync: every node warns of it"
                    ));
                }
                (None, Some(_)) => {
                    registry
                        .delete(LAZY_FSYNC_KEY)
                        .await
                        .map_err(|e| EngineError::js("clear the servers' fsync setting", e))?;
                    made.push("cleared the record of servers acknowledging before fsync".into());
                }
                _ => {}
            }
            ensure_kv(
                &js,
                jetstream::kv::Config {
                    max_age: HEARTBEAT_TTL,
                    ..kv(NODES_BUCKET, "cltd: live nodes' heartbeats")
                },
                &mut made,
            )
            .await?;
            ensure_kv(
                &js,
                jetstream::kv::Config {
                    max_value_size: MAX_MESSAGE as i32,
                    ..kv(PREVIEWS_BUCKET, "cltd: stored impact previews")
                },
                &mut made,
            )
            .await?;
            match js.get_object_store(MODULES_BUCKET).await {
                Ok(_) => made.push(format!("object store {MODULES_BUCKET}: present")),
                Err(_) => {
                    js.create_object_store(jetstream::object_store::Config {
                        bucket: MODULES_BUCKET.to_string(),
                        description: Some("cltd: bylaw modules by blake3 hash".into()),
                        num_replicas: replicas,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| EngineError::js("create the module store", e))?;
                    made.push(format!(
                        "object store {MODULES_BUCKET}: created, {replicas} replicas"
                    ));
                }
            }
            Ok(made)
        })
    }

    /// The registry (which `cltd cluster init` created).
    pub fn registry(&self) -> Result<jetstream::kv::Store, EngineError> {
        let js = self.js.clone();
        self.block(async move {
            js.get_key_value(REGISTRY_BUCKET).await.map_err(|e| {
                EngineError::js("open the registry (has `cltd cluster init` been run?)", e)
            })
        })
    }

    /// The servers `cltd cluster init --allow-lazy-fsync` recorded as acknowledging before
    /// fsync (`None`: every server fsyncs before acknowledging).
    pub fn lazy_fsync(&self) -> Result<Option<String>, EngineError> {
        self.lazy_fsync_in(&self.registry()?)
    }

    /// [`Engine::lazy_fsync`], read from a registry already open.
    pub fn lazy_fsync_in(
        &self,
        registry: &jetstream::kv::Store,
    ) -> Result<Option<String>, EngineError> {
        let registry = registry.clone();
        self.block(async move {
            let value = registry
                .get(LAZY_FSYNC_KEY)
                .await
                .map_err(|e| EngineError::js("read the servers' fsync setting", e))?;
            Ok(value.map(|v| String::from_utf8_lossy(&v).into_owned()))
        })
    }
}

/// The KV bucket `config` names, created if it is not there (noted in `made`).
async fn ensure_kv(
    js: &jetstream::Context,
    config: jetstream::kv::Config,
    made: &mut Vec<String>,
) -> Result<jetstream::kv::Store, EngineError> {
    let bucket = config.bucket.clone();
    if let Ok(store) = js.get_key_value(&bucket).await {
        made.push(format!("kv {bucket}: present"));
        return Ok(store);
    }
    let replicas = config.num_replicas;
    let store = js
        .create_key_value(config)
        .await
        .map_err(|e| EngineError::js("create a KV bucket", e))?;
    made.push(format!("kv {bucket}: created, {replicas} replicas"));
    Ok(store)
}
