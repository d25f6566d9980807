//! A mixed load on `cltd serve` for a fixed time, as strangers and members make it at once:
//! members posting signed votes, strangers posting unsigned impact previews, readers
//! loading dashboard pages, and a load balancer probing `/healthz` every 10 ms. What it
//! reports is what the server promises under that load: the probe stays fast, votes go on,
//! and previews beyond the pool's capacity are refused (503 `busy`) rather than queued.
//!
//! `cltd bench --http` prints it; the test suite runs it and holds `/healthz` p99 under
//! 100 ms.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use cltd::server::{Hub, Limits};
use cltd_runtime::{Action, Choice, SignedTransition, TrustId, Vote};
use serde::Serialize;

use crate::fixture::{Fixture, Latency};
use crate::http::agent;

/// Who loads the server, and for how long.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Members of the loaded trust (votes are spread over them).
    pub members: usize,
    /// Open proposals to vote on (votes available: `members * proposals`).
    pub proposals: usize,
    /// Clients posting signed votes back to back.
    pub voters: usize,
    /// Clients posting unsigned impact previews back to back.
    pub previewers: usize,
    /// Clients loading dashboard pages back to back.
    pub readers: usize,
    /// How long the load runs.
    pub duration: Duration,
}

impl Default for LoadPlan {
    /// The load the server issue names: 8 voters, 8 previewers, 4 readers, 20 s.
    fn default() -> LoadPlan {
        LoadPlan {
            members: 64,
            proposals: 400,
            voters: 8,
            previewers: 8,
            readers: 4,
            duration: Duration::from_secs(20),
        }
    }
}

/// What the server did under the load.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    /// Clients of each kind: voters, previewers, readers.
    pub clients: (usize, usize, usize),
    /// Seconds the load ran.
    pub seconds: f64,
    /// Signed votes logged.
    pub votes: usize,
    /// Votes logged per second.
    pub votes_per_s: f64,
    /// Latency of a vote, request to durable receipt.
    pub vote_latency: Latency,
    /// Impact previews answered (200).
    pub previews: usize,
    /// Impact previews refused because the pool was full (503 `busy`).
    pub previews_busy: usize,
    /// Dashboard pages served.
    pub pages: usize,
    /// Latency of a dashboard page.
    pub page_latency: Latency,
    /// Latency of `/healthz`, probed every 10 ms throughout.
    pub healthz: Latency,
    /// Answers other than those expected (a vote not 200, a preview neither 200 nor 503,
    /// a page or probe not 200), with the first few described.
    pub unexpected: usize,
    /// The first unexpected answers.
    pub first_unexpected: Vec<String>,
}

impl LoadReport {
    /// The report in words.
    pub fn text(&self) -> String {
        format!(
            "mixed load on cltd serve for {:.0} s ({} voters, {} unsigned previewers, {} dashboard readers, /healthz every 10 ms):\n  \
             {} votes logged ({:.0}/s), latency p50 {:.1} ms, p99 {:.1} ms\n  \
             {} previews answered, {} refused busy (503); {} pages, p50 {:.1} ms, p99 {:.1} ms\n  \
             /healthz p50 {:.2} ms, p99 {:.2} ms over {} probes; {} unexpected answers",
            self.seconds,
            self.clients.0,
            self.clients.1,
            self.clients.2,
            self.votes,
            self.votes_per_s,
            self.vote_latency.p50_us / 1000.0,
            self.vote_latency.p99_us / 1000.0,
            self.previews,
            self.previews_busy,
            self.pages,
            self.page_latency.p50_us / 1000.0,
            self.page_latency.p99_us / 1000.0,
            self.healthz.p50_us / 1000.0,
            self.healthz.p99_us / 1000.0,
            self.healthz.samples,
            self.unexpected,
        )
    }
}

/// What one client thread saw.
#[derive(Default)]
struct Seen {
    ok: Vec<Duration>,
    busy: usize,
    unexpected: Vec<String>,
}

/// Run `plan` against a server hosting a fresh trust governed by `wasm`.
pub fn run(wasm: &[u8], plan: &LoadPlan) -> Result<LoadReport> {
    if plan.members < 3 || plan.voters == 0 || plan.proposals == 0 {
        bail!("the load needs at least 3 members, 1 voter and 1 proposal");
    }
    let voters = plan.voters.min(plan.members);
    let mut fx = Fixture::on(cltd::setup::runtime()?, wasm, plan.members)?;
    // The proposals to vote on, opened before serving.
    let first = fx.open_resolutions(plan.proposals)?;
    let trust = fx.trust;
    let id = trust.id();
    let hex = trust.id_hex();
    let module = trust.state().module.to_hex();
    let seqs: Vec<u64> = fx
        .keys
        .iter()
        .map(|k| trust.state().next_seq(&k.member_key()))
        .collect();
    let hub = Hub::hosting(vec![trust]);
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    // The load comes from one address: lift the per-client limits, keep the preview pool's.
    let limits = Limits {
        writes_per_second: u32::MAX,
        write_burst: u32::MAX,
        connections_per_client: usize::MAX,
        ..Limits::default()
    };
    std::thread::spawn(move || cltd::server::serve(hub, listener, &limits));
    let probe = agent();
    let ready = Instant::now();
    while !probe
        .get(&format!("{base}/readyz"))
        .call()
        .is_ok_and(|r| r.status() == 200)
    {
        ensure!(
            ready.elapsed() < Duration::from_secs(30),
            "the server did not come up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut threads: Vec<(char, std::thread::JoinHandle<Seen>)> = Vec::new();
    // Voter v casts the votes of members v, v + voters, ...: proposal by proposal, each
    // member's sequence numbers in order.
    let keys = Arc::new(fx.keys);
    for v in 0..voters {
        let (stop, keys, url) = (
            stop.clone(),
            keys.clone(),
            format!("{base}/v1/trusts/{hex}/transitions"),
        );
        let mut seqs = seqs.clone();
        let proposals = plan.proposals as u64;
        threads.push((
            'v',
            std::thread::spawn(move || {
                let agent = agent();
                let mut seen = Seen::default();
                'all: for p in 0..proposals {
                    for m in (v..keys.len()).step_by(voters) {
                        if stop.load(Ordering::Relaxed) {
                            break 'all;
                        }
                        let choice = if m % 4 == 3 { Choice::No } else { Choice::Yes };
                        let action = Action::Vote(Vote {
                            proposal: first + p,
                            choice,
                        });
                        let bytes = signed(&keys[m], id, seqs[m], action);
                        seqs[m] += 1;
                        let t0 = Instant::now();
                        match agent
                            .post(&url)
                            .header("content-type", "application/octet-stream")
                            .send(&bytes[..])
                        {
                            Ok(r) if r.status() == 200 => seen.ok.push(t0.elapsed()),
                            Ok(mut r) => seen.unexpected.push(format!(
                                "vote: {} {}",
                                r.status(),
                                r.body_mut().read_to_string().unwrap_or_default()
                            )),
                            Err(e) => seen.unexpected.push(format!("vote: {e}")),
                        }
                    }
                }
                seen
            }),
        ));
    }
    let preview = format!("{base}/v1/trusts/{hex}/modules/{module}/preview");
    for _ in 0..plan.previewers {
        threads.push(('p', client(stop.clone(), preview.clone(), true, None)));
    }
    let pages = [
        format!("{base}/trusts/{hex}"),
        format!("{base}/trusts/{hex}/proposals"),
        format!("{base}/trusts/{hex}/proposals/{first}"),
        format!("{base}/trusts/{hex}/log"),
    ];
    for r in 0..plan.readers {
        threads.push((
            'r',
            client(stop.clone(), pages[r % pages.len()].clone(), false, None),
        ));
    }
    threads.push((
        'h',
        client(
            stop.clone(),
            format!("{base}/healthz"),
            false,
            Some(Duration::from_millis(10)),
        ),
    ));
    // Run for the plan's time, or until the voters have cast every vote there is.
    while start.elapsed() < plan.duration
        && threads
            .iter()
            .any(|(kind, t)| *kind == 'v' && !t.is_finished())
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    let seconds = start.elapsed().as_secs_f64();
    let (mut votes, mut previews, mut page, mut health) = (vec![], vec![], vec![], vec![]);
    let (mut busy, mut unexpected) = (0, Vec::new());
    for (kind, t) in threads {
        let seen = t
            .join()
            .map_err(|_| anyhow::anyhow!("a load client panicked"))?;
        busy += seen.busy;
        unexpected.extend(seen.unexpected);
        match kind {
            'v' => votes.extend(seen.ok),
            'p' => previews.extend(seen.ok),
            'r' => page.extend(seen.ok),
            _ => health.extend(seen.ok),
        }
    }
    Ok(LoadReport {
        clients: (voters, plan.previewers, plan.readers),
        seconds,
        votes: votes.len(),
        votes_per_s: votes.len() as f64 / seconds,
        vote_latency: Latency::of(votes),
        previews: previews.len(),
        previews_busy: busy,
        pages: page.len(),
        page_latency: Latency::of(page),
        healthz: Latency::of(health),
        unexpected: unexpected.len(),
        first_unexpected: unexpected.into_iter().take(5).collect(),
    })
}

fn signed(key: &cltd_runtime::Keypair, trust: TrustId, seq: u64, action: Action) -> Vec<u8> {
    SignedTransition::sign(key, trust, seq, action).to_bytes()
}

/// A client that requests `url` back to back (POSTing an empty charter change when `post`),
/// pausing `pause` between requests, until `stop`.
fn client(
    stop: Arc<AtomicBool>,
    url: String,
    post: bool,
    pause: Option<Duration>,
) -> std::thread::JoinHandle<Seen> {
    std::thread::spawn(move || {
        let agent = agent();
        let mut seen = Seen::default();
        while !stop.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            let answer = if post {
                agent.post(&url).send(&b"{}"[..])
            } else {
                agent.get(&url).call()
            };
            match answer {
                Ok(mut r) => {
                    let status = r.status().as_u16();
                    // Read the body: the time a client waits is until it has it all.
                    let body = r.body_mut().read_to_string().unwrap_or_default();
                    match status {
                        200 => seen.ok.push(t0.elapsed()),
                        503 if post => {
                            seen.busy += 1;
                            // A well-behaved client honours Retry-After; a hostile one
                            // does not: retry soon, to keep the pool full.
                            std::thread::sleep(Duration::from_millis(100));
                        }
                        _ => seen.unexpected.push(format!(
                            "{url}: {status} {}",
                            body.chars().take(200).collect::<String>()
                        )),
                    }
                }
                Err(e) => seen.unexpected.push(format!("{url}: {e}")),
            }
            if let Some(p) = pause {
                std::thread::sleep(p);
            }
        }
        seen
    })
}
