//! Offline audit of a bundle: every check an outsider with only the bundle and this runtime
//! can make, and the explanation of any single decision.
//!
//! In order: the bundle's framing; the manifest against the genesis entry (trust id, host
//! key); the checkpoint's signature by the host key; every entry (hash chain, indices, time,
//! signatures and sequence numbers, and, with re-execution, every verdict, effect, fuel
//! figure and state-change digest under the module that judged it); the Merkle root of the
//! entries against the signed checkpoint; and, when the auditor verified this trust before,
//! a consistency proof from that checkpoint to this one (a rewritten or forked history
//! fails it).

use std::collections::BTreeMap;

use redb::{Database, backends::InMemoryBackend};
use serde::{Deserialize, Serialize};

use crate::bundle::{Bundle, BundleError, Location, Manifest};
use crate::checkpoint::{Checkpoint, SignedNote, origin};
use crate::engine::{Runtime, module_hash};
use crate::error::{Result, StoreError};
use crate::id::{EntryHash, MemberKey, ModuleHash, TrustId};
use crate::log::{Entry, EntryBody, Genesis};
use crate::merkle::{self, TreeHash};
use crate::model::{Effect, Key};
use crate::replay::replay;
use crate::schema::{LOG, MODULES};
use crate::state::TrustState;
use crate::transition::{SignedTransition, TransitionBody};

/// A checkpoint an auditor verified, remembered for the next audit of the same trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    /// Its tree size.
    pub size: u64,
    /// Its root.
    pub root: TreeHash,
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct AuditOptions {
    /// Re-execute every transition with the module that judged it (otherwise: hashes, chain,
    /// signatures, sequence numbers and the Merkle root only).
    pub reexecute: bool,
    /// The checkpoint verified last time, to prove the log only grew since.
    pub remembered: Option<Remembered>,
    /// Witnesses the auditor knows (name, Ed25519 key).
    pub witnesses: Vec<(String, Key)>,
    /// How many of them must have cosigned the checkpoint.
    pub quorum: usize,
}

/// What an audit checked and found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    /// The trust id the bundle's genesis entry defines.
    pub trust_id: Option<TrustId>,
    /// Entries in the bundle.
    pub entries: u64,
    /// Entries checked before any failure.
    pub checked: u64,
    /// The checkpoint's size and root, once its signature verified.
    pub checkpoint: Option<Remembered>,
    /// Whether transitions were re-executed.
    pub reexecuted: bool,
    /// Transitions allowed and denied (counted when re-executed).
    pub allowed: u64,
    /// See `allowed`.
    pub denied: u64,
    /// Modules put in force, in order.
    pub modules: Vec<ModuleHash>,
    /// The size of the earlier checkpoint this one was proven consistent with.
    pub consistent_with: Option<u64>,
    /// Known witnesses whose cosignature on the checkpoint verified.
    pub cosigned_by: Vec<String>,
    /// The first failure, if any.
    pub failure: Option<BundleError>,
}

impl AuditReport {
    /// True when everything verified.
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

fn fail(report: &mut AuditReport, location: Location, reason: impl Into<String>) -> AuditReport {
    report.failure = Some(BundleError {
        location,
        reason: reason.into(),
    });
    std::mem::take(report)
}

/// The genesis entry of a bundle, checked against its manifest.
fn genesis(bundle: &Bundle) -> std::result::Result<Genesis, BundleError> {
    let err = |reason: String| BundleError {
        location: Location::Entry(0),
        reason,
    };
    let first = bundle
        .entries
        .first()
        .ok_or_else(|| err("the bundle holds no entries".into()))?;
    let entry = Entry::from_bytes(first).map_err(|e| err(format!("does not decode: {e}")))?;
    let EntryBody::Genesis(g) = entry.body else {
        return Err(err("the first entry is not a genesis entry".into()));
    };
    let Manifest {
        trust_id, host_key, ..
    } = &bundle.manifest;
    if &g.trust_id() != trust_id {
        return Err(err(format!(
            "the genesis entry defines trust {}, the manifest names {}",
            hex::encode(g.trust_id()),
            hex::encode(trust_id)
        )));
    }
    if &g.host_key != host_key {
        return Err(err(format!(
            "the genesis entry names host key {}, the manifest {}",
            hex::encode(g.host_key),
            hex::encode(host_key)
        )));
    }
    Ok(g)
}

/// Audit the bundle `bytes`. `progress(done, total)` is called as entries are checked.
/// `Err` only when the auditor itself fails; a bad bundle gives a report with a failure.
pub fn audit(
    bytes: &[u8],
    runtime: &Runtime,
    options: AuditOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<AuditReport> {
    let mut report = AuditReport {
        reexecuted: options.reexecute,
        ..AuditReport::default()
    };
    let (bundle, hashes) = match Bundle::parse_hashed(bytes) {
        Ok(b) => b,
        Err(e) => {
            report.failure = Some(e);
            return Ok(report);
        }
    };
    report.entries = bundle.entries.len() as u64;
    if let Err(e) = genesis(&bundle) {
        report.failure = Some(e);
        return Ok(report);
    }
    let trust_id = bundle.manifest.trust_id;
    report.trust_id = Some(trust_id);

    // The checkpoint, signed by the host key the genesis entry names.
    let name = origin(&trust_id);
    let (checkpoint, note) = match SignedNote::parse(&bundle.checkpoint).and_then(|note| {
        note.verify(&name, &bundle.manifest.host_key)?;
        Ok((Checkpoint::parse(&note.text)?, note))
    }) {
        Ok(c) => c,
        Err(e) => return Ok(fail(&mut report, Location::Checkpoint, e.to_string())),
    };
    report.cosigned_by = options
        .witnesses
        .iter()
        .filter(|(w, key)| note.verify_cosignature(w, key).is_ok())
        .map(|(w, _)| w.clone())
        .collect();
    if report.cosigned_by.len() < options.quorum {
        let (got, quorum) = (report.cosigned_by.len(), options.quorum);
        let known: Vec<&str> = options.witnesses.iter().map(|(w, _)| w.as_str()).collect();
        return Ok(fail(
            &mut report,
            Location::Checkpoint,
            format!(
                "{got} of the {quorum} required witness cosignatures verify (known witnesses: {})",
                known.join(", ")
            ),
        ));
    }
    if checkpoint.origin != name {
        return Ok(fail(
            &mut report,
            Location::Checkpoint,
            format!(
                "origin `{}` is not this trust's (`{name}`)",
                checkpoint.origin
            ),
        ));
    }
    if checkpoint.size != report.entries {
        let entries = report.entries;
        return Ok(fail(
            &mut report,
            Location::Checkpoint,
            format!(
                "the signed checkpoint covers {} entries, the bundle holds {entries}",
                checkpoint.size
            ),
        ));
    }

    // The entries.
    let outcome = if options.reexecute {
        reexecute(&bundle, runtime, &mut report, progress)?.map(|_| ())
    } else {
        light(&bundle, &hashes, &mut report, progress)
    };
    if let Err(e) = outcome {
        report.failure = Some(e);
        return Ok(report);
    }

    // The Merkle root against the signed checkpoint.
    // Every entry decoded in the pass above; the tree is over the bytes as stored.
    let leaves = merkle::leaves_of(&hashes);
    let root = merkle::root(&leaves);
    if root != checkpoint.root {
        return Ok(fail(
            &mut report,
            Location::Checkpoint,
            format!(
                "the entries' Merkle root {} is not the signed root {}",
                hex::encode(root),
                hex::encode(checkpoint.root)
            ),
        ));
    }
    report.checkpoint = Some(Remembered {
        size: checkpoint.size,
        root,
    });

    // The log only grew since the checkpoint verified last time.
    if let Some(old) = options.remembered {
        if old.size > checkpoint.size {
            return Ok(fail(
                &mut report,
                Location::History,
                format!(
                    "the log has {} entries but {} were verified before: its history was cut or rewritten",
                    checkpoint.size, old.size
                ),
            ));
        }
        let proof = merkle::consistency_proof(&leaves, old.size as usize)
            .expect("old size is within the tree");
        if merkle::verify_consistency(old.size, checkpoint.size, &old.root, &root, &proof).is_err()
        {
            return Ok(fail(
                &mut report,
                Location::History,
                format!(
                    "the first {} entries are not the ones verified before (root {}): the log forked or rewrote its history",
                    old.size,
                    hex::encode(old.root)
                ),
            ));
        }
        report.consistent_with = Some(old.size);
    }
    Ok(report)
}

/// Hash chain, indices, time, signatures, sequence numbers and the modules in force, without
/// running any bylaw.
fn light(
    bundle: &Bundle,
    hashes: &[EntryHash],
    report: &mut AuditReport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(), BundleError> {
    let total = bundle.entries.len() as u64;
    let modules: BTreeMap<ModuleHash, ()> = bundle
        .modules
        .iter()
        .map(|m| (module_hash(m), ()))
        .collect();
    let mut prev = EntryHash::default();
    let mut time = 0;
    let mut module = ModuleHash::default();
    let mut nonces: BTreeMap<MemberKey, u64> = BTreeMap::new();
    // Each proposal's module, frozen when it opened.
    let mut frozen: BTreeMap<u64, ModuleHash> = BTreeMap::new();
    // Entries are decoded, and transitions' signatures checked, on every core a window at a
    // time; the checks that follow the log's order run below, in order, as before.
    const WINDOW: usize = 4096;
    let decoded = bundle.entries.chunks(WINDOW).flat_map(|window| {
        crate::par::map(window, |bytes| {
            let entry = Entry::from_bytes(bytes);
            let signed = match &entry {
                Ok(Entry {
                    body: EntryBody::Transition(rec),
                    ..
                }) => Some(
                    SignedTransition::decode(&rec.signed)
                        .map(|(signed, body)| {
                            let verified = signed.verify(&body).map_err(|e| e.to_string());
                            (body, verified)
                        })
                        .map_err(|e| e.to_string()),
                ),
                _ => None,
            };
            (entry, signed)
        })
    });
    for (i, (hash, (entry, signed))) in hashes.iter().zip(decoded).enumerate() {
        let i = i as u64;
        let err = |reason: String| BundleError {
            location: Location::Entry(i),
            reason,
        };
        let entry = entry.map_err(|e| err(format!("does not decode: {e}")))?;
        if entry.index != i {
            return Err(err(format!(
                "claims index {}: entries were reordered",
                entry.index
            )));
        }
        if entry.prev != prev {
            return Err(err(format!(
                "hash chain broken: stores previous hash {}, but entry {} hashes to {}",
                hex::encode(entry.prev),
                i.saturating_sub(1),
                hex::encode(prev)
            )));
        }
        if entry.time < time {
            return Err(err(format!(
                "time goes backwards ({} after {time})",
                entry.time
            )));
        }
        time = entry.time;
        match &entry.body {
            EntryBody::Genesis(g) => {
                if i != 0 {
                    return Err(err("a second genesis entry".into()));
                }
                module = g.module;
            }
            EntryBody::Transition(rec) => {
                if i == 0 {
                    return Err(err("the first entry is not a genesis entry".into()));
                }
                let (body, verified): (TransitionBody, _) =
                    signed.expect("transitions are decoded").map_err(err)?;
                // An action on a proposal is judged by the module it was opened under.
                let judge = body
                    .action
                    .target()
                    .and_then(|id| frozen.get(&id).copied())
                    .unwrap_or(module);
                if rec.module != judge {
                    return Err(err(format!(
                        "judged by module {}, but the rules for this action are module {}",
                        hex::encode(rec.module),
                        hex::encode(judge)
                    )));
                }
                if Some(body.trust) != report.trust_id {
                    return Err(err("the transition names another trust".into()));
                }
                verified.map_err(err)?;
                let next = nonces.entry(body.signer).or_insert(0);
                if body.seq != *next {
                    return Err(err(format!(
                        "sequence number {} for key {}… is not the next one ({next})",
                        body.seq,
                        hex::encode(&body.signer.as_bytes()[..4])
                    )));
                }
                *next += 1;
                if rec.verdict.is_allowed() {
                    report.allowed += 1;
                } else {
                    report.denied += 1;
                }
                for e in &rec.effects {
                    match e {
                        Effect::ProposalOpened { proposal, .. } => {
                            frozen.insert(*proposal, module);
                        }
                        Effect::BylawsAmended { module: m, .. } => module = *m,
                        _ => {}
                    }
                }
            }
        }
        if !modules.contains_key(&module) {
            return Err(err(format!(
                "module {} in force here is not in the bundle",
                hex::encode(module)
            )));
        }
        if !report.modules.contains(&module) {
            report.modules.push(module);
        }
        prev = *hash;
        report.checked = i + 1;
        progress(i + 1, total);
    }
    Ok(())
}

/// Load the bundle into an in-memory store and replay it with re-execution.
fn reexecute(
    bundle: &Bundle,
    runtime: &Runtime,
    report: &mut AuditReport,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<std::result::Result<TrustState, BundleError>> {
    let db = in_memory(bundle)?;
    let (verified, state) = replay(&db, runtime, false, progress)?;
    report.checked = verified.checked;
    report.allowed = verified.allowed;
    report.denied = verified.denied;
    report.modules = verified.modules;
    Ok(match verified.divergence {
        None => Ok(state),
        Some(d) => Err(BundleError {
            location: Location::Entry(d.index),
            reason: d.reason,
        }),
    })
}

fn in_memory(bundle: &Bundle) -> Result<Database> {
    let db = Database::builder()
        .create_with_backend(InMemoryBackend::new())
        .map_err(StoreError::from)?;
    let txn = db.begin_write().map_err(StoreError::from)?;
    {
        let mut log = txn.open_table(LOG).map_err(StoreError::from)?;
        for (i, e) in bundle.entries.iter().enumerate() {
            log.insert(i as u64, e.as_slice())
                .map_err(StoreError::from)?;
        }
        let mut modules = txn.open_table(MODULES).map_err(StoreError::from)?;
        for m in &bundle.modules {
            modules
                .insert(module_hash(m).as_bytes(), m.as_slice())
                .map_err(StoreError::from)?;
        }
    }
    txn.commit().map_err(StoreError::from)?;
    Ok(db)
}

/// Why one logged decision came out as it did.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The entry.
    pub entry: Entry,
    /// The signed transition's body (signer, sequence number, action), for a transition.
    pub body: Option<TransitionBody>,
    /// The trust's state just before the entry, as replayed (with re-execution).
    pub before: TrustState,
}

/// Replay the bundle up to entry `index` (re-executing, after checking the bundle as
/// [`audit`] does) and return what explains that entry. Fails with the bundle's first
/// failure if the history up to it does not verify.
pub fn explain(
    bytes: &[u8],
    runtime: &Runtime,
    index: u64,
) -> Result<std::result::Result<Explanation, BundleError>> {
    explain_with(bytes, runtime, index, &mut |_, _| {})
}

/// [`explain`], calling `progress(done, total)` as the entries up to `index` are replayed
/// (twice: through the entry, then up to it, for the state it was judged against).
pub fn explain_with(
    bytes: &[u8],
    runtime: &Runtime,
    index: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<std::result::Result<Explanation, BundleError>> {
    let total = 2 * index + 1;
    let bundle = match Bundle::parse(bytes) {
        Ok(b) => b,
        Err(e) => return Ok(Err(e)),
    };
    if let Err(e) = genesis(&bundle) {
        return Ok(Err(e));
    }
    let Some(raw) = bundle.entries.get(index as usize) else {
        return Ok(Err(BundleError {
            location: Location::End,
            reason: format!(
                "there is no entry {index}: the bundle holds {}",
                bundle.entries.len()
            ),
        }));
    };
    // The entry itself must replay, and so must everything before it.
    let through = Bundle {
        entries: bundle.entries[..=index as usize].to_vec(),
        ..bundle.clone()
    };
    if let Err(e) = reexecute(
        &through,
        runtime,
        &mut AuditReport::default(),
        &mut |done, _| progress(done, total),
    )? {
        return Ok(Err(e));
    }
    let upto = Bundle {
        entries: bundle.entries[..index as usize].to_vec(),
        ..bundle.clone()
    };
    let before = if index == 0 {
        TrustState::default()
    } else {
        let mut report = AuditReport::default();
        match reexecute(&upto, runtime, &mut report, &mut |done, _| {
            progress(index + 1 + done, total);
        })? {
            Ok(state) => state,
            Err(e) => return Ok(Err(e)),
        }
    };
    let entry = match Entry::from_bytes(raw) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Err(BundleError {
                location: Location::Entry(index),
                reason: e.to_string(),
            }));
        }
    };
    let body = match &entry.body {
        EntryBody::Transition(rec) => SignedTransition::decode(&rec.signed).ok().map(|(_, b)| b),
        EntryBody::Genesis(_) => None,
    };
    Ok(Ok(Explanation {
        entry,
        body,
        before,
    }))
}
