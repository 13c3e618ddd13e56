//! The direct JSON Lines writer (src/render/jsonl.rs) writes exactly what
//! serde_json makes of the same reports: every connection of every capture
//! in testdata/, under a file name that needs escaping too.

use std::path::{Path, PathBuf};
use tcpstate::analyze::{analyze_capture, Options};
use tcpstate::report::ConnectionReport;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            captures(&path, out);
        } else if path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            out.push(path);
        }
    }
}

#[test]
fn the_direct_writer_matches_serde_json() {
    let mut files = Vec::new();
    captures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 50, "{} captures", files.len());
    let mut compared = 0;
    for path in &files {
        for name in [
            path.display().to_string(),
            "odd \"name\"\t\\ é\u{1}".to_string(),
        ] {
            let mut reports: Vec<ConnectionReport> = Vec::new();
            let bytes = std::fs::read(path).unwrap();
            let Ok(_) = analyze_capture(&name, 0, &bytes[..], 1, &Options::default(), |c| {
                reports.push(c)
            }) else {
                continue; // not a capture at all (some variants are broken on purpose)
            };
            for c in &reports {
                let mut direct = Vec::new();
                tcpstate::render::jsonl::write(c, &mut direct);
                let mut serde = serde_json::to_vec(c).unwrap();
                serde.push(b'\n');
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&serde),
                    "{} connection {}",
                    path.display(),
                    c.id
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "{compared} connections compared");
}
