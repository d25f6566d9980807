//! Criterion benches of the hot paths: a bylaw call in a fresh sandboxed instance, the same
//! logic natively, one durable transition, and a group commit.
//!
//! Needs the bylaws built (`scripts/build-bylaws.sh`); `CLTD_BYLAWS_DIR` overrides where.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn wasm() -> Vec<u8> {
    let dir = std::env::var_os("CLTD_BYLAWS_DIR")
        .map_or_else(cltd::setup::default_bylaws_dir, Into::into);
    cltd::setup::read_bylaw("classic-clt", &dir)
        .expect("build the bylaws first: scripts/build-bylaws.sh")
}

const MEMBERS: usize = 30;

fn bylaw_calls(c: &mut Criterion) {
    let wasm = wasm();
    let mut g = c.benchmark_group("bylaw");
    // Instances allocated on demand, then from the pooling allocator (the default).
    for (pooling, name) in [(false, "wasm-fresh-instance"), (true, "wasm-fresh-pooled")] {
        let profile = cltd_runtime::EngineProfile {
            pooling,
            ..Default::default()
        };
        let rt = std::sync::Arc::new(cltd_runtime::Runtime::new(profile).expect("engine"));
        let mut fx = cltd_bench::fixture::Fixture::on(rt.clone(), &wasm, MEMBERS).expect("fixture");
        let probe = cltd_bench::transitions::Probe::new(&mut fx, MEMBERS).expect("probe");
        let module = fx.trust.state().module;
        g.bench_function(format!("vote/{name}"), |b| {
            b.iter(|| {
                rt.evaluate(&module, &probe.vote_view, &probe.vote)
                    .expect("vote evaluates")
            })
        });
        // The same vote with every parameter the bylaw declares set in the charter.
        let full_charter =
            cltd_bench::transitions::with_full_charter(&rt, &module, &probe.vote_view)
                .expect("describe");
        g.bench_function(format!("vote-full-charter/{name}"), |b| {
            b.iter(|| {
                rt.evaluate(&module, &full_charter, &probe.vote)
                    .expect("vote evaluates")
            })
        });
        g.bench_function(format!("close/{name}"), |b| {
            b.iter(|| {
                rt.evaluate(&module, &probe.close_view, &probe.close)
                    .expect("close evaluates")
            })
        });
    }
    // Closing with the roll in the view (what a bylaw that lists `close` in `needs-roll` is
    // given), the roll built per call as the host builds it, at 30 and 10,000 electors.
    for members in [MEMBERS, 10_000] {
        let rt = std::sync::Arc::new(
            cltd_runtime::Runtime::new(cltd_runtime::EngineProfile::default()).expect("engine"),
        );
        let mut fx = cltd_bench::fixture::Fixture::on(rt.clone(), &wasm, members).expect("fixture");
        let probe = cltd_bench::transitions::Probe::new(&mut fx, members).expect("probe");
        let module = fx.trust.state().module;
        g.bench_function(format!("close-with-roll/{members}"), |b| {
            b.iter(|| {
                rt.evaluate(&module, &probe.close_view_with_roll(), &probe.close)
                    .expect("close evaluates")
            })
        });
    }
    // Closing a budgeting round of 20 projects: the bylaw counts every ballot, by each
    // method (the Method of Equal Shares in exact rationals), at 100, 10,000 and 100,000
    // voters.
    {
        let rt = std::sync::Arc::new(
            cltd_runtime::Runtime::new(cltd_runtime::EngineProfile::default()).expect("engine"),
        );
        let mut fx = cltd_bench::fixture::Fixture::on(rt.clone(), &wasm, MEMBERS).expect("fixture");
        let probe = cltd_bench::transitions::Probe::new(&mut fx, MEMBERS).expect("probe");
        let module = fx.trust.state().module;
        for ballots in [100, 10_000, 100_000] {
            for method in ["greedy", "equal-shares"] {
                let charter = vec![cltd_runtime::Parameter {
                    key: "budget-method".into(),
                    value: method.into(),
                }];
                let view = cltd_bench::transitions::round_close_view(
                    &probe.close_view,
                    20,
                    ballots,
                    charter,
                );
                g.bench_function(format!("close-round/{method}/{ballots}"), |b| {
                    b.iter(|| {
                        rt.evaluate(&module, &view, &probe.close)
                            .expect("the round's close evaluates")
                    })
                });
            }
        }
    }
    let mut fx = cltd_bench::fixture::Fixture::new(&wasm, MEMBERS).expect("fixture");
    let probe = cltd_bench::transitions::Probe::new(&mut fx, MEMBERS).expect("probe");
    g.bench_function("vote/native", |b| {
        b.iter(|| {
            <classic_clt::ClassicClt as bylaws_sdk::Bylaw>::evaluate(
                &probe.native_vote_view,
                &probe.native_vote,
            )
        })
    });
    g.bench_function("close/native", |b| {
        b.iter(|| {
            <classic_clt::ClassicClt as bylaws_sdk::Bylaw>::evaluate(
                &probe.native_close_view,
                &probe.native_close,
            )
        })
    });
    g.finish();
}

fn transitions(c: &mut Criterion) {
    let wasm = wasm();
    let mut g = c.benchmark_group("transition");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    let mut fx = cltd_bench::fixture::Fixture::new(&wasm, MEMBERS).expect("fixture");
    g.throughput(Throughput::Elements(1));
    g.bench_function("durable/one-per-commit", |b| {
        b.iter_custom(|iters| {
            let stream = fx.stream(iters as usize);
            let start = Instant::now();
            for t in &stream {
                fx.trust.submit(t).expect("accepted");
            }
            start.elapsed()
        })
    });
    const BATCH: usize = 32;
    let mut gx = cltd_bench::fixture::Fixture::new(&wasm, MEMBERS).expect("fixture");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("durable/group-commit-32", |b| {
        b.iter_custom(|iters| {
            let stream = gx.stream(iters as usize * BATCH);
            let start = Instant::now();
            for chunk in stream.chunks(BATCH) {
                let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
                for r in gx.trust.submit_batch(&refs) {
                    r.expect("accepted");
                }
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, bylaw_calls, transitions);
criterion_main!(benches);
