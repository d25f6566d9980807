//! Committed byte vectors of what a trust stores and publishes: a genesis entry, a judged
//! transition's entry (with its signed envelope) and an audit bundle framing them. Any
//! change to these bytes is a format change (a new `ENTRY_FORMAT` or bundle version, and a
//! CHANGELOG line), never an accident of refactoring: type changes such as newtypes for
//! hashes and keys must leave them byte-identical.

use cltd_runtime::{
    Action, Allowance, Applicant, Bundle, Charter, Choice, Clause, Decision, Effect, EngineProfile,
    Entry, EntryBody, Genesis, Keypair, Manifest, Outcome, Parameter, Predecessor,
    SignedTransition, StakeholderClass, TransitionRecord, Verdict, Vote, entry_hash,
};

fn key(n: u8) -> Keypair {
    Keypair::from_secret([n; 32])
}

fn genesis() -> Entry {
    Entry {
        format: 2,
        index: 0,
        prev: cltd_runtime::EntryHash([0; 32]),
        time: 1_800_000_000,
        body: EntryBody::Genesis(Genesis {
            salt: [7; 16],
            charter: Charter {
                treasury: None,
                name: "Vector Trust".into(),
                params: vec![Parameter {
                    key: "quorum-percent".into(),
                    value: "30".into(),
                }],
                founders: vec![Applicant {
                    key: key(1).public().to_vec(),
                    name: "Ada".into(),
                    class: StakeholderClass::Resident,
                }],
                assets: vec![],
                entrenched: Clause::ALL.to_vec(),
            },
            module: cltd_runtime::ModuleHash([0xab; 32]),
            // Every field pinned, so the bytes do not follow the defaults.
            engine: EngineProfile {
                wasmtime: "48.0.8".into(),
                fuel_per_call: 200_000_000,
                memory_bytes: 64 << 20,
                max_stack_bytes: 512 << 10,
                nan_canonicalization: true,
                pooling: false,
            },
            host_key: key(9).public(),
            predecessor: Some(Predecessor {
                trust_id: cltd_runtime::TrustId([0xcd; 32]),
                size: 42,
                head: cltd_runtime::EntryHash([0xef; 32]),
            }),
        }),
    }
}

fn transition(prev: cltd_runtime::EntryHash, trust: cltd_runtime::TrustId) -> Entry {
    let signed = SignedTransition::sign(
        &key(1),
        trust,
        3,
        Action::Vote(Vote {
            proposal: 2,
            choice: Choice::Yes,
        }),
    );
    Entry {
        format: 2,
        index: 1,
        prev,
        time: 1_800_000_060,
        body: EntryBody::Transition(TransitionRecord {
            signed: signed.to_bytes(),
            module: cltd_runtime::ModuleHash([0xab; 32]),
            verdict: Verdict::Allow(Allowance {
                decision: Some(Decision {
                    funded: vec![],
                    outcome: Outcome::Passed,
                    explanation: "2 of 3".into(),
                    not_before: Some(1_800_086_400),
                }),
                notes: vec!["counted".into()],
            }),
            effects: vec![Effect::VoteRecorded {
                proposal: 2,
                choice: Choice::Yes,
            }],
            fuel: 28_679,
            changes: [0x11; 32],
        }),
    }
}

#[test]
fn entries_and_bundles_keep_their_committed_bytes() {
    let g = genesis();
    let trust = match &g.body {
        EntryBody::Genesis(genesis) => genesis.trust_id(),
        EntryBody::Transition(_) => unreachable!(),
    };
    let t = transition(entry_hash(&g), trust);
    let bundle = Bundle {
        manifest: Manifest {
            trust_id: trust,
            host_key: key(9).public(),
            entries: 2,
            modules: 1,
        },
        checkpoint: "cltd/trust/vector\n2\nAAAA\n".into(),
        entries: vec![g.to_bytes(), t.to_bytes()],
        modules: vec![b"\0asm not really".to_vec()],
    };
    let got = [
        ("genesis entry", hex::encode(g.to_bytes())),
        ("genesis hash", hex::encode(entry_hash(&g))),
        ("trust id", hex::encode(trust)),
        ("transition entry", hex::encode(t.to_bytes())),
        ("transition hash", hex::encode(entry_hash(&t))),
        (
            "bundle blake3",
            blake3::hash(&bundle.to_bytes()).to_hex().to_string(),
        ),
    ];
    let changed: Vec<String> = got
        .iter()
        .zip(VECTORS)
        .filter(|((_, got), want)| got != want)
        .map(|((what, got), _)| format!("{what}: {got}"))
        .collect();
    assert!(
        changed.is_empty(),
        "the stored or published bytes changed (a format change needs a new ENTRY_FORMAT or bundle version and a CHANGELOG line); now:\n{}",
        changed.join("\n")
    );
    // The bytes decode back to the same values.
    assert_eq!(Entry::from_bytes(&g.to_bytes()).unwrap(), g);
    assert_eq!(Entry::from_bytes(&t.to_bytes()).unwrap(), t);
}

/// Genesis entry, its hash, the trust id, the transition entry, its hash, and the bundle's
/// blake3, as written by the code of 2026-12 (store format 8, entry format 2: contract 0.8; the bundle in
/// format 2 since its entry digests are over the entry hash).
const VECTORS: [&str; 6] = [
    concat!(
        "0200000000000000000000000000000000000000000000000000000000000000",
        "000080a4a7da0600070707070707070707070707070707070c566563746f7220",
        "5472757374010e71756f72756d2d70657263656e7402333001208a88e3dd7409",
        "f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c034164610000",
        "0300010200ababababababababababababababababababababababababababab",
        "ababababab0634382e302e388084af5f808080208080200100fd1724385aa0c7",
        "5b64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f61801cdcdcdcdcdcd",
        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd2aefefefefef",
        "efefefefefefefefefefefefefefefefefefefefefefefefefefef",
    ),
    "26657bfd017c36eab195c39133c97945b982e739a33331a706152994307e6130",
    "9b3a350e188fcffa113531a7466a55e5eb27f1262d48857dc039ceb68521e8af",
    concat!(
        "020126657bfd017c36eab195c39133c97945b982e739a33331a706152994307e",
        "6130bca4a7da06018601449b3a350e188fcffa113531a7466a55e5eb27f1262d",
        "48857dc039ceb68521e8af8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d",
        "94121bf3748801b40f6f5c03010200404986619c434ae4f4e736333b218d1716",
        "cea63e4871a7f6d7866642511ffdb6ba59d8fd88ddb9485f842bee757f136517",
        "2b79fb799db819c8952c6d6afdfa0501abababababababababababababababab",
        "abababababababababababababababab0001000632206f6620330180c7acda06",
        "000107636f756e7465640101020087e001111111111111111111111111111111",
        "1111111111111111111111111111111111",
    ),
    "ead8d6ef822355b817498b0c0518dea25c98cbf330bbb54ffb66ebd8be134d7a",
    "93853f25df35a9630597cd115eb15884b987e6c2bf872d7c8c9b2ecc25c89b1e",
];
