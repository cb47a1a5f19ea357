//! Heap allocations per call for every (operation, library) row of the `peers` bench.
//!
//! A counting global allocator wraps the system allocator. Each case is built,
//! warmed up, then called [`CALLS`] times; allocations are counted around that
//! loop only. The contended row counts [`ROUNDS`] rounds of 8 tasks × 1000 calls
//! and subtracts the same harness run without a breaker (task spawns, the
//! handle vector). Prints a table and writes `target/bench-allocs.json`.
#![allow(unsafe_code)] // a `GlobalAlloc` cannot be written without it

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::runtime::Runtime;

use common::{
    CALLS_PER_ROUND, CONTENDED, Case, Contended, NoBreaker, OPERATIONS, Visitor, contended_round,
    for_each_case,
};

/// Counts every allocation (`alloc`, `alloc_zeroed`, `realloc`) and forwards to [`System`].
struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as above; `ptr` came from this allocator, hence from `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Calls counted per single-threaded row.
const CALLS: u64 = 10_000;
/// Calls made before counting.
const WARM_UP: u64 = 1_000;
/// Contended rounds counted (each [`CALLS_PER_ROUND`] calls).
const ROUNDS: u64 = 5;

fn allocations() -> u64 {
    ALLOCATIONS.load(Ordering::SeqCst)
}

struct Row {
    operation: &'static str,
    library: &'static str,
    allocs_per_call: f64,
}

struct Count<'a> {
    operation: &'static str,
    single: &'a Runtime,
    multi: &'a Runtime,
    rows: &'a mut Vec<Row>,
}

impl Visitor for Count<'_> {
    fn case<C, F, Fut>(&mut self, library: &'static str, make: F)
    where
        C: Case,
        F: Fn() -> Fut,
        Fut: Future<Output = C>,
    {
        let operation = self.operation;
        let allocs_per_call = self.single.block_on(async {
            let mut case = make().await;
            for _ in 0..WARM_UP {
                assert!(
                    case.call().await,
                    "{operation}/{library}: unexpected outcome"
                );
            }
            let before = allocations();
            let mut ok = true;
            for _ in 0..CALLS {
                ok &= case.call().await;
            }
            let after = allocations();
            assert!(ok, "{operation}/{library}: unexpected outcome");
            (after - before) as f64 / CALLS as f64
        });
        self.rows.push(Row {
            operation,
            library,
            allocs_per_call,
        });
    }

    fn contended<B, F>(&mut self, library: &'static str, make: F)
    where
        B: Contended,
        F: Fn() -> B,
    {
        let breaker = make();
        let per_call = self.multi.block_on(async {
            assert!(
                contended_round(&breaker).await,
                "{CONTENDED}/{library}: a call failed"
            );
            assert!(contended_round(&NoBreaker).await);
            let before = allocations();
            for _ in 0..ROUNDS {
                contended_round(&NoBreaker).await;
            }
            let harness = allocations() - before;
            let before = allocations();
            let mut ok = true;
            for _ in 0..ROUNDS {
                ok &= contended_round(&breaker).await;
            }
            let measured = allocations() - before;
            assert!(ok, "{CONTENDED}/{library}: a call failed");
            measured.saturating_sub(harness) as f64 / (ROUNDS * CALLS_PER_ROUND) as f64
        });
        self.rows.push(Row {
            operation: CONTENDED,
            library,
            allocs_per_call: per_call,
        });
    }
}

/// `target/` of the workspace: the bench binary lives in `target/<profile>/deps/`.
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("path of the bench binary");
    exe.ancestors()
        .nth(3)
        .map(PathBuf::from)
        .expect("bench binary inside target/<profile>/deps")
}

fn to_json(rows: &[Row]) -> String {
    let items: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "  {{\"operation\": \"{}\", \"library\": \"{}\", \"allocs_per_call\": {}}}",
                r.operation, r.library, r.allocs_per_call
            )
        })
        .collect();
    format!("[\n{}\n]\n", items.join(",\n"))
}

fn main() {
    // `cargo bench` passes `--bench` (and maybe a filter); this binary runs everything.
    let before = allocations();
    std::hint::black_box(Box::new(1u64));
    assert_eq!(
        allocations() - before,
        1,
        "the counting allocator is not in use"
    );
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
    // The counter is process-wide: let the workers finish starting up (and
    // allocating) before anything is counted.
    multi.block_on(async {
        for _ in 0..4 {
            tokio::spawn(async {}).await.expect("warm-up task");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    });
    let mut rows = Vec::new();
    for operation in OPERATIONS {
        for_each_case(
            operation,
            &mut Count {
                operation,
                single: &single,
                multi: &multi,
                rows: &mut rows,
            },
        );
    }

    println!("| operation | library | allocs/call |");
    println!("| --- | --- | ---: |");
    for r in &rows {
        println!(
            "| {} | {} | {:.3} |",
            r.operation, r.library, r.allocs_per_call
        );
    }
    let path = target_dir().join("bench-allocs.json");
    std::fs::write(&path, to_json(&rows)).expect("write bench-allocs.json");
    println!("wrote {}", path.display());

    // `--check` (CI): medic's success paths must not allocate at all.
    if std::env::args().any(|a| a == "--check") {
        let offenders: Vec<String> = rows
            .iter()
            .filter(|r| r.library == "medic" && r.allocs_per_call > 0.0)
            .map(|r| format!("{} allocates {:.3}/call", r.operation, r.allocs_per_call))
            .collect();
        if !offenders.is_empty() {
            eprintln!("allocation check failed: {}", offenders.join("; "));
            std::process::exit(1);
        }
        println!("allocation check: medic allocates nothing per call on every row");
    }
}
