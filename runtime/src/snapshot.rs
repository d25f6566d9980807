//! A trust as of its last durable commit: what every read needs (the store, the state, the
//! engine, the clock, the host key), shared rather than copied.
//!
//! A [`Snapshot`] is cheap to take (reference counts) and never changes: the writer's next
//! commit builds a new state beside it (copy on write) and leaves this one as it was. So a
//! server answers reads, renders pages and runs impact previews on a snapshot while the
//! trust's writer judges and commits, and none of them waits for the other. The store is
//! read through redb read transactions, which a write in progress does not block; every read
//! here is bounded by the snapshot's log size, so entries committed after it was taken are
//! never seen through it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::Database;

use crate::clock::Clock;
use crate::engine::Runtime;
use crate::error::{EvalError, LoadError, RefusalError, Result};
use crate::host_rules;
use crate::id::{MemberKey, ModuleHash, TrustId};
use crate::model::{Action, Parameter, ProposalBody, ProposalStatus, Verdict};
use crate::preview::{ImpactPreview, preview};
use crate::state::{Change, TrustState};
use crate::store::{preview_key, read_intact_module, read_preview};
use crate::transition::{Keypair, UploadSignature};

/// A trust as of one durable commit, for readers on any thread: its state, its store (read
/// only), its engine, its clock and, when this host holds it, its host key. Taken with
/// [`crate::Trust::snapshot`]; every read method of a [`crate::Trust`] is one of these.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) db: Arc<Database>,
    pub(crate) path: PathBuf,
    pub(crate) runtime: Arc<Runtime>,
    pub(crate) state: Arc<TrustState>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) host: Option<Keypair>,
    /// Set when a storage write failed or a replicated envelope did not replay here: the
    /// trust's handle then writes nothing more.
    pub(crate) stopped: Arc<std::sync::OnceLock<String>>,
    /// What reads need of the genesis entry, decoded once per handle and shared by its
    /// snapshots (see [`GenesisFacts`]).
    pub(crate) genesis_facts: Arc<std::sync::OnceLock<GenesisFacts>>,
}

/// What reads keep asking of the genesis entry: the host key (every checkpoint), the first
/// module and the founding's time (the module history). The genesis never changes, and decoding it costs as
/// much as its charter's roll (3.5 MB at 100,000 members, about 30 ms), so it is decoded once
/// per handle, on first use, rather than on every checkpoint or dashboard page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GenesisFacts {
    /// The host's key, which signs checkpoints.
    pub(crate) host_key: crate::model::Key,
    /// The bylaw component in force from the start.
    pub(crate) module: ModuleHash,
    /// The founding's host time.
    pub(crate) time: u64,
    /// The log was written under this runtime's engine profile, so fuel is compared when
    /// an entry is re-executed.
    pub(crate) engine_matches: bool,
}

/// A bylaw upload that passed every check ([`Snapshot::check_upload`]) and is ready to be
/// stored with [`crate::Trust::store_upload`].
#[derive(Debug)]
pub struct CheckedUpload {
    pub(crate) component: Vec<u8>,
    pub(crate) hash: ModuleHash,
    pub(crate) uploader: MemberKey,
    pub(crate) info: crate::model::BylawInfo,
}

impl CheckedUpload {
    /// The component's hash.
    pub fn hash(&self) -> ModuleHash {
        self.hash
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("path", &self.path)
            .field("id", &self.id_hex())
            .field("size", &self.state.size)
            .finish_non_exhaustive()
    }
}

impl Snapshot {
    /// Why the trust's handle stopped writing, if a storage write failed or a replicated log
    /// did not replay here (see [`crate::StoreError::Stopped`]).
    pub fn writes_stopped(&self) -> Option<&str> {
        self.stopped.get().map(String::as_str)
    }

    /// Load the stored module `hash` into the engine, checking that its bytes hash to `hash`.
    /// The bytes are re-hashed even when the engine has the module cached, so a swapped store
    /// is always noticed.
    pub fn load_module(&self, hash: &ModuleHash) -> Result<()> {
        let bytes = read_intact_module(&*self.db, hash)?
            .ok_or_else(|| LoadError::Missing(hex::encode(hash)))?;
        self.runtime.prepare(&bytes)?;
        Ok(())
    }

    /// The trust's id, hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.state.id)
    }

    /// The trust's id.
    pub fn id(&self) -> TrustId {
        self.state.id
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The trust's current state.
    pub fn state(&self) -> &TrustState {
        &self.state
    }

    /// The snapshot of state the bylaw would be given if `signer` took `action` at host
    /// time `now` (for explaining and previewing decisions; nothing is evaluated).
    pub fn view(&self, signer: &MemberKey, action: &Action, now: u64) -> crate::model::View {
        let rules = host_rules::rules(&self.state, action);
        let with_roll = self
            .runtime
            .needs_roll(rules.module, rules.charter, action.kind());
        host_rules::view(&self.state, signer, action, now, with_roll)
    }

    /// Host time now: the clock, never earlier than the last entry (what a transition
    /// submitted now would be stamped with).
    pub fn now(&self) -> u64 {
        self.clock.now().max(self.state.time)
    }

    /// What closing open proposal `number` now would decide, as the bylaw it was opened
    /// under judges it and with the host's entrenched floors and procedure applied: a dry run
    /// that writes nothing. `None` unless the proposal is open; `Err` if the bylaw failed.
    pub fn dry_run_close(&self, number: u64) -> Option<Result<Verdict, EvalError>> {
        let p = self.state.proposals.get(&number)?;
        if p.proposal.status != ProposalStatus::Open {
            return None;
        }
        let action = Action::Close(number);
        let rules = host_rules::rules(&self.state, &action);
        let with_roll = self
            .runtime
            .needs_roll(rules.module, rules.charter, action.kind());
        let view = host_rules::view(
            &self.state,
            &MemberKey::default(),
            &action,
            self.state.time,
            with_roll,
        );
        let verdict = match self
            .runtime
            .evaluate(rules.module, &view, &action)
            .and_then(|e| host_rules::check_verdict(&view, &action, &e.verdict).map(|()| e.verdict))
        {
            Ok(v) => v,
            Err(e) => return Some(Err(e)),
        };
        let Verdict::Allow(mut allowance) = verdict else {
            return Some(Ok(verdict));
        };
        // The host's own say on the outcome (entrenched floors, the entrenched procedure).
        let (_, changes) = host_rules::effects(
            &self.state,
            &MemberKey::default(),
            0,
            &action,
            &Verdict::Allow(allowance.clone()),
            self.state.time,
            None,
        );
        allowance.decision = changes.iter().find_map(|c| match c {
            Change::Proposal {
                id,
                proposal: Some(p),
            } if *id == number => p.decision.clone(),
            _ => None,
        });
        Some(Ok(Verdict::Allow(allowance)))
    }

    /// The engine running this trust's bylaws.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The underlying store, for tests that inspect or tamper with tables directly (the
    /// `testing` feature). Everything else goes through this handle's methods.
    #[cfg(feature = "testing")]
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Replay this trust's log from genesis and compare every entry and the stored state:
    /// [`crate::verify`] on its own store.
    pub fn verify(&self) -> Result<crate::replay::VerifyReport> {
        crate::replay::verify(&*self.db, &self.runtime)
    }

    /// Check a bylaw upload approved by a member's [`UploadSignature`] over this trust and
    /// the component's hash, writing nothing: size, then the signature and membership
    /// (before any compiling), then world, imports and a bounded compile, and the bylaw's
    /// description of itself under the charter in force.
    pub fn check_upload(&self, wasm: &[u8], approval: &UploadSignature) -> Result<CheckedUpload> {
        let component = crate::amendment::upload_component(wasm)?;
        let hash = crate::engine::module_hash(&component);
        approval.verify(&self.state.id, &hash)?;
        if !self.state.members.contains_key(&approval.signer) {
            return Err(RefusalError::Amendment(format!(
                "only members may upload bylaw modules; {} is not a member",
                self.state.who(approval.signer.as_slice())
            ))
            .into());
        }
        crate::amendment::compile_bounded(&self.runtime, &component)?;
        let info = self
            .runtime
            .describe(&hash, &self.state.charter)
            .map_err(crate::error::Error::from)?;
        Ok(CheckedUpload {
            component,
            hash,
            uploader: approval.signer,
            info,
        })
    }

    /// Compute the impact preview of `module` with the `proposed` charter over this
    /// snapshot's log, storing nothing: what a server answers a caller who has not signed,
    /// and what [`crate::Trust::store_preview`] then stores for one who has.
    pub fn compute_preview(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImpactPreview> {
        self.compute_preview_until(module, proposed, None, progress)
    }

    /// [`Snapshot::compute_preview`], stopping at `deadline` if it has not finished (the
    /// report then says where it stopped).
    pub fn compute_preview_until(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
        deadline: Option<std::time::Instant>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ImpactPreview> {
        host_rules::check_params(proposed)?;
        preview(
            &self.runtime,
            &*self.db,
            &self.state,
            module,
            proposed,
            deadline,
            progress,
        )
    }

    /// Check a member's approval to store the impact preview of `module` with `proposed`
    /// ([`crate::UploadSignature::sign_preview`]): the signature over this trust and the
    /// pair, by a member. Checked before any preview is computed for the caller.
    pub fn check_preview_approval(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
        approval: &UploadSignature,
    ) -> Result<()> {
        approval.verify_preview(&self.state.id, module, proposed)?;
        if !self.state.members.contains_key(&approval.signer) {
            return Err(RefusalError::Amendment(format!(
                "only members may store impact previews; {} is not a member",
                self.state.who(approval.signer)
            ))
            .into());
        }
        Ok(())
    }

    /// True when an amendment proposal names `module` with `proposed`: the latest preview
    /// stored for the pair is then the record members voted on, and no later one is stored.
    pub fn preview_is_bound(&self, module: &ModuleHash, proposed: &[Parameter]) -> bool {
        let hex = module.to_hex();
        self.state.proposals.values().any(|p| {
            matches!(&p.proposal.body,
                ProposalBody::AmendBylaws(a) if a.module == hex && a.charter == proposed)
        })
    }

    /// The stored impact preview of `module` with the `proposed` charter, if one was made:
    /// the latest record. Once an amendment names the pair it is the one stored before the
    /// amendment opened, since none is stored after.
    pub fn stored_preview(
        &self,
        module: &ModuleHash,
        proposed: &[Parameter],
    ) -> Result<Option<ImpactPreview>> {
        Ok(read_preview(&*self.db, &preview_key(module, proposed))?)
    }
}
