//! Inputs that cannot be read (issue 15): each appears in the JSON
//! `captures[]`, where it stood among the inputs, with its file name and an
//! `error` object; the verdict line names it and says what was analyzed.

use crate::common;
use common::*;
use serde_json::Value;

fn run_json(files: &[&std::path::Path]) -> (Value, String) {
    let out = tcpstate()
        .args(["analyze", "--format", "json"])
        .args(files)
        .exits(2);
    let doc = serde_json::from_slice(&out.stdout).expect("a JSON document");
    (doc, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn unreadable_inputs_are_in_captures_with_their_error() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pcap");
    std::fs::write(&junk, b"GET / HTTP/1.1\r\n").unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let bz2 = testdata("compressed/seed_ftp.pcap.bz2");
    let missing = dir.path().join("missing.pcap");
    let good = testdata("captures/graceful_client_close.pcap");
    let (doc, stderr) = run_json(&[&junk, &good, &empty, &bz2, &missing]);
    let captures = doc["captures"].as_array().unwrap();
    let got: Vec<(String, Option<&str>)> = captures
        .iter()
        .map(|c| {
            (
                c["file"].as_str().unwrap().to_string(),
                c["error"]["kind"].as_str(),
            )
        })
        .collect();
    let name = |p: &std::path::Path| p.to_string_lossy().into_owned();
    assert_eq!(
        got,
        [
            (name(&junk), Some("not_a_capture")),
            (name(&good), None),
            (name(&empty), Some("empty")),
            (name(&bz2), Some("unsupported_compression")),
            (name(&missing), Some("not_found")),
        ]
    );
    // The readable one is as it always is; the others only name the file
    // and the error.
    assert_eq!(captures[1]["frames"], 11);
    assert!(captures[1].get("error").is_none());
    assert_eq!(captures[0].as_object().unwrap().len(), 2);
    assert!(captures[3]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("bzip2"));
    assert!(captures[0]["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("not a pcap or pcapng file"));
    let verdict = &doc["summary"]["verdict"];
    assert_eq!(verdict["result"], "error");
    let text = verdict["text"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "ERROR: 4 of 5 inputs could not be read ({}: not a pcap or pcapng file",
            name(&junk)
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("{}: the file is empty", name(&empty))),
        "{text}"
    );
    assert!(
        text.contains("; the other input was read: PASS: no finding at or above error"),
        "{text}"
    );
    assert_eq!(stderr.matches("tcpstate: error:").count(), 4, "{stderr}");
}

#[test]
fn nothing_read_is_never_a_pass() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("x.pcap");
    std::fs::write(&junk, b"not a capture at all").unwrap();
    let (doc, _) = run_json(&[&junk]);
    let text = doc["summary"]["verdict"]["text"].as_str().unwrap();
    assert_eq!(
        text,
        format!(
            "ERROR: 1 of 1 input could not be read ({}: not a pcap or pcapng file (it \
             starts with bytes 6e 6f 74 20)); nothing was analyzed",
            junk.display()
        )
    );
    assert!(!text.contains("PASS"));
    // The table says the same in its last line.
    let out = tcpstate().arg("analyze").arg(&junk).exits(2);
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().last(), Some(text));
}

#[test]
fn a_capture_without_one_readable_record_is_unreadable_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(testdata("captures/refused.pcap")).unwrap();
    // The first record header claims 3 GB of captured bytes.
    bytes[24 + 8..24 + 12].copy_from_slice(&0xc000_0000u32.to_le_bytes());
    bytes.truncate(24 + 16 + 10);
    let bad = dir.path().join("bad.pcap");
    std::fs::write(&bad, &bytes).unwrap();
    let (doc, _) = run_json(&[&bad]);
    let capture = &doc["captures"][0];
    assert_eq!(capture["error"]["kind"], "no_frame", "{capture}");
    assert!(capture["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("no frame can be read"));
}
