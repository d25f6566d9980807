//! The trusts one server hosts, each behind the runtime's group committer (its lock and its
//! queue of transitions for the next group commit), and the helpers every handler uses to
//! reach one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use cltd_runtime::{CheckedTransition, GroupCommitter, Receipt, SystemClock, Trust};

use super::error::ApiError;
use super::metrics;
use crate::setup;

/// One hosted trust, behind the runtime's group committer: signed transitions are
/// committed in groups, and every other use takes the same lock.
struct Slot {
    committer: GroupCommitter,
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
                    // A server commits everything queued when the trust comes free.
                    committer: GroupCommitter::new(trust, usize::MAX),
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

/// Run `f` on trust `id` (hex), holding its lock. Called from a handler on one of the
/// server's runtime workers, it first hands that worker's other tasks to another worker
/// (`block_in_place`), so that waiting for the lock (held across a commit's fsync, or by an
/// impact preview replaying the log) never holds up the reactor: `/healthz`, other trusts
/// and every other connection go on. On a blocking thread it simply runs.
pub fn with_trust<T>(
    hub: &Hub,
    id: &str,
    f: impl FnOnce(&mut Trust) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let committer = &slot(hub, id)?.committer;
    tokio::task::block_in_place(|| {
        let mut trust = committer
            .lock()
            .map_err(|_| ApiError::internal("a previous request panicked holding this trust"))?;
        f(&mut trust)
    })
}

/// Submit signed transition bytes to trust `id`'s group committer, on the calling (blocking)
/// thread: the signature is checked here, then the transition waits for its group's durable
/// commit. `answer` renders a receipt with the trust as it stands after that commit; it is
/// called exactly once unless the commit panics.
pub(crate) fn submit(
    hub: &Hub,
    id: &str,
    bytes: &[u8],
    answer: impl FnOnce(cltd_runtime::Result<(&Trust, Receipt)>) + Send + 'static,
) -> Result<(), ApiError> {
    let committer = &slot(hub, id)?.committer;
    match CheckedTransition::check(bytes.to_vec(), &committer.id()) {
        Err(refused) => answer(Err(refused.into())),
        Ok(checked) => {
            committer.submit_checked(checked, Box::new(move |t, r| answer(r.map(|r| (t, r)))));
        }
    }
    Ok(())
}
