//! A witness (C2SP `tlog-witness`): cosigns other trusts' checkpoints, but only after a
//! consistency proof shows the log extends the last checkpoint it cosigned for that origin.
//! It never cosigns a smaller or inconsistent tree, and what it cosigned survives restarts
//! (a redb store, each update durable before the cosignature is returned).
//!
//! Requests are the `add-checkpoint` body of the specification:
//!
//! ```text
//! old <size the submitter believes the witness has>
//! <base64 consistency proof hash>   (zero or more lines)
//!
//! <signed checkpoint note>
//! ```

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use redb::{Database, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::checkpoint::{Checkpoint, SignedNote};
use crate::error::StoreError;
use crate::merkle::{self, TreeHash};
use crate::model::Key;
use crate::transition::Keypair;

/// The witness's store file in its directory.
pub const WITNESS_STORE_FILE: &str = "witness.redb";
/// The witness's secret key file in its directory.
pub const WITNESS_KEY_FILE: &str = "witness.key";

const LOGS: TableDefinition<&str, &[u8]> = TableDefinition::new("logs");

/// What the witness knows of one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessedLog {
    /// The log's checkpoint-signing key.
    pub key: Key,
    /// The size of the last checkpoint cosigned (0 before the first).
    pub size: u64,
    /// Its root (the empty tree's before the first).
    pub root: TreeHash,
}

/// Why a checkpoint was not cosigned, with the HTTP status the specification gives it.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request is malformed (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The origin is not a log this witness knows (404).
    #[error("unknown log: {0}")]
    UnknownLog(String),
    /// The checkpoint is not signed by the log's key (403).
    #[error("the checkpoint is not signed by the log's key: {0}")]
    Forbidden(String),
    /// The submitter's old size is not the witness's (409); the body tells the right one.
    #[error("the witness's latest size for this log is {size}, not the old size given")]
    Conflict {
        /// The size the witness last cosigned.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("the consistency proof does not verify: {0}")]
    Unprocessable(String),
    /// The witness could not read or write its store (500).
    #[error("witness storage: {0}")]
    Storage(String),
}

impl WitnessError {
    /// The HTTP status code of this answer.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::BadRequest(_) => 400,
            WitnessError::Forbidden(_) => 403,
            WitnessError::UnknownLog(_) => 404,
            WitnessError::Conflict { .. } => 409,
            WitnessError::Unprocessable(_) => 422,
            WitnessError::Storage(_) => 500,
        }
    }
}

fn storage(e: impl std::fmt::Display) -> WitnessError {
    WitnessError::Storage(e.to_string())
}

/// The body of an `add-checkpoint` request.
pub fn add_checkpoint_request(old_size: u64, proof: &[TreeHash], note: &SignedNote) -> String {
    let mut body = format!("old {old_size}\n");
    for p in proof {
        body.push_str(&B64.encode(p));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(&note.to_string());
    body
}

/// A witness: its name (the key name of its cosignatures), key and store.
pub struct Witness {
    name: String,
    key: Keypair,
    db: Database,
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Witness {
    /// Open (or create) the witness in `dir` under `name`; its key is made on first use.
    pub fn open(dir: impl AsRef<Path>, name: &str) -> Result<Witness, StoreError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)?;
        let key_path = dir.join(WITNESS_KEY_FILE);
        let key = match std::fs::read_to_string(&key_path) {
            Ok(text) => Keypair::from_secret_hex(&text).ok_or_else(|| {
                StoreError::Corrupt(format!("{} is not a hex secret", key_path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Keypair::generate()?;
                crate::keyfile::write_secret_key(&key_path, &key).map_err(StoreError::Io)?;
                key
            }
            Err(e) => return Err(e.into()),
        };
        let db = Database::create(dir.join(WITNESS_STORE_FILE))?;
        let txn = db.begin_write()?;
        txn.open_table(LOGS)?;
        txn.commit()?;
        Ok(Witness {
            name: name.to_string(),
            key,
            db,
        })
    }

    /// The witness's public key.
    pub fn public(&self) -> Key {
        self.key.public()
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Start witnessing the log `origin`, whose checkpoints `key` signs. Adding a known log
    /// again with the same key changes nothing; with another key it is refused.
    pub fn add_log(&self, origin: &str, key: Key) -> Result<(), WitnessError> {
        if let Some(known) = self.log(origin)? {
            return if known.key == key {
                Ok(())
            } else {
                Err(WitnessError::BadRequest(format!(
                    "log {origin} is already witnessed under another key"
                )))
            };
        }
        self.put(
            origin,
            &WitnessedLog {
                key,
                size: 0,
                root: merkle::empty_root(),
            },
        )
    }

    /// What the witness knows of `origin`.
    pub fn log(&self, origin: &str) -> Result<Option<WitnessedLog>, WitnessError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let logs = txn.open_table(LOGS).map_err(storage)?;
        logs.get(origin)
            .map_err(storage)?
            .map(|v| postcard::from_bytes(v.value()).map_err(storage))
            .transpose()
    }

    fn put(&self, origin: &str, log: &WitnessedLog) -> Result<(), WitnessError> {
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(LOGS)
            .map_err(storage)?
            .insert(
                origin,
                postcard::to_stdvec(log).map_err(storage)?.as_slice(),
            )
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// Handle an `add-checkpoint` request at Unix time `now`: returns the cosignature
    /// line(s) to send back.
    pub fn add_checkpoint(&self, request: &str, now: u64) -> Result<String, WitnessError> {
        let bad = |m: &str| WitnessError::BadRequest(m.to_string());
        let (head, note) = request
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line between the proof and the checkpoint"))?;
        let mut lines = head.split('\n');
        let old_size: u64 = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let proof = lines
            .map(|l| {
                B64.decode(l)
                    .ok()
                    .and_then(|b| TreeHash::try_from(b).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<TreeHash>, _>>()?;
        let mut note = SignedNote::parse(note).map_err(|e| bad(&e.to_string()))?;
        let checkpoint = Checkpoint::parse(&note.text).map_err(|e| bad(&e.to_string()))?;
        let known = self
            .log(&checkpoint.origin)?
            .ok_or_else(|| WitnessError::UnknownLog(checkpoint.origin.clone()))?;
        note.verify(&checkpoint.origin, &known.key)
            .map_err(|e| WitnessError::Forbidden(e.to_string()))?;
        if old_size != known.size {
            return Err(WitnessError::Conflict { size: known.size });
        }
        if checkpoint.size < known.size {
            return Err(bad("the checkpoint is smaller than the old size"));
        }
        merkle::verify_consistency(
            known.size,
            checkpoint.size,
            &known.root,
            &checkpoint.root,
            &proof,
        )
        .map_err(|e| WitnessError::Unprocessable(e.to_string()))?;
        // Durable before the cosignature leaves: a restart never cosigns backwards.
        self.put(
            &checkpoint.origin,
            &WitnessedLog {
                key: known.key,
                size: checkpoint.size,
                root: checkpoint.root,
            },
        )?;
        note.signatures.clear();
        note.add_cosignature(&self.name, &self.key, now);
        let line = note.to_string();
        Ok(line[note.text.len() + 1..].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::origin;
    use crate::id::TrustId;

    fn leaves(n: u32) -> Vec<TreeHash> {
        (0..n)
            .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
            .collect()
    }

    fn note(log: &Keypair, leaves: &[TreeHash]) -> SignedNote {
        let c = Checkpoint {
            origin: origin(&TrustId([5; 32])),
            size: leaves.len() as u64,
            root: merkle::root(leaves),
        };
        SignedNote::sign(&c.text(), &c.origin, log)
    }

    fn request(old: usize, all: &[TreeHash], log: &Keypair) -> String {
        let proof = merkle::consistency_proof(all, old).unwrap();
        add_checkpoint_request(old as u64, &proof, &note(log, all))
    }

    #[test]
    fn cosigns_only_consistent_growth_and_remembers_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let log = Keypair::from_secret([1; 32]);
        let all = leaves(20);
        let w = Witness::open(dir.path(), "witness.example").unwrap();
        let err = w
            .add_checkpoint(&request(0, &all[..5], &log), 100)
            .unwrap_err();
        assert_eq!(err.status(), 404, "unknown logs are not cosigned");
        w.add_log(&origin(&TrustId([5; 32])), log.public()).unwrap();

        let line = w.add_checkpoint(&request(0, &all[..5], &log), 100).unwrap();
        let mut cosigned = note(&log, &all[..5]);
        cosigned.signatures.extend(
            SignedNote::parse(&format!("{}\n{line}", cosigned.text))
                .unwrap()
                .signatures,
        );
        assert_eq!(
            cosigned.verify_cosignature("witness.example", &w.public()),
            Ok(100)
        );

        // A stale old size: 409 with the witness's size.
        let err = w
            .add_checkpoint(&request(0, &all[..8], &log), 101)
            .unwrap_err();
        assert_eq!(err, WitnessError::Conflict { size: 5 });
        assert_eq!(err.status(), 409);
        // A bad proof: 422. A proof for a forked log: 422.
        let mut bad = merkle::consistency_proof(&all[..8], 5).unwrap();
        bad[0][0] ^= 1;
        let body = add_checkpoint_request(5, &bad, &note(&log, &all[..8]));
        assert_eq!(w.add_checkpoint(&body, 102).unwrap_err().status(), 422);
        let mut forked = all[..8].to_vec();
        forked[2][0] ^= 1;
        assert_eq!(
            w.add_checkpoint(&request(5, &forked, &log), 102)
                .unwrap_err()
                .status(),
            422
        );
        // Not signed by the log: 403.
        let mallory = Keypair::from_secret([9; 32]);
        assert_eq!(
            w.add_checkpoint(&request(5, &all[..8], &mallory), 102)
                .unwrap_err()
                .status(),
            403
        );
        // Smaller than what it cosigned: refused.
        let body = add_checkpoint_request(5, &[], &note(&log, &all[..3]));
        assert_eq!(w.add_checkpoint(&body, 102).unwrap_err().status(), 400);
        assert!(w.add_checkpoint("garbage", 102).is_err());

        // Growth with a good proof; then a restart keeps the new size.
        w.add_checkpoint(&request(5, &all[..12], &log), 103)
            .unwrap();
        drop(w);
        let w = Witness::open(dir.path(), "witness.example").unwrap();
        assert_eq!(w.log(&origin(&TrustId([5; 32]))).unwrap().unwrap().size, 12);
        assert_eq!(
            w.add_checkpoint(&request(5, &all[..20], &log), 104)
                .unwrap_err(),
            WitnessError::Conflict { size: 12 }
        );
        // The same checkpoint again is cosigned again.
        w.add_checkpoint(&request(12, &all[..12], &log), 105)
            .unwrap();
        w.add_checkpoint(&request(12, &all[..20], &log), 106)
            .unwrap();
    }
}
