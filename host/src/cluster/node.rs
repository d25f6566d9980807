//! One `cltd serve --cluster` node: its heartbeat, which node writes each trust, the
//! trusts it follows, the bylaw modules it shares, and the writes it forwards.
//!
//! - **Heartbeat.** Every second the node puts `node.<id>` in the heartbeat bucket, whose
//!   entries expire after [`HEARTBEAT_TTL`]; the live nodes are the keys present.
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
use cltd_runtime::{
    Checkpoint, Keypair, ModuleHash, Replicator, Runtime, SignedNote, SystemClock, Trust, TrustId,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::engine::{
    Engine, EngineError, HEARTBEAT_TTL, MODULES_BUCKET, NODES_BUCKET, PREVIEWS_BUCKET,
};
use super::log::JetStreamLog;
use crate::server::Hub;

/// How often a node heartbeats and refreshes its view of the live nodes.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);
/// How often a node applies what other nodes appended.
const FOLLOW_EVERY: Duration = Duration::from_millis(100);
/// How often a node looks for trusts in the engine that it does not host.
const DISCOVER_EVERY: Duration = Duration::from_secs(1);
/// How long a forwarded transition waits for the writer's answer.
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(20);

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

/// What the writer answers a forwarded transition: the receipt, or the API's error.
#[derive(Debug, Serialize, Deserialize)]
pub struct Forwarded {
    /// The HTTP status the writer would have answered.
    pub status: u16,
    /// The receipt (on 200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<crate::wire::ReceiptDoc>,
    /// The API's stable error code (otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The subject node `id` takes forwarded transitions on.
pub fn submit_subject(id: &str) -> String {
    format!("cltd.submit.{id}")
}

/// The header naming the trust of a forwarded transition.
pub const TRUST_HEADER: &str = "Cltd-Trust";

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
    /// Per trust, the checkpoint size last cosigned by the live nodes (on the node that
    /// holds the trust's host key).
    cosigned: Mutex<std::collections::HashMap<String, u64>>,
}

/// The name a node's cosignatures carry (its witness name).
pub fn witness_name(node: &str) -> String {
    format!("cltd-node-{node}")
}

/// The file a node keeps its witness key in, under its trusts directory.
pub const WITNESS_KEY_FILE: &str = "node-witness.key";

/// The subject node `id` cosigns checkpoints on.
pub fn cosign_subject(id: &str) -> String {
    format!("cltd.cosign.{id}")
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
        let (nodes, previews, modules) = engine.block(async move {
            let nodes = js
                .get_key_value(NODES_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the heartbeat bucket", e))?;
            let previews = js
                .get_key_value(PREVIEWS_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the preview bucket", e))?;
            let modules = js
                .get_object_store(MODULES_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the module store", e))?;
            Ok::<_, EngineError>((nodes, previews, modules))
        })?;
        Ok(Node {
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

    /// Put every module `trust` stores in the module store (those not there yet), so that
    /// no entry naming one is appended before the other nodes can fetch it.
    pub fn share_modules(&self, trust: &Trust) -> anyhow::Result<()> {
        for (hash, _) in trust.stored_modules()? {
            if self.is_shared(&hash) {
                continue;
            }
            let bytes = trust
                .module_bytes(&hash)?
                .ok_or_else(|| anyhow::anyhow!("module {hash} vanished"))?;
            self.put_module(&hash, bytes)?;
        }
        Ok(())
    }

    fn is_shared(&self, hash: &ModuleHash) -> bool {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(hash)
    }

    fn mark_shared(&self, hash: ModuleHash) {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(hash);
    }

    /// Put module `hash` in the module store (idempotent: one already there is kept).
    pub fn put_module(&self, hash: &ModuleHash, bytes: Vec<u8>) -> Result<(), EngineError> {
        let store = self.modules.clone();
        let name = hash.to_string();
        self.engine.block(async move {
            if store.info(&name).await.is_ok() {
                return Ok(());
            }
            store
                .put(name.as_str(), &mut bytes.as_slice())
                .await
                .map(|_| ())
                .map_err(|e| EngineError::js("put a module in the module store", e))
        })?;
        self.mark_shared(*hash);
        Ok(())
    }

    /// Module `hash` from the module store, if it is there.
    pub fn fetch_module(&self, hash: &ModuleHash) -> Result<Option<Vec<u8>>, EngineError> {
        let store = self.modules.clone();
        let name = hash.to_string();
        self.engine.block(async move {
            use tokio::io::AsyncReadExt;
            let mut object = match store.get(&name).await {
                Ok(o) => o,
                Err(e)
                    if e.kind() == async_nats::jetstream::object_store::GetErrorKind::NotFound =>
                {
                    return Ok(None);
                }
                Err(e) => return Err(EngineError::js("fetch a module from the module store", e)),
            };
            let mut bytes = Vec::new();
            object
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| EngineError::js("read a module from the module store", e))?;
            Ok(Some(bytes))
        })
    }

    /// Every module in the module store that `trust` does not hold, fetched, checked
    /// against its name (its hash) and stored.
    fn fetch_missing_modules(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
        let store = self.modules.clone();
        let names: Vec<String> = self.engine.block(async move {
            let mut list = store
                .list()
                .await
                .map_err(|e| EngineError::js("list the module store", e))?;
            let mut names = Vec::new();
            while let Some(info) = list.next().await {
                let info = info.map_err(|e| EngineError::js("list the module store", e))?;
                if !info.deleted {
                    names.push(info.name);
                }
            }
            Ok::<_, EngineError>(names)
        })?;
        let held: HashSet<ModuleHash> = crate::server::read_blocking(hub, id, |t| {
            Ok(t.stored_modules()
                .map_err(crate::server::ApiError::from)?
                .into_iter()
                .map(|(h, _)| h)
                .collect())
        })
        .map_err(api)?;
        for name in names {
            let Ok(hash) = name.parse::<ModuleHash>() else {
                continue;
            };
            if held.contains(&hash) {
                continue;
            }
            if let Some(bytes) = self.fetch_module(&hash)? {
                crate::server::hub::with_trust_blocking(hub, id, |t| {
                    t.store_replicated_module(&hash, &bytes)
                        .map_err(crate::server::ApiError::from)
                })
                .map_err(api)?;
                self.mark_shared(hash);
            }
        }
        Ok(())
    }

    /// Share a preview stored on trust `trust` (hex) with the other nodes.
    pub fn share_preview(
        &self,
        trust: &str,
        report: &cltd_runtime::ImpactPreview,
    ) -> Result<(), EngineError> {
        let bytes =
            postcard::to_allocvec(report).map_err(|e| EngineError::js("encode a preview", e))?;
        let key = format!("{trust}.{}", blake3::hash(&bytes).to_hex());
        let store = self.previews.clone();
        let put_key = key.clone();
        self.engine.block(async move {
            store
                .put(put_key, bytes.into())
                .await
                .map(|_| ())
                .map_err(|e| EngineError::js("put a preview in the preview bucket", e))
        })?;
        self.previews_held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key);
        Ok(())
    }

    /// For every preview of trust `id` (hex) another node stored, compute and store this
    /// node's own preview of the same module and charter, if it holds none (one computed
    /// on more entries than this node has applied waits for the next round).
    fn fetch_previews(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
        let store = self.previews.clone();
        let prefix = format!("{id}.");
        let keys: Vec<String> = self.engine.block(async move {
            let keys = store
                .keys()
                .await
                .map_err(|e| EngineError::js("list the preview bucket", e))?;
            let prefix = &prefix;
            Ok::<_, EngineError>(
                keys.filter_map(
                    |k| async move { k.ok().filter(|k| k.starts_with(prefix.as_str())) },
                )
                .collect()
                .await,
            )
        })?;
        for key in keys {
            let held = self
                .previews_held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&key);
            if held {
                continue;
            }
            let store = self.previews.clone();
            let get_key = key.clone();
            let Some(bytes) = self
                .engine
                .block(async move { store.get(get_key).await })
                .map_err(|e| EngineError::js("read a preview", e))?
            else {
                continue;
            };
            if blake3::hash(&bytes).to_hex().as_str() != key.rsplit('.').next().unwrap_or("") {
                tracing::warn!(target: "cltd::cluster", key, "a shared preview does not match its key; ignored");
                continue;
            }
            // The engine is trusted for availability, not content: the shared report only
            // names the pair (module, charter) a member asked about. This node computes its
            // own preview of that pair over its own log and stores that.
            let shared: cltd_runtime::ImpactPreview = postcard::from_bytes(&bytes)?;
            let snap = crate::server::hub::snapshot(hub, id).map_err(api)?;
            if snap.state().size < shared.entries {
                continue; // computed on a longer log than this node has applied: later
            }
            if snap
                .stored_preview(&shared.module, &shared.proposed)?
                .is_none()
            {
                let own = snap.compute_preview(&shared.module, &shared.proposed, &mut |_, _| {})?;
                crate::server::hub::with_trust_blocking(hub, id, |t| {
                    t.store_preview(&own).map_err(crate::server::ApiError::from)
                })
                .map_err(api)?;
            }
            self.previews_held
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(key);
        }
        Ok(())
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
        let node = Trust::follow(
            &dir,
            runtime.clone(),
            Box::new(SystemClock),
            self.replicator(),
            id,
            &component,
        )?;
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

    /// Cosign `note`, a checkpoint of trust `id` (hex), as this node's witness: only if it
    /// is signed by the trust's host key and this node's own log, re-executed entry by
    /// entry as it was applied, has the checkpoint's size and root (catching up first). The
    /// cosignature line, or why not.
    pub fn cosign(&self, hub: &Hub, id: &str, note: &str) -> anyhow::Result<String> {
        let mut note = SignedNote::parse(note)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        let snap = crate::server::hub::snapshot(hub, id).map_err(api)?;
        if checkpoint.origin != cltd_runtime::origin(&snap.id()) {
            anyhow::bail!(
                "the checkpoint is of {}, not of trust {id}",
                checkpoint.origin
            );
        }
        note.verify(&checkpoint.origin, &snap.host_key()?)?;
        let snap = if snap.state().size < checkpoint.size {
            crate::server::hub::catch_up(hub, id).map_err(api)?;
            crate::server::hub::snapshot(hub, id).map_err(api)?
        } else {
            snap
        };
        match snap.root_at(checkpoint.size)? {
            Some(root) if root == checkpoint.root => {}
            Some(_) => anyhow::bail!(
                "this node's log of {} entries has another root: the logs differ",
                checkpoint.size
            ),
            None => anyhow::bail!(
                "this node holds {} entries, fewer than the checkpoint's {}",
                snap.state().size,
                checkpoint.size
            ),
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        note.signatures.clear();
        note.add_cosignature(&witness_name(&self.id), &self.witness, now);
        let line = note.to_string();
        Ok(line[note.text.len() + 1..].to_string())
    }

    async fn answer_cosign(self: Arc<Self>, hub: Arc<Hub>) {
        let node = self.clone();
        self.respond(cosign_subject(&self.id), "cosign", move |trust, payload| {
            let (node, hub) = (node.clone(), hub.clone());
            async move {
                let note = String::from_utf8_lossy(&payload).into_owned();
                let answer = tokio::task::spawn_blocking(move || node.cosign(&hub, &trust, &note))
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r);
                match answer {
                    Ok(line) => line,
                    Err(e) => format!("refused: {e:#}"),
                }
                .into_bytes()
            }
        })
        .await;
    }

    /// Answer every request on `subject` with `answer(trust, payload)` (the trust its
    /// header names), each in a task of its own; `what` names the work in the log while the
    /// subscription cannot be made yet.
    async fn respond<F, Fut>(&self, subject: String, what: &'static str, answer: F)
    where
        F: Fn(String, Vec<u8>) -> Fut,
        Fut: std::future::Future<Output = Vec<u8>> + Send + 'static,
    {
        let mut requests = loop {
            match self.engine.client().subscribe(subject.clone()).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(target: "cltd::cluster", error = %e, what, "cannot take requests yet");
                    tokio::time::sleep(HEARTBEAT_EVERY).await;
                }
            }
        };
        while let Some(request) = requests.next().await {
            let Some(reply) = request.reply.clone() else {
                continue;
            };
            let trust = request
                .headers
                .as_ref()
                .and_then(|h| h.get(TRUST_HEADER))
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            let answered = answer(trust, request.payload.to_vec());
            let client = self.engine.client().clone();
            tokio::spawn(async move {
                let bytes = answered.await;
                if let Err(e) = client.publish(reply, bytes.into()).await {
                    tracing::warn!(target: "cltd::cluster", error = %e, what, "an answer was not sent");
                }
            });
        }
    }

    /// On the node holding trust `id`'s host key: once its log has grown, sign a fresh
    /// checkpoint, ask every live node (itself too) to cosign it, and store it with the
    /// cosignatures received. Nodes that refuse or do not answer are skipped (and named
    /// in the log); an auditor's `audit verify --quorum K` decides how many are enough.
    fn gather_cosignatures(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
        let snap = crate::server::hub::snapshot(hub, id).map_err(api)?;
        let size = snap.state().size;
        let done = self
            .cosigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .copied();
        if done == Some(size) {
            return Ok(());
        }
        let Ok(note) = snap.checkpoint() else {
            return Ok(()); // not the node holding the host key
        };
        let text = note.to_string();
        let mut merged = note.clone();
        for node in self.live() {
            let client = self.engine.client().clone();
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(TRUST_HEADER, id);
            let (subject, body) = (cosign_subject(&node), text.clone());
            let answer = self.engine.block(async move {
                tokio::time::timeout(
                    FORWARD_TIMEOUT,
                    client.request_with_headers(subject, headers, body.into_bytes().into()),
                )
                .await
            });
            let line = match answer {
                Ok(Ok(m)) => String::from_utf8_lossy(&m.payload).into_owned(),
                Ok(Err(e)) => format!("refused: {e}"),
                Err(_) => "refused: no answer in time".into(),
            };
            if line.starts_with("refused: ") {
                tracing::warn!(target: "cltd::cluster", trust = id, node, answer = line, "a node did not cosign");
                continue;
            }
            let cosigned = SignedNote::parse(&format!("{}\n{line}", note.text))?;
            merged.signatures.extend(cosigned.signatures);
        }
        crate::server::hub::with_trust_blocking(hub, id, |t| {
            t.store_checkpoint(&merged)
                .map_err(crate::server::ApiError::from)
        })
        .map_err(api)?;
        self.cosigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.to_string(), size);
        Ok(())
    }

    async fn answer_forwarded(self: Arc<Self>, hub: Arc<Hub>) {
        self.respond(
            submit_subject(&self.id),
            "forwarded writes",
            move |trust, body| {
                let hub = hub.clone();
                async move {
                    let forwarded = match crate::server::api::writes::commit(hub, trust, body).await
                    {
                        Ok(receipt) => Forwarded {
                            status: 200,
                            receipt: Some(receipt),
                            code: None,
                            message: None,
                        },
                        Err(e) => Forwarded {
                            status: e.status().as_u16(),
                            receipt: None,
                            code: Some(e.code().to_string()),
                            message: Some(e.message().to_string()),
                        },
                    };
                    serde_json::to_vec(&forwarded).expect("an answer serializes")
                }
            },
        )
        .await;
    }

    /// Send a transition for trust `trust` (hex) to node `writer` and wait for its answer;
    /// `None` if the writer did not answer (the caller then judges it itself).
    pub async fn forward(&self, writer: &str, trust: &str, body: Vec<u8>) -> Option<Forwarded> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(TRUST_HEADER, trust);
        let client = self.engine.client().clone();
        let subject = submit_subject(writer);
        let request = async move {
            client
                .request_with_headers(subject, headers, body.into())
                .await
        };
        let answer = tokio::time::timeout(FORWARD_TIMEOUT, self.engine.handle().spawn(request))
            .await
            .ok()?
            .ok()?;
        let answer = match answer {
            Ok(message) => serde_json::from_slice(&message.payload).ok(),
            Err(e) => {
                tracing::warn!(target: "cltd::cluster", writer, error = %e, "forwarding failed; judging here");
                None
            }
        };
        crate::server::metrics::forwarded(if answer.is_some() {
            "answered"
        } else {
            "judged-here"
        });
        answer
    }
}

/// An API error met on a node's own background work, for its log.
fn api(e: crate::server::ApiError) -> anyhow::Error {
    anyhow::anyhow!("{} (`{}`)", e.message(), e.code())
}

/// How long a heartbeat lasts, for status output.
pub fn heartbeat_ttl() -> Duration {
    HEARTBEAT_TTL
}
