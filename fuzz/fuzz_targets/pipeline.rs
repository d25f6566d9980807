//! The transition pipeline against a reference model.
//!
//! Each input is read as a script of signed transitions by the founders of a trust governed
//! by the `minimal` bylaw (and by a stranger): proposals, votes, closes, executions and
//! withdrawals on any proposal number, the clock moving forward, and tampered transitions
//! (a replayed or skipped sequence number, a forged signature, another trust's id, cut-off
//! bytes). A small model of the host's rules and of `minimal`'s clauses, written from their
//! documentation rather than their code, predicts for every step whether it is refused,
//! denied or allowed (and, for a close, the outcome); every action of the stranger is refused
//! without trace. The real pipeline must agree at every
//! step; a refusal must leave the store byte-identical; at the end the state must match the
//! model's proposals and the log must replay to the stored state.
//!
//! The trust lives in memory (a redb in-memory backend loaded from a store founded once), so
//! a run costs no fsync. Set `CLTD_BYLAWS_DIR` to where `minimal.wasm` is built (default:
//! the workspace's `target/bylaws`).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use cltd_runtime::{
    Action, Applicant, Charter, Choice, Error, Keypair, ManualClock, Outcome, ProposalBody,
    ProposalDraft, ProposalStatus, Resolution, Runtime, STORE_FILE, SignedTransition,
    StakeholderClass, Trust, Vote,
};
use libfuzzer_sys::fuzz_target;
use redb::StorageBackend;
use redb::backends::InMemoryBackend;

/// Founding members; index `MEMBERS` is the stranger.
const MEMBERS: usize = 4;
/// Host time at founding.
const T0: u64 = 1_800_000_000;

struct Fixture {
    runtime: Arc<Runtime>,
    /// Holds the host key the store's genesis names.
    dir: tempfile::TempDir,
    /// The founded store's file, loaded into memory for every run.
    store: Vec<u8>,
    keys: Vec<Keypair>,
    trust_id: cltd_runtime::TrustId,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::var_os("CLTD_BYLAWS_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bylaws"),
            PathBuf::from,
        );
        let wasm = std::fs::read(dir.join("minimal.wasm"))
            .expect("minimal.wasm: build the bylaws first (scripts/build-bylaws.sh)");
        let runtime = Arc::new(Runtime::new(Default::default()).expect("engine"));
        let keys: Vec<Keypair> = (0..=MEMBERS as u8)
            .map(|i| Keypair::from_secret([i + 1; 32]))
            .collect();
        let founders = keys[..MEMBERS]
            .iter()
            .enumerate()
            .map(|(i, k)| Applicant {
                key: k.public().to_vec(),
                name: format!("m{i}"),
                class: StakeholderClass::Resident,
            })
            .collect();
        let charter = Charter {
            name: "Fuzz Trust".into(),
            params: vec![],
            founders,
            assets: vec![],
            entrenched: vec![],
            treasury: None,
        };
        let dir = tempfile::TempDir::new().expect("temp dir");
        let trust = Trust::create(
            dir.path(),
            runtime.clone(),
            charter,
            &wasm,
            Box::new(ManualClock::new(T0)),
        )
        .expect("found the trust");
        let trust_id = trust.id();
        drop(trust);
        let store = std::fs::read(dir.path().join(STORE_FILE)).expect("read the store");
        Fixture {
            runtime,
            dir,
            store,
            keys,
            trust_id,
        }
    })
}

/// Reads the script: each byte once, zero when the input runs out.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        *first
    }
}

/// What the model expects of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Refused,
    Denied,
    Allowed,
    Closed(Outcome),
}

#[derive(Debug, Clone)]
struct ModelProposal {
    proposer: usize,
    closes_at: u64,
    status: ProposalStatus,
    voters: BTreeSet<usize>,
    yes: u32,
    no: u32,
}

/// The reference model: the host's rules and `minimal`'s clauses, as documented.
#[derive(Debug, Default)]
struct Model {
    now: u64,
    seq: BTreeMap<usize, u64>,
    proposals: BTreeMap<u64, ModelProposal>,
}

impl Model {
    fn is_member(actor: usize) -> bool {
        actor < MEMBERS
    }

    fn seq(&self, actor: usize) -> u64 {
        self.seq.get(&actor).copied().unwrap_or(0)
    }

    /// Predict `action` by `actor` (correctly signed and numbered), and apply it.
    fn step(&mut self, actor: usize, action: &Action) -> Expect {
        let expect = self.predict(actor, action);
        if expect != Expect::Refused {
            *self.seq.entry(actor).or_default() += 1;
        }
        let now = self.now;
        match (action, expect) {
            (Action::Propose(d), Expect::Allowed) => {
                let id = self.proposals.keys().next_back().map_or(1, |k| k + 1);
                self.proposals.insert(
                    id,
                    ModelProposal {
                        proposer: actor,
                        closes_at: now + d.window,
                        status: ProposalStatus::Open,
                        voters: BTreeSet::new(),
                        yes: 0,
                        no: 0,
                    },
                );
            }
            (Action::Vote(v), Expect::Allowed) => {
                let p = self.proposals.get_mut(&v.proposal).expect("predicted");
                p.voters.insert(actor);
                match v.choice {
                    Choice::Yes => p.yes += 1,
                    Choice::No => p.no += 1,
                    Choice::Abstain => {}
                }
            }
            (Action::Close(id), Expect::Closed(outcome)) => {
                self.proposals.get_mut(id).expect("predicted").status = match outcome {
                    Outcome::Passed => ProposalStatus::Passed,
                    Outcome::Rejected => ProposalStatus::Rejected,
                    Outcome::Expired => ProposalStatus::Expired,
                };
            }
            (Action::Execute(id), Expect::Allowed) => {
                self.proposals.get_mut(id).expect("predicted").status = ProposalStatus::Executed;
            }
            (Action::Withdraw(id), Expect::Allowed) => {
                self.proposals.get_mut(id).expect("predicted").status = ProposalStatus::Withdrawn;
            }
            _ => {}
        }
        expect
    }

    fn predict(&self, actor: usize, action: &Action) -> Expect {
        let member = Model::is_member(actor);
        // `minimal` opens no action to non-members, so the host refuses every one of a
        // stranger's actions without trace: a stranger cannot grow the log.
        if !member {
            return Expect::Refused;
        }
        let proposal = |id: &u64| self.proposals.get(id);
        match action {
            Action::Propose(d) => {
                let open = self
                    .proposals
                    .values()
                    .filter(|p| p.proposer == actor && p.status == ProposalStatus::Open)
                    .count();
                if open >= cltd_runtime::MAX_OPEN_PER_PROPOSER {
                    Expect::Refused
                } else if !matches!(d.body, ProposalBody::Ordinary) {
                    Expect::Denied
                } else {
                    Expect::Allowed
                }
            }
            Action::Vote(v) => match proposal(&v.proposal) {
                Some(p)
                    if p.status == ProposalStatus::Open
                        && self.now < p.closes_at
                        && !p.voters.contains(&actor) =>
                {
                    Expect::Allowed
                }
                _ => Expect::Refused,
            },
            Action::Close(id) => match proposal(id) {
                Some(p) if p.status == ProposalStatus::Open && self.now >= p.closes_at => {
                    Expect::Closed(if p.yes + p.no == 0 {
                        Outcome::Expired
                    } else if p.yes > p.no {
                        Outcome::Passed
                    } else {
                        Outcome::Rejected
                    })
                }
                _ => Expect::Refused,
            },
            Action::Execute(id) => match proposal(id) {
                Some(p) if p.status == ProposalStatus::Passed => Expect::Allowed,
                _ => Expect::Refused,
            },
            Action::Withdraw(id) => match proposal(id) {
                Some(p) if p.status == ProposalStatus::Open => {
                    if p.proposer == actor {
                        Expect::Allowed
                    } else {
                        Expect::Denied
                    }
                }
                _ => Expect::Refused,
            },
            _ => unreachable!("the script makes no other action"),
        }
    }
}

/// The action a script step names. Proposal numbers run over those opened (`opened`) and
/// one past each end, so most steps act on a real proposal.
fn action(script: &mut Script, kind: u8, opened: u64) -> Action {
    let proposal = u64::from(script.byte()) % (opened + 2);
    match kind {
        0 | 1 => Action::Propose(ProposalDraft {
            body: if kind == 0 {
                ProposalBody::Ordinary
            } else {
                ProposalBody::Resolution(Resolution {
                    kind: "surplus-allocation".into(),
                    terms: vec![],
                })
            },
            title: "a proposal".into(),
            text: String::new(),
            window: 60 * (1 + u64::from(script.byte() % 4)),
        }),
        2 => Action::Vote(Vote {
            proposal,
            choice: match script.byte() % 3 {
                0 => Choice::Yes,
                1 => Choice::No,
                _ => Choice::Abstain,
            },
        }),
        3 => Action::Close(proposal),
        4 => Action::Execute(proposal),
        _ => Action::Withdraw(proposal),
    }
}

/// Tamper with a correctly signed transition so the host must refuse it.
fn tamper(fx: &Fixture, script: &mut Script, actor: usize, seq: u64, action: Action) -> Vec<u8> {
    let key = &fx.keys[actor];
    match script.byte() % 5 {
        // A replayed (or, for a first transition, skipped) sequence number.
        0 => SignedTransition::sign(key, fx.trust_id, seq.checked_sub(1).unwrap_or(1), action)
            .to_bytes(),
        1 => SignedTransition::sign(key, fx.trust_id, seq + 1, action).to_bytes(),
        2 => {
            let mut signed = SignedTransition::sign(key, fx.trust_id, seq, action);
            let at = usize::from(script.byte()) % signed.signature.len();
            signed.signature[at] ^= 1 << (script.byte() % 8);
            signed.to_bytes()
        }
        3 => {
            let mut other = fx.trust_id;
            other.0[0] ^= 1;
            SignedTransition::sign(key, other, seq, action).to_bytes()
        }
        _ => {
            let mut bytes = SignedTransition::sign(key, fx.trust_id, seq, action).to_bytes();
            bytes.truncate(usize::from(script.byte()) % bytes.len());
            bytes
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let fx = fixture();
    let backend = InMemoryBackend::new();
    backend
        .set_len(fx.store.len() as u64)
        .and_then(|()| backend.write(0, &fx.store))
        .expect("load the store into memory");
    let clock = Arc::new(ManualClock::new(T0));
    let mut trust = Trust::open_with_backend(
        fx.dir.path(),
        backend,
        fx.runtime.clone(),
        Box::new(clock.clone()),
    )
    .expect("open the founded store");
    let mut model = Model {
        now: T0,
        ..Model::default()
    };
    let mut script = Script(input);
    // At most 64 steps, so one input stays fast.
    for step in 0..64 {
        if script.0.is_empty() {
            break;
        }
        let op = script.byte();
        let actor = usize::from(op >> 4) % (MEMBERS + 1);
        let kind = op % 8;
        if kind == 6 {
            let seconds = 30 * u64::from(script.byte() % 16);
            clock.advance(seconds);
            model.now += seconds;
            continue;
        }
        let seq = model.seq(actor);
        let opened = model.proposals.len() as u64;
        let (bytes, expect) = if kind == 7 {
            let kind = script.byte() % 6;
            let act = action(&mut script, kind, opened);
            (tamper(fx, &mut script, actor, seq, act), Expect::Refused)
        } else {
            let act = action(&mut script, kind, opened);
            let bytes =
                SignedTransition::sign(&fx.keys[actor], fx.trust_id, seq, act.clone()).to_bytes();
            (bytes, model.step(actor, &act))
        };
        let before = (expect == Expect::Refused).then(|| trust.dump().expect("dump"));
        let size = trust.state().size;
        match trust.submit(&bytes) {
            Err(Error::Refused(e)) => {
                assert_eq!(
                    expect,
                    Expect::Refused,
                    "step {step}: the host refused ({e}), the model expected {expect:?}"
                );
                assert_eq!(
                    trust.state().size,
                    size,
                    "step {step}: a refusal grew the log"
                );
                assert!(
                    before == Some(trust.dump().expect("dump")),
                    "step {step}: a refusal changed the store"
                );
            }
            Err(e) => panic!("step {step}: the pipeline failed: {e}"),
            Ok(receipt) => {
                let got = match (&receipt.verdict.decision(), receipt.verdict.is_allowed()) {
                    (Some(d), _) => Expect::Closed(d.outcome),
                    (None, true) => Expect::Allowed,
                    (None, false) => Expect::Denied,
                };
                assert_eq!(
                    got, expect,
                    "step {step}: {:?} by {actor}: the host's verdict is {got:?}, the model expected {expect:?}",
                    receipt.action
                );
                assert_eq!(receipt.index, size, "step {step}: logged out of place");
                assert_eq!(trust.state().size, size + 1);
            }
        }
    }
    // The state holds what the model holds.
    let statuses: BTreeMap<u64, ProposalStatus> = trust
        .state()
        .proposals
        .iter()
        .map(|(id, p)| (*id, p.proposal.status))
        .collect();
    let expected: BTreeMap<u64, ProposalStatus> = model
        .proposals
        .iter()
        .map(|(id, p)| (*id, p.status))
        .collect();
    assert_eq!(statuses, expected, "proposals differ from the model's");
    for (actor, key) in fx.keys.iter().enumerate() {
        assert_eq!(trust.state().next_seq(&key.member_key()), model.seq(actor));
    }
    // And the log replays to it.
    let report = cltd_runtime::verify(trust.database(), &fx.runtime).expect("verify runs");
    assert!(report.is_ok(), "the log does not replay: {report:?}");
});
