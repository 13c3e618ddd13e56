//! The project stands alone: what `tcpstate explain` and the docs point a
//! reader to is in the repository, and the textbook notation the catalog
//! uses (x, y, u, w) is explained there.

use crate::common;
use common::*;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn explain(code: &str) -> String {
    let out = tcpstate().args(["explain", code]).output().unwrap();
    assert!(out.status.success(), "explain {code}");
    String::from_utf8(out.stdout).unwrap()
}

fn codes() -> Vec<String> {
    let out = tcpstate()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rules
        .iter()
        .map(|r| r["code"].as_str().unwrap().to_string())
        .collect()
}

/// The `docs/….md` paths a text names.
fn doc_paths(text: &str) -> Vec<String> {
    let words = text.split(|c: char| c.is_whitespace() || "():;,[]`".contains(c));
    words
        .filter(|w| w.starts_with("docs/"))
        .map(|w| w.trim_end_matches('.').to_string())
        .collect()
}

#[test]
fn explanations_name_only_files_of_the_project() {
    let mut named = 0;
    for code in codes() {
        let text = explain(&code);
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(!flat.to_lowercase().contains("seed"), "{code}: {flat}");
        for path in doc_paths(&flat) {
            assert!(root().join(&path).is_file(), "{code} names {path}");
            named += 1;
        }
    }
    assert!(named > 0, "no explanation points at the notation");
}

#[test]
fn the_handshake_and_release_checks_point_at_the_notation() {
    for code in ["HS001", "HS002", "HS003", "RL001"] {
        let flat = explain(code)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains("docs/notation.md"), "{code}: {flat}");
    }
    let notation = std::fs::read_to_string(root().join("docs/notation.md")).unwrap();
    for term in [
        "**x**", "**y**", "**u**", "**w**", "RFC 9293", "x + 1", "y + 1", "u + 1",
    ] {
        assert!(notation.contains(term), "docs/notation.md lacks {term}");
    }
}

#[test]
fn docs_point_at_nothing_outside_the_repository() {
    let mut docs = vec![root().join("README.md"), root().join("testdata/README.md")];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let path = entry.unwrap().path();
        // docs/img/ holds the README's screenshots.
        if path.is_file() {
            docs.push(path);
        }
    }
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        for outside in ["../shared", "REFERENCE.md", "seeds/"] {
            assert!(!text.contains(outside), "{} names {outside}", doc.display());
        }
        // Relative Markdown links resolve to files of the repository.
        for link in text.split("](").skip(1) {
            let target = link.split([')', '#']).next().unwrap_or("");
            if target.is_empty() || target.contains("://") {
                continue;
            }
            let base = doc.parent().unwrap();
            assert!(
                base.join(target).exists(),
                "{} links {target}",
                doc.display()
            );
        }
    }
}
