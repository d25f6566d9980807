//! The one fixture every bench measures on: a trust with N founding members in a temporary
//! directory, on a manual clock, with deterministic member keys; realistic streams of signed
//! transitions for it; and latency percentiles.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use cltd_runtime::{
    Action, Applicant, Charter, Choice, Clause, Keypair, ManualClock, ProposalBody, ProposalDraft,
    SignedTransition, StakeholderClass, Trust, Vote,
};
use serde::Serialize;
use tempfile::TempDir;

/// A day, in host-time seconds.
pub const DAY: u64 = 86_400;

/// A trust with `members` founding members (classes in rotation) in a temporary directory.
pub struct Fixture {
    /// Keeps the store alive.
    pub dir: TempDir,
    /// The trust.
    pub trust: Trust,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// Member keys, in founding order.
    pub keys: Vec<Keypair>,
}

impl Fixture {
    /// Found a trust governed by `wasm` with `members` founders, on the default engine.
    pub fn new(wasm: &[u8], members: usize) -> Result<Fixture> {
        Fixture::on(cltd::setup::runtime()?, wasm, members)
    }

    /// Found a trust governed by `wasm` with `members` founders, on `runtime`.
    pub fn on(runtime: Arc<cltd_runtime::Runtime>, wasm: &[u8], members: usize) -> Result<Fixture> {
        let dir = TempDir::new()?;
        let clock = Arc::new(ManualClock::new(1_800_000_000));
        let classes = [
            StakeholderClass::Resident,
            StakeholderClass::Community,
            StakeholderClass::Public,
        ];
        let keys: Vec<Keypair> = (0..members as u64)
            .map(|i| Keypair::from_secret(seed(i)))
            .collect();
        let charter = Charter {
            treasury: None,
            name: "Bench Trust".into(),
            params: vec![],
            founders: keys
                .iter()
                .enumerate()
                .map(|(i, k)| Applicant {
                    key: k.public().to_vec(),
                    name: format!("m{i}"),
                    class: classes[i % 3],
                })
                .collect(),
            assets: vec![],
            entrenched: Clause::ALL.to_vec(),
        };
        let trust = Trust::create(dir.path(), runtime, charter, wasm, Box::new(clock.clone()))?;
        Ok(Fixture {
            dir,
            trust,
            clock,
            keys,
        })
    }

    /// Open `n` ordinary resolutions (30-day windows), proposed by the members in turn (one
    /// member may hold only so many open proposals), committed in batches; the number of
    /// the first.
    pub fn open_resolutions(&mut self, n: usize) -> Result<u64> {
        let trust = &mut self.trust;
        let first = trust.state().next_proposal_id();
        let opens: Vec<Vec<u8>> = (0..n as u64)
            .map(|i| {
                let opener = &self.keys[i as usize % self.keys.len()];
                let seq = trust.state().next_seq(&opener.member_key()) + i / self.keys.len() as u64;
                SignedTransition::sign(
                    opener,
                    trust.id(),
                    seq,
                    Action::Propose(ProposalDraft {
                        body: ProposalBody::Ordinary,
                        title: format!("Resolution {i}"),
                        text: String::new(),
                        window: 30 * DAY,
                    }),
                )
                .to_bytes()
            })
            .collect();
        for chunk in opens.chunks(256) {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            for r in trust.submit_batch(&refs) {
                r?;
            }
        }
        Ok(first)
    }

    /// `n` signed transitions of a realistic stream, to be submitted in order: a member
    /// proposes an ordinary resolution, then every member votes on it; repeat.
    pub fn stream(&self, n: usize) -> Vec<Vec<u8>> {
        let m = self.keys.len();
        let mut seqs: Vec<u64> = self
            .keys
            .iter()
            .map(|k| self.trust.state().next_seq(&k.member_key()))
            .collect();
        let mut next_id = self.trust.state().next_proposal_id();
        let mut out = Vec::with_capacity(n);
        let mut round = 0usize;
        'outer: loop {
            let proposer = round % m;
            let propose = Action::Propose(ProposalDraft {
                body: ProposalBody::Ordinary,
                title: format!("Resolution {next_id}"),
                text: String::new(),
                window: 7 * DAY,
            });
            for (who, action) in std::iter::once((proposer, propose)).chain((0..m).map(|v| {
                let choice = if v % 4 == 3 { Choice::No } else { Choice::Yes };
                (
                    v,
                    Action::Vote(Vote {
                        proposal: next_id,
                        choice,
                    }),
                )
            })) {
                if out.len() == n {
                    break 'outer;
                }
                out.push(
                    SignedTransition::sign(&self.keys[who], self.trust.id(), seqs[who], action)
                        .to_bytes(),
                );
                seqs[who] += 1;
            }
            next_id += 1;
            round += 1;
        }
        out
    }

    /// A trust of `members` members whose log holds `entries` entries (the genesis entry
    /// and a [`Fixture::stream`]), committed in group commits of 256.
    pub fn with_history(wasm: &[u8], members: usize, entries: usize) -> Result<Fixture> {
        let mut fx = Fixture::new(wasm, members)?;
        let stream = fx.stream(entries.saturating_sub(1));
        for chunk in stream.chunks(256) {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            for r in fx.trust.submit_batch(&refs) {
                r?;
            }
        }
        Ok(fx)
    }

    /// `n` ordinary proposals signed in turn by the members `members`, independent of every
    /// other member's transitions, so threads can submit them concurrently. Fails if that
    /// would give one member more open proposals than the host allows.
    pub fn proposals_by(&self, members: &[usize], n: usize) -> Result<Vec<Vec<u8>>> {
        anyhow::ensure!(
            !members.is_empty() && n.div_ceil(members.len()) <= cltd_runtime::MAX_OPEN_PER_PROPOSER,
            "{n} proposals by {} members would exceed {} open proposals per member: bench with more members",
            members.len(),
            cltd_runtime::MAX_OPEN_PER_PROPOSER
        );
        let firsts: Vec<u64> = members
            .iter()
            .map(|m| self.trust.state().next_seq(&self.keys[*m].member_key()))
            .collect();
        Ok((0..n)
            .map(|i| {
                let k = i % members.len();
                let member = members[k];
                let seq = firsts[k] + (i / members.len()) as u64;
                let action = Action::Propose(ProposalDraft {
                    body: ProposalBody::Ordinary,
                    title: format!("Resolution {member}/{seq}"),
                    text: String::new(),
                    window: 7 * DAY,
                });
                SignedTransition::sign(&self.keys[member], self.trust.id(), seq, action).to_bytes()
            })
            .collect())
    }
}

/// A deterministic secret per member index, so runs are comparable.
fn seed(i: u64) -> [u8; 32] {
    let mut seed = [0xc1u8; 32];
    seed[..8].copy_from_slice(&i.to_le_bytes());
    seed
}

/// Latency percentiles of a set of samples.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Median, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Samples.
    pub samples: usize,
}

impl Latency {
    /// Percentiles of `samples`.
    pub fn of(mut samples: Vec<Duration>) -> Latency {
        samples.sort();
        let n = samples.len().max(1);
        let at = |q: usize| {
            samples
                .get((n * q / 100).min(n - 1))
                .map_or(0.0, |d| d.as_secs_f64() * 1e6)
        };
        Latency {
            p50_us: at(50),
            p99_us: at(99),
            samples: samples.len(),
        }
    }
}
