//! The teaching views: golden snapshots of the timeline (English and
//! Chinese, with and without narration), the ladder (UTF-8 and ASCII) and the
//! Mermaid diagrams for the captures a TCP course needs; the seed replica's
//! numbers; a 10,000-segment connection; colours, locale defaults, hostile
//! file names and option errors.

use crate::common;
use common::*;
use std::path::Path;
use unicode_width::UnicodeWidthStr;

/// The captures every view is snapshotted for.
const CAPTURES: &[&str] = &[
    "crafted/seed_ftp.pcap",
    "captures/graceful_client_close.pcap",
    "captures/three_segment_close.pcap",
    "captures/half_close_data.pcap",
    "captures/simultaneous_open.pcap",
    "captures/simultaneous_close.pcap",
    "captures/refused.pcap",
    "captures/rst_abort.pcap",
    "captures/mid_connection.pcap",
];

/// Runs `tcpstate analyze ARGS…` from the repository root (stable file
/// names) in a UTF-8 locale, and returns standard output.
fn run(args: &[&str]) -> String {
    let out = tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("LC_ALL", "C.UTF-8")
        .env_remove("NO_COLOR")
        // The ladder wraps within COLUMNS when it is set.
        .env_remove("COLUMNS")
        .arg("analyze")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "tcpstate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn name(capture: &str) -> &str {
    Path::new(capture).file_stem().unwrap().to_str().unwrap()
}

/// One snapshot per capture, named `VIEW-CAPTURE`.
fn snapshots(view: &str, args: &[&str]) {
    for capture in CAPTURES {
        let path = format!("testdata/{capture}");
        let mut all: Vec<&str> = args.to_vec();
        all.push(&path);
        insta::assert_snapshot!(format!("{view}-{}", name(capture)), run(&all));
    }
}

#[test]
fn timeline_en() {
    snapshots(
        "timeline_en",
        &["--timeline", "--lang", "en", "--color", "never"],
    );
}

#[test]
fn timeline_zh() {
    snapshots(
        "timeline_zh",
        &["--timeline", "--lang", "zh", "--color", "never"],
    );
}

#[test]
fn timeline_en_explain() {
    snapshots(
        "timeline_en_explain",
        &[
            "--timeline",
            "--explain",
            "--lang",
            "en",
            "--color",
            "never",
        ],
    );
}

#[test]
fn timeline_zh_explain() {
    snapshots(
        "timeline_zh_explain",
        &[
            "--timeline",
            "--explain",
            "--lang",
            "zh",
            "--color",
            "never",
        ],
    );
}

#[test]
fn ladder_utf8_en() {
    snapshots(
        "ladder_utf8_en",
        &["--format", "ladder", "--lang", "en", "--color", "never"],
    );
}

#[test]
fn ladder_utf8_zh() {
    snapshots(
        "ladder_utf8_zh",
        &["--format", "ladder", "--lang", "zh", "--color", "never"],
    );
}

#[test]
fn ladder_ascii_en() {
    snapshots(
        "ladder_ascii_en",
        &[
            "--format", "ladder", "--ascii", "--lang", "en", "--color", "never",
        ],
    );
}

#[test]
fn mermaid_en() {
    snapshots("mermaid_en", &["--format", "mermaid", "--lang", "en"]);
}

#[test]
fn relative_numbers_on_request() {
    insta::assert_snapshot!(run(&[
        "--timeline",
        "--relative",
        "--conn",
        "2",
        "--lang",
        "en",
        "--color",
        "never",
        "testdata/crafted/seed_ftp.pcap"
    ]));
}

/// The line of the timeline for a frame ("line 17 …"), whitespace collapsed.
fn line_of(timeline: &str, label: &str) -> String {
    let l = timeline
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{label} ")))
        .unwrap_or_else(|| panic!("no {label:?} in\n{timeline}"));
    l.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_seed_replica_shows_the_walkthroughs_numbers_and_steps() {
    let en = run(&[
        "--timeline",
        "--lang",
        "en",
        "--color",
        "never",
        "testdata/crafted/seed_ftp.pcap",
    ]);
    let expect = [
        ("line 1", "handshake 1 of 3 0.000000 client 76.88.16.104:1038 → 76.88.16.16:21 SYN seq=1791872318 len=0"),
        ("line 2", "handshake 2 of 3 0.001000 server 76.88.16.16:21 → 76.88.16.104:1038 SYN+ACK seq=3880988084 ack=1791872319 (= client ISN 1791872318 + 1) len=0"),
        ("line 3", "handshake 3 of 3 0.002000 client 76.88.16.104:1038 → 76.88.16.16:21 ACK seq=1791872319 ack=3880988085 (= server ISN 3880988084 + 1) len=0"),
        ("line 17", "release 1 of 4 0.013000 server 76.88.16.16:21 → 76.88.16.104:1028 FIN+ACK seq=1803774978 ack=846902939 len=0"),
        ("line 18", "release 2 of 4 0.014000 client 76.88.16.104:1028 → 76.88.16.16:21 ACK seq=846902939 ack=1803774979 (= server FIN seq 1803774978 + 1) len=0"),
        ("line 19", "release 3 of 4 0.015000 client 76.88.16.104:1028 → 76.88.16.16:21 FIN+ACK seq=846902939 ack=1803774979 (= server FIN seq 1803774978 + 1) len=0"),
        ("line 20", "release 4 of 4 0.016000 server 76.88.16.16:21 → 76.88.16.104:1028 ACK seq=1803774979 ack=846902940 (= client FIN seq 846902939 + 1) len=0"),
    ];
    for (label, rest) in expect {
        assert_eq!(line_of(&en, label), format!("{label} {rest}"));
    }
    assert!(
        en.contains("four-way release — the server closes first"),
        "{en}"
    );

    let zh = run(&[
        "--timeline",
        "--lang",
        "zh",
        "--color",
        "never",
        "testdata/crafted/seed_ftp.pcap",
    ]);
    for (label, step) in [
        ("第1行", "第一次握手"),
        ("第2行", "第二次握手"),
        ("第3行", "第三次握手"),
        ("第17行", "第一次挥手"),
        ("第18行", "第二次挥手"),
        ("第19行", "第三次挥手"),
        ("第20行", "第四次挥手"),
    ] {
        assert!(
            line_of(&zh, label).starts_with(&format!("{label} {step} ")),
            "{zh}"
        );
    }
    assert!(zh.contains("四次挥手：服务器先关闭"), "{zh}");
    assert!(line_of(&zh, "第2行").contains("ack=1791872319 (= 客户端 ISN 1791872318 + 1)"));
}

/// Display columns of every lifeline on a ladder row.
fn lifelines(row: &str, glyph: char) -> Vec<usize> {
    let mut cols = Vec::new();
    let mut col = 0;
    for c in row.chars() {
        if c == glyph {
            cols.push(col);
        }
        col += UnicodeWidthStr::width(c.encode_utf8(&mut [0; 4]) as &str);
    }
    cols
}

#[test]
fn ladder_lifelines_stay_aligned_with_chinese_labels() {
    for capture in CAPTURES {
        for (ascii, glyph) in [(false, '│'), (true, '|')] {
            let path = format!("testdata/{capture}");
            let mut args = vec!["--format", "ladder", "--lang", "zh", "--color", "never"];
            if ascii {
                args.push("--ascii");
            }
            args.push(&path);
            let out = run(&args);
            let mut columns = None;
            let mut ladders = 0;
            for row in out.lines() {
                // Each connection's ladder has its own width.
                if row.starts_with("连接 ") {
                    columns = None;
                    ladders += 1;
                }
                if !row.contains(glyph) {
                    continue;
                }
                let cols = lifelines(row, glyph);
                assert_eq!(cols.len(), 2, "{capture}: {row}");
                match &columns {
                    None => columns = Some(cols),
                    Some(first) => {
                        assert_eq!(&cols, first, "{capture}: misaligned row\n{row}\n{out}")
                    }
                }
            }
            assert!(
                columns.is_some() && ladders > 0,
                "{capture}: no ladder\n{out}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// A 10,000-segment connection, written by the test.

/// A pcap of one connection: handshake, `n` data segments from the client
/// alternating with the server's ACKs, client-first release.
fn long_connection(n_data: u32) -> Vec<u8> {
    use etherparse::PacketBuilder;
    let (c_ip, s_ip, c_port, s_port) = ([10, 2, 0, 1], [10, 2, 0, 2], 41000u16, 80u16);
    let mut frames: Vec<Vec<u8>> = Vec::new();
    let mut push =
        |from_client: bool, syn: bool, fin: bool, ack: Option<u32>, seq: u32, payload: &[u8]| {
            let (src, dst, sp, dp) = if from_client {
                (c_ip, s_ip, c_port, s_port)
            } else {
                (s_ip, c_ip, s_port, c_port)
            };
            let mut b = PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535);
            if syn {
                b = b.syn();
            }
            if fin {
                b = b.fin();
            }
            if let Some(a) = ack {
                b = b.ack(a);
            }
            let mut frame = Vec::new();
            b.write(&mut frame, payload).unwrap();
            frames.push(frame);
        };
    let (mut c, mut s) = (1_000u32, 2_000_000u32);
    push(true, true, false, None, c, b"");
    c += 1;
    push(false, true, false, Some(c), s, b"");
    s += 1;
    push(true, false, false, Some(s), c, b"");
    let data = [b'x'; 100];
    for _ in 0..n_data {
        push(true, false, false, Some(s), c, &data);
        c += 100;
        push(false, false, false, Some(c), s, b"");
    }
    push(true, false, true, Some(s), c, b"");
    c += 1;
    push(false, false, false, Some(c), s, b"");
    push(false, false, true, Some(c), s, b"");
    s += 1;
    push(true, false, false, Some(s), c, b"");

    // pcap, raw IPv4 link type (228), 1 ms apart.
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    for v in [0u32, 0, 65535, 228] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, f) in frames.iter().enumerate() {
        let i = i as u32;
        for v in [
            1_700_000_000 + i / 1000,
            (i % 1000) * 1000,
            f.len() as u32,
            f.len() as u32,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(f);
    }
    out
}

#[test]
fn a_ten_thousand_segment_connection_fits_on_one_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.pcap");
    // 5,000 data segments and 5,000 ACKs, plus the handshake and the release.
    std::fs::write(&path, long_connection(5_000)).unwrap();
    let path = path.to_str().unwrap();
    let short = run(&["--timeline", "--lang", "en", "--color", "never", path]);
    let lines = short.lines().count();
    assert!(lines <= 40, "{lines} lines:\n{short}");
    assert!(
        short.contains("… 10000 segments not shown (lines 4–10003"),
        "{short}"
    );
    assert!(
        short.contains("client → server 5000 segments, 500000 bytes"),
        "{short}"
    );
    assert!(short.contains("release 4 of 4"), "{short}");

    let full = run(&[
        "--timeline",
        "--full",
        "--lang",
        "en",
        "--color",
        "never",
        path,
    ]);
    let segments = full
        .lines()
        .filter(|l| l.trim_start().starts_with("line "))
        .count();
    assert_eq!(segments, 10_007, "every segment with --full");
    assert!(!full.contains("not shown"));

    let ladder = run(&[
        "--format", "ladder", "--lang", "zh", "--color", "never", path,
    ]);
    assert!(ladder.lines().count() <= 40, "{ladder}");
}

// ---------------------------------------------------------------------------
// Colour, locale, hostile input, options.

const SEED: &str = "testdata/crafted/seed_ftp.pcap";

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let always = run(&["--timeline", "--color", "always", "--lang", "en", SEED]);
    assert!(always.contains("\x1b[1;32mSYN\x1b[0m"), "SYN in green");
    assert!(always.contains("\x1b[36mSYN-SENT\x1b[0m"), "states in cyan");
    let ladder = run(&[
        "--format", "ladder", "--color", "always", "--lang", "en", SEED,
    ]);
    assert!(ladder.contains("\x1b[1;33mFIN+ACK\x1b[0m"), "FIN in yellow");
    // auto: standard output is a pipe here.
    for args in [
        &["--timeline", "--lang", "en", SEED][..],
        &["--format", "ladder", "--color", "auto", SEED][..],
        &["--timeline", "--color", "never", SEED][..],
    ] {
        assert!(!run(args).contains('\x1b'), "{args:?}");
    }
}

#[test]
fn language_and_charset_default_from_the_locale() {
    let with = |vars: &[(&str, &str)], args: &[&str]| {
        let mut cmd = tcpstate();
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        for v in ["LC_ALL", "LC_MESSAGES", "LC_CTYPE", "LANG"] {
            cmd.env_remove(v);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = cmd.arg("analyze").args(args).arg(SEED).output().unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let timeline = ["--timeline", "--color", "never"];
    assert!(with(&[("LANG", "zh_CN.UTF-8")], &timeline).contains("第一次握手"));
    assert!(with(
        &[("LC_ALL", "en_US.UTF-8"), ("LANG", "zh_CN.UTF-8")],
        &timeline
    )
    .contains("handshake 1 of 3"));
    assert!(with(&[], &timeline).contains("handshake 1 of 3"));
    let ladder = ["--format", "ladder", "--color", "never"];
    assert!(with(&[("LANG", "en_US.UTF-8")], &ladder).contains('│'));
    assert!(with(&[], &ladder).contains('│'), "no locale: UTF-8 assumed");
    let ascii = with(&[("LANG", "C")], &ladder);
    assert!(ascii.is_ascii(), "{ascii}");
    assert!(ascii.contains("| -- SYN seq=1791872318 ---"), "{ascii}");
}

#[test]
fn file_names_cannot_inject_escape_sequences() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil\x1b]0;pwned\x07\x1b[2J.pcap");
    std::fs::copy(testdata("captures/refused.pcap"), &evil).unwrap();
    for args in [
        &["--timeline", "--color", "never"][..],
        &["--format", "ladder", "--color", "never"][..],
        &["--format", "mermaid"][..],
    ] {
        let out = tcpstate()
            .arg("analyze")
            .args(args)
            .arg(&evil)
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\x1b') && !text.contains('\x07'),
            "{args:?}: {text:?}"
        );
        assert!(text.contains("refused") || text.contains("RST"), "{text}");
    }
}

#[test]
fn options_that_do_not_go_together_are_usage_errors() {
    let fails = |args: &[&str], message: &str| {
        let out = tcpstate()
            .arg("analyze")
            .args(args)
            .arg(testdata(SEED.trim_start_matches("testdata/")))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(message), "{args:?}: {err}");
    };
    fails(
        &["--timeline", "--format", "json"],
        "--timeline prints the timeline instead of the table",
    );
    fails(
        &["--explain", "--format", "ladder"],
        "--explain prints the timeline",
    );
    fails(
        &["--conn", "3"],
        "no connection 3: the input has 2 connections",
    );
    fails(
        &["--timeline", "--conn", "7"],
        "no connection 7: the input has 2 connections",
    );
}

#[test]
fn explain_implies_the_timeline_and_conn_selects_one() {
    let out = run(&[
        "--explain",
        "--conn",
        "2",
        "--lang",
        "en",
        "--color",
        "never",
        SEED,
    ]);
    assert!(out.contains("connection 2:"), "{out}");
    assert!(!out.contains("connection 1:"), "{out}");
    assert!(out.contains("Why a third segment"), "{out}");
    assert!(out.contains("enters TIME-WAIT and waits 2·MSL"), "{out}");
}

#[test]
fn mermaid_is_one_bare_diagram_or_markdown_blocks() {
    let one = run(&["--format", "mermaid", "--conn", "1", SEED]);
    assert!(one.starts_with("sequenceDiagram\n"), "{one}");
    let both = run(&["--format", "mermaid", SEED]);
    assert_eq!(
        both.matches("```mermaid\nsequenceDiagram\n").count(),
        2,
        "{both}"
    );
    assert!(both.starts_with("## connection 1\n"), "{both}");
}
