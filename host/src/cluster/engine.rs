//! The connection to the NATS JetStream cluster the nodes replicate through, and the names
//! of what cltd keeps there: the log stream (one subject per trust), the node heartbeats
//! (a KV bucket whose entries expire), stored impact previews (a KV bucket), and the bylaw
//! modules (an object store).
//!
//! The runtime's replication calls are synchronous (a trust's writer appends from a blocking
//! thread), and the client is asynchronous: the connection lives on a small runtime of its
//! own, and a blocking caller waits for a future run there on a channel, so no caller ever
//! blocks inside an asynchronous context.

use std::future::Future;
use std::time::Duration;

use async_nats::ServerAddr;
use async_nats::jetstream::{self, stream};

/// The stream that holds every trust's log: subject `cltd.log.<trust id hex>`.
pub const LOG_STREAM: &str = "CLTD_LOG";
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

/// The log stream's metadata key under which `cltd cluster init --allow-lazy-fsync` records
/// the servers it found acknowledging before fsync, so that every node can say so.
pub const LAZY_FSYNC_METADATA: &str = "cltd-lazy-fsync";

/// The subject of trust `hex`'s log.
pub fn log_subject(hex: &str) -> String {
    format!("cltd.log.{hex}")
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

    /// Create what cltd keeps in the engine, or check it is there (idempotent): the log
    /// stream, the heartbeat and preview buckets and the module store, each with `replicas`
    /// copies.
    ///
    /// `lazy` names the servers found acknowledging before fsync (accepted by the
    /// operator): recorded in the log stream's metadata, or cleared when empty.
    pub fn init(&self, replicas: usize, lazy: &[String]) -> Result<Vec<String>, EngineError> {
        let js = self.js.clone();
        let lazy = (!lazy.is_empty()).then(|| lazy.join(", "));
        self.block(async move {
            let mut made = Vec::new();
            let metadata: std::collections::HashMap<String, String> = lazy
                .iter()
                .map(|servers| (LAZY_FSYNC_METADATA.to_string(), servers.clone()))
                .collect();
            let config = stream::Config {
                name: LOG_STREAM.to_string(),
                description: Some("cltd: every replicated trust's log, one subject each".into()),
                subjects: vec![log_subject("*")],
                num_replicas: replicas,
                storage: stream::StorageType::File,
                retention: stream::RetentionPolicy::Limits,
                discard: stream::DiscardPolicy::New,
                max_message_size: MAX_MESSAGE as i32,
                duplicate_window: Duration::from_secs(120),
                metadata: metadata.clone(),
                ..Default::default()
            };
            match js.get_stream(LOG_STREAM).await {
                Ok(present) => {
                    let mut config = present.cached_info().config.clone();
                    if config.metadata.get(LAZY_FSYNC_METADATA) == lazy.as_ref() {
                        made.push(format!("stream {LOG_STREAM}: present"));
                    } else {
                        config.metadata.remove(LAZY_FSYNC_METADATA);
                        config.metadata.extend(metadata);
                        js.update_stream(config)
                            .await
                            .map_err(|e| EngineError::js("record the servers' fsync setting", e))?;
                        made.push(format!(
                            "stream {LOG_STREAM}: present; {}",
                            match &lazy {
                                Some(servers) =>
                                    format!("recorded that {servers} acknowledge before fsync"),
                                None => "cleared the record of servers acknowledging before fsync"
                                    .into(),
                            }
                        ));
                    }
                }
                Err(_) => {
                    js.create_stream(config)
                        .await
                        .map_err(|e| EngineError::js("create the log stream", e))?;
                    made.push(format!("stream {LOG_STREAM}: created, {replicas} replicas"));
                }
            }
            match js.get_key_value(NODES_BUCKET).await {
                Ok(_) => made.push(format!("kv {NODES_BUCKET}: present")),
                Err(_) => {
                    js.create_key_value(jetstream::kv::Config {
                        bucket: NODES_BUCKET.to_string(),
                        description: "cltd: live nodes' heartbeats".into(),
                        history: 1,
                        max_age: HEARTBEAT_TTL,
                        num_replicas: replicas,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| EngineError::js("create the heartbeat bucket", e))?;
                    made.push(format!("kv {NODES_BUCKET}: created, {replicas} replicas"));
                }
            }
            match js.get_key_value(PREVIEWS_BUCKET).await {
                Ok(_) => made.push(format!("kv {PREVIEWS_BUCKET}: present")),
                Err(_) => {
                    js.create_key_value(jetstream::kv::Config {
                        bucket: PREVIEWS_BUCKET.to_string(),
                        description: "cltd: stored impact previews".into(),
                        history: 1,
                        max_value_size: MAX_MESSAGE as i32,
                        num_replicas: replicas,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| EngineError::js("create the preview bucket", e))?;
                    made.push(format!(
                        "kv {PREVIEWS_BUCKET}: created, {replicas} replicas"
                    ));
                }
            }
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

    /// The servers `cltd cluster init --allow-lazy-fsync` recorded as acknowledging before
    /// fsync (`None`: every server fsyncs before acknowledging).
    pub fn lazy_fsync(&self) -> Result<Option<String>, EngineError> {
        let js = self.js.clone();
        self.block(async move {
            let stream = js
                .get_stream(LOG_STREAM)
                .await
                .map_err(|e| EngineError::js("read the log stream's settings", e))?;
            Ok(stream
                .cached_info()
                .config
                .metadata
                .get(LAZY_FSYNC_METADATA)
                .cloned())
        })
    }
}
