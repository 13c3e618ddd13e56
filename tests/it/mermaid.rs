//! The Mermaid diagrams rendered by Mermaid itself: `mmdc` (mermaid-cli)
//! with Debian's Chromium turns every diagram tcpstate writes for the
//! teaching captures into an SVG, and a deliberately malformed diagram makes
//! it fail, so a pass means Mermaid accepted the syntax.
//!
//! `.ci/mermaid-setup` installs both and prints mmdc's path; `.ci/run`
//! exports it as `TCPSTATE_MMDC`. The build script turns that variable into
//! `cfg(tcpstate_mmdc)`: without it the rendering test is ignored, so a plain
//! `cargo test` counts it as ignored instead of passing it unrun. Under CI
//! (`CI` set) the renderer is required: `the_renderer_is_there_when_required`
//! fails if it is missing or the rendering test was left out.

use crate::common;
use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

const CHROMIUM: &str = "/usr/bin/chromium";

/// How to run the rendering test (the words of its `ignore` reason).
const HOW: &str = "needs mmdc: TCPSTATE_MMDC=\"$(bash .ci/mermaid-setup)\" cargo test";

/// `CI` set, as CI services set it (`CI=true`), and not to "false" or "0".
fn under_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// mmdc: `TCPSTATE_MMDC` now or when the tests were built, then `.ci/node/`,
/// then PATH.
fn find_mmdc() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TCPSTATE_MMDC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = option_env!("TCPSTATE_MMDC").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/node/node_modules/.bin/mmdc");
    if local.is_file() {
        return Some(local);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("mmdc"))
            .find(|p| p.is_file())
    })
}

/// mmdc, if it and Chromium are installed; otherwise what is missing.
fn tools() -> Result<PathBuf, String> {
    let mmdc = find_mmdc().ok_or("mmdc is not installed (run bash .ci/mermaid-setup)")?;
    if !mmdc.is_file() {
        return Err(format!(
            "{} does not exist (run bash .ci/mermaid-setup)",
            mmdc.display()
        ));
    }
    if !Path::new(CHROMIUM).exists() {
        return Err(format!(
            "{CHROMIUM} is not installed (run bash .ci/mermaid-setup)"
        ));
    }
    Ok(mmdc)
}

#[test]
fn the_renderer_is_there_when_required() {
    let built_to_render = cfg!(tcpstate_mmdc);
    if !built_to_render && !under_ci() {
        return;
    }
    if let Err(why) = tools() {
        panic!("the Mermaid diagrams must be rendered here, but {why}");
    }
    if !built_to_render {
        panic!(
            "CI must render the Mermaid diagrams, but the rendering test is ignored: \
             TCPSTATE_MMDC was not set when the tests were built ({HOW})"
        );
    }
}

/// Renders `source` (a `.mmd` or `.md` file's text) to SVG; the exit status
/// and mmdc's error output.
fn render(mmdc: &Path, dir: &Path, name: &str, ext: &str, source: &str) -> (bool, String, PathBuf) {
    let config = dir.join("puppeteer.json");
    if !config.exists() {
        std::fs::write(
            &config,
            format!(
                r#"{{"executablePath": "{CHROMIUM}", "args": ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]}}"#
            ),
        )
        .unwrap();
    }
    let input = dir.join(format!("{name}.{ext}"));
    let output = dir.join(format!("{name}.{}", if ext == "md" { "md" } else { "svg" }));
    std::fs::write(&input, source).unwrap();
    let out = Command::new(mmdc)
        .arg("-p")
        .arg(&config)
        .arg("-i")
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--quiet")
        .output()
        .expect("mmdc runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), err, output)
}

fn mermaid(args: &[&str], file: &str) -> String {
    let out = tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--format", "mermaid"])
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[cfg_attr(
    not(tcpstate_mmdc),
    ignore = "needs mmdc: TCPSTATE_MMDC=\"$(bash .ci/mermaid-setup)\" cargo test"
)]
fn mermaid_renders_every_diagram_and_rejects_a_broken_one() {
    let mmdc = tools().unwrap_or_else(|why| panic!("cannot render the diagrams: {why}"));
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(String, String)> = Vec::new();
    for capture in [
        "captures/graceful_client_close.pcap",
        "captures/three_segment_close.pcap",
        "captures/half_close_data.pcap",
        "captures/simultaneous_open.pcap",
        "captures/simultaneous_close.pcap",
        "captures/refused.pcap",
        "captures/rst_abort.pcap",
        "captures/mid_connection.pcap",
        "captures/ipv6.pcap",
        "captures/lost_synack.pcap",
    ] {
        let path = format!("testdata/{capture}");
        let name = Path::new(capture).file_stem().unwrap().to_str().unwrap();
        cases.push((name.into(), mermaid(&["--lang", "en"], &path)));
    }
    let seed = "testdata/crafted/seed_ftp.pcap";
    cases.push((
        "seed_1".into(),
        mermaid(&["--conn", "1", "--lang", "en"], seed),
    ));
    cases.push((
        "seed_2_zh".into(),
        mermaid(&["--conn", "2", "--lang", "zh", "--relative"], seed),
    ));

    // Three at a time: each mmdc starts a Chromium of its own, which mostly
    // waits. The first render writes the shared Puppeteer configuration.
    let check = |(name, source): &(String, String)| {
        assert!(source.starts_with("sequenceDiagram\n"), "{name}: {source}");
        let (ok, err, svg) = render(&mmdc, dir.path(), name, "mmd", source);
        assert!(ok, "mmdc rejected {name}:\n{err}\n{source}");
        let svg = std::fs::read_to_string(svg).unwrap();
        let client = source
            .lines()
            .find_map(|l| l.trim().strip_prefix("participant C as "))
            .unwrap();
        assert!(
            svg.contains("<svg") && svg.contains(client),
            "{name}: the diagram does not show {client:?}"
        );
    };
    check(&cases[0]);
    let next = AtomicUsize::new(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                        check(case);
                    }
                })
            })
            .collect();
        for worker in workers {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });

    // Several connections: Markdown with a block per connection; mmdc
    // renders each block and rewrites the file with image links.
    let markdown = mermaid(&["--lang", "en"], seed);
    let (ok, err, out) = render(&mmdc, dir.path(), "seed_all", "md", &markdown);
    assert!(ok, "mmdc rejected the Markdown:\n{err}\n{markdown}");
    let rewritten = std::fs::read_to_string(out).unwrap();
    assert_eq!(rewritten.matches("![diagram](").count(), 2, "{rewritten}");

    // A malformed diagram must make mmdc fail, or the checks above prove nothing.
    let broken = "sequenceDiagram\n    participant C as client\n    C->>: no target\n    Note wrong side of C: x\n";
    let (ok, _, _) = render(&mmdc, dir.path(), "broken", "mmd", broken);
    assert!(!ok, "mmdc accepted a malformed diagram");
}
