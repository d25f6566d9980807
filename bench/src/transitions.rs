//! `cltd-bench bench`: latency and throughput on one trust with durable commits, and the
//! same bylaw logic run natively for comparison. The criterion benches in `benches/` use
//! the same fixture.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use cltd_runtime::{Action, Choice, SignedTransition, Vote};
use serde::Serialize;

use crate::fixture::{Fixture, Latency};
use crate::process::{bytes_written, rss_kib};

/// What `cltd bench` measures, and on what (its command-line options).
#[derive(Debug, Clone, clap::Args)]
pub struct BenchOptions {
    /// Members of the bench trust (and electors per proposal); at least 3.
    #[arg(long, default_value_t = 30)]
    pub members: usize,
    /// Durable transitions per throughput figure.
    #[arg(long, default_value_t = 400)]
    pub transitions: usize,
    /// Transitions per group commit (and the committer's largest batch).
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Threads submitting concurrently through the group committer (the trust gets at
    /// least one member per submitter).
    #[arg(long, default_value_t = 64)]
    pub submitters: usize,
    /// Allocate every instance on demand instead of taking them from wasmtime's pooling
    /// allocator (the default).
    #[arg(long)]
    pub on_demand: bool,
    /// Also audit an exported history of this many entries (0: skip).
    #[arg(long, default_value_t = 10_000)]
    pub audit_entries: usize,
}

/// What concurrent submitters through a group committer measured.
pub struct Concurrent {
    /// Durable transitions per second.
    pub tps: f64,
    /// Each transition's time from submission to its durable answer.
    pub latencies: Vec<Duration>,
    /// Bytes written to disk per transition.
    pub bytes_per_transition: u64,
    /// Transitions per group commit, on average.
    pub batch_mean: f64,
}

/// Submit about `transitions` proposals from `threads` threads through a group committer
/// over `cx`'s trust (committing at most `batch` at a time): each thread proposes as its
/// own members (at least one each: a member's transitions are numbered in order), and is
/// answered only when its transition is durable.
pub fn concurrent(
    cx: Fixture,
    threads: usize,
    transitions: usize,
    batch: usize,
) -> Result<Concurrent> {
    let members = cx.keys.len();
    let per_thread = transitions.div_ceil(threads);
    let work: Vec<Vec<Vec<u8>>> = (0..threads)
        .map(|t| {
            let mine: Vec<usize> = (t..members).step_by(threads).collect();
            cx.proposals_by(&mine, per_thread)
        })
        .collect::<Result<_>>()?;
    let committer = std::sync::Arc::new(cltd_runtime::GroupCommitter::new(cx.trust, batch));
    let written = bytes_written();
    let start = Instant::now();
    let handles: Vec<_> = work
        .into_iter()
        .map(|txs| {
            let s = committer.clone();
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let mut latencies = Vec::with_capacity(txs.len());
                for t in txs {
                    let t0 = Instant::now();
                    s.submit(t)?;
                    latencies.push(t0.elapsed());
                }
                Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for h in handles {
        latencies.extend(
            h.join()
                .map_err(|_| anyhow::anyhow!("a submitter thread panicked"))??,
        );
    }
    let done = latencies.len();
    let tps = done as f64 / start.elapsed().as_secs_f64();
    let bytes_per_transition = bytes_written().saturating_sub(written) / done.max(1) as u64;
    let (batches, committed) = committer.stats();
    Ok(Concurrent {
        tps,
        latencies,
        bytes_per_transition,
        batch_mean: committed as f64 / batches.max(1) as f64,
    })
}

/// What `cltd bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Instances came from the pooling allocator.
    pub pooling: bool,
    /// Members of the bench trust (and electors per proposal).
    pub members: usize,
    /// Bylaw call on a vote, fresh wasm instance each time.
    pub invoke_vote: Latency,
    /// The same vote with every parameter the bylaw declares set in the charter (to its
    /// default), so the guest reads each from its string: the bench trust's own charter is
    /// empty.
    pub invoke_vote_full_charter: Latency,
    /// Parameters in that charter.
    pub charter_parameters: usize,
    /// Fuel for a vote with that charter (`fuel_per_vote` is with the trust's own).
    pub fuel_full_charter: u64,
    /// Bylaw call closing a proposal (tallying every member's ballot), fresh instance.
    pub invoke_close: Latency,
    /// The same close with the proposal's roll (electorate and ballots) built and passed
    /// in the view, as for a bylaw that lists `close` in `needs-roll`.
    pub invoke_close_with_roll: Latency,
    /// The same close logic run natively, no sandbox.
    pub native_close: Latency,
    /// The same vote logic run natively.
    pub native_vote: Latency,
    /// Submit one transition and wait for its durable commit.
    pub end_to_end: Latency,
    /// The same, with the bylaw's logic compiled natively into the host (no sandbox).
    pub end_to_end_native: Latency,
    /// Transitions per second, one durable commit each.
    pub sustained_tps: f64,
    /// Transitions per second with group commit.
    pub group_commit_tps: f64,
    /// Transitions per group commit.
    pub batch: usize,
    /// Threads submitting concurrently through the group committer.
    pub threads: usize,
    /// Transitions per second from concurrent submitters, each acknowledged when durable.
    pub concurrent_tps: f64,
    /// Submit-to-durable latency of each concurrent submission.
    pub concurrent_latency: Latency,
    /// Mean transitions per durable commit the committer achieved.
    pub concurrent_batch_mean: f64,
    /// Mean fuel per vote.
    pub fuel_per_vote: u64,
    /// Founding the bench trust with every member in its charter, seconds.
    pub founding_s: f64,
    /// Bytes written to the store per transition (mostly votes), one durable commit each.
    pub bytes_per_vote: u64,
    /// Bytes written per proposal the concurrent submitters opened (group commit).
    pub bytes_per_opening: u64,
    /// Closing the proposal every member voted on, durably (host and bylaw), milliseconds.
    pub close_ms: f64,
    /// Opening the bench trust's store, milliseconds.
    pub open_ms: f64,
    /// Resident memory the opened trust added, MiB.
    pub open_rss_mib: f64,
    /// Audit of an exported history, when asked for.
    pub audit: Option<crate::audit::AuditFigures>,
}

/// The targets the figures chase (issue 7), as printed beside them.
pub mod targets {
    /// Bylaw invocation with a fresh instance, p50, microseconds.
    pub const INVOKE_P50_US: f64 = 10.0;
    /// Closing a proposal of 100,000 electors, host and bylaw, milliseconds (issue 17).
    pub const CLOSE_MS: f64 = 50.0;
    /// Founding a 100,000-member trust from its roll, seconds (issue 17).
    pub const FOUNDING_S: f64 = 30.0;
    /// Opening a 100,000-member trust, milliseconds (issue 17).
    pub const OPEN_MS: f64 = 1_000.0;
    /// Resident memory of an open 100,000-member trust, MiB (issue 17).
    pub const OPEN_RSS_MIB: f64 = 100.0;
    /// Durable transitions per second on one trust with group commit.
    pub const GROUP_TPS: f64 = 20_000.0;
    /// p99 submit-to-durable latency under group commit, milliseconds.
    pub const GROUP_P99_MS: f64 = 25.0;
    /// End-to-end cost relative to the same logic compiled natively.
    pub const NATIVE_RATIO: f64 = 2.0;
    /// Audit replay with re-execution, entries per second.
    pub const REPLAY_PER_S: f64 = 50_000.0;
    /// Hash and Merkle verification alone, entries per second.
    pub const HASH_MERKLE_PER_S: f64 = 1_000_000.0;
}

/// Run every measurement with classic-clt `wasm` under `options`.
pub fn run(wasm: &[u8], options: &BenchOptions) -> Result<BenchReport> {
    let BenchOptions {
        members,
        transitions,
        batch,
        submitters,
        on_demand,
        audit_entries,
    } = options.clone();
    let pooling = !on_demand;
    let profile = cltd_runtime::EngineProfile {
        pooling,
        ..Default::default()
    };
    let runtime = Arc::new(cltd_runtime::Runtime::new(profile.clone())?);
    if members < 3 || transitions == 0 || batch == 0 || submitters == 0 {
        bail!("bench needs at least 3 members, 1 transition, a batch of 1 and 1 submitter");
    }
    // End-to-end, one durable commit per transition.
    let t0 = Instant::now();
    let mut fx = Fixture::on(runtime.clone(), wasm, members)?;
    let founding_s = t0.elapsed().as_secs_f64();
    let written = bytes_written();
    let (e2e, sustained_tps, fuel_per_vote) = one_by_one(&mut fx, transitions)?;
    let bytes_per_vote = bytes_written().saturating_sub(written) / transitions as u64;

    // The same with the bylaw compiled natively into the host: what the sandbox costs.
    let native_rt = Arc::new(cltd_runtime::Runtime::new(profile)?);
    let module = cltd_runtime::module_hash(&cltd_runtime::to_component(wasm)?);
    native_rt.run_natively(module, (cltd::native::BUILTINS[0].bylaw)());
    let mut nx = Fixture::on(native_rt, wasm, members)?;
    let (e2e_native, _, _) = one_by_one(&mut nx, transitions)?;

    // Group commit on a fresh trust.
    let mut gx = Fixture::on(runtime.clone(), wasm, members)?;
    let stream = gx.stream(transitions);
    let start = Instant::now();
    for chunk in stream.chunks(batch) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        for r in gx.trust.submit_batch(&refs) {
            r?;
        }
    }
    let group_commit_tps = transitions as f64 / start.elapsed().as_secs_f64();

    // Concurrent submitters through the group committer.
    let cx = Fixture::on(runtime.clone(), wasm, members.max(submitters))?;
    let Concurrent {
        tps: concurrent_tps,
        latencies,
        bytes_per_transition: bytes_per_opening,
        batch_mean: concurrent_batch_mean,
    } = concurrent(cx, submitters, transitions, batch)?;
    let threads = submitters;

    // Bylaw invocation alone, and natively.
    let Invocations {
        vote: invoke_vote,
        vote_full_charter: invoke_vote_full_charter,
        charter_parameters,
        fuel_full_charter,
        close: invoke_close,
        close_with_roll: invoke_close_with_roll,
        native_vote,
        native_close,
    } = invocations(&mut fx, members)?;
    // The proposal every member voted on, closed for real.
    let last = fx.trust.state().next_proposal_id() - 1;
    let closes_at = fx.trust.state().proposals[&last].proposal.closes_at;
    fx.clock.set(closes_at);
    let close = SignedTransition::sign(
        &fx.keys[0],
        fx.trust.id(),
        fx.trust.state().next_seq(&fx.keys[0].member_key()),
        Action::Close(last),
    )
    .to_bytes();
    let t0 = Instant::now();
    let closed = fx.trust.submit(&close)?;
    let close_ms = t0.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(closed.verdict.is_allowed(), "the bench close was denied");
    // Opening the store again, and the memory it takes: in a fresh process when this is
    // `cltd-bench` (memory this one freed would be reused and hide it), else here.
    let Fixture { dir, trust, .. } = fx;
    drop(trust);
    let (open_ms, open_rss_mib) = open_probe(dir.path(), wasm)?;
    let audit = if audit_entries > 0 {
        crate::audit::run(wasm, &[audit_entries])?.pop()
    } else {
        None
    };
    Ok(BenchReport {
        pooling,
        members,
        invoke_vote,
        invoke_vote_full_charter,
        charter_parameters,
        fuel_full_charter,
        invoke_close,
        invoke_close_with_roll,
        native_close,
        native_vote,
        end_to_end: e2e,
        end_to_end_native: e2e_native,
        sustained_tps,
        group_commit_tps,
        batch,
        threads,
        concurrent_tps,
        concurrent_latency: Latency::of(latencies),
        concurrent_batch_mean,
        fuel_per_vote,
        founding_s,
        bytes_per_vote,
        bytes_per_opening,
        close_ms,
        open_ms,
        open_rss_mib,
        audit,
    })
}

/// Open the trust in `dir` (milliseconds) and the resident memory that added (MiB), in a
/// child `cltd-bench open-probe` when this process is `cltd-bench`, else in this process.
fn open_probe(dir: &std::path::Path, wasm: &[u8]) -> Result<(f64, f64)> {
    let exe = std::env::current_exe()?;
    let is_bench = exe
        .file_stem()
        .is_some_and(|n| n.to_string_lossy() == "cltd-bench");
    if !is_bench {
        return open_in_process(dir, wasm);
    }
    let bylaw = dir.join("bench-bylaw.wasm");
    std::fs::write(&bylaw, wasm)?;
    let out = std::process::Command::new(exe)
        .arg("open-probe")
        .arg(dir)
        .arg(&bylaw)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "open-probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    Ok((
        v["open_ms"].as_f64().unwrap_or(0.0),
        v["rss_mib"].as_f64().unwrap_or(0.0),
    ))
}

/// Open the trust in `dir`, governed by `wasm`, here: milliseconds, and MiB of resident
/// memory added (after the engine is built and has compiled `wasm`, which every trust on
/// that bylaw shares, so neither is counted).
pub fn open_in_process(dir: &std::path::Path, wasm: &[u8]) -> Result<(f64, f64)> {
    let runtime = cltd::setup::runtime()?;
    runtime.prepare(&cltd_runtime::to_component(wasm)?)?;
    let rss = rss_kib();
    let t0 = Instant::now();
    let trust = cltd_runtime::Trust::open(dir, runtime, Box::new(cltd_runtime::SystemClock))?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let mib = rss_kib().saturating_sub(rss) as f64 / 1024.0;
    drop(trust);
    Ok((ms, mib))
}

/// Submit `transitions` of the fixture's stream one durable commit each: the latencies,
/// transitions per second and mean fuel per vote.
fn one_by_one(fx: &mut Fixture, transitions: usize) -> Result<(Latency, f64, u64)> {
    let stream = fx.stream(transitions);
    let mut e2e = Vec::with_capacity(transitions);
    let mut fuel = (0u64, 0u64);
    let start = Instant::now();
    for t in &stream {
        let t0 = Instant::now();
        let r = fx.trust.submit(t)?;
        e2e.push(t0.elapsed());
        if matches!(r.action, Action::Vote(_)) {
            fuel = (fuel.0 + r.fuel, fuel.1 + 1);
        }
    }
    let tps = transitions as f64 / start.elapsed().as_secs_f64();
    Ok((
        Latency::of(e2e),
        tps,
        fuel.0.checked_div(fuel.1).unwrap_or(0),
    ))
}

/// `view` with every parameter the bylaw `module` declares set in its charter, each to its
/// default (so the bylaw reads each from its strings and decides as with none set).
pub fn with_full_charter(
    rt: &cltd_runtime::Runtime,
    module: &cltd_runtime::ModuleHash,
    view: &cltd_runtime::View,
) -> Result<cltd_runtime::View> {
    let declared = rt.describe(module, &[])?.parameters;
    Ok(cltd_runtime::View {
        charter: declared
            .into_iter()
            .map(|p| cltd_runtime::Parameter {
                key: p.key,
                value: p.default,
            })
            .collect(),
        ..view.clone()
    })
}

/// The bylaw alone, timed by [`invocations`].
#[derive(Debug, Clone)]
pub struct Invocations {
    /// A vote, fresh instance per call.
    pub vote: Latency,
    /// The same vote with every declared charter parameter set to its default.
    pub vote_full_charter: Latency,
    /// Parameters in that charter.
    pub charter_parameters: usize,
    /// Fuel for the vote with that charter.
    pub fuel_full_charter: u64,
    /// Closing the proposal every member voted on, fresh instance per call.
    pub close: Latency,
    /// The same close with the roll in the view (built per call, as the host does).
    pub close_with_roll: Latency,
    /// The vote's logic natively.
    pub native_vote: Latency,
    /// The close's logic natively.
    pub native_close: Latency,
}

/// Time the bylaw alone on a vote and on closing a fully voted proposal, in wasm (fresh
/// instance per call) and natively.
pub fn invocations(fx: &mut Fixture, members: usize) -> Result<Invocations> {
    const CALLS: usize = 2_000;
    // Untimed calls first: the first call of a module checks its export types, and the
    // first use of each pooled slot faults its pages in.
    const WARM_UP: usize = 200;
    let probe = Probe::new(fx, members)?;
    let rt = fx.trust.runtime().clone();
    let module = fx.trust.state().module;
    let timed = |view: &cltd_runtime::View, action: &Action| -> Result<Latency> {
        for _ in 0..WARM_UP {
            std::hint::black_box(rt.evaluate(&module, view, action)?);
        }
        let mut v = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t0 = Instant::now();
            std::hint::black_box(rt.evaluate(&module, view, action)?);
            v.push(t0.elapsed());
        }
        Ok(Latency::of(v))
    };
    let invoke_vote = timed(&probe.vote_view, &probe.vote)?;
    let full_charter = with_full_charter(&rt, &module, &probe.vote_view)?;
    let vote_full_charter = timed(&full_charter, &probe.vote)?;
    let invoke_close = timed(&probe.close_view, &probe.close)?;
    // With the roll: lowering it grows with the electorate, so fewer calls at scale.
    let roll_calls = (200_000 / members).clamp(20, CALLS);
    let mut v = Vec::with_capacity(roll_calls);
    for i in 0..roll_calls + roll_calls / 10 {
        let t0 = Instant::now();
        let view = probe.close_view_with_roll();
        std::hint::black_box(rt.evaluate(&module, &view, &probe.close)?);
        if i >= roll_calls / 10 {
            v.push(t0.elapsed());
        }
    }
    let close_with_roll = Latency::of(v);
    let native = |view: &bylaws_sdk::View, action: &bylaws_sdk::Action| {
        let mut v = Vec::with_capacity(CALLS);
        for _ in 0..CALLS {
            let t0 = Instant::now();
            std::hint::black_box(<classic_clt::ClassicClt as bylaws_sdk::Bylaw>::evaluate(
                view, action,
            ));
            v.push(t0.elapsed());
        }
        Latency::of(v)
    };
    let native_vote = native(&probe.native_vote_view, &probe.native_vote);
    let native_close = native(&probe.native_close_view, &probe.native_close);
    Ok(Invocations {
        vote: invoke_vote,
        vote_full_charter,
        charter_parameters: full_charter.charter.len(),
        fuel_full_charter: rt.evaluate(&module, &full_charter, &probe.vote)?.fuel,
        close: invoke_close,
        close_with_roll,
        native_vote,
        native_close,
    })
}

/// Matching inputs for the sandboxed and native bylaw: a vote and a close on a proposal
/// with every member voting.
pub struct Probe {
    /// Host view for the vote.
    pub vote_view: cltd_runtime::View,
    /// The vote.
    pub vote: Action,
    /// Host view for the close.
    pub close_view: cltd_runtime::View,
    /// The close.
    pub close: Action,
    /// Native view for the vote.
    pub native_vote_view: bylaws_sdk::View,
    /// Native vote.
    pub native_vote: bylaws_sdk::Action,
    /// Native view for the close.
    pub native_close_view: bylaws_sdk::View,
    /// Native close.
    pub native_close: bylaws_sdk::Action,
    /// The closed proposal's electorate and ballots as the host keeps them: what a bylaw
    /// that lists `close` in `needs-roll` is given in `view.roll`.
    pub roll: Arc<cltd_runtime::ProposalRoll>,
}

impl Probe {
    /// The close's view with the roll in it, built from the host's roll as the host builds
    /// it for each call of a bylaw that asks for it.
    pub fn close_view_with_roll(&self) -> cltd_runtime::View {
        cltd_runtime::View {
            roll: Some(self.roll.to_wit()),
            ..self.close_view.clone()
        }
    }
}

impl Probe {
    /// Build the probe inputs from a proposal every member of `fx` has voted on.
    pub fn new(fx: &mut Fixture, members: usize) -> Result<Probe> {
        // A fresh proposal with every ballot cast, on the fixture's trust.
        let stream = fx.stream(members + 1);
        for chunk in stream.chunks(256) {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            for r in fx.trust.submit_batch(&refs) {
                r?;
            }
        }
        let (id, p) = fx
            .trust
            .state()
            .proposals
            .iter()
            .next_back()
            .map(|(i, p)| (*i, p.clone()))
            .expect("a proposal");
        let mut view = cltd_runtime::View {
            fees: Vec::new(),
            round: None,
            trust_id: fx.trust.id_hex(),
            trust_name: fx.trust.state().name.clone(),
            charter: vec![],
            now: p.proposal.closes_at,
            actor: fx.keys[0].public().to_vec(),
            actor_member: fx.trust.state().member(fx.keys[0].public()).cloned(),
            members: fx.trust.state().class_counts(),
            proposal: Some(p.proposal.clone()),
            roll: None,
            asset: None,
            subject: None,
        };
        let close_view = view.clone();
        // The vote's view: the same proposal before its last ballot.
        let mut open = p.proposal.clone();
        let kept_roll = fx.trust.state().rolls[&id].clone();
        let mut roll = (*kept_roll).clone();
        let last = roll.ballots().last().map(|(v, _)| v.key).expect("ballots");
        roll.set(&last, None, &mut open.votes);
        view.proposal = Some(open);
        view.now = p.proposal.opened_at;
        let vote_view = view;

        // The same inputs in the SDK's types, for the same logic compiled natively.
        let native_vote_view = cltd::native::cross(&vote_view);
        let native_close_view = cltd::native::cross(&close_view);
        Ok(Probe {
            vote_view,
            vote: Action::Vote(Vote {
                proposal: id,
                choice: Choice::Yes,
            }),
            close_view,
            close: Action::Close(id),
            native_vote_view,
            native_vote: bylaws_sdk::Action::Vote(bylaws_sdk::Vote {
                proposal: id,
                choice: bylaws_sdk::Choice::Yes,
            }),
            native_close_view,
            native_close: bylaws_sdk::Action::Close(id),
            roll: kept_roll,
        })
    }
}

impl BenchReport {
    /// The report as text: each figure beside the target it chases.
    pub fn text(&self) -> String {
        let l = |x: &Latency| format!("p50 {:>8.1} us  p99 {:>8.1} us", x.p50_us, x.p99_us);
        let ratio = |a: &Latency, b: &Latency| a.p50_us / b.p50_us.max(0.001);
        let mut rows: Vec<(String, String, String)> = vec![
            (
                "bylaw invocation, vote (fresh instance)".into(),
                l(&self.invoke_vote),
                format!("p50 <= {} us", targets::INVOKE_P50_US),
            ),
            (
                format!(
                    "  the same, {} parameters set (fuel {})",
                    self.charter_parameters, self.fuel_full_charter
                ),
                l(&self.invoke_vote_full_charter),
                String::new(),
            ),
            (
                "bylaw invocation, close (fresh instance)".into(),
                l(&self.invoke_close),
                format!("p50 <= {} us", targets::INVOKE_P50_US),
            ),
            (
                "  the same, roll in the view (needs-roll)".into(),
                l(&self.invoke_close_with_roll),
                String::new(),
            ),
            (
                "same vote logic natively".into(),
                l(&self.native_vote),
                String::new(),
            ),
            (
                "same close logic natively".into(),
                l(&self.native_close),
                String::new(),
            ),
            (
                "end-to-end durable transition".into(),
                l(&self.end_to_end),
                String::new(),
            ),
            (
                "  the same, bylaw compiled natively".into(),
                l(&self.end_to_end_native),
                String::new(),
            ),
            (
                "end-to-end cost vs native (p50)".into(),
                format!("{:.2}x", ratio(&self.end_to_end, &self.end_to_end_native)),
                format!("<= {}x", targets::NATIVE_RATIO),
            ),
            (
                "  bylaw call alone vs native (close, p50)".into(),
                format!("{:.1}x", ratio(&self.invoke_close, &self.native_close)),
                String::new(),
            ),
            (
                "sustained, one durable commit each".into(),
                format!("{:.0} transitions/s", self.sustained_tps),
                String::new(),
            ),
            (
                format!("group commit, {} per durable commit", self.batch),
                format!("{:.0} transitions/s", self.group_commit_tps),
                String::new(),
            ),
            (
                format!("{} concurrent submitters, group committer", self.threads),
                format!(
                    "{:.0} transitions/s ({:.1} per commit), p99 {:.1} ms",
                    self.concurrent_tps,
                    self.concurrent_batch_mean,
                    self.concurrent_latency.p99_us / 1000.0
                ),
                format!(
                    ">= {} /s, p99 <= {} ms",
                    targets::GROUP_TPS,
                    targets::GROUP_P99_MS
                ),
            ),
            (
                "fuel per vote".into(),
                self.fuel_per_vote.to_string(),
                String::new(),
            ),
            (
                "bytes written per transition (votes)".into(),
                self.bytes_per_vote.to_string(),
                String::new(),
            ),
            (
                "  per proposal opened (submitters)".into(),
                self.bytes_per_opening.to_string(),
                String::new(),
            ),
            (
                format!("close of a {}-elector proposal, durable", self.members),
                format!("{:.1} ms", self.close_ms),
                format!("<= {} ms", targets::CLOSE_MS),
            ),
            (
                format!("founding with {} members", self.members),
                format!("{:.2} s", self.founding_s),
                format!("<= {} s", targets::FOUNDING_S),
            ),
            (
                "opening the trust; resident memory it adds".into(),
                format!("{:.0} ms; {:.1} MiB", self.open_ms, self.open_rss_mib),
                format!(
                    "<= {} ms; <= {} MiB",
                    targets::OPEN_MS,
                    targets::OPEN_RSS_MIB
                ),
            ),
        ];
        if let Some(a) = &self.audit {
            rows.push((
                format!("audit replay, re-execution ({} entries)", a.entries),
                format!("{:.0} entries/s", a.reexec_per_s),
                format!(">= {} /s", targets::REPLAY_PER_S),
            ));
            rows.push((
                "  no re-execution (signatures, chain)".into(),
                format!("{:.0} entries/s", a.light_per_s),
                String::new(),
            ));
            rows.push((
                "  hash and Merkle verification alone".into(),
                format!("{:.0} entries/s", a.hash_merkle_per_s),
                format!(">= {} /s", targets::HASH_MERKLE_PER_S),
            ));
        }
        let out = format!(
            "cltd bench: one trust, {} members, durable redb commits, {} instance allocation\n{:<44}{:<52}{}\n",
            self.members,
            if self.pooling { "pooling" } else { "on-demand" },
            "",
            "measured",
            "target"
        );
        let lines: Vec<String> = rows
            .into_iter()
            .map(|(what, measured, target)| {
                format!("{what:<44}{measured:<52}{target}")
                    .trim_end()
                    .to_string()
            })
            .collect();
        out + &lines.join("\n")
    }
}

/// The view of closing a budgeting round of `projects` projects (costs from 1% to 20% of a
/// budget of 1,000,000) on which `ballots` voters each approved 1 to 5 projects, chosen by
/// a fixed pseudo-random sequence (so every run measures the same round), with `charter`:
/// built from `close`, the view of closing an ordinary proposal. The action is that view's
/// close.
pub fn round_close_view(
    close: &cltd_runtime::View,
    projects: u32,
    ballots: usize,
    charter: Vec<cltd_runtime::Parameter>,
) -> cltd_runtime::View {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let budget = 1_000_000;
    let mut list: Vec<cltd_runtime::Project> = (1..=projects)
        .map(|id| cltd_runtime::Project {
            id,
            title: format!("project {id}"),
            cost: budget / 100 * (1 + next(20)),
            proposer: vec![0; 32],
            approvals: 0,
        })
        .collect();
    let mut approvals = Vec::new();
    let mut ends = Vec::new();
    for _ in 0..ballots {
        let mut ballot: Vec<u32> = (0..1 + next(5))
            .map(|_| 1 + next(u64::from(projects)) as u32)
            .collect();
        ballot.sort_unstable();
        ballot.dedup();
        for n in &ballot {
            list[*n as usize - 1].approvals += 1;
        }
        approvals.extend_from_slice(&ballot);
        ends.push(approvals.len() as u32);
    }
    let mut view = close.clone();
    view.charter = charter;
    if let Some(p) = view.proposal.as_mut() {
        p.body = cltd_runtime::ProposalBody::BudgetRound(cltd_runtime::RoundTerms {
            account: "community-projects".into(),
            budget,
            submission: 1,
        });
    }
    view.round = Some(cltd_runtime::Round {
        budget,
        projects: list,
        approvals,
        ballot_ends: ends,
    });
    view
}
