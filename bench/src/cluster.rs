//! `cltd bench --cluster URLS`: durable transitions through a NATS JetStream cluster beside
//! the same load on one node, in one run. Both sides are concurrent submitters through the
//! group committer on a fresh trust; on the cluster side the trust is replicated first, so
//! every group commit is appended to the engine (a quorum, fsynced) before it is committed
//! and answered.

use std::sync::Arc;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::fixture::{Fixture, Latency};
use crate::transitions::{Concurrent, concurrent};

/// One side of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Durable transitions per second.
    pub tps: f64,
    /// Submission to durable answer.
    pub latency: Latency,
    /// Transitions per group commit, on average.
    pub batch_mean: f64,
}

/// What `cltd bench --cluster` measured.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// The servers.
    pub servers: String,
    /// Concurrent submitters.
    pub submitters: usize,
    /// Transitions per side.
    pub transitions: usize,
    /// One node, its own redb only.
    pub single: Side,
    /// Replicated through the cluster.
    pub cluster: Side,
}

impl ClusterReport {
    /// The report as text.
    pub fn text(&self) -> String {
        let row = |name: &str, s: &Side| {
            format!(
                "  {name:<34} {:>9.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {:.1} per commit",
                s.tps,
                s.latency.p50_us / 1e3,
                s.latency.p99_us / 1e3,
                s.batch_mean
            )
        };
        format!(
            "durable transitions, {} submitters, {} transitions each side\n{}\n{}\n  cluster / single node: {:.0}%",
            self.submitters,
            self.transitions,
            row("one node (group commit)", &self.single),
            row(&format!("cluster ({})", self.servers), &self.cluster),
            100.0 * self.cluster.tps / self.single.tps.max(f64::MIN_POSITIVE)
        )
    }
}

fn side(c: Concurrent) -> Side {
    Side {
        tps: c.tps,
        latency: Latency::of(c.latencies),
        batch_mean: c.batch_mean,
    }
}

/// Measure `transitions` proposals from `submitters` threads on one node, then through the
/// cluster at `servers` (set up with `cltd cluster init`), committing at most `batch` at a
/// time.
pub fn run(
    wasm: &[u8],
    servers: &str,
    submitters: usize,
    transitions: usize,
    batch: usize,
) -> Result<ClusterReport> {
    let runtime = cltd::setup::runtime()?;
    let single = Fixture::on(runtime.clone(), wasm, submitters)?;
    let single = side(concurrent(single, submitters, transitions, batch)?);
    let engine = Arc::new(cltd::cluster::Engine::connect(servers, "cltd-bench")?);
    let log = Arc::new(cltd::cluster::JetStreamLog::open(engine)?);
    let mut replicated = Fixture::on(runtime, wasm, submitters)?;
    replicated
        .trust
        .replicate(log)
        .context("replicate the bench trust through the cluster")?;
    let cluster = side(concurrent(replicated, submitters, transitions, batch)?);
    Ok(ClusterReport {
        servers: servers.to_string(),
        submitters,
        transitions,
        single,
        cluster,
    })
}
