//! `cltd bench --audit-history N`: how fast an auditor verifies a bundle of N entries, with
//! and without re-executing the bylaws, and the hash and Merkle work alone.

use std::time::Instant;

use anyhow::{Result, ensure};
use cltd_runtime::{AuditOptions, Bundle, audit, leaves_of, root};
use serde::Serialize;

use crate::fixture::Fixture;

/// Members of the bench trust.
const MEMBERS: usize = 30;

/// The figures for one bundle.
#[derive(Debug, Clone, Serialize)]
pub struct AuditFigures {
    /// Entries in the bundle.
    pub entries: u64,
    /// Bundle size in bytes.
    pub bundle_bytes: usize,
    /// Entries per second: decoding, entry hashes and the Merkle root only.
    pub hash_merkle_per_s: f64,
    /// Entries per second: `audit verify --no-reexec` (framing, chain, signatures, sequence
    /// numbers, Merkle root, checkpoint signature).
    pub light_per_s: f64,
    /// Entries per second: `audit verify` (the above, re-executing every transition).
    pub reexec_per_s: f64,
    /// Microseconds for the trust's Merkle root (what a checkpoint signs), from the stored
    /// tree: it should not grow with the log.
    pub root_us: f64,
    /// Microseconds for an inclusion proof of the middle entry, checked.
    pub inclusion_us: f64,
    /// Microseconds for a consistency proof from half the log, checked.
    pub consistency_us: f64,
}

/// Measure audits of bundles of each size in `histories`, from classic-clt `wasm`.
pub fn run(wasm: &[u8], histories: &[usize]) -> Result<Vec<AuditFigures>> {
    let mut out = Vec::new();
    for &n in histories {
        let fx = Fixture::with_history(wasm, MEMBERS, n)?;
        let bytes = fx.trust.export()?.to_bytes();
        let runtime = fx.trust.runtime().clone();
        let entries = fx.trust.state().size;

        let t0 = Instant::now();
        let (_, hashes) = Bundle::parse_hashed(&bytes)?;
        std::hint::black_box(root(&leaves_of(&hashes)));
        let hash_merkle_per_s = entries as f64 / t0.elapsed().as_secs_f64();

        let rate = |reexecute| -> Result<f64> {
            let t0 = Instant::now();
            let report = audit(
                &bytes,
                &runtime,
                AuditOptions {
                    reexecute,
                    ..AuditOptions::default()
                },
                &mut |_, _| {},
            )?;
            ensure!(
                report.is_ok(),
                "the bench bundle must verify: {:?}",
                report.failure
            );
            Ok(entries as f64 / t0.elapsed().as_secs_f64())
        };
        // The stored tree: median of 21 runs each, in microseconds.
        let micros = |f: &dyn Fn() -> Result<()>| -> Result<f64> {
            let mut runs = Vec::new();
            for _ in 0..21 {
                let t0 = Instant::now();
                f()?;
                runs.push(t0.elapsed().as_secs_f64() * 1e6);
            }
            runs.sort_by(f64::total_cmp);
            Ok(runs[runs.len() / 2])
        };
        let root_us = micros(&|| {
            std::hint::black_box(fx.trust.root()?);
            Ok(())
        })?;
        let inclusion_us = micros(&|| {
            std::hint::black_box(fx.trust.inclusion_proof(entries / 2)?);
            Ok(())
        })?;
        let consistency_us = micros(&|| {
            std::hint::black_box(fx.trust.consistency_proof(entries / 2)?);
            Ok(())
        })?;
        let light_per_s = rate(false)?;
        let reexec_per_s = rate(true)?;
        out.push(AuditFigures {
            entries,
            bundle_bytes: bytes.len(),
            hash_merkle_per_s,
            light_per_s,
            reexec_per_s,
            root_us,
            inclusion_us,
            consistency_us,
        });
    }
    Ok(out)
}

/// The figures as a table.
pub fn text(figures: &[AuditFigures]) -> String {
    let mut lines = vec![format!(
        "audit of bundles from a {MEMBERS}-member classic-clt trust (entries per second)"
    )];
    lines.push(format!(
        "{:>10}  {:>12}  {:>14}  {:>18}  {:>14}  {:>9}  {:>14}  {:>16}",
        "entries",
        "bundle MB",
        "hash+Merkle",
        "no re-execution",
        "re-execution",
        "root µs",
        "inclusion µs",
        "consistency µs"
    ));
    for f in figures {
        lines.push(format!(
            "{:>10}  {:>12.1}  {:>14.0}  {:>18.0}  {:>14.0}  {:>9.1}  {:>14.1}  {:>16.1}",
            f.entries,
            f.bundle_bytes as f64 / 1e6,
            f.hash_merkle_per_s,
            f.light_per_s,
            f.reexec_per_s,
            f.root_us,
            f.inclusion_us,
            f.consistency_us
        ));
    }
    lines.join("\n")
}
