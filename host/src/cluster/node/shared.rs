//! What nodes share through the engine besides the log: bylaw modules (object store
//! `cltd-modules`, by hash) and which impact previews members asked for (KV bucket
//! `cltd-previews`; each node computes its own).

use std::collections::HashSet;

use cltd_runtime::{ModuleHash, Trust};
use futures_util::StreamExt;

use super::{Node, api};
use crate::cluster::engine::EngineError;
use crate::server::Hub;

impl Node {
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

    pub(super) fn is_shared(&self, hash: &ModuleHash) -> bool {
        self.shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(hash)
    }

    pub(super) fn mark_shared(&self, hash: ModuleHash) {
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
        self.log.fetch_module(hash)
    }

    /// Every module in the module store that `trust` does not hold, fetched, checked
    /// against its name (its hash) and stored.
    pub(super) fn fetch_missing_modules(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
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
    pub(super) fn fetch_previews(&self, hub: &Hub, id: &str) -> anyhow::Result<()> {
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
}
