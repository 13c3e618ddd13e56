//! No input makes tcpstate panic or loop: seeded random mutations of every
//! real capture (bit flips, overwritten length fields, truncation) go
//! through the whole pipeline in-process.

use proptest::prelude::*;
use std::path::PathBuf;
use tcpstate::analyze::{analyze_capture, Options};

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(load_corpus)
}

fn load_corpus() -> Vec<Vec<u8>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files = Vec::new();
    for dir in ["captures", "variants"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(std::fs::read(e.unwrap().path()).unwrap());
        }
    }
    files.sort();
    files
}

fn run(bytes: &[u8]) {
    let opts = Options {
        packets: true,
        allow: Vec::new(),
        limits: Default::default(),
    };
    let mut n = 0u64;
    // Ok or Err are both fine; a panic fails the test.
    let _ = analyze_capture("mutant", 0, bytes, 1, &opts, |_| n += 1);
}

proptest! {
    // TCPSTATE_MUTATION_CASES runs a longer campaign than CI's 3000 cases.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("TCPSTATE_MUTATION_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_captures_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..12),
        cut in any::<prop::sample::Index>(),
        do_cut in any::<bool>(),
    ) {
        let files = corpus();
        let mut bytes = files[pick.index(files.len())].clone();
        for (at, value, kind) in edits {
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] ^= 1 << (value % 8),
                1 => bytes[i] = value,
                // Large values where length fields live.
                2 => bytes[i] = 0xff,
                _ => bytes[i] = 0,
            }
        }
        if do_cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        run(&bytes);
    }
}

#[test]
fn every_prefix_of_a_capture_is_handled() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/variants/gcc_multi.pcapng"
    ))
    .unwrap();
    for len in 0..=bytes.len() {
        run(&bytes[..len]);
    }
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/captures/half_close_data.pcap"
    ))
    .unwrap();
    for len in 0..=bytes.len() {
        run(&bytes[..len]);
    }
}
