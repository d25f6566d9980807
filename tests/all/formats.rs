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
    for ((what, got), want) in got.iter().zip(VECTORS) {
        assert_eq!(got, want, "{what}: the stored or published bytes changed");
    }
    // The bytes decode back to the same values.
    assert_eq!(Entry::from_bytes(&g.to_bytes()).unwrap(), g);
    assert_eq!(Entry::from_bytes(&t.to_bytes()).unwrap(), t);
}

/// Genesis entry, its hash, the trust id, the transition entry, its hash, and the bundle's
/// blake3, as written by the code of 2026-12 (store format 8, entry format 2: contract 0.8; the bundle in
/// format 2 since its entry digests are over the entry hash).
const VECTORS: [&str; 6] = [
    concat!(
        "0100000000000000000000000000000000000000000000000000000000000000",
        "000080a4a7da0600070707070707070707070707070707070c566563746f7220",
        "5472757374010e71756f72756d2d70657263656e7402333001208a88e3dd7409",
        "f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c034164610000",
        "03000102abababababababababababababababababababababababababababab",
        "abababab0634382e302e388084af5f808080208080200100fd1724385aa0c75b",
        "64fb78cd602fa1d991fdebf76b13c58ed702eac835e9f61801cdcdcdcdcdcdcd",
        "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd2aefefefefefef",
        "efefefefefefefefefefefefefefefefefefefefefefefefefef",
    ),
    "3d3db0aafffaf850044846e1c57e45509a255c5f6ebf550381caab16a758c06c",
    "7b2cef0d5853edfec7653201de9877c509b04be2e80ab1f1e43b69a1cb38a875",
    concat!(
        "01013d3db0aafffaf850044846e1c57e45509a255c5f6ebf550381caab16a758",
        "c06cbca4a7da06018601447b2cef0d5853edfec7653201de9877c509b04be2e8",
        "0ab1f1e43b69a1cb38a8758a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d",
        "94121bf3748801b40f6f5c0301020040748ec492a51cbee742dd8bf7480654e0",
        "4f17f9b71fcb2406929fa77794f37e46786bd37e697d6f0cbecb94192d56bc7b",
        "2bc48a66723a3a2e75229fb8f0ae9b02abababababababababababababababab",
        "abababababababababababababababab0001000632206f6620330180c7acda06",
        "0107636f756e7465640101020087e00111111111111111111111111111111111",
        "11111111111111111111111111111111",
    ),
    "ec31b33b6379d4132c22c9c397370bad045f5a55d953167253afbafcb282b60c",
    "43e68b45a6d7322e3891e540ab78ff48162e11a3a1cb8801569f22a51b19f208",
];
