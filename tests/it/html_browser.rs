//! The HTML report and the SVG ladder in a real browser: Debian's Chromium,
//! driven headless by `tests/browser/check_report.mjs` (puppeteer-core),
//! loads reports of the shipped teaching captures and SVG figures. The
//! script fails on a console error, an exception, any network request or a
//! blank page; this test then checks what it found against the JSON report:
//! every connection in the table, the filter narrowing it, each detail's
//! ladder with one arrow per segment (or a summary of those collapsed) and
//! one state label per state change, the step-through moving. Screenshots
//! go to `target/browser/`.
//!
//! `.ci/run` installs Chromium and puppeteer-core (`.ci/mermaid-setup`,
//! into `.ci/node/`). Without them the test says it was skipped; under CI
//! (`CI` set) it fails.

use crate::common;
use common::*;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// puppeteer-core's directory, or None after saying why the test is
/// skipped (a failure under CI, which must run it).
fn tools() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let puppeteer = std::env::var_os("TCPSTATE_PUPPETEER")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".ci/node/node_modules/puppeteer-core"));
    let node = Command::new("node").arg("--version").output().is_ok();
    let found = node && Path::new(CHROMIUM).exists() && puppeteer.join("package.json").is_file();
    if !found {
        let why =
            "chromium, node or puppeteer-core missing (run .ci/run, or bash .ci/mermaid-setup)";
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the browser test, but: {why}");
        }
        eprintln!("skipped: {why}");
        return None;
    }
    Some(puppeteer)
}

#[derive(Debug, Deserialize)]
struct Found {
    reports: Vec<PageFound>,
    svgs: Vec<SvgFound>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct PageFound {
    file: String,
    rows: usize,
    ids: Vec<u64>,
    linked: usize,
    linked_ids: Vec<u64>,
    linked_after_sort: usize,
    total: usize,
    shown: String,
    not_detailed: String,
    visible: usize,
    verdict: String,
    details: Vec<DetailFound>,
    text: usize,
    filter: FilterFound,
    sorted: Vec<u64>,
    stepper: Option<StepperFound>,
    moves: Vec<Move>,
    screenshot: usize,
    nojs: NoJs,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct DetailFound {
    id: u64,
    packets: usize,
    arrows: usize,
    collapsed: usize,
    states: Vec<String>,
    initial: usize,
    steps: usize,
    graphs: usize,
    diagnosis: Option<DiagnosisFound>,
    width: f64,
    height: f64,
}

/// A detail's diagnosis line as the browser shows it.
#[derive(Debug, Deserialize)]
struct DiagnosisFound {
    cause: String,
    text: String,
    height: f64,
    colour: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct FilterFound {
    none: usize,
    needle: String,
    narrowed: usize,
    expected: usize,
    shown: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct StepperFound {
    steps: usize,
    at: usize,
    client: String,
    server: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Move {
    at: usize,
    client: String,
    server: String,
    cur: Vec<usize>,
    narration: usize,
    shown_client: String,
}

#[derive(Debug, Deserialize)]
struct NoJs {
    rows: usize,
    steps: usize,
    ladders: usize,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct SvgFound {
    file: String,
    root: String,
    parse_error: usize,
    arrows: usize,
    states: usize,
    width: f64,
    height: f64,
    screenshot: usize,
}

/// The captures the browser loads, with the options of their report.
const REPORTS: &[(&str, &str, &[&str])] = &[
    ("seed_ftp", "crafted/seed_ftp.pcap", &["--lang", "en"]),
    (
        "seed_ftp_zh",
        "crafted/seed_ftp.pcap",
        &["--lang", "zh", "--relative"],
    ),
    (
        "simultaneous_open",
        "captures/simultaneous_open.pcap",
        &["--lang", "en"],
    ),
    (
        "simultaneous_close",
        "captures/simultaneous_close.pcap",
        &["--lang", "en"],
    ),
    ("refused", "captures/refused.pcap", &["--lang", "en"]),
    (
        "diagrst_firewall_zh",
        "diagnosis/refused_firewall.pcap",
        &["--lang", "zh"],
    ),
    (
        "diagrst_injected",
        "diagnosis/injected_rst.pcap",
        &["--lang", "en"],
    ),
    (
        "syn_unanswered",
        "captures/syn_unanswered.pcap",
        &["--lang", "en"],
    ),
    (
        "many_retrans",
        "captures/many_retrans.pcap",
        &["--lang", "en"],
    ),
    (
        "retransmission",
        "captures/retransmission.pcap",
        &["--lang", "en"],
    ),
];

/// The standalone figures: capture, connection, options.
const SVGS: &[(&str, &str, &str, &[&str])] = &[
    (
        "seed_ftp_2",
        "crafted/seed_ftp.pcap",
        "2",
        &["--lang", "en"],
    ),
    (
        "seed_ftp_1_zh",
        "crafted/seed_ftp.pcap",
        "1",
        &["--lang", "zh", "--relative"],
    ),
    (
        "simultaneous_close",
        "captures/simultaneous_close.pcap",
        "1",
        &["--lang", "en"],
    ),
];

/// Details asked for in the report of many connections.
const FEW_DETAILS: usize = 7;

#[test]
fn reports_and_figures_work_in_chromium() {
    let Some(puppeteer) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut reports = Vec::new();
    let mut expected = Vec::new();
    let mut details = Vec::new();
    for (name, capture, args) in REPORTS {
        let html = analyze_output(
            &[&["--format", "html"], *args].concat(),
            &[testdata(capture)],
        );
        let path = dir.path().join(format!("{name}.html"));
        std::fs::write(&path, html).unwrap();
        reports.push(path);
        expected.push(analyze_one(capture));
        details.push(50);
    }
    // Many connections (some refused, unanswered or reset, so with
    // findings), few details: every connection in the table, the details of
    // the first FEW_DETAILS only, the others marked as in the table only.
    let many = generate(dir.path(), 400, 40, 3);
    let details_arg = FEW_DETAILS.to_string();
    let html = analyze_output(
        &[
            "--format",
            "html",
            "--lang",
            "en",
            "--html-details",
            &details_arg,
        ],
        &[&many],
    );
    let path = dir.path().join("many.html");
    std::fs::write(&path, html).unwrap();
    reports.push(path);
    let with_packets = analyze_output(&["--format", "json", "--packets"], &[&many]);
    expected.push(serde_json::from_slice(&with_packets).unwrap());
    details.push(FEW_DETAILS);
    let mut svgs = Vec::new();
    for (name, capture, conn, args) in SVGS {
        let svg = analyze_output(
            &[&["--format", "svg", "--conn", conn], *args].concat(),
            &[testdata(capture)],
        );
        let path = dir.path().join(format!("{name}.svg"));
        std::fs::write(&path, svg).unwrap();
        svgs.push(path);
    }
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "chromium": CHROMIUM,
            "puppeteer": puppeteer,
            "screenshots": screenshots,
            "reports": reports,
            "svgs": svgs,
        })
        .to_string(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_report.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&config)
        .output()
        .expect("node runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the browser check failed:\n{stderr}");
    let found: Found = serde_json::from_slice(&out.stdout).expect("the script's findings parse");

    assert_eq!(found.reports.len(), REPORTS.len() + 1);
    for ((page, report), &n_details) in found.reports.iter().zip(&expected).zip(&details) {
        let name = &page.file;
        let mut ids: Vec<u64> = report.connections.iter().map(|c| c.id).collect();
        // Every connection is in the table, those with findings first, then
        // by id.
        let mut order: Vec<_> = report.connections.iter().collect();
        order.sort_by_key(|c| (c.findings.is_empty(), c.id));
        let order: Vec<u64> = order.iter().map(|c| c.id).collect();
        assert_eq!(page.ids, order, "{name}: the table's connections");
        assert_eq!(page.total, ids.len(), "{name}");
        assert_eq!(page.shown, format!("{0} / {0}", ids.len()), "{name}");
        ids.sort_unstable();
        let first_clean = report
            .connections
            .iter()
            .filter(|c| c.findings.is_empty())
            .count();
        let findings_first = page.ids.iter().take(ids.len() - first_clean).all(|id| {
            report
                .connections
                .iter()
                .any(|c| c.id == *id && !c.findings.is_empty())
        });
        assert!(findings_first, "{name}: findings first: {:?}", page.ids);
        assert_eq!(page.visible, ids.len(), "{name}: every row shows");
        // The first N rows link to their details; the others do not, and a
        // note says how many are in the table only.
        let n = n_details.min(ids.len());
        assert_eq!(page.linked_ids, order[..n], "{name}: rows linked");
        assert_eq!(page.linked, n, "{name}");
        assert_eq!(page.linked_after_sort, n, "{name}: links kept by sorting");
        if n < ids.len() {
            let note = format!(
                "the first {n} connections of the table (--html-details); {} more without details",
                ids.len() - n
            );
            assert!(
                page.not_detailed.contains(&note),
                "{name}: {}",
                page.not_detailed
            );
        } else {
            assert!(page.not_detailed.is_empty(), "{name}");
        }
        assert!(
            page.verdict.contains(&report.summary.verdict.result),
            "{name}"
        );
        // The filter box narrows the table.
        assert_eq!(
            page.filter.none, 0,
            "{name}: a word no row holds hides every row"
        );
        assert!(page.filter.narrowed >= 1, "{name}: {:?}", page.filter);
        assert_eq!(
            page.filter.narrowed, page.filter.expected,
            "{name}: {:?}",
            page.filter
        );
        assert_eq!(
            page.filter.shown,
            format!("{} / {}", page.filter.expected, ids.len()),
            "{name}"
        );
        // Sorting by id, descending.
        let mut descending = ids.clone();
        descending.reverse();
        assert_eq!(page.sorted, descending, "{name}: sorted by id, descending");
        // Each detail: its ladder draws every segment, collapsed or not, and
        // every state change.
        assert_eq!(
            page.details.len(),
            n,
            "{name}: a detail per connection shown in detail"
        );
        let detailed: Vec<u64> = page.details.iter().map(|d| d.id).collect();
        assert_eq!(
            detailed,
            order[..n],
            "{name}: the details, in the table's order"
        );
        for d in &page.details {
            let c = report.connections.iter().find(|c| c.id == d.id).unwrap();
            let packets = c.packets.as_ref().unwrap();
            assert_eq!(d.packets, packets.len(), "{name} #{}", d.id);
            assert_eq!(
                d.arrows + d.collapsed,
                packets.len(),
                "{name} #{}: arrows and collapsed segments",
                d.id
            );
            let states: Vec<String> = packets
                .iter()
                .flat_map(|p| p.transitions.iter().map(|t| t.to.clone()))
                .collect();
            let mut drawn = d.states.clone();
            let mut want = states.clone();
            drawn.sort();
            want.sort();
            assert_eq!(drawn, want, "{name} #{}: a state label per change", d.id);
            assert_eq!(d.initial, 2, "{name} #{}", d.id);
            assert_eq!(d.steps, d.arrows, "{name} #{}: a step per arrow", d.id);
            let has_data = packets.iter().any(|p| p.len > 0);
            assert_eq!(
                d.graphs > 0,
                has_data,
                "{name} #{}: time–sequence graph",
                d.id
            );
            assert!(
                d.width > 300.0 && d.height > 100.0,
                "{name} #{}: {d:?}",
                d.id
            );
            // The diagnosis line: shown, in the report's language, for the
            // diagnosed connections only.
            match (&c.diagnosis, &d.diagnosis) {
                (None, None) => {}
                (Some(want), Some(shown)) => {
                    assert_eq!(shown.cause, want.cause, "{name} #{}", d.id);
                    let label = if name.contains("_zh.") {
                        "诊断："
                    } else {
                        "diagnosis: "
                    };
                    assert!(shown.text.starts_with(label), "{name} #{}: {shown:?}", d.id);
                    if !name.contains("_zh.") {
                        assert!(shown.text.ends_with(&want.text), "{name}: {shown:?}");
                    }
                    assert!(shown.height > 5.0, "{name} #{}: visible? {shown:?}", d.id);
                    assert_ne!(shown.colour, "rgb(0, 0, 0)", "{name}: coloured");
                }
                (want, shown) => panic!("{name} #{}: {want:?} vs {shown:?}", d.id),
            }
        }
        // The step-through moves: a click, →, ←, and stops at the first.
        let stepper = page.stepper.as_ref().expect("a step-through");
        let at: Vec<usize> = page.moves.iter().map(|m| m.at).collect();
        if stepper.steps >= 3 {
            assert_eq!(at, [0, 1, 2, 1, 0], "{name}");
        } else {
            assert_eq!(at[0], 0, "{name}");
        }
        for m in &page.moves {
            assert_eq!(m.cur, [m.at], "{name}: the arrow under the cursor");
            assert!(
                !m.shown_client.is_empty(),
                "{name}: the client's state shows"
            );
        }
        let first = &report
            .connections
            .iter()
            .find(|c| c.id == page.ids[0])
            .unwrap();
        let packets = first.packets.as_ref().unwrap();
        assert_eq!(page.moves[0].client, packets[0].client_state, "{name}");
        assert_eq!(page.moves[0].server, packets[0].server_state, "{name}");
        assert!(
            page.screenshot > 20_000 && page.text > 500,
            "{name}: blank?"
        );
        // Without JavaScript the page still reads.
        assert_eq!(page.nojs.rows, ids.len(), "{name}: rows without JavaScript");
        assert_eq!(page.nojs.steps, n, "{name}: steps without JavaScript");
        assert!(page.nojs.ladders >= n, "{name}: ladders without JavaScript");
    }
    // The simultaneous close: the client's one ACK moves it through
    // CLOSING and TIME-WAIT, and the ladder shows both.
    let close = &found.reports[3];
    let states = &close.details[0].states;
    assert!(
        states.iter().any(|s| s == "CLOSING")
            && states.iter().filter(|s| *s == "TIME-WAIT").count() == 2,
        "{states:?}"
    );

    for svg in &found.svgs {
        assert_eq!(svg.root, "svg", "{}", svg.file);
        assert_eq!(svg.parse_error, 0, "{}: not well-formed", svg.file);
        assert!(svg.arrows > 0 && svg.states > 0, "{svg:?}");
        assert!(svg.width > 300.0 && svg.height > 200.0, "{svg:?}");
    }
}
