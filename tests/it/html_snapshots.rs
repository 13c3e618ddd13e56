//! The HTML report and the SVG ladder, end to end: the structure of the
//! page (its elements, ids, classes and words, not the pixels) under insta
//! snapshots so that changes are reviewed; the details limit; text from
//! outside escaped; the page asks for nothing.

use crate::common;
use common::*;

/// The page's outline: one element per line, indented by depth, as
/// `tag#id.class.class [data-…]` followed by its own text; the style sheet
/// and the script replaced by their sizes' absence (they are reviewed as
/// files), coordinates left out.
fn outline(html: &str) -> String {
    const VOID: &[&str] = &["meta", "br", "input", "link", "img", "hr"];
    let mut out = String::new();
    let mut depth = 0usize;
    let mut rest = html;
    let mut pending_text = String::new();
    while let Some(start) = rest.find('<') {
        pending_text.push_str(&rest[..start]);
        let after = &rest[start..];
        let end = after.find('>').expect("a tag ends");
        let tag = &after[1..end];
        rest = &after[end + 1..];
        let text = pending_text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() {
            out.push_str(&format!("{}\"{}\"\n", "  ".repeat(depth), text));
        }
        pending_text.clear();
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            depth = depth.saturating_sub(1);
            let _ = name;
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().unwrap_or("");
        let mut line = name.to_string();
        for (attr, value) in attributes(tag) {
            match attr.as_str() {
                "id" => line.push_str(&format!("#{value}")),
                "class" => {
                    for c in value.split_whitespace() {
                        line.push_str(&format!(".{c}"));
                    }
                }
                a if a.starts_with("data-") || a == "href" || a == "lang" => {
                    line.push_str(&format!(" [{a}={value}]"))
                }
                _ => {}
            }
        }
        out.push_str(&format!("{}{line}\n", "  ".repeat(depth)));
        if name == "style" || name == "script" {
            let close = format!("</{name}>");
            let end = rest.find(&close).expect("closed");
            rest = &rest[end + close.len()..];
            continue;
        }
        if !self_closing && !VOID.contains(&name) {
            depth += 1;
        }
    }
    out
}

/// The attributes of a tag's text (values in double quotes).
fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    let mut rest = tag.split_once(char::is_whitespace).map_or("", |p| p.1);
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let value_start = eq + 2;
        let Some(len) = rest[value_start..].find('"') else {
            break;
        };
        attrs.push((name, rest[value_start..value_start + len].to_string()));
        rest = &rest[value_start + len + 1..];
    }
    attrs
}

/// The report of `testdata/CAPTURE`, named by that relative path (as the
/// snapshots show it on any machine).
fn html(args: &[&str], capture: &str) -> String {
    let out = tcpstate()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["analyze", "--fail-on", "never", "--format", "html"])
        .args(args)
        .arg(format!("testdata/{capture}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn html_structure_of_the_seed_replica() {
    insta::assert_snapshot!(outline(&html(&["--lang", "en"], "crafted/seed_ftp.pcap")));
}

#[test]
fn html_structure_in_chinese() {
    insta::assert_snapshot!(outline(&html(
        &["--lang", "zh", "--relative"],
        "crafted/seed_ftp.pcap"
    )));
}

#[test]
fn html_structure_of_a_simultaneous_close() {
    insta::assert_snapshot!(outline(&html(
        &["--lang", "en"],
        "captures/simultaneous_close.pcap"
    )));
}

#[test]
fn svg_ladder_structure() {
    let svg = analyze_output(
        &["--format", "svg", "--conn", "2", "--lang", "en"],
        &[testdata("crafted/seed_ftp.pcap")],
    );
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
    insta::assert_snapshot!(outline(&svg));
}

#[test]
fn the_page_asks_for_nothing_and_says_so() {
    let page = html(&["--lang", "en"], "crafted/seed_ftp.pcap");
    assert!(
        page.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';")
    );
    // Inline code runs only when the policy names it by its hash.
    assert!(!page.contains("unsafe-inline"));
    assert!(page.contains("script-src 'sha256-"));
    for external in ["src=", "href=\"http", "url(", "@import", "<link", "<iframe"] {
        assert!(!page.contains(external), "the page holds {external}");
    }
    // The only links are to the page's own sections.
    for (i, _) in page.match_indices("href=\"") {
        assert_eq!(&page[i + 6..i + 8], "#c", "{}", &page[i..i + 30]);
    }
}

/// The ids of the connection table's rows (the lines of its blocks), in
/// order, and of those that link to their detail.
fn table_ids(page: &str) -> (Vec<u64>, Vec<u64>) {
    let table = page.split("<div id=\"conns\"").nth(1).unwrap();
    let table = table.split("</div>").next().unwrap();
    let (mut ids, mut linked) = (Vec::new(), Vec::new());
    for block in table.split("<pre class=\"rows\">").skip(1) {
        let block = block.split("</pre>").next().unwrap();
        for line in block.lines() {
            let line = line.trim_start();
            let id = match line.strip_prefix("<a href=\"#c") {
                Some(rest) => {
                    let id: u64 = rest.split('"').next().unwrap().parse().unwrap();
                    assert!(rest.contains(&format!("\">{id}</a> ")), "{line}");
                    linked.push(id);
                    id
                }
                None => line.split(' ').next().unwrap().parse().unwrap(),
            };
            ids.push(id);
        }
    }
    (ids, linked)
}

#[test]
fn details_only_for_the_first_n_connections_with_findings_first() {
    let page = html(&["--html-details", "1"], "crafted/seed_ftp.pcap");
    let report = analyze_one("crafted/seed_ftp.pcap");
    assert_eq!(page.matches("<section class=\"conn\"").count(), 1);
    let mut order: Vec<_> = report.connections.iter().collect();
    order.sort_by_key(|c| (c.findings.is_empty(), c.id));
    let order: Vec<u64> = order.iter().map(|c| c.id).collect();
    let first = order[0];
    assert_eq!(table_ids(&page), (order.clone(), vec![first]));
    assert!(page.contains(&format!("<section class=\"conn\" id=\"c{first}\"")));
    assert!(page.contains(
        "in detail: the first 1 connections of the table (--html-details); 1 more without details"
    ));
    let none = html(&["--html-details", "0"], "crafted/seed_ftp.pcap");
    assert_eq!(none.matches("<section class=\"conn\"").count(), 0);
    assert_eq!(table_ids(&none), (order, vec![]));
}

#[test]
fn a_hostile_file_name_is_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let name = dir
        .path()
        .join("<img src=x onerror=alert(1)>&\"x\u{202e}gnp.pcap");
    std::fs::copy(testdata("captures/refused.pcap"), &name).unwrap();
    let out = analyze_output(&["--format", "html"], &[&name]);
    let page = String::from_utf8(out).unwrap();
    assert!(!page.contains("<img"), "unescaped file name");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;&amp;&quot;x"));
    assert!(!page.contains('\u{202e}'));
    assert_eq!(
        page.matches("<script>").count(),
        1,
        "only the report's own script"
    );
}

#[test]
fn svg_needs_one_connection() {
    let out = tcpstate()
        .args(["analyze", "--format", "svg"])
        .arg(testdata("crafted/seed_ftp.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--conn"));
    let out = tcpstate()
        .args(["analyze", "--format", "svg", "--conn", "9"])
        .arg(testdata("crafted/seed_ftp.pcap"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connection 9"));
}

#[test]
fn html_of_every_capture_is_well_formed_enough() {
    // Every shipped capture renders; tags balance (the outline's depth
    // returns to zero) and nothing is left unescaped.
    for capture in all_captures() {
        let out = tcpstate()
            .args(["analyze", "--fail-on", "never", "--format", "html"])
            .arg(&capture)
            .output()
            .unwrap();
        let page = String::from_utf8(out.stdout).unwrap();
        if !out.status.success() {
            // An unreadable capture: no page, a message.
            assert!(page.is_empty() || page.contains("</html>"), "{capture:?}");
            continue;
        }
        assert!(page.trim_end().ends_with("</html>"), "{capture:?}");
        let mut depth: i64 = 0;
        let body = page.split("<body>").nth(1).unwrap();
        let body = body.split("<script>").next().unwrap();
        for (i, _) in body.match_indices('<') {
            let t = &body[i..];
            if t.starts_with("</") {
                depth -= 1;
            } else if !t.starts_with("<br") && !t.starts_with("<input") {
                let end = t.find('>').unwrap();
                if !t[..end].ends_with('/') {
                    depth += 1;
                }
            }
        }
        assert_eq!(depth, 0, "{capture:?}: unbalanced tags");
    }
}

#[test]
fn only_the_details_shown_are_kept_whatever_the_number_of_connections() {
    // 300 unanswered SYNs (each a connection with a finding) and one
    // complete connection: with --html-details 2 the run keeps the full
    // reports of at most 2 with findings and 2 without.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcap");
    let frames: Vec<Vec<u8>> = (0..300u32)
        .map(|i| syn_frame([10, 1, (i / 250) as u8, (i % 250) as u8], 40000, i))
        .collect();
    write_pcap(&path, &frames);
    let mut options = tcpstate::run::Options::new(vec![
        path.clone(),
        testdata("captures/graceful_client_close.pcap"),
    ]);
    options.format = tcpstate::render::Format::Html;
    options.html_details = 2;
    options.fail_on = None;
    let (mut out, mut messages) = (Vec::new(), Vec::new());
    let outcome = tcpstate::run::run(&options, &mut out, &mut messages).unwrap();
    let kept = outcome.report.connections.len();
    assert!(kept <= 2 * 2, "{kept} full reports kept");
    let page = String::from_utf8(out).unwrap();
    // Every connection has its row whatever --limit says (50 by default),
    // findings first (the SYNs, ids 1 to 300), then by id; the first two
    // link to their details, the others are in the table only.
    let (ids, linked) = table_ids(&page);
    assert_eq!(ids, (1..=301).collect::<Vec<u64>>());
    assert_eq!(linked, [1, 2]);
    assert_eq!(page.matches("<section class=\"conn\"").count(), 2);
    assert!(page.contains("<section class=\"conn\" id=\"c1\""));
    assert!(page.contains("<section class=\"conn\" id=\"c2\""));
    assert!(page.contains(
        "the first 2 connections of the table (--html-details); 299 more without details"
    ));
    // The findings of a row are coloured by their severity.
    assert_eq!(page.matches("<b class=\"warning\">HS010</b>").count(), 300);
    // With --html-details 0 nothing is kept in full; the rows are all there.
    options.html_details = 0;
    let mut out = Vec::new();
    let outcome = tcpstate::run::run(&options, &mut out, &mut messages).unwrap();
    assert_eq!(outcome.report.connections.len(), 0);
    let page = String::from_utf8(out).unwrap();
    assert_eq!(table_ids(&page), ((1..=301).collect(), vec![]));
}

#[test]
fn the_details_keep_their_packets_when_later_ones_do_not() {
    // 3,000 connections, 300 open at a time: past the first 1,024 (and
    // once the details are known) the connection table keeps no packets;
    // the connections shown in detail have theirs, and their ladders.
    let dir = tempfile::tempdir().unwrap();
    let capture = generate(dir.path(), 3000, 300, 5);
    let mut options = tcpstate::run::Options::new(vec![capture]);
    options.format = tcpstate::render::Format::Html;
    options.html_details = 4;
    options.fail_on = None;
    let (mut out, mut messages) = (Vec::new(), Vec::new());
    let outcome = tcpstate::run::run(&options, &mut out, &mut messages).unwrap();
    let kept = &outcome.report.connections;
    assert!(!kept.is_empty() && kept.len() <= 8, "{} kept", kept.len());
    for c in kept {
        let packets = c.packets.as_ref().expect("a detail's packets");
        assert_eq!(
            packets.len() as u64,
            c.client.packets + c.server.packets,
            "#{}",
            c.id
        );
    }
    let page = String::from_utf8(out).unwrap();
    let (ids, linked) = table_ids(&page);
    assert_eq!(ids.len(), 3000);
    assert_eq!(linked.len(), 4);
    assert_eq!(
        page.matches("class=\"ladder\" id=\"c").count(),
        4,
        "a ladder per detail"
    );
    assert!(!page.contains("no-packets"));
}
