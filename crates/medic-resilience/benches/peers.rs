//! medic-resilience against its Rust peers, one criterion group per operation.
//!
//! Ids are `OPERATION/LIBRARY`. Single-threaded rows run on one current-thread
//! runtime with paused time, so retry sleeps auto-advance. The contended row runs
//! on a 2-worker runtime; each criterion iteration is one round of 8 tasks × 1000
//! calls, and `iter_custom` divides the round's wall time by 8000, so the
//! reported time is wall time per call. The cases themselves live in
//! `common/mod.rs`, shared with the `allocs` bench.

mod common;

use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use common::{
    CALLS_PER_ROUND, Case, Contended, OPERATIONS, Visitor, contended_round, for_each_case,
};

struct Group<'a, 'c> {
    group: &'a mut BenchmarkGroup<'c, WallTime>,
    /// Current-thread, time paused.
    single: &'a Runtime,
    /// Two workers, real time.
    multi: &'a Runtime,
}

impl Visitor for Group<'_, '_> {
    fn case<C, F, Fut>(&mut self, library: &'static str, make: F)
    where
        C: Case,
        F: Fn() -> Fut,
        Fut: Future<Output = C>,
    {
        let rt = self.single;
        self.group.bench_function(library, |b| {
            b.to_async(rt).iter_custom(|iters| {
                let made = make();
                async move {
                    let mut case = made.await;
                    let start = Instant::now();
                    for _ in 0..iters {
                        black_box(case.call().await);
                    }
                    start.elapsed()
                }
            });
        });
    }

    fn contended<B, F>(&mut self, library: &'static str, make: F)
    where
        B: Contended,
        F: Fn() -> B,
    {
        let rt = self.multi;
        self.group.bench_function(library, |b| {
            b.to_async(rt).iter_custom(|rounds| {
                let breaker = make();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..rounds {
                        let start = Instant::now();
                        black_box(contended_round(&breaker).await);
                        total += start.elapsed();
                    }
                    total.div_f64(CALLS_PER_ROUND as f64)
                }
            });
        });
    }
}

fn bench_peers(c: &mut Criterion) {
    let single = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("current-thread runtime");
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("multi-thread runtime");
    for operation in OPERATIONS {
        let mut group = c.benchmark_group(operation);
        for_each_case(
            operation,
            &mut Group {
                group: &mut group,
                single: &single,
                multi: &multi,
            },
        );
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = peers;
    config = config();
    targets = bench_peers
}
criterion_main!(peers);
