//! A connection whose report nobody wants is judged without describing its
//! findings (no frames, no message: `checks::Detail::Counts`). The summary
//! counted that way must be the one counted with every report built, on
//! every capture in testdata/.

use crate::common;
use common::all_captures;
use tcpstate::pipeline::{analyze_capture, Consumer, Options};
use tcpstate::report::ConnectionReport;

/// Wants no report at all.
struct Nobody;

impl Consumer for Nobody {
    fn wants(&mut self, _id: u64) -> bool {
        false
    }
    fn report(&mut self, _report: ConnectionReport) {
        panic!("a report nobody wanted was built");
    }
}

#[test]
fn the_summary_is_the_same_whether_reports_are_wanted_or_not() {
    let files = all_captures();
    assert!(files.len() >= 50, "{} captures", files.len());
    let (mut compared, mut findings) = (0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let name = path.display().to_string();
        let options = Options::default();
        let Ok((counted, _)) = analyze_capture(&name, 0, &bytes[..], 1, &options, Nobody) else {
            continue; // not a capture at all (some variants are broken on purpose)
        };
        let mut reports = 0;
        let (described, _) =
            analyze_capture(&name, 0, &bytes[..], 1, &options, |_| reports += 1).unwrap();
        assert_eq!(reports, described.summary.connections, "{name}");
        assert_eq!(
            serde_json::to_value(&counted.summary).unwrap(),
            serde_json::to_value(&described.summary).unwrap(),
            "{name}"
        );
        compared += 1;
        findings += described.summary.findings.by_code.values().sum::<u64>();
    }
    assert!(compared >= 50, "{compared} captures compared");
    assert!(findings >= 100, "only {findings} findings compared");
}
