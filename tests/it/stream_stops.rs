//! A capture of which not one record can be read after a valid file header
//! is an unreadable input (exit status 2), not an empty capture; one whose
//! first record is only cut short is a short capture (a warning).

use crate::common;
use common::*;

#[test]
fn garbage_after_a_valid_header_is_an_unreadable_input() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(testdata("captures/graceful_client_close.pcap")).unwrap();
    let garbage = dir.path().join("garbage.pcap");
    let mut bytes = good[..24].to_vec();
    bytes.extend_from_slice(&[0xff; 200]);
    std::fs::write(&garbage, &bytes).unwrap();
    let out = tcpstate()
        .args(["analyze", "--format", "json"])
        .arg(&garbage)
        .arg(testdata("captures/refused.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let messages = String::from_utf8_lossy(&out.stderr);
    assert!(
        messages.contains("garbage.pcap: no frame can be read: the first record, at byte offset 24, is malformed: a record claims 4294967295 bytes"),
        "{messages}"
    );
    // The other input is analyzed; the unreadable one is only named, with
    // its error (issue 15).
    let report: serde_json::Value = document(&out.stdout).unwrap();
    let captures = report["captures"].as_array().unwrap();
    assert_eq!(captures.len(), 2);
    assert_eq!(captures[0]["error"]["kind"], "no_frame");
    assert!(captures[1]["file"]
        .as_str()
        .unwrap()
        .ends_with("refused.pcap"));
    assert_eq!(captures[1]["frames"], 2);

    // Cut short inside its first record: a warning, as for any short file.
    let cut = dir.path().join("cut.pcap");
    std::fs::write(&cut, &good[..24 + 10]).unwrap();
    let out = tcpstate().arg("analyze").arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the file ends inside a record"));
}
