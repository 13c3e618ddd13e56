//! Daily-use command line (issue 15): `-r` and `-o` as tcpdump and tshark
//! users type them, `--allow` with a comma list, shell completions and the
//! man page.

use crate::common;
use common::*;

fn json_files(out: &[u8]) -> Vec<String> {
    let report: Report = document(out).expect("tcpstate/1");
    report
        .captures
        .iter()
        .map(|c| {
            std::path::Path::new(&c.file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn dash_r_reads_a_file_like_a_file_argument() {
    let ftp = testdata("crafted/seed_ftp.pcap");
    let ftp = ftp.to_str().unwrap();
    let positional = analyze_output(&["--format", "json"], &[ftp]);
    let dash_r = analyze_output(&["--format", "json", "-r", ftp], &[] as &[&str]);
    let long = analyze_output(&["--format", "json", "--read", ftp], &[] as &[&str]);
    assert_eq!(positional, dash_r);
    assert_eq!(positional, long);
}

#[test]
fn dash_r_files_keep_their_place_among_file_arguments() {
    let a = testdata("captures/refused.pcap");
    let b = testdata("captures/rst_abort.pcap");
    let c = testdata("crafted/seed_ftp.pcap");
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let out = analyze_output(&["--format", "json", a, "-r", b, c], &[] as &[&str]);
    assert_eq!(
        json_files(&out),
        ["refused.pcap", "rst_abort.pcap", "seed_ftp.pcap"]
    );
    let out = analyze_output(&["--format", "json", "-r", c, b, "-r", a], &[] as &[&str]);
    assert_eq!(
        json_files(&out),
        ["seed_ftp.pcap", "rst_abort.pcap", "refused.pcap"]
    );
}

#[test]
fn no_input_at_all_is_a_usage_error() {
    let out = tcpstate().args(["analyze"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dash_o_writes_the_output_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let ftp = testdata("crafted/seed_ftp.pcap");
    let expected = analyze_output(&["--format", "jsonl"], &[&ftp]);
    for flag in ["-o", "--output"] {
        let path = dir.path().join(format!("out{flag}.jsonl"));
        let out = tcpstate()
            .args(["analyze", "--format", "jsonl", flag])
            .arg(&path)
            .arg(&ftp)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert!(out.stdout.is_empty(), "nothing on standard output");
        assert_eq!(std::fs::read(&path).unwrap(), expected);
    }
}

#[test]
fn dash_o_refuses_to_overwrite_an_input() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("cap.pcap");
    std::fs::copy(testdata("crafted/seed_ftp.pcap"), &copy).unwrap();
    let before = std::fs::read(&copy).unwrap();
    let out = tcpstate()
        .args(["analyze", "-o"])
        .arg(&copy)
        .arg("-r")
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is also an input"));
    assert_eq!(std::fs::read(&copy).unwrap(), before);
}

#[test]
fn dash_o_into_a_missing_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = tcpstate()
        .args(["analyze", "-o"])
        .arg(dir.path().join("no/such/dir/out.txt"))
        .arg(testdata("crafted/seed_ftp.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write"));
}

/// The codes found in a JSON report, over all connections.
fn codes(out: &[u8]) -> Vec<String> {
    let report: Report = document(out).unwrap();
    let mut codes: Vec<String> = report
        .connections
        .iter()
        .flat_map(|c| c.findings.iter().map(|f| f.code.clone()))
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn allow_takes_a_comma_list_or_repeats() {
    let cap = testdata("captures/many_retrans.pcap");
    let all = codes(&analyze_output(&["--format", "json"], &[&cap]));
    assert!(all.len() >= 2, "a capture with several checks: {all:?}");
    let (x, y) = (&all[0], &all[1]);
    let list = analyze_output(
        &["--format", "json", "--allow", &format!("{x},{y}")],
        &[&cap],
    );
    let repeated = analyze_output(&["--format", "json", "--allow", x, "--allow", y], &[&cap]);
    assert_eq!(list, repeated);
    let left = codes(&list);
    assert!(!left.contains(x) && !left.contains(y), "{left:?}");
    assert_eq!(left.len(), all.len() - 2);
    let bad = tcpstate()
        .args(["analyze", "--allow", "HS006,NOPE"])
        .arg(&cap)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NOPE"));
}

#[test]
fn completions_are_generated_for_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = tcpstate().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(script.contains("tcpstate"), "{shell}");
        // Options of the subcommands are completed.
        assert!(script.contains("fail-on"), "{shell}");
    }
    let out = tcpstate().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_with_the_subcommands() {
    let out = tcpstate().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.contains(".TH tcpstate"));
    assert!(page.contains("analyze"));
    assert!(page.contains("completions"));
}

#[test]
fn explain_and_rules_speak_chinese_with_lang_zh() {
    let out = tcpstate()
        .args(["explain", "HS009", "--lang", "zh"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("HS009（警告）：连接被拒绝"), "{text}");
    assert!(text.contains("RST"), "{text}");
    // English stays the default, and --lang en is the same.
    let en = tcpstate()
        .args(["explain", "HS009"])
        .output()
        .unwrap()
        .stdout;
    let en_flag = tcpstate()
        .args(["explain", "HS009", "--lang", "en"])
        .output()
        .unwrap()
        .stdout;
    assert_eq!(en, en_flag);
    assert!(String::from_utf8(en)
        .unwrap()
        .starts_with("HS009 (warning): "));

    let out = tcpstate().args(["rules", "--lang", "zh"]).output().unwrap();
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let en = String::from_utf8(tcpstate().arg("rules").output().unwrap().stdout).unwrap();
    // Every check is listed, each with a Chinese severity.
    let rows = |t: &str| t.lines().filter(|l| l.starts_with("│ ")).count();
    assert_eq!(rows(&table), rows(&en));
    assert!(table.contains("│ HS006 ┆ 警告 ┆ SYN 重传"), "{table}");
    assert!(!table.contains("warning"), "{table}");
}
