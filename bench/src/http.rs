//! `cltd bench --http`: sustained signed-vote submissions per second over HTTP on loopback,
//! from concurrent clients, each vote answered only once durable (the server group-commits),
//! with client-side p50/p99 latency; and the memory `cltd serve` holds per idle trust.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use cltd_runtime::{
    Action, Applicant, Charter, Choice, Clause, Keypair, SignedTransition, StakeholderClass,
    SystemClock, Trust, Vote,
};
use serde::Serialize;

use crate::fixture::{Fixture, Latency};
use crate::process::rss_kib;
use cltd::server::{Hub, Limits};

/// What the HTTP bench measured.
#[derive(Debug, Clone, Serialize)]
pub struct HttpReport {
    /// Members of the loaded trust (voters per proposal).
    pub members: usize,
    /// Concurrent clients (one keep-alive connection each).
    pub clients: usize,
    /// Signed votes submitted, each acknowledged with a durable receipt.
    pub votes: usize,
    /// Votes per second, first request to last answer.
    pub votes_per_s: f64,
    /// Client-side latency of one vote (request to durable receipt).
    pub latency: Latency,
    /// Idle trusts served by one process.
    pub idle_trusts: usize,
    /// Resident memory before opening them, KiB.
    pub rss_before_kib: u64,
    /// Resident memory with all of them open and served, KiB.
    pub rss_after_kib: u64,
    /// Time to open them all.
    pub open_s: f64,
    /// Store size on disk per trust, bytes.
    pub disk_per_trust: u64,
    /// Reads of the loaded trust (its state, members and proposals), each asked [`READS`]
    /// times in a row after the votes: the path, the median time to the last byte and the
    /// body's size.
    pub reads: Vec<ReadFigure>,
}

/// Times each of [`HttpReport::reads`] is asked.
pub const READS: usize = 5;

/// One read's figures (see [`HttpReport::reads`]).
#[derive(Debug, Clone, Serialize)]
pub struct ReadFigure {
    /// The path, with `{id}` for the trust.
    pub path: String,
    /// Median time to the last byte, milliseconds.
    pub p50_ms: f64,
    /// Body size, bytes.
    pub bytes: usize,
}

impl HttpReport {
    /// The report as text.
    pub fn text(&self) -> String {
        let per_trust = (self.rss_after_kib.saturating_sub(self.rss_before_kib)) as f64
            / self.idle_trusts.max(1) as f64;
        let reads: String = self
            .reads
            .iter()
            .map(|r| {
                format!(
                    "\n  GET {}: p50 {:.1} ms, {:.1} KiB",
                    r.path,
                    r.p50_ms,
                    r.bytes as f64 / 1024.0
                )
            })
            .collect();
        format!(
            "signed votes over HTTP (loopback, {} clients, {} members, durable receipts, group commit):\n  \
             {:.0} votes/s over {} votes; latency p50 {:.1} ms, p99 {:.1} ms\n\
             reads of the trust after the votes ({READS} each, one client):{reads}\n\
             {} idle trusts in one `cltd serve`: opened in {:.1} s; resident memory {} MiB -> {} MiB ({per_trust:.0} KiB per trust); {} KiB on disk per trust",
            self.clients,
            self.members,
            self.votes_per_s,
            self.votes,
            self.latency.p50_us / 1000.0,
            self.latency.p99_us / 1000.0,
            self.idle_trusts,
            self.open_s,
            self.rss_before_kib / 1024,
            self.rss_after_kib / 1024,
            self.disk_per_trust / 1024,
        )
    }
}

/// Serve `root` on a loopback port in a background thread; its base URL, once it answers.
fn spawn_server(root: &Path) -> Result<String> {
    let hub = Hub::open(root)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    // The load comes from one address: lift the per-client limit for the measurement.
    let limits = Limits {
        writes_per_second: u32::MAX,
        write_burst: u32::MAX,
        connections_per_client: usize::MAX,
        ..Limits::default()
    };
    let server = std::thread::spawn(move || cltd::server::serve(hub, listener, &limits));
    let agent = agent();
    loop {
        if let Ok(r) = agent.get(&format!("{base}/readyz")).call()
            && r.status() == 200
        {
            return Ok(base);
        }
        if server.is_finished() {
            return match server.join() {
                Ok(Err(e)) => Err(e.context("the bench server stopped")),
                _ => bail!("the bench server stopped"),
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An HTTP client for cltd's own server: errors are answers to read, a minute at most.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Open `n` small idle trusts (three founders each) under `root`, serve them, and measure.
fn idle(wasm: &[u8], root: &Path, n: usize) -> Result<(u64, u64, f64, u64)> {
    let runtime = cltd::setup::runtime()?;
    for i in 0..n {
        let classes = [
            StakeholderClass::Resident,
            StakeholderClass::Community,
            StakeholderClass::Public,
        ];
        let founders = classes
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let k = Keypair::generate()?;
                Ok(Applicant {
                    key: k.public().to_vec(),
                    name: format!("founder-{j}"),
                    class: *c,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let charter = Charter {
            treasury: None,
            name: format!("Idle Trust {i}"),
            params: vec![],
            founders,
            assets: vec![],
            entrenched: Clause::ALL.to_vec(),
        };
        Trust::create(
            root.join(format!("trust-{i:04}")),
            runtime.clone(),
            charter,
            wasm,
            Box::new(SystemClock),
        )?;
    }
    drop(runtime);
    let disk = std::fs::metadata(root.join("trust-0000").join(cltd_runtime::STORE_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    let before = rss_kib();
    let t0 = Instant::now();
    let base = spawn_server(root)?;
    let agent = agent();
    // Touch every trust once, as a dashboard listing would.
    let open_s = t0.elapsed().as_secs_f64();
    let mut r = agent.get(&format!("{base}/v1/trusts")).call()?;
    let listed: serde_json::Value = serde_json::from_str(&r.body_mut().read_to_string()?)?;
    ensure!(
        listed["trusts"].as_array().map(Vec::len) == Some(n),
        "the server lists {} trusts, not {n}",
        listed["trusts"].as_array().map_or(0, Vec::len)
    );
    Ok((before, rss_kib(), open_s, disk))
}

/// Measure: `votes` signed votes from `clients` concurrent clients on a trust of `members`
/// members, then `idle_trusts` idle trusts in one server.
pub fn run(
    wasm: &[u8],
    members: usize,
    votes: usize,
    clients: usize,
    idle_trusts: usize,
) -> Result<HttpReport> {
    if members < 3 || votes == 0 || clients == 0 {
        bail!("the HTTP bench needs at least 3 members, 1 vote and 1 client");
    }
    let clients = clients.min(members);
    let idle_dir = tempfile::TempDir::new()?;
    let (rss_before_kib, rss_after_kib, open_s, disk_per_trust) =
        idle(wasm, idle_dir.path(), idle_trusts).context("the idle-trusts measurement")?;

    // The loaded trust: enough open proposals for every vote, opened before serving.
    let mut fx = Fixture::on(cltd::setup::runtime()?, wasm, members)?;
    let proposals = votes.div_ceil(members);
    let first_id = fx.open_resolutions(proposals)?;
    let trust = fx.trust;
    // Pre-sign every vote; client c casts the votes of members c, c + clients, ... in
    // proposal order, so each member's sequence numbers arrive in order.
    let id = trust.id();
    let mut work: Vec<Vec<Vec<u8>>> = vec![Vec::new(); clients];
    let mut seqs: Vec<u64> = fx
        .keys
        .iter()
        .map(|k| trust.state().next_seq(&k.member_key()))
        .collect();
    let mut signed = 0;
    'all: for p in 0..proposals as u64 {
        for (m, key) in fx.keys.iter().enumerate() {
            if signed == votes {
                break 'all;
            }
            let choice = if m % 4 == 3 { Choice::No } else { Choice::Yes };
            let action = Action::Vote(Vote {
                proposal: first_id + p,
                choice,
            });
            work[m % clients].push(SignedTransition::sign(key, id, seqs[m], action).to_bytes());
            seqs[m] += 1;
            signed += 1;
        }
    }
    let trust_hex = trust.id_hex();
    drop(trust);
    let base = Arc::new(spawn_server(fx.dir.path())?);
    let start = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let base = base.clone();
            let url = format!("{base}/v1/trusts/{trust_hex}/transitions");
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let agent = agent();
                let mut lat = Vec::with_capacity(txs.len());
                for t in txs {
                    let t0 = Instant::now();
                    let mut r = agent
                        .post(&url)
                        .header("content-type", "application/octet-stream")
                        .send(&t[..])?;
                    let body = r.body_mut().read_to_string()?;
                    ensure!(r.status() == 200, "a vote was refused: {body}");
                    lat.push(t0.elapsed());
                }
                Ok(lat)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(votes);
    for h in handles {
        all.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a client thread panicked"))??,
        );
    }
    let elapsed = start.elapsed().as_secs_f64();
    let reads = [
        "/v1/trusts/{id}",
        "/v1/trusts/{id}/members",
        "/v1/trusts/{id}/proposals",
        "/trusts/{id}",
        "/trusts/{id}/members",
        "/trusts/{id}/proposals",
    ]
    .into_iter()
    .map(|path| read_figure(&base, path, &trust_hex))
    .collect::<Result<_>>()?;
    Ok(HttpReport {
        members,
        clients,
        votes: all.len(),
        votes_per_s: all.len() as f64 / elapsed,
        latency: Latency::of(all),
        idle_trusts,
        rss_before_kib,
        rss_after_kib,
        open_s,
        disk_per_trust,
        reads,
    })
}

/// Ask `path` (with `{id}` standing for `trust`) [`READS`] times in a row.
fn read_figure(base: &str, path: &str, trust: &str) -> Result<ReadFigure> {
    let agent = agent();
    let url = format!("{base}{}", path.replace("{id}", trust));
    let mut times = Vec::with_capacity(READS);
    let mut bytes = 0;
    for _ in 0..READS {
        let t0 = Instant::now();
        let mut r = agent.get(&url).call()?;
        let body = r.body_mut().with_config().limit(u64::MAX).read_to_vec()?;
        ensure!(r.status() == 200, "GET {path} answered {}", r.status());
        times.push(t0.elapsed());
        bytes = body.len();
    }
    Ok(ReadFigure {
        path: path.to_string(),
        p50_ms: Latency::of(times).p50_us / 1000.0,
        bytes,
    })
}
