//! Hostile bylaws are contained: the failure is logged as the host's denial `bylaw-failed`
//! (spending the signer's sequence number, changing nothing else), the runtime keeps working.

use cltd_runtime::{
    Action, BYLAW_FAILED, LoadError, Parameter, ProposalBody, ProposalDraft, RefusalError, Runtime,
};

use crate::support::{DAY, Harness, bylaw, classic};

/// A trust on the hostile bylaw. It entrenches no clause: a bylaw that breaks them cannot
/// found a trust that entrenches them (see `guarantees.rs`).
fn hostile(mode: &str) -> Harness {
    Harness::try_with(
        &bylaw("hostile-bylaw"),
        vec![Parameter {
            key: "hostile".into(),
            value: mode.into(),
        }],
        Vec::new(),
    )
    .expect("create trust")
}

fn any_action() -> Action {
    Action::Propose(ProposalDraft {
        body: ProposalBody::Ordinary,
        title: "t".into(),
        text: String::new(),
        window: 7 * DAY,
    })
}

/// Submit as r1: the bylaw fails. The failure is logged as the host's denial
/// `bylaw-failed`, which spends r1's sequence number and changes nothing else, so the same
/// signed bytes cannot make the bylaw burn its budget again. Returns the logged
/// explanation.
fn fails(h: &mut Harness) -> String {
    let before = h.trust.state().clone();
    let r1 = h.key("r1").member_key();
    let bytes = h.sign("r1", any_action());
    let receipt = h.trust.submit(&bytes).expect("a bylaw's failure is logged");
    let denial = receipt
        .verdict
        .denial()
        .expect("logged as the host's denial")
        .clone();
    assert_eq!(denial.code, BYLAW_FAILED);
    assert!(receipt.effects.is_empty());
    let after = h.trust.state();
    assert_eq!(after.next_seq(&r1), before.next_seq(&r1) + 1);
    assert_eq!(after.size, before.size + 1);
    assert_eq!(
        (
            &after.members,
            &after.assets,
            &after.proposals,
            &after.grants
        ),
        (
            &before.members,
            &before.assets,
            &before.proposals,
            &before.grants
        ),
        "a failure changes nothing but the sequence number"
    );
    // The same bytes again: refused without trace, no second bylaw call.
    assert!(matches!(
        h.refused_bytes(&bytes),
        RefusalError::BadSequence { .. }
    ));
    denial.explanation
}

#[test]
fn an_endless_loop_is_stopped_by_fuel() {
    let mut h = hostile("loop");
    let why = fails(&mut h);
    assert!(
        why.contains("ran out of fuel after 200000000 units"),
        "{why}"
    );
    assert!(
        why.contains("changed nothing but the signer's sequence number"),
        "{why}"
    );
    // The same trust (and engine) still answers, and fails the same way again.
    assert!(fails(&mut h).contains("ran out of fuel"));
    // Fuel exhaustion is deterministic: the replay fails the same way, with the same fuel.
    let report = cltd_runtime::verify(h.trust.database(), &crate::support::runtime()).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.denied, 2);
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let mut h = hostile("memory-bomb");
    let why = fails(&mut h);
    assert!(why.contains("exceeded its resource limits"), "{why}");
}

#[test]
fn a_trap_is_reported() {
    let mut h = hostile("trap");
    let why = fails(&mut h);
    assert!(why.contains("the bylaw trapped"), "{why}");
}

#[test]
fn unbounded_recursion_overflows_the_bounded_stack() {
    let mut h = hostile("deep-recursion");
    let why = fails(&mut h);
    // Whichever stack runs out first: the engine's (512 KiB), or the bylaw's own 64 KiB at
    // the bottom of its memory (running below address 0 traps).
    assert!(
        why.contains("overflowed its stack")
            || why.contains("overflowed its wasm stack")
            || why.contains("ran out of fuel"),
        "{why}"
    );
}

#[test]
fn an_enormous_explanation_is_a_bad_verdict() {
    let mut h = hostile("huge-explanation");
    let why = fails(&mut h);
    assert!(why.contains("the bylaw gave an invalid answer"), "{why}");
}

#[test]
fn an_enormous_list_of_notes_is_a_bad_verdict() {
    let mut h = hostile("many-notes");
    let why = fails(&mut h);
    assert!(why.contains("too many or too long notes"), "{why}");
}

/// Resident memory of this process, in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

/// Set in the child process [`hostile_calls_leave_memory_bounded`] starts.
const MEMORY_CHILD: &str = "CLTD_TEST_HOSTILE_MEMORY_CHILD";

#[test]
fn hostile_calls_leave_memory_bounded() {
    // Resident memory is a per-process figure, and other tests run in parallel threads: the
    // measurement runs alone, in a child process running only this test.
    if std::env::var_os(MEMORY_CHILD).is_none() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["hostile::hostile_calls_leave_memory_bounded", "--exact"])
            .args(["--test-threads=1", "--nocapture"])
            .env(MEMORY_CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child ran no test: {text}");
        return;
    }
    let modes = ["memory-bomb", "many-notes", "huge-explanation", "trap"];
    let mut trusts: Vec<Harness> = modes.iter().map(|m| hostile(m)).collect();
    // One round first: the engine, allocator and caches reach their working size.
    for h in &mut trusts {
        fails(h);
    }
    let before = resident_bytes();
    let mut peak = before;
    for _ in 0..10 {
        for h in &mut trusts {
            fails(h);
            peak = peak.max(resident_bytes());
        }
    }
    let after = resident_bytes();
    eprintln!(
        "resident: {} MiB after warm-up, {} MiB after 40 hostile calls, peak {} MiB",
        before >> 20,
        after >> 20,
        peak >> 20
    );
    // Nothing accumulates: every call's instance, memory and lifted verdict are freed.
    assert!(
        after < before + (32 << 20),
        "resident memory grew from {before} to {after} bytes over 40 hostile calls"
    );
}

#[test]
fn a_component_with_a_pathological_number_of_functions_is_refused() {
    let funcs = "(func)".repeat(usize::try_from(cltd_runtime::MAX_FUNCTIONS).unwrap() + 1);
    let wasm = wat::parse_str(format!("(component (core module {funcs}))")).unwrap();
    let rt = Runtime::new(Default::default()).unwrap();
    // Refused from the section headers, before the compiler sees it: compiling would give
    // another error (or none), not this count.
    let err = rt.prepare(&wasm).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::TooManyFunctions {
                count: 10_001,
                limit: 10_000
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("10001 functions"), "{err}");
    // The bylaws cltd ships are far below the limit.
    rt.prepare(&cltd_runtime::to_component(&crate::support::classic()).unwrap())
        .unwrap();
}

#[test]
fn a_well_behaved_trust_on_the_same_engine_is_unaffected() {
    let mut bad = hostile("loop");
    fails(&mut bad);
    let mut good = Harness::classic();
    good.allowed("r1", any_action());
}

#[test]
fn non_wasm_and_oversized_modules_are_refused() {
    let rt = Runtime::new(Default::default()).unwrap();
    assert!(matches!(
        cltd_runtime::to_component(b"hello"),
        Err(LoadError::NotWasm(_))
    ));
    assert!(
        matches!(rt.prepare(b"\0asm\x01\0\0\0"), Err(LoadError::NotWasm(_))),
        "core modules must be componentized"
    );
    let mut big = cltd_runtime::to_component(&crate::support::classic()).unwrap();
    big.resize(3 << 20, 0);
    assert!(matches!(rt.prepare(&big), Err(LoadError::TooLarge { .. })));
}

#[test]
fn a_component_importing_anything_is_refused() {
    // A component that asks the host for a clock: no bylaw may import a capability.
    let wasm = wat::parse_str(
        r#"(component
            (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64)))))
        )"#,
    )
    .unwrap();
    let rt = Runtime::new(Default::default()).unwrap();
    let err = rt.prepare(&wasm).unwrap_err();
    assert!(
        matches!(err, LoadError::Link(ref m) if m.contains("wasi:clocks/wall-clock")),
        "{err}"
    );
}

#[test]
fn a_component_without_the_bylaw_exports_is_refused() {
    let wasm = wat::parse_str("(component)").unwrap();
    let rt = Runtime::new(Default::default()).unwrap();
    assert!(matches!(rt.prepare(&wasm), Err(LoadError::Link(_))));
}

#[test]
fn calls_beyond_the_instance_pool_run_on_demand_with_the_same_fuel() {
    // One pooled instance: while a hostile bylaw spins in it until its fuel runs out, every
    // other call on the engine finds the pool exhausted and must fall back, not fail.
    let rt = std::sync::Arc::new(Runtime::with_pool_slots(Default::default(), 1).unwrap());
    assert!(rt.profile().pooling, "pooling is the default");
    let hostile_params = vec![Parameter {
        key: "hostile".into(),
        value: "loop".into(),
    }];
    let mut bad = Harness::try_on(
        rt.clone(),
        &bylaw("hostile-bylaw"),
        hostile_params,
        Vec::new(),
    )
    .unwrap();
    let mut good = Harness::try_on(
        rt.clone(),
        &classic(),
        vec![],
        cltd_runtime::Clause::ALL.to_vec(),
    )
    .unwrap();
    let spinning = bad.sign("r1", any_action());
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            bad.trust.submit(&spinning).unwrap();
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        let mut n = 0;
        // Proposers in turn: one member may hold only 256 open proposals, and on a loaded
        // machine the hostile call spins for longer than 256 of them take.
        let proposers: Vec<&str> = crate::support::founders()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        while !done.load(std::sync::atomic::Ordering::SeqCst) || n == 0 {
            let receipt = good.allowed(proposers[n % proposers.len()], any_action());
            assert!(receipt.verdict.denial().is_none());
            n += 1;
        }
    });
    assert!(
        rt.fallback_calls() > 0,
        "no call found the one-slot pool taken while the hostile bylaw spun"
    );
    // Replayed on an uncontended pooled engine, every fallen-back call used the fuel it
    // recorded: the fallback changes where an instance lives, not what it computes.
    let fresh = Runtime::new(Default::default()).unwrap();
    let report = cltd_runtime::verify(good.trust.database(), &fresh).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(fresh.fallback_calls(), 0);
}
