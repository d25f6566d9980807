//! A node as a witness of the trusts it replicates: it cosigns a checkpoint only when its
//! own applied log has that size and root, and the node holding a trust's host key gathers
//! every live node's cosignature.

use std::sync::Arc;

use cltd_runtime::{Checkpoint, SignedNote};

use super::{FORWARD_TIMEOUT, Node, TRUST_HEADER, api};
use crate::server::Hub;

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

impl Node {
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

    pub(super) async fn answer_cosign(self: Arc<Self>, hub: Arc<Hub>) {
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

    /// On the node holding trust `id`'s host key: once its log has grown, sign a fresh
    /// checkpoint, ask every live node (itself too) to cosign it, and store it with the
    /// cosignatures received. Nodes that refuse or do not answer are skipped (and named
    /// in the log); an auditor's `audit verify --quorum K` decides how many are enough.
    /// While a live node has not cosigned the latest checkpoint (it joined since, or was
    /// behind), only those nodes are asked again, every [`REGATHER_EVERY`], and the stored
    /// checkpoint changes only when one of them cosigns (so a node that never cosigns does
    /// not make it grow).
    pub(super) fn gather_cosignatures(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
        let snap = crate::server::hub::snapshot(hub, id).map_err(api)?;
        let size = snap.state().size;
        let live = self.live();
        let (ask, mut by) = match self
            .cosigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
        {
            Some(last) if last.size == size => {
                if last.at.elapsed() < REGATHER_EVERY {
                    return Ok(());
                }
                let missing: Vec<String> = live
                    .iter()
                    .filter(|n| !last.by.contains(*n))
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    return Ok(());
                }
                (missing, last.by.clone())
            }
            _ => (live, std::collections::HashSet::new()),
        };
        let Ok(note) = snap.checkpoint() else {
            return Ok(()); // not the node holding the host key
        };
        let text = note.to_string();
        let mut merged = note.clone();
        let before = by.len();
        for node in ask {
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
            by.insert(node);
        }
        // A first gathering stores the host's signature even if no node cosigned.
        if by.len() > before || before == 0 {
            crate::server::hub::with_trust_blocking(hub, id, |t| {
                t.store_checkpoint(&merged)
                    .map_err(crate::server::ApiError::from)
            })
            .map_err(api)?;
        }
        self.cosigned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                id.to_string(),
                Gathered {
                    size,
                    by,
                    at: std::time::Instant::now(),
                },
            );
        Ok(())
    }
}

/// How often a checkpoint is gathered again while a live node has not cosigned it.
pub(super) const REGATHER_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The checkpoint last gathered for a trust: its size, the nodes that cosigned it, and when.
pub(crate) struct Gathered {
    size: u64,
    by: std::collections::HashSet<String>,
    at: std::time::Instant,
}
