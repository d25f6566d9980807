//! The trusts one server hosts, each behind the runtime's group committer (its lock and its
//! queue of transitions for the next group commit) with the snapshot of its last commit
//! beside it, and the helpers every handler uses to reach one.
//!
//! Reads never take a trust's lock: they run on the snapshot published after the last
//! commit, so a commit in progress (an fsync) holds up no reader. Only what writes takes the
//! lock, and only for its write: signed transitions (through the group committer), storing
//! an upload (checked and compiled on a snapshot first), storing a signed preview (computed
//! on a snapshot first), storing a cosigned checkpoint.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cltd_runtime::{CheckedTransition, GroupCommitter, Receipt, Snapshot, SystemClock, Trust};

use super::error::ApiError;
use super::metrics;
use crate::setup;

/// One hosted trust: its group committer (signed transitions are committed in groups, and
/// every other write takes the same lock) and the snapshot of its last commit.
struct Slot {
    committer: GroupCommitter,
    published: RwLock<Snapshot>,
    /// The replication cursor as of the last publish (`None`: not replicated).
    cursor: RwLock<Option<u64>>,
}

impl Slot {
    fn snapshot(&self) -> Snapshot {
        self.published
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Publish `trust` as it stands after a commit, for the readers that come next.
    fn publish(&self, trust: &Trust) {
        *self
            .cursor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = trust.replication_cursor();
        let fresh = trust.snapshot();
        let mut published = self
            .published
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Commits publish in order, but answers of one group may race: never go back.
        if fresh.state().size >= published.state().size {
            *published = fresh;
        }
    }
}

/// The trusts one server hosts, by id (hex), and the pool their impact previews run on.
pub struct Hub {
    /// Behind a lock only so that a cluster node can take on trusts while it serves (it
    /// finds them in the engine); reads of the map are short and never wait for a trust.
    trusts: RwLock<BTreeMap<String, Arc<Slot>>>,
    previews: PreviewPool,
    cluster: Option<Arc<crate::cluster::Node>>,
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
        let limits = super::Limits::default();
        let hub = Hub {
            trusts: RwLock::default(),
            previews: PreviewPool::new(
                limits.preview_workers,
                limits.preview_queue,
                limits.preview_time,
            ),
            cluster: None,
        };
        for trust in trusts {
            hub.host(trust);
        }
        hub
    }

    /// Take on `trust` (opened or followed while serving); one already hosted under its
    /// id stays as it is.
    pub fn host(&self, trust: Trust) {
        trust.prepare_candidates();
        metrics::log_size_is(&trust.id_hex(), trust.state().size);
        let published = RwLock::new(trust.snapshot());
        let cursor = RwLock::new(trust.replication_cursor());
        let mut trusts = self
            .trusts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        trusts.entry(trust.id_hex()).or_insert_with(|| {
            Arc::new(Slot {
                // A server commits everything queued when the trust comes free.
                committer: GroupCommitter::new(trust, usize::MAX),
                published,
                cursor,
            })
        });
    }

    /// Serve as node `node` of a cluster: writes posted here for a trust another node
    /// writes are forwarded to it.
    pub fn join(&mut self, node: Arc<crate::cluster::Node>) {
        self.cluster = Some(node);
    }

    /// The cluster this server is a node of, if any.
    pub fn cluster(&self) -> Option<&Arc<crate::cluster::Node>> {
        self.cluster.as_ref()
    }

    fn map(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Slot>>> {
        self.trusts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Bound impact previews as `limits` says (workers, queue, time).
    pub fn limit_previews(&mut self, limits: &super::Limits) {
        self.previews = PreviewPool::new(
            limits.preview_workers,
            limits.preview_queue,
            limits.preview_time,
        );
    }

    /// Number of trusts hosted.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// True when it hosts none.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    /// The hosted trusts' ids (hex), in order.
    pub fn ids(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }

    /// Whether trust `id` (hex) is hosted here.
    pub fn hosts(&self, id: &str) -> bool {
        self.map().contains_key(id)
    }

    /// The pool impact previews run on.
    pub(crate) fn previews(&self) -> &PreviewPool {
        &self.previews
    }
}

/// The state every handler shares.
pub type Shared = Arc<Hub>;

fn slot(hub: &Hub, id: &str) -> Result<Arc<Slot>, ApiError> {
    hub.map()
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("this server hosts no trust {id}")))
}

/// Trust `id` (hex) as of its last commit: reads never wait for its lock.
pub fn snapshot(hub: &Hub, id: &str) -> Result<Snapshot, ApiError> {
    Ok(slot(hub, id)?.snapshot())
}

/// Run the read `f` on the snapshot of trust `id`'s last commit, never waiting for the
/// trust's lock. Called on one of the server's runtime workers, it hands that worker's other
/// tasks to another worker while `f` runs (`block_in_place`: a page may run a bylaw's dry
/// run), so the reactor is never held up.
pub fn read<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&Snapshot) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let snapshot = snapshot(hub, id)?;
    tokio::task::block_in_place(|| f(&snapshot))
}

/// Run the write `f` on trust `id` (hex), holding its lock, off the reactor as [`read`]
/// does: for uploads and for storing signed previews and cosigned checkpoints. Transitions
/// go through [`submit`].
pub fn with_trust<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let slot = slot(hub, id)?;
    tokio::task::block_in_place(|| f(&mut *locked(&slot)?))
}

/// [`read`], from a thread outside the server's runtime (a cluster node's follower).
pub fn read_blocking<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&Snapshot) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    f(&snapshot(hub, id)?)
}

/// [`with_trust`], from a thread outside the server's runtime (a cluster node's follower).
pub fn with_trust_blocking<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let slot = slot(hub, id)?;
    f(&mut *locked(&slot)?)
}

/// Trust of `slot`, under its lock.
fn locked(slot: &Slot) -> Result<std::sync::MutexGuard<'_, Trust>, ApiError> {
    slot.committer
        .lock()
        .map_err(|_| ApiError::internal("a previous request panicked holding this trust"))
}

/// Where trust `id` (hex) is in the replication engine's stream (`None`: not hosted or not
/// replicated), as of its last published commit.
pub fn cursor_of(hub: &Hub, id: &str) -> Option<u64> {
    let slot = slot(hub, id).ok()?;
    *slot
        .cursor
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Apply what other nodes appended to trust `id` (hex), under its lock, and publish the
/// result for readers. Returns the entries applied.
pub fn catch_up(hub: &Hub, id: &str) -> Result<u64, ApiError> {
    let slot = slot(hub, id)?;
    let mut trust = locked(&slot)?;
    let applied = trust.catch_up().map_err(ApiError::from);
    slot.publish(&trust);
    applied
}

/// Submit signed transition bytes to trust `id`'s group committer, on the calling (blocking)
/// thread: the signature is checked here, then the transition waits for its group's durable
/// commit. The trust's snapshot is published before `answer` renders the receipt (with the
/// trust as it stands after that commit), so a client that reads after its receipt sees
/// its transition. `answer` is called exactly once unless the commit panics.
pub(crate) fn submit(
    hub: &Hub,
    id: &str,
    bytes: &[u8],
    answer: impl FnOnce(cltd_runtime::Result<(&Trust, Receipt)>) + Send + 'static,
) -> Result<(), ApiError> {
    let slot = slot(hub, id)?;
    let committer = &slot.committer;
    match CheckedTransition::check(bytes.to_vec(), &committer.id()) {
        Err(refused) => answer(Err(refused.into())),
        Ok(checked) => {
            let publisher = slot.clone();
            committer.submit_checked(
                checked,
                Box::new(move |t, r| {
                    if r.is_ok() {
                        publisher.publish(t);
                    }
                    answer(r.map(|r| (t, r)))
                }),
            );
        }
    }
    Ok(())
}

/// Impact previews run here: at most `workers` at once, each on a blocking thread with a
/// deadline, at most `queue` more waiting; beyond that a request is answered 503 `busy` at
/// once. A preview runs on a snapshot, never under a trust's lock, so however many run,
/// writes and reads go on.
pub(crate) struct PreviewPool {
    workers: Arc<tokio::sync::Semaphore>,
    admitted: Arc<AtomicUsize>,
    capacity: usize,
    time: Duration,
}

/// Decrements the admitted count when a preview request ends (or its client goes away).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Seconds a client is told to wait when the preview pool is full.
const BUSY_RETRY_AFTER: u64 = 5;

impl PreviewPool {
    fn new(workers: usize, queue: usize, time: Duration) -> PreviewPool {
        let workers = workers.max(1);
        PreviewPool {
            workers: Arc::new(tokio::sync::Semaphore::new(workers)),
            admitted: Arc::default(),
            capacity: workers + queue,
            time,
        }
    }

    /// Run `f` with the deadline it must stop at, when a worker is free, or refuse at once
    /// with 503 `busy` when every worker is busy and the queue is full.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(Instant) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, PoolError> {
        if self.admitted.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            self.admitted.fetch_sub(1, Ordering::SeqCst);
            metrics::preview_refused();
            return Err(PoolError::Full);
        }
        let _admission = Admission(self.admitted.clone());
        let permit = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Failed(ApiError::internal("the preview pool is closed")))?;
        let deadline = Instant::now() + self.time;
        // The permit moves into the task: a worker counts as busy until its preview has
        // stopped, even if the client has gone.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f(deadline)
        })
        .await
        .map_err(|e| PoolError::Failed(ApiError::internal(e.to_string())))?
        .map_err(PoolError::Failed)
    }
}

/// Why a preview was not answered: the pool was full (503 `busy`), or the request or the
/// preview failed.
pub enum PoolError {
    /// Every worker busy and the queue full.
    Full,
    /// The request's or the preview's own error.
    Failed(ApiError),
}

impl From<cltd_runtime::Error> for PoolError {
    fn from(e: cltd_runtime::Error) -> PoolError {
        PoolError::Failed(e.into())
    }
}

impl From<ApiError> for PoolError {
    fn from(e: ApiError) -> PoolError {
        PoolError::Failed(e)
    }
}

impl IntoResponse for PoolError {
    fn into_response(self) -> Response {
        match self {
            PoolError::Full => {
                let mut response = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    format!(
                        "every impact-preview worker is busy and the queue is full; retry in {BUSY_RETRY_AFTER} s"
                    ),
                )
                .into_response();
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&BUSY_RETRY_AFTER.to_string())
                        .expect("digits are a header value"),
                );
                response
            }
            PoolError::Failed(e) => e.into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One worker, no queue: a second preview while the first runs is refused at once with
    /// 503 `busy` and a Retry-After; once the first ends the pool takes the next.
    #[test]
    fn a_full_preview_pool_refuses_at_once_and_frees_its_worker_after() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = Arc::new(PreviewPool::new(1, 0, Duration::from_secs(60)));
            let (started, running) = std::sync::mpsc::channel();
            let (release, released) = std::sync::mpsc::channel::<()>();
            let first = {
                let pool = pool.clone();
                tokio::spawn(async move {
                    pool.run(move |_| {
                        started.send(()).unwrap();
                        released.recv().unwrap();
                        Ok(1)
                    })
                    .await
                    .ok()
                })
            };
            tokio::task::spawn_blocking(move || running.recv().unwrap())
                .await
                .unwrap();
            let refused = pool.run(|_| Ok(2)).await.err().unwrap();
            assert!(matches!(refused, PoolError::Full));
            let response = refused.into_response();
            assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(response.headers()[header::RETRY_AFTER], "5");
            release.send(()).unwrap();
            assert_eq!(first.await.unwrap(), Some(1));
            assert_eq!(pool.run(|_| Ok(3)).await.ok(), Some(3));
        });
    }
}
