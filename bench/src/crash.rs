//! Crash consistency under load (`cltd crash-test`): serve a trust with `cltd serve` in a
//! child process, submit signed transitions from several clients, kill the server with
//! SIGKILL at a random moment, then reopen the store and check that
//!
//! - every acknowledged transition (a 200 receipt) is in the log, at the index and with the
//!   entry hash its receipt gave;
//! - nothing is partial: the log replays from genesis to exactly the stored state
//!   (`cltd verify`), so every entry's state changes are all there or none are;
//!
//! and restart the server for the next cycle. Transitions the server committed but had not
//! acknowledged when it died may be in the log (counted); clients learn their next sequence
//! number from the server after each restart, as a real client would.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use cltd_runtime::{
    Action, Applicant, Charter, EntryBody, Keypair, ProposalBody, ProposalDraft, ProposalStatus,
    StakeholderClass, SystemClock, Trust, entry_hash,
};
use serde::Serialize;

use crate::fixture::DAY;

/// How to run the harness.
#[derive(Debug, Clone)]
pub struct Options {
    /// Kill-and-restart cycles.
    pub cycles: usize,
    /// Concurrent clients, each a member signing its own transitions.
    pub clients: usize,
    /// Each cycle the server is killed after a random time up to this.
    pub max_uptime: Duration,
    /// Seeds the kill times, so a run can be repeated.
    pub seed: u64,
}

/// What a run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Cycles completed.
    pub cycles: usize,
    /// Transitions acknowledged with a receipt, over all cycles.
    pub acknowledged: u64,
    /// Transitions in the log that were never acknowledged (the server died between its
    /// commit and the answer).
    pub committed_unacknowledged: u64,
    /// Log entries at the end (genesis included).
    pub entries: u64,
    /// Acknowledged transitions missing from the log or at another index: must be 0.
    pub lost: u64,
    /// Cycles whose replay diverged from the stored state: must be 0.
    pub verify_failures: u64,
    /// Longest time the server ran in a cycle, in milliseconds.
    pub longest_uptime_ms: u64,
}

impl Report {
    /// True when no acknowledged transition was lost and every replay matched.
    pub fn is_ok(&self) -> bool {
        self.lost == 0 && self.verify_failures == 0
    }
}

/// One acknowledged transition: where its receipt said it went.
#[derive(Debug, Clone)]
pub struct Ack {
    /// The log index the receipt gave.
    pub index: u64,
    /// The entry hash the receipt gave (hex).
    pub entry_hash: String,
    /// The signed transition submitted.
    pub signed: Vec<u8>,
}

/// A small deterministic generator (xorshift64*) for kill times.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

fn member_key(i: usize) -> Keypair {
    Keypair::from_secret(blake3::derive_key(
        "cltd crash-test member key v1",
        &(i as u64).to_le_bytes(),
    ))
}

/// Found the trust the harness loads: `clients` members, governed by `wasm`.
fn found(dir: &Path, wasm: &[u8], clients: usize) -> Result<String> {
    let runtime = cltd::setup::runtime()?;
    let classes = [
        StakeholderClass::Resident,
        StakeholderClass::Community,
        StakeholderClass::Public,
    ];
    let founders = (0..clients)
        .map(|i| Applicant {
            key: member_key(i).public().to_vec(),
            name: format!("member-{i}"),
            class: classes[i % classes.len()],
        })
        .collect();
    let charter = Charter {
        treasury: None,
        name: "Crash Test Trust".into(),
        params: vec![],
        founders,
        assets: vec![],
        entrenched: vec![],
    };
    let trust = Trust::create(dir, runtime, charter, wasm, Box::new(SystemClock))?;
    Ok(trust.id_hex())
}

/// How the harness starts `cltd` with given arguments: `cltd-bench` runs the `cltd` binary
/// beside it ([`Launch::binary`]); the integration test re-runs its own, just-built test
/// executable as `cltd` so it never runs a stale binary.
pub struct Launch(Box<CommandFor>);

/// Builds the command for `cltd ARGS`.
type CommandFor = dyn Fn(&[&std::ffi::OsStr]) -> Command + Send + Sync;

impl Launch {
    /// Run the executable at `exe` with cltd's arguments.
    pub fn binary(exe: &Path) -> Launch {
        let exe = exe.to_path_buf();
        Launch(Box::new(move |args| {
            let mut c = Command::new(&exe);
            c.args(args);
            c
        }))
    }

    /// Any other way to start `cltd ARGS` (a test executable that runs cltd's CLI, say).
    pub fn with(f: impl Fn(&[&std::ffi::OsStr]) -> Command + Send + Sync + 'static) -> Launch {
        Launch(Box::new(f))
    }

    /// The command for `cltd ARGS`.
    pub fn command(&self, args: &[&std::ffi::OsStr]) -> Command {
        (self.0)(args)
    }
}

/// Start `cltd serve` on `dir`; returns the child and the base URL it printed (the first
/// line naming one: a launcher may print lines of its own before it).
fn start(cltd: &Launch, dir: &Path) -> Result<(Child, String)> {
    let args: Vec<&std::ffi::OsStr> = ["serve", "--listen", "127.0.0.1:0", "--trusts"]
        .iter()
        .map(std::ffi::OsStr::new)
        .chain([dir.as_os_str()])
        .chain(
            ["--writes-per-second", "1000000", "--write-burst", "1000000"]
                .iter()
                .map(std::ffi::OsStr::new),
        )
        .collect();
    let mut child = cltd
        .command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start cltd serve")?;
    let stdout = child.stdout.take().context("the server's stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let base = lines
        .by_ref()
        .take(20)
        .map_while(Result::ok)
        .find_map(|line| {
            line.split_whitespace()
                .find(|w| w.starts_with("http://"))
                .map(|u| u.trim_end_matches('/').to_string())
        });
    let Some(base) = base else {
        let _ = child.kill();
        let _ = child.wait();
        bail!("the server did not say where it listens");
    };
    Ok((child, base))
}

/// A client's load: a proposal the bylaw allows, its withdrawal, and a proposal it denies
/// (a window too short), all three logged; first it withdraws `pending`, the proposals it
/// left open when the server was last killed. Runs until a request fails (the server died)
/// or `stop`.
fn client(
    base: &str,
    trust: &str,
    id: cltd_runtime::TrustId,
    key: &Keypair,
    mut pending: Vec<u64>,
    stop: &AtomicBool,
    acks: &Mutex<Vec<Ack>>,
) {
    let agent = crate::http::agent();
    let signer = hex::encode(key.public());
    let Ok(mut r) = agent
        .get(&format!("{base}/v1/trusts/{trust}/signers/{signer}"))
        .call()
    else {
        return;
    };
    let Some(mut seq) = r
        .body_mut()
        .read_to_string()
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["next_seq"].as_u64())
    else {
        return;
    };
    let mut step = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let action = match pending.pop() {
            Some(open) => Action::Withdraw(open),
            None => {
                step += 1;
                Action::Propose(ProposalDraft {
                    body: ProposalBody::Ordinary,
                    title: format!("Resolution {seq} of {signer:.8}"),
                    text: String::new(),
                    window: if step.is_multiple_of(2) { DAY } else { 7 * DAY },
                })
            }
        };
        let signed = cltd_runtime::SignedTransition::sign(key, id, seq, action).to_bytes();
        let sent = agent
            .post(&format!("{base}/v1/trusts/{trust}/transitions"))
            .header("content-type", "application/octet-stream")
            .send(&signed[..]);
        let Ok(mut response) = sent else { return };
        if response.status() != 200 {
            return;
        }
        let Some(receipt) = response
            .body_mut()
            .read_to_string()
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        else {
            return;
        };
        let (Some(index), Some(hash)) = (receipt["index"].as_u64(), receipt["entry_hash"].as_str())
        else {
            return;
        };
        acks.lock().expect("acks lock").push(Ack {
            index,
            entry_hash: hash.to_string(),
            signed,
        });
        seq += 1;
        pending.extend(receipt["proposal_opened"].as_u64());
    }
}

/// Reopen the killed server's store (as the next server would, repairing it if the kill left
/// it needing repair) and check every acknowledgement and the replay.
/// Counts lost acknowledgements and failed replays in `report`.
pub fn check(dir: &Path, acks: &[Ack], report: &mut Report) -> Result<Checked> {
    let runtime = cltd::setup::runtime()?;
    let trust = Trust::open(dir, runtime, Box::new(SystemClock))
        .with_context(|| format!("reopen the trust in {} after the kill", dir.display()))?;
    if !trust.verify()?.is_ok() {
        report.verify_failures += 1;
    }
    let size = trust.state().size;
    for ack in acks {
        let entry = trust.entries(ack.index, 1)?.pop();
        let intact = entry.is_some_and(|e| {
            hex::encode(entry_hash(&e)) == ack.entry_hash
                && matches!(&e.body, EntryBody::Transition(t) if t.signed == ack.signed)
        });
        if !intact {
            report.lost += 1;
        }
    }
    let mut open: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    for p in trust.state().proposals.values() {
        if p.proposal.status == ProposalStatus::Open {
            open.entry(p.proposal.proposer.clone())
                .or_default()
                .push(p.proposal.id);
        }
    }
    Ok(Checked { size, open })
}

/// What [`check`] read from the reopened store.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The log's size.
    pub size: u64,
    /// Open proposals by proposer key.
    pub open: BTreeMap<Vec<u8>, Vec<u64>>,
}

/// Run the harness: found a trust under `dir` governed by `wasm`, then `options.cycles`
/// times start `cltd serve`, load it, kill it, and check; `progress` sees the report after
/// each cycle.
pub fn run(
    cltd: &Launch,
    wasm: &[u8],
    dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(&Report),
) -> Result<Report> {
    ensure!(options.clients > 0, "at least one client");
    let trust = found(dir, wasm, options.clients)?;
    let id: cltd_runtime::TrustId = trust.parse()?;
    let keys: Vec<Arc<Keypair>> = (0..options.clients)
        .map(|i| Arc::new(member_key(i)))
        .collect();
    let mut rng = Rng(options.seed | 1);
    // The log holds the genesis entry to start with.
    let mut report = Report {
        entries: 1,
        ..Report::default()
    };
    let mut open: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    for _ in 0..options.cycles {
        let (mut server, base) = start(cltd, dir)?;
        let stop = Arc::new(AtomicBool::new(false));
        let acks = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = keys
            .iter()
            .map(|key| {
                let pending = open.remove(key.public().as_slice()).unwrap_or_default();
                let (base, trust, stop, acks, key) = (
                    base.clone(),
                    trust.clone(),
                    stop.clone(),
                    acks.clone(),
                    key.clone(),
                );
                std::thread::spawn(move || client(&base, &trust, id, &key, pending, &stop, &acks))
            })
            .collect();
        let max_ms = u64::try_from(options.max_uptime.as_millis()).unwrap_or(u64::MAX);
        let uptime = Duration::from_millis(rng.below(max_ms) + 1);
        let started = Instant::now();
        std::thread::sleep(uptime);
        server.kill().context("SIGKILL the server")?;
        server.wait()?;
        report.longest_uptime_ms = report
            .longest_uptime_ms
            .max(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            let _ = w.join();
        }
        let acks = std::mem::take(&mut *acks.lock().expect("acks lock"));
        let checked = check(dir, &acks, &mut report)?;
        let new_size = checked.size;
        open = checked.open;
        report.acknowledged += acks.len() as u64;
        report.committed_unacknowledged +=
            (new_size - report.entries).saturating_sub(acks.len() as u64);
        report.entries = new_size;
        report.cycles += 1;
        progress(&report);
    }
    Ok(report)
}

impl Report {
    /// The report in a few lines.
    pub fn text(&self) -> String {
        format!(
            "crash test: {} cycles of load, SIGKILL and restart (longest uptime {} ms)\n\
             acknowledged transitions {:>8}, all present where their receipts said: {}\n\
             committed, not yet acknowledged when killed {:>3}\n\
             log entries at the end {:>8}\n\
             replays matching the stored state {}/{}\n\
             {}",
            self.cycles,
            self.longest_uptime_ms,
            self.acknowledged,
            if self.lost == 0 {
                "yes".to_string()
            } else {
                format!("NO, {} lost", self.lost)
            },
            self.committed_unacknowledged,
            self.entries,
            self.cycles as u64 - self.verify_failures,
            self.cycles,
            if self.is_ok() { "PASSED" } else { "FAILED" }
        )
    }
}
