//! The direct JSON Lines writer (src/render/jsonl.rs) writes exactly what
//! serde_json makes of the same reports: every connection of every capture
//! in testdata/, under a file name that needs escaping too.

use crate::common;
use common::all_captures;
use tcpstate::pipeline::{analyze_capture, Options};
use tcpstate::report::ConnectionReport;

#[test]
fn the_direct_writer_matches_serde_json() {
    let files = all_captures();
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
