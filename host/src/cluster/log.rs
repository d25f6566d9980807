//! The runtime's [`Replicator`] on JetStream: each trust's log is subject
//! `cltd.log.<shard>.<trust>` of log stream `CLTD_LOG_<shard>`, appended with
//! compare-and-append (`Nats-Expected-Last-Subject-Sequence`) and deduplicated by the last
//! entry's hash (`Nats-Msg-Id`).
//!
//! Which stream holds a trust is in the registry (`trust.<hex>`), set once by the first
//! append: to the shard the trust id's first bytes pick, by a create that only one node can
//! win (another reads the winner's answer), so every node uses the same stream for a trust
//! however many append at once. Each stream has its own leader, so the trusts' appends
//! spread over the servers.
//!
//! How the engine's answers map to the runtime's ([`ReplicaError`]):
//! - an acknowledgement (or a duplicate's, which names the first append's sequence): stored
//!   on a quorum (with `sync_interval: always`, fsynced there);
//! - error 10071 or 10164, wrong last sequence: [`ReplicaError::Conflict`], nothing
//!   stored;
//! - no responders (no stream leader) or a request that was never sent:
//!   [`ReplicaError::Unavailable`], nothing stored;
//! - a timeout or a dropped connection after the request went out:
//!   [`ReplicaError::Ambiguous`], which the runtime resolves by reading back.
//!
//! Reads go to the stream leader (the "raw" message API, never a direct get that a lagging
//! replica may answer), so a read after an acknowledged append sees it.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::kv;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use cltd_runtime::{EntryHash, ReplicaError, Replicator, TrustId};

use super::engine::{
    Engine, EngineError, MODULES_BUCKET, SHARDS_KEY, log_stream, log_subject, trust_key,
};

/// Trusts' logs in the engine's log streams, and the modules their entries name.
pub struct JetStreamLog {
    engine: Arc<Engine>,
    registry: kv::Store,
    modules: async_nats::jetstream::object_store::ObjectStore,
    /// The log streams, by shard.
    streams: Vec<Stream>,
    /// Each trust's shard, as the registry said (it never changes once set).
    shards: RwLock<HashMap<TrustId, u32>>,
}

impl JetStreamLog {
    /// The log streams of `engine` (which `cltd cluster init` created).
    pub fn open(engine: Arc<Engine>) -> Result<JetStreamLog, EngineError> {
        let registry = engine.registry()?;
        let js = engine.js().clone();
        let lookup = registry.clone();
        let (streams, modules) = engine.block(async move {
            let count = lookup
                .get(SHARDS_KEY)
                .await
                .map_err(|e| EngineError::js("read the number of log streams", e))?
                .and_then(|v| String::from_utf8_lossy(&v).parse::<u32>().ok())
                .ok_or_else(|| {
                    EngineError::Layout(
                        "the registry does not say how many log streams there are: run `cltd cluster init`".into(),
                    )
                })?;
            let mut streams = Vec::new();
            for shard in 0..count {
                streams.push(js.get_stream(log_stream(shard)).await.map_err(|e| {
                    EngineError::js("open a log stream (has `cltd cluster init` been run?)", e)
                })?);
            }
            let modules = js
                .get_object_store(MODULES_BUCKET)
                .await
                .map_err(|e| EngineError::js("open the module store", e))?;
            Ok::<_, EngineError>((streams, modules))
        })?;
        Ok(JetStreamLog {
            engine,
            registry,
            modules,
            streams,
            shards: RwLock::default(),
        })
    }

    /// Every trust (hex) that has a log in a stream.
    pub fn trusts(&self) -> Result<Vec<String>, ReplicaError> {
        let streams = self.streams.clone();
        self.engine.block(async move {
            let mut trusts = Vec::new();
            for (shard, stream) in streams.iter().enumerate() {
                let prefix = log_subject(shard as u32, "");
                let mut info = stream
                    .info_with_subjects(log_subject(shard as u32, "*"))
                    .await
                    .map_err(|e| ReplicaError::Unavailable(e.to_string()))?;
                use futures_util::TryStreamExt;
                while let Some((subject, _)) = info
                    .try_next()
                    .await
                    .map_err(|e| ReplicaError::Unavailable(e.to_string()))?
                {
                    if let Some(hex) = subject.strip_prefix(&prefix) {
                        trusts.push(hex.to_string());
                    }
                }
            }
            trusts.sort();
            Ok(trusts)
        })
    }

    /// The module store (bylaw modules by blake3 hash, hex).
    pub fn modules(&self) -> &async_nats::jetstream::object_store::ObjectStore {
        &self.modules
    }

    /// The servers recorded as acknowledging before fsync ([`Engine::lazy_fsync`]), read
    /// through this log's registry.
    pub fn lazy_fsync(&self) -> Result<Option<String>, EngineError> {
        self.engine.lazy_fsync_in(&self.registry)
    }

    /// Module `hash` from the module store, if it is there (unchecked: whoever stores it
    /// checks it against its hash).
    pub fn fetch_module(
        &self,
        hash: &cltd_runtime::ModuleHash,
    ) -> Result<Option<Vec<u8>>, EngineError> {
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

    /// The log stream (its number and subject) that holds `trust`, from the registry; with
    /// `assign`, a trust not registered yet is given the shard its id picks (or the one
    /// another node registered first). `None`: not registered, and not asked to.
    pub fn shard_of(
        &self,
        trust: &TrustId,
        assign: bool,
    ) -> Result<Option<(u32, String)>, ReplicaError> {
        let hex = hex::encode(trust);
        let known = self
            .shards
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(trust)
            .copied();
        let shard = match known {
            Some(shard) => shard,
            None => {
                let registry = self.registry.clone();
                let count = self.streams.len() as u32;
                let key = trust_key(&hex);
                let picked = u32::from_le_bytes(trust.0[..4].try_into().expect("4 bytes")) % count;
                let found = self.engine.block(async move {
                    let parse = |v: &[u8]| String::from_utf8_lossy(v).parse::<u32>().ok();
                    let unavailable = |e: &dyn std::fmt::Display| {
                        ReplicaError::Unavailable(format!("read the registry: {e}"))
                    };
                    let held = registry.get(&key).await.map_err(|e| unavailable(&e))?;
                    if let Some(shard) = held.and_then(|v| parse(&v)) {
                        return Ok(Some(shard));
                    }
                    if !assign {
                        return Ok(None);
                    }
                    match registry.create(&key, picked.to_string().into()).await {
                        Ok(_) => Ok(Some(picked)),
                        // Another node registered it first: its answer holds.
                        Err(e) => {
                            let held = registry.get(&key).await.map_err(|e| unavailable(&e))?;
                            match held.and_then(|v| parse(&v)) {
                                Some(shard) => Ok(Some(shard)),
                                None => Err(unavailable(&e)),
                            }
                        }
                    }
                })?;
                let Some(shard) = found else {
                    return Ok(None);
                };
                if shard >= count {
                    return Err(ReplicaError::Unavailable(format!(
                        "the registry puts trust {hex} in log stream {shard}, but there are {count}"
                    )));
                }
                self.shards
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(*trust, shard);
                shard
            }
        };
        Ok(Some((shard, log_subject(shard, &hex))))
    }

    /// The first message of `trust`'s subject at or after stream sequence `from`.
    async fn first_from(
        stream: &Stream,
        subject: &str,
        from: u64,
    ) -> Result<Option<(u64, Vec<u8>)>, ReplicaError> {
        match stream.get_first_raw_message_by_subject(subject, from).await {
            Ok(m) => Ok(Some((m.sequence, m.payload.to_vec()))),
            Err(e) if no_message(&e) => Ok(None),
            Err(e) => Err(ReplicaError::Unavailable(e.to_string())),
        }
    }
}

/// Whether a read failed only because there is no such message.
fn no_message(e: &async_nats::jetstream::stream::LastRawMessageError) -> bool {
    match e.kind() {
        LastRawMessageErrorKind::NoMessageFound => true,
        LastRawMessageErrorKind::JetStream(j) => {
            j.error_code() == async_nats::jetstream::ErrorCode::NO_MESSAGE_FOUND
        }
        _ => false,
    }
}

/// The last sequence a wrong-last-sequence error names (`wrong last sequence: N`), if any.
fn found_sequence(message: &str) -> u64 {
    let Some(at) = message.rfind("sequence: ") else {
        return 0;
    };
    let digits: String = message[at + "sequence: ".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap_or(0)
}

impl Replicator for JetStreamLog {
    fn module(&self, module: &cltd_runtime::ModuleHash) -> Result<Option<Vec<u8>>, ReplicaError> {
        self.fetch_module(module)
            .map_err(|e| ReplicaError::Unavailable(e.to_string()))
    }

    fn append(
        &self,
        trust: &TrustId,
        expected: u64,
        id: &EntryHash,
        envelope: &[u8],
    ) -> Result<u64, ReplicaError> {
        let js = self.engine.js().clone();
        let (_, subject) = self
            .shard_of(trust, true)?
            .expect("an assigned trust has a shard");
        let message = PublishMessage::build()
            .payload(envelope.to_vec().into())
            .message_id(hex::encode(id))
            .expected_last_subject_sequence(expected);
        let started = std::time::Instant::now();
        let outcome = self.engine.block(async move {
            let sent = js.send_publish(subject, message).await;
            let ack = match sent {
                Ok(future) => future.await,
                Err(e) => Err(e),
            };
            match ack {
                Ok(ack) => Ok(ack.sequence),
                Err(e) => Err(match e.kind() {
                    // The server also refuses with 10164, the same refusal without the
                    // sequence (seen when a new stream leader checks the append).
                    PublishErrorKind::WrongLastSequence => ReplicaError::Conflict {
                        expected,
                        found: found_sequence(&e.to_string()),
                    },
                    _ if e.to_string().contains("error code 10164") => ReplicaError::Conflict {
                        expected,
                        found: found_sequence(&e.to_string()),
                    },
                    PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => {
                        ReplicaError::Ambiguous(e.to_string())
                    }
                    _ => ReplicaError::Unavailable(e.to_string()),
                }),
            }
        });
        let label = match &outcome {
            Ok(_) => "ok",
            Err(ReplicaError::Conflict { .. }) => "conflict",
            Err(ReplicaError::Ambiguous(_)) => "ambiguous",
            Err(_) => "unavailable",
        };
        crate::server::metrics::appended(label, started.elapsed().as_secs_f64());
        outcome
    }

    fn last(&self, trust: &TrustId) -> Result<Option<(u64, Vec<u8>)>, ReplicaError> {
        let Some((shard, subject)) = self.shard_of(trust, false)? else {
            return Ok(None);
        };
        let stream = self.streams[shard as usize].clone();
        self.engine.block(async move {
            match stream.get_last_raw_message_by_subject(&subject).await {
                Ok(m) => Ok(Some((m.sequence, m.payload.to_vec()))),
                Err(e) if no_message(&e) => Ok(None),
                Err(e) => Err(ReplicaError::Unavailable(e.to_string())),
            }
        })
    }

    fn read_after(
        &self,
        trust: &TrustId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Vec<u8>)>, ReplicaError> {
        let Some((shard, subject)) = self.shard_of(trust, false)? else {
            return Ok(Vec::new());
        };
        let stream = self.streams[shard as usize].clone();
        self.engine.block(async move {
            let mut out = Vec::new();
            let mut from = after + 1;
            while out.len() < limit {
                match JetStreamLog::first_from(&stream, &subject, from).await? {
                    Some((seq, bytes)) => {
                        from = seq + 1;
                        out.push((seq, bytes));
                    }
                    None => break,
                }
            }
            Ok(out)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::found_sequence;

    #[test]
    fn the_sequence_a_conflict_names_is_read_from_its_message() {
        assert_eq!(
            found_sequence("wrong last sequence: 42 (code 400, error code 10071)"),
            42
        );
        assert_eq!(found_sequence("publish failed"), 0);
    }
}
