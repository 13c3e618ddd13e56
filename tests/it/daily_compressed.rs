//! Compressed captures (issue 15): gzip (several members too), zstd and xz
//! are recognized by their first bytes, from files and from standard input,
//! and read as the capture itself; other compressions are refused by name.

use crate::common;
use common::*;
use std::path::PathBuf;

fn compressed(name: &str) -> PathBuf {
    testdata(&format!("compressed/{name}"))
}

/// The JSON of one input (a path, or `-` with `stdin`), without the file name.
fn report_of(path: &str, stdin: Option<Vec<u8>>) -> (Option<i32>, Report, String) {
    let mut cmd = tcpstate();
    cmd.args(["analyze", "--fail-on", "never", "--format", "json", path]);
    let out = match stdin {
        Some(bytes) => cmd.output_with_stdin(&bytes),
        None => cmd.output().unwrap(),
    };
    let mut report: Report = document(&out.stdout).expect("tcpstate/1");
    for c in &mut report.captures {
        c.file = String::new();
    }
    for c in &mut report.connections {
        c.file = String::new();
    }
    (
        out.status.code(),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn gzip_zstd_and_xz_read_as_the_capture_from_files_and_stdin() {
    let plain = testdata("crafted/seed_ftp.pcap");
    let (_, expected, _) = report_of(plain.to_str().unwrap(), None);
    assert!(!expected.connections.is_empty());
    for name in [
        "seed_ftp.pcap.gz",
        "seed_ftp.pcap.zst",
        "seed_ftp.pcap.xz",
        "seed_ftp.multi.pcap.gz",
        "seed_ftp.multi.pcap.zst",
        "seed_ftp.multi.pcap.xz",
    ] {
        let path = compressed(name);
        let (code, report, stderr) = report_of(path.to_str().unwrap(), None);
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert_eq!(report, expected, "{name} from the file");
        let (code, report, stderr) = report_of("-", Some(std::fs::read(&path).unwrap()));
        assert_eq!(code, Some(0), "{name}: {stderr}");
        assert_eq!(report, expected, "{name} from standard input");
    }
}

#[test]
fn the_name_does_not_matter_only_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let disguised = dir.path().join("capture.pcap");
    std::fs::copy(compressed("seed_ftp.pcap.zst"), &disguised).unwrap();
    let (code, report, _) = report_of(disguised.to_str().unwrap(), None);
    assert_eq!(code, Some(0));
    let plain = testdata("crafted/seed_ftp.pcap");
    let named_gz = dir.path().join("plain.pcap.gz");
    std::fs::copy(&plain, &named_gz).unwrap();
    let (code, not_gzip, _) = report_of(named_gz.to_str().unwrap(), None);
    assert_eq!(
        code,
        Some(0),
        "an uncompressed file named .gz is read as it is"
    );
    assert_eq!(report, not_gzip);
}

#[test]
fn unsupported_compressions_are_named() {
    for (name, format) in [("seed_ftp.pcap.bz2", "bzip2"), ("seed_ftp.pcap.lz4", "lz4")] {
        for stdin in [false, true] {
            let path = compressed(name);
            let mut cmd = tcpstate();
            cmd.arg("analyze");
            let out = if stdin {
                cmd.arg("-")
                    .output_with_stdin(&std::fs::read(&path).unwrap())
            } else {
                cmd.arg(&path).output().unwrap()
            };
            assert_eq!(out.status.code(), Some(2), "{name}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains(&format!("compressed with {format}")),
                "{name}: {stderr}"
            );
        }
    }
}

#[test]
fn a_truncated_compressed_capture_keeps_what_was_read() {
    let whole = std::fs::read(compressed("seed_ftp.pcap.gz")).unwrap();
    for cut in [whole.len() / 2, whole.len() - 9] {
        let out = tcpstate()
            .args(["analyze", "--fail-on", "never", "--format", "json", "-"])
            .output_with_stdin(&whole[..cut]);
        // Never a panic: a clean error, or what was read before the cut.
        let code = out.status.code();
        assert!(matches!(code, Some(0) | Some(2)), "cut at {cut}: {code:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "cut at {cut}"
        );
    }
}
