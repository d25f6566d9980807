//! One `cltd serve --cluster` node: its heartbeat, which node writes each trust, the
//! trusts it follows, the bylaw modules it shares, and the writes it forwards.
//!
//! - **Heartbeat.** Every second the node puts `node.<id>` in the heartbeat bucket, whose
//!   entries expire after `HEARTBEAT_TTL` (4 s); the live nodes are the keys present.
//! - **Writer.** Each trust is written by the live node that ranks first by rendezvous
//!   hashing (blake3 of the trust id and the node id): every node computes the same answer
//!   from the same live set, and when a node dies or stalls only its trusts move. The
//!   choice is for efficiency only: safety comes from compare-and-append, so two nodes that
//!   both think they write one trust cannot fork its log (one append is refused, that node
//!   catches up and judges again).
//! - **Forwarding.** A transition posted to a node that does not write its trust is sent to
//!   the writer (NATS request/reply on `cltd.submit.<node>`), which commits it and answers
//!   with its receipt, the same bytes any node would render. If the writer does not answer,
//!   this node judges it itself (safe, as above).
//! - **Following.** A background thread applies what other nodes appended to every hosted
//!   trust (re-executing each entry) and takes on trusts it finds in the engine that it does
//!   not host yet, founding each from the stream in `<trusts dir>/<trust id>`.
//! - **Modules.** Every module a node holds is put in the engine's module store before any
//!   entry naming it is appended; a node fetches (and re-hashes) the ones it lacks before it
//!   applies entries, and every second.
//! - **Witnesses.** Each node has a witness key of its own (`node-witness.key` in its
//!   trusts directory). The node holding a trust's host key signs a checkpoint once the
//!   log grew and asks every live node to cosign it; a node cosigns only a checkpoint whose
//!   size and Merkle root its own applied (re-executed) log has. So `cltd audit verify
//!   --witness cltd-node-a=KEY --witness cltd-node-b=KEY --quorum 2` proves that
//!   independent replicas hold that very log.
//! - **Previews.** A stored impact preview is put in the preview bucket before the request
//!   is answered; every node then computes and stores its own preview of the same module
//!   and charter (the engine's copy only says which), so the writer can open an amendment
//!   whose preview a member asked another node for.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_nats::jetstream::{kv, object_store::ObjectStore};
use cltd_runtime::{Keypair, ModuleHash, Replicator, Runtime, SystemClock, Trust, TrustId};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::engine::{Engine, EngineError, NODES_BUCKET, PREVIEWS_BUCKET};
use super::log::JetStreamLog;
use crate::server::Hub;

mod forward;
mod shared;
mod witness;

pub use forward::{FORWARD_TIMEOUT, Forwarded, TRUST_HEADER, submit_subject};
pub use witness::{WITNESS_KEY_FILE, cosign_subject, witness_name};

/// How often a node heartbeats and refreshes its view of the live nodes.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How often a node applies what other nodes appended.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);
/// How often a node looks for trusts in the engine that it does not host.
const DISCOVER_EVERY: Duration = Duration::from_secs(1);

/// A node's heartbeat: where its API listens, and its witness key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Heartbeat {
    /// The node's HTTP address.
    pub http: String,
    /// The node's witness public key (hex); its cosignatures are named
    /// [`witness_name`]`(id)`.
    #[serde(default)]
    pub witness: String,
}

/// One node of a cluster.
pub struct Node {
    id: String,
    engine: Arc<Engine>,
    log: Arc<JetStreamLog>,
    nodes: kv::Store,
    previews: kv::Store,
    modules: ObjectStore,
    live: RwLock<Vec<String>>,
    /// Preview keys already stored here.
    previews_held: Mutex<HashSet<String>>,
    /// Modules known to be in the module store (put or fetched by this node).
    shared: Mutex<HashSet<ModuleHash>>,
    http: String,
    /// This node's witness key: it cosigns a trust's checkpoint only when its own applied
    /// log has that size and root.
    witness: Keypair,
    /// Per trust, on the node holding its host key: the checkpoint last gathered, which
    /// nodes cosigned it, and when (see `witness.rs`).
    cosigned: Mutex<std::collections::HashMap<String, witness::Gathered>>,
    /// The servers `cltd cluster init --allow-lazy-fsync` recorded as acknowledging before
    /// fsync, as last read (`None`: all fsync first).
    lazy_fsync: RwLock<Option<String>>,
}

/// The node that writes trust `trust` (hex) among `live`: the highest rendezvous score.
pub fn writer_among<'a>(trust: &str, live: &'a [String]) -> Option<&'a String> {
    live.iter().max_by_key(|node| {
        let mut h = blake3::Hasher::new();
        h.update(b"cltd/writer/v1\0");
        h.update(trust.as_bytes());
        h.update(b"\0");
        h.update(node.as_bytes());
        *h.finalize().as_bytes()
    })
}

impl Node {
    /// Join the cluster at `servers` as node `id`, whose API listens at `http`, with the
    /// witness key kept in `root` (made on first start).
    pub fn join(
        servers: &str,
        id: &str,
        http: &str,
        root: &std::path::Path,
    ) -> Result<Node, EngineError> {
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(EngineError::Address(format!(
                "node id `{id}`: use letters, digits, `-` and `_`"
            )));
        }
        let key_file = root.join(WITNESS_KEY_FILE);
        let witness = match cltd_runtime::read_secret_key(&key_file) {
            Some(k) => k,
            None => {
                let k = Keypair::generate().map_err(EngineError::Runtime)?;
                cltd_runtime::write_secret_key(&key_file, &k).map_err(EngineError::Runtime)?;
                k
            }
        };
        let engine = Arc::new(Engine::connect(servers, &format!("cltd-{id}"))?);
        let log = Arc::new(JetStreamLog::open(engine.clone())?);
        let js = engine.js().clone();
        let (nodes, previews) = engine.block(async move {
            let nodes = js
                .get_key_value(NODES_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the heartbeat bucket", e))?;
            let previews = js
                .get_key_value(PREVIEWS_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the preview bucket", e))?;
            Ok::<_, EngineError>((nodes, previews))
        })?;
        let modules = log.modules().clone();
        let lazy_fsync = RwLock::new(log.lazy_fsync()?);
        Ok(Node {
            lazy_fsync,
            id: id.to_string(),
            engine,
            log,
            nodes,
            previews,
            modules,
            live: RwLock::new(vec![id.to_string()]),
            previews_held: Mutex::default(),
            shared: Mutex::default(),
            http: http.to_string(),
            witness,
            cosigned: Mutex::default(),
        })
    }

    /// The servers recorded (by `cltd cluster init --allow-lazy-fsync`) as acknowledging
    /// before fsync, so that an acknowledged decision could be lost if they lose power;
    /// `None` when every server fsyncs first.
    pub fn lazy_fsync(&self) -> Option<String> {
        self.lazy_fsync
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// This node's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The engine's log of trusts, as the runtime's replicator.
    pub fn replicator(&self) -> Arc<dyn Replicator> {
        self.log.clone()
    }

    /// The engine connection.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The live nodes, as last read.
    pub fn live(&self) -> Vec<String> {
        self.live
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The node that writes trust `trust` (hex), by the live nodes as last read.
    pub fn writer_of(&self, trust: &str) -> String {
        let live = self.live();
        writer_among(trust, &live)
            .cloned()
            .unwrap_or_else(|| self.id.clone())
    }

    /// Found trust `trust` (hex) on this node from the engine, in `root/<trust>`.
    fn take_on(
        &self,
        hub: &Hub,
        root: &std::path::Path,
        runtime: &Arc<Runtime>,
        trust: &str,
    ) -> anyhow::Result<()> {
        let id: TrustId = trust
            .parse()
            .map_err(|e| anyhow::anyhow!("trust id {trust} in the engine: {e:?}"))?;
        let first = self
            .log
            .read_after(&id, 0, 1)?
            .pop()
            .ok_or_else(|| anyhow::anyhow!("no log of trust {trust}"))?;
        let envelope = cltd_runtime::Envelope::from_bytes(&first.1)?;
        let genesis = envelope
            .entries
            .first()
            .map(|b| cltd_runtime::Entry::from_bytes(b))
            .transpose()?
            .and_then(|e| match e.body {
                cltd_runtime::EntryBody::Genesis(g) => Some(g),
                _ => None,
            })
            .ok_or_else(|| {
                anyhow::anyhow!("the log of trust {trust} does not start with a genesis entry")
            })?;
        let component = self.fetch_module(&genesis.module)?.ok_or_else(|| {
            anyhow::anyhow!(
                "module {} (trust {trust}'s founding bylaw) is not in the module store yet",
                genesis.module
            )
        })?;
        let dir = root.join(trust);
        // A store left by an earlier attempt that stopped while catching up (the engine
        // went away) is opened and caught up, not founded again.
        let node = if dir.join(cltd_runtime::STORE_FILE).exists() {
            let mut node = Trust::open(&dir, runtime.clone(), Box::new(SystemClock))?;
            node.replicate(self.replicator())?;
            node
        } else {
            Trust::follow(
                &dir,
                runtime.clone(),
                Box::new(SystemClock),
                self.replicator(),
                id,
                &component,
            )?
        };
        tracing::info!(target: "cltd::cluster", trust, size = node.state().size, "took on a trust from the engine");
        hub.host(node);
        Ok(())
    }

    /// Start the node's background work: heartbeat, following, taking on trusts, and
    /// answering forwarded transitions. Runs until the process ends.
    pub fn start(self: &Arc<Self>, hub: Arc<Hub>, root: PathBuf, runtime: Arc<Runtime>) {
        let heartbeat = self.clone();
        self.engine
            .handle()
            .spawn(async move { heartbeat.beat().await });
        let responder = self.clone();
        let responder_hub = hub.clone();
        self.engine
            .handle()
            .spawn(async move { responder.answer_forwarded(responder_hub).await });
        let cosigner = self.clone();
        let cosigner_hub = hub.clone();
        self.engine
            .handle()
            .spawn(async move { cosigner.answer_cosign(cosigner_hub).await });
        let follower = self.clone();
        std::thread::Builder::new()
            .name("cltd-follow".into())
            .spawn(move || follower.follow(&hub, &root, &runtime))
            .expect("start the follower thread");
    }

    async fn beat(self: Arc<Self>) {
        let value = serde_json::to_vec(&Heartbeat {
            http: self.http.clone(),
            witness: hex::encode(self.witness.public()),
        })
        .expect("a heartbeat serializes");
        let key = format!("node.{}", self.id);
        loop {
            if let Err(e) = self.nodes.put(&key, value.clone().into()).await {
                tracing::warn!(target: "cltd::cluster", error = %e, "heartbeat not stored");
            }
            match self.nodes.keys().await {
                Ok(keys) => {
                    let mut live: Vec<String> = keys
                        .filter_map(|k| async move {
                            k.ok()
                                .and_then(|k| k.strip_prefix("node.").map(str::to_string))
                        })
                        .collect()
                        .await;
                    live.sort();
                    if !live.is_empty() {
                        *self
                            .live
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = live;
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "cltd::cluster", error = %e, "live nodes not read")
                }
            }
            tokio::time::sleep(HEARTBEAT_EVERY).await;
        }
    }

    fn follow(&self, hub: &Hub, root: &std::path::Path, runtime: &Arc<Runtime>) {
        let mut discovered = Instant::now() - DISCOVER_EVERY;
        loop {
            if discovered.elapsed() >= DISCOVER_EVERY {
                discovered = Instant::now();
                match self.log.trusts() {
                    Ok(trusts) => {
                        for trust in trusts.iter().filter(|t| !hub.hosts(t)) {
                            if let Err(e) = self.take_on(hub, root, runtime, trust) {
                                tracing::warn!(target: "cltd::cluster", trust, error = %format!("{e:#}"), "trust not taken on yet");
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(target: "cltd::cluster", error = %e, "trusts in the engine not listed")
                    }
                }
                match self.log.lazy_fsync() {
                    Ok(lazy) => {
                        *self
                            .lazy_fsync
                            .write()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = lazy
                    }
                    Err(e) => {
                        tracing::debug!(target: "cltd::cluster", error = %e, "the engine's fsync setting not read")
                    }
                }
                // Modules uploaded on other nodes, so that an amendment naming one may be
                // proposed here too (a follower also fetches them whenever it is behind).
                for id in hub.ids() {
                    if let Err(e) = self.fetch_missing_modules(hub, &id) {
                        tracing::debug!(target: "cltd::cluster", trust = id, error = %format!("{e:#}"), "modules not fetched");
                    }
                    if let Err(e) = self.fetch_previews(hub, &id) {
                        tracing::debug!(target: "cltd::cluster", trust = id, error = %format!("{e:#}"), "previews not fetched");
                    }
                    if let Err(e) = self.gather_cosignatures(hub, &id) {
                        tracing::debug!(target: "cltd::cluster", trust = id, error = %format!("{e:#}"), "checkpoint not cosigned");
                    }
                }
            }
            for id in hub.ids() {
                if let Err(e) = self.follow_one(hub, &id) {
                    tracing::debug!(target: "cltd::cluster", trust = id, error = %format!("{e:#}"), "not caught up");
                }
            }
            std::thread::sleep(FOLLOW_EVERY);
        }
    }

    /// Apply what other nodes appended to trust `id`, fetching modules first when it is
    /// behind.
    fn follow_one(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
        let trust: TrustId = id
            .parse()
            .map_err(|e| anyhow::anyhow!("trust id {id}: {e:?}"))?;
        let Some((last, _)) = self.log.last(&trust)? else {
            return Ok(());
        };
        let cursor = crate::server::hub::cursor_of(hub, id);
        if cursor.is_some_and(|c| c >= last) {
            return Ok(());
        }
        self.fetch_missing_modules(hub, id)?;
        crate::server::hub::catch_up(hub, id).map_err(api)?;
        Ok(())
    }

    /// Entries the engine holds of trust `id` (hex) that this node has not applied.
    pub fn lag(&self, hub: &Hub, id: &str) -> anyhow::Result<u64> {
        let trust: TrustId = id
            .parse()
            .map_err(|e| anyhow::anyhow!("trust id {id}: {e:?}"))?;
        let end = match self.log.last(&trust)? {
            Some((_, bytes)) => cltd_runtime::Envelope::from_bytes(&bytes)?.end(),
            None => 0,
        };
        let size = crate::server::hub::snapshot(hub, id)
            .map_err(api)?
            .state()
            .size;
        Ok(end.saturating_sub(size))
    }

    /// Whether the client is connected to a server of the cluster now.
    pub fn connected(&self) -> bool {
        self.engine.client().connection_state() == async_nats::connection::State::Connected
    }
}

/// An API error met on a node's own background work, for its log.
fn api(e: crate::server::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} (`{}`)", e.message(), e.code())
}
