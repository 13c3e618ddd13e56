//! The mutation harness: seeded, structure-aware corruptions of every
//! capture in testdata/ go through the whole pipeline, asserting no panic,
//! a time bound per input and a memory bound. Stable Rust, no fuzzer needed.
//!
//! CI runs 6,000 cases. A long run:
//!   TCPSTATE_MUTATION_CASES=1000000 cargo test --release --test it hostile:: -- --nocapture
//!
//! The heap counters are process-wide, and the other tests of this crate
//! run beside these in the same process, so the test that bounds memory
//! runs its cases alone in a process of its own (`common::alone`).

use crate::common;
use common::pcapmut::{mutate, Kind, Layout};
use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tcpstate::pipeline::{analyze_capture, Options};

/// Counts live heap bytes and their peak, to bound each case's memory.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        // SAFETY: forwarded to the system allocator unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        // SAFETY: forwarded to the system allocator unchanged.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A case may take this long at most (debug build, loaded machine).
const TIME_BOUND: Duration = Duration::from_secs(2);
/// And allocate this much at once at most, above what was live before it.
const MEMORY_BOUND: usize = 64 << 20;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files = Vec::new();
    for dir in ["captures", "variants", "crafted", "tunnels", "icmp"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            files.push((
                format!("{dir}/{}", p.file_name().unwrap().to_string_lossy()),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    files.sort();
    files
}

/// Runs one input through the pipeline; returns (elapsed, peak extra bytes).
fn run(bytes: &[u8]) -> (Duration, usize) {
    let opts = Options {
        packets: true,
        packets_for: None,
        packets_until: None,
        // Every fourth input with runs of ordinary segments collapsed
        // while reading, as for the teaching views.
        collapse_packets: bytes.len() % 4 == 1,
        // Every fourth other with the records spilling, as for the JSON
        // formats.
        stream_packets: bytes.len() % 4 == 3,
        allow: Vec::new(),
        limits: Default::default(),
        // Both ways of running the stages, by turns.
        pipeline: bytes.len() % 2 == 0,
        segments: None,
        live: false,
        // Every third input also through the shard's drop (`--shard 1/2`).
        shard: (bytes.len() % 3 == 0).then(|| tcpstate::shard::Shard::new(1, 2).unwrap()),
        verify_checksums: false,
        // Boxes made by the reading thread in every other pipeline.
        boxes_ahead: bytes.len() % 4 == 0,
    };
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let start = Instant::now();
    let mut connections = 0u64;
    // Ok or Err are both fine; a panic fails the test.
    let _ = analyze_capture("mutant", 0, bytes, 1, &opts, |_| connections += 1);
    (
        start.elapsed(),
        PEAK.load(Ordering::Relaxed).saturating_sub(base),
    )
}

#[test]
fn mutated_captures_never_panic_hang_or_blow_up() {
    if !common::alone("hostile::mutated_captures_never_panic_hang_or_blow_up") {
        return;
    }
    let cases: u64 = std::env::var("TCPSTATE_MUTATION_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6000);
    let seed: u64 = std::env::var("TCPSTATE_MUTATION_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    let files = corpus();
    let layouts: Vec<Option<Layout>> = files.iter().map(|(_, b)| Layout::parse(b)).collect();
    assert!(
        layouts.iter().filter(|l| l.is_some()).count() >= 50,
        "most captures have a layout"
    );
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut applied = [0u64; Kind::ALL.len()];
    let (mut slowest, mut biggest) = (Duration::ZERO, 0usize);
    let started = Instant::now();
    let mut done = 0u64;
    while done < cases {
        let f = rng.usize(..files.len());
        let (name, original) = &files[f];
        if layouts[f].is_none() {
            continue;
        }
        let mut bytes = original.clone();
        // One to three corruptions, of named kinds.
        let mut kinds = Vec::new();
        for _ in 0..rng.usize(1..=3) {
            let k = rng.usize(..Kind::ALL.len());
            // Later corruptions need the damaged file's own layout.
            let Some(current) = Layout::parse(&bytes) else {
                break;
            };
            if mutate(&mut bytes, &current, Kind::ALL[k], &mut rng) {
                applied[k] += 1;
                kinds.push(Kind::ALL[k]);
            }
        }
        let case_seed = rng.u64(..);
        let (took, peak) = std::panic::catch_unwind(|| run(&bytes)).unwrap_or_else(|_| {
            panic!(
                "panic on {name} with {kinds:?} (case {done}, seed {seed}, case seed {case_seed})"
            )
        });
        assert!(
            took < TIME_BOUND,
            "{name} with {kinds:?} took {took:?} (case {done}, seed {seed})"
        );
        assert!(
            peak < MEMORY_BOUND,
            "{name} with {kinds:?} allocated {peak} bytes (case {done}, seed {seed})"
        );
        slowest = slowest.max(took);
        biggest = biggest.max(peak);
        done += 1;
    }
    for (k, n) in Kind::ALL.iter().zip(applied) {
        assert!(n > 0 || cases < 1000, "{k:?} was never applied");
    }
    eprintln!(
        "{done} cases in {:.1?}, 0 panics; slowest {slowest:?}, largest heap {} KiB; per kind: {:?}",
        started.elapsed(),
        biggest >> 10,
        Kind::ALL.iter().zip(applied).collect::<Vec<_>>()
    );
}

#[test]
fn every_prefix_of_a_capture_is_handled() {
    for rel in ["variants/gcc_multi.pcapng", "captures/half_close_data.pcap"] {
        let bytes = std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(rel),
        )
        .unwrap();
        for len in 0..=bytes.len() {
            let (took, _) = run(&bytes[..len]);
            assert!(took < TIME_BOUND);
        }
    }
}

#[test]
fn the_binary_exits_0_1_or_2_on_mutated_inputs_and_every_capture() {
    let dir = tempfile::tempdir().unwrap();
    let files = corpus();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut paths = Vec::new();
    for (i, (name, original)) in files.iter().enumerate() {
        paths.push(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("testdata")
                .join(name),
        );
        let Some(layout) = Layout::parse(original) else {
            continue;
        };
        for j in 0..3 {
            let mut bytes = original.clone();
            let kind = Kind::ALL[rng.usize(..Kind::ALL.len())];
            mutate(&mut bytes, &layout, kind, &mut rng);
            let p = dir.path().join(format!("m{i}_{j}.pcap"));
            std::fs::write(&p, bytes).unwrap();
            paths.push(p);
        }
    }
    for p in paths {
        for format in ["table", "json"] {
            let out = common::tcpstate()
                .args(["analyze", "--format", format])
                .arg(&p)
                .output()
                .unwrap();
            let code = out.status.code();
            assert!(
                matches!(code, Some(0..=2)),
                "{} ({format}): exit {code:?}\n{}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
