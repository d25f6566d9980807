//! `cltd bench --amendment-history N`: what an amendment costs before the vote opens:
//! checking and compiling the candidate, the entrenched clauses' conformance suite, and
//! the impact preview over a history of N entries.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use cltd_runtime::{Clause, Parameter, Runtime, Setting, conformance, module_hash, to_component};
use serde::Serialize;

use crate::fixture::Fixture;

/// Members of the bench trust.
const MEMBERS: usize = 30;

/// The figures for one history size.
#[derive(Debug, Clone, Serialize)]
pub struct AmendmentFigures {
    /// Log entries the preview replays.
    pub history: u64,
    /// Seconds to build that history (group commits of 256), for context.
    pub build_s: f64,
    /// Milliseconds to check and compile the candidate on a fresh engine (what an upload
    /// costs).
    pub check_compile_ms: f64,
    /// Milliseconds for the conformance suite of all entrenched clauses.
    pub conformance_ms: f64,
    /// Seconds for the impact preview (migrate, conformance, the whole history re-judged,
    /// the report stored).
    pub preview_s: f64,
    /// Entries re-judged per second by the preview.
    pub preview_entries_per_s: f64,
    /// Past decisions the candidate would have decided differently.
    pub differing: u64,
}

/// Measure an amendment of the classic-clt trust `wasm` (the same module, with the ordinary
/// quorum lowered to a quarter) against histories of each size in `histories`.
pub fn run(wasm: &[u8], histories: &[usize]) -> Result<Vec<AmendmentFigures>> {
    let candidate = to_component(wasm)?;
    let charter = vec![Parameter {
        key: "ordinary-quorum".into(),
        value: "1/4".into(),
    }];
    let mut out = Vec::new();
    for &n in histories {
        let start = Instant::now();
        let fx = Fixture::with_history(wasm, MEMBERS, n)?;
        let build_s = start.elapsed().as_secs_f64();

        let t0 = Instant::now();
        let fresh = Arc::new(Runtime::new(Default::default())?);
        let hash = fresh.prepare(&candidate)?;
        let check_compile_ms = t0.elapsed().as_secs_f64() * 1e3;
        debug_assert_eq!(hash, module_hash(&candidate));

        let t0 = Instant::now();
        let setting = Setting::of(fx.trust.state(), fx.trust.state().time);
        let checks = conformance(&fresh, &hash, &charter, &Clause::ALL, &setting);
        let conformance_ms = t0.elapsed().as_secs_f64() * 1e3;
        anyhow::ensure!(
            checks.iter().all(|c| c.passed),
            "the candidate must conform"
        );

        let t0 = Instant::now();
        let preview = fx.trust.preview_amendment(&hash, &charter)?;
        let preview_s = t0.elapsed().as_secs_f64();
        out.push(AmendmentFigures {
            history: preview.entries,
            build_s,
            check_compile_ms,
            conformance_ms,
            preview_s,
            preview_entries_per_s: preview.entries as f64 / preview_s,
            differing: preview.differing,
        });
    }
    Ok(out)
}

/// The figures as a table.
pub fn text(figures: &[AmendmentFigures]) -> String {
    let mut lines = vec![format!(
        "amendment of a {MEMBERS}-member classic-clt trust (ordinary quorum 1/3 -> 1/4)"
    )];
    lines.push(format!(
        "{:>10}  {:>16}  {:>14}  {:>10}  {:>12}  {:>9}",
        "history", "check+compile ms", "conformance ms", "preview s", "entries/s", "differing"
    ));
    for f in figures {
        lines.push(format!(
            "{:>10}  {:>16.1}  {:>14.1}  {:>10.2}  {:>12.0}  {:>9}",
            f.history,
            f.check_compile_ms,
            f.conformance_ms,
            f.preview_s,
            f.preview_entries_per_s,
            f.differing
        ));
    }
    lines.join("\n")
}
