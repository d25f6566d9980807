//! The trusts one server hosts, each behind its lock with its queue of transitions for the
//! next group commit, and the helpers every handler uses to reach one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use cltd_runtime::{SystemClock, Trust};

use super::error::ApiError;
use super::metrics;
use crate::setup;

/// A signed transition waiting for the next group commit, and where its answer goes.
pub(crate) struct Pending {
    /// The envelope bytes.
    pub bytes: axum::body::Bytes,
    /// When the request arrived (for the commit-latency metric).
    pub started: std::time::Instant,
    /// The answer.
    pub reply: tokio::sync::oneshot::Sender<Result<serde_json::Value, ApiError>>,
}

/// One hosted trust: the trust itself, and the transitions queued for its next commit.
struct Slot {
    trust: Mutex<Trust>,
    queue: Mutex<Vec<Pending>>,
}

/// The trusts one server hosts, by id (hex).
pub struct Hub {
    trusts: BTreeMap<String, Slot>,
}

impl Hub {
    /// Open every trust under `root`: `root` itself if it holds a trust, else each of its
    /// subdirectories that does.
    pub fn open(root: &Path) -> Result<Hub> {
        let mut dirs = Vec::new();
        if root.join(cltd_runtime::STORE_FILE).exists() {
            dirs.push(root.to_path_buf());
        } else {
            for entry in std::fs::read_dir(root)
                .with_context(|| format!("read the trusts directory {}", root.display()))?
            {
                let path = entry?.path();
                if path.join(cltd_runtime::STORE_FILE).exists() {
                    dirs.push(path);
                }
            }
        }
        dirs.sort();
        let runtime = setup::runtime()?;
        let trusts = dirs
            .iter()
            .map(|dir| {
                Trust::open(dir, runtime.clone(), Box::new(SystemClock))
                    .with_context(|| format!("open the trust in {}", dir.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Hub::hosting(trusts))
    }

    /// Host trusts the caller has opened (on any storage backend, with any clock).
    pub fn hosting(trusts: Vec<Trust>) -> Hub {
        let mut hosted = BTreeMap::new();
        for trust in trusts {
            trust.prepare_candidates();
            metrics::log_size_is(&trust.id_hex(), trust.state().size);
            hosted.insert(
                trust.id_hex(),
                Slot {
                    trust: Mutex::new(trust),
                    queue: Mutex::new(Vec::new()),
                },
            );
        }
        Hub { trusts: hosted }
    }

    /// Number of trusts hosted.
    pub fn len(&self) -> usize {
        self.trusts.len()
    }

    /// True when it hosts none.
    pub fn is_empty(&self) -> bool {
        self.trusts.is_empty()
    }

    /// The hosted trusts' ids (hex), in order.
    pub fn ids(&self) -> impl Iterator<Item = &String> {
        self.trusts.keys()
    }
}

/// The state every handler shares.
pub type Shared = Arc<Hub>;

fn slot<'a>(hub: &'a Hub, id: &str) -> Result<&'a Slot, ApiError> {
    hub.trusts
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("this server hosts no trust {id}")))
}

/// Run `f` on trust `id` (hex), holding its lock.
pub fn with_trust<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut trust = slot(hub, id)?
        .trust
        .lock()
        .map_err(|_| ApiError::internal("a previous request panicked holding this trust"))?;
    f(&mut trust)
}

/// Queue a signed transition for trust `id`'s next group commit.
pub(crate) fn enqueue(hub: &Hub, id: &str, pending: Pending) -> Result<(), ApiError> {
    slot(hub, id)?
        .queue
        .lock()
        .map_err(|_| ApiError::internal("the commit queue is poisoned"))?
        .push(pending);
    Ok(())
}

/// Group commit: take the trust's lock, then every transition queued so far, and commit
/// them in one durable write ([`Trust::submit_batch`]); each is answered once the batch is
/// durable. Whoever gets the lock commits for everyone queued: while one batch waits on
/// the disk, the next gathers. Returns at once if another caller took this one's work.
pub(crate) fn commit_queued(
    hub: &Hub,
    id: &str,
    answer: impl Fn(
        &Trust,
        &Pending,
        cltd_runtime::Result<cltd_runtime::Receipt>,
    ) -> Result<serde_json::Value, ApiError>,
) {
    let Ok(slot) = slot(hub, id) else { return };
    let trust = slot.trust.lock();
    // The queue's lock is held only to push or take, never across a panic point.
    let batch: Vec<Pending> = match slot.queue.lock() {
        Ok(mut q) => std::mem::take(&mut *q),
        Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
    };
    let Ok(mut trust) = trust else {
        // An earlier commit panicked with the trust in hand: answer at once rather than
        // leave these waiting for their timeout. Nothing of theirs was written.
        for pending in batch {
            let _ = pending.reply.send(Err(ApiError::internal(
                "this trust is unavailable after an internal fault; restart the server",
            )));
        }
        return;
    };
    if batch.is_empty() {
        return;
    }
    let refs: Vec<&[u8]> = batch.iter().map(|p| p.bytes.as_ref()).collect();
    let results = trust.submit_batch(&refs);
    for (pending, result) in batch.into_iter().zip(results) {
        let reply = answer(&trust, &pending, result);
        let _ = pending.reply.send(reply);
    }
}
