//! The library's modules depend on each other one way only: capture →
//! decode → connection table → per-side state machines and per-segment
//! checks → verdict → diagnosis → report model → renderers. Read from the `crate::`
//! paths in the code of each top-level module of src/ (comments and unit
//! tests left out).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its code names.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel.iter().next().unwrap().to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let named = deps.entry(module.clone()).or_default();
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    named.insert(name);
                }
            }
        }
    }
    deps
}

/// Whether `to` can be reached from `from`.
fn reaches(deps: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for d in deps.get(&m).into_iter().flatten() {
            if d == to {
                return true;
            }
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    false
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let deps = dependencies();
    assert!(deps.len() >= 10, "{deps:?}");
    for m in deps.keys() {
        assert!(!reaches(&deps, m, m), "{m} depends on itself: {deps:?}");
    }
}

#[test]
fn each_stage_is_below_the_next() {
    let deps = dependencies();
    let below = [
        ("decode", "connection"),
        ("state", "connection"),
        ("wireshark", "connection"),
        ("zeek", "connection"),
        ("checks", "connection"),
        ("connection", "conntable"),
        ("connection", "verdict"),
        ("verdict", "report"),
        ("verdict", "diagnosis"),
        ("diagnosis", "report"),
        ("report", "teach"),
        ("report", "render"),
        ("teach", "render"),
        ("render", "run"),
        ("pipeline", "run"),
    ];
    for (lower, upper) in below {
        assert!(
            deps.contains_key(lower) && deps.contains_key(upper),
            "no module {lower} or {upper}: {deps:?}"
        );
        assert!(
            !reaches(&deps, lower, upper),
            "{lower} depends on {upper}: {deps:?}"
        );
    }
    // The edges the layering is made of exist, so the names above are not stale.
    for (upper, lower) in [
        ("conntable", "connection"),
        ("connection", "state"),
        ("connection", "checks"),
        ("verdict", "checks"),
        ("report", "verdict"),
        ("diagnosis", "verdict"),
        ("report", "diagnosis"),
        ("render", "report"),
        ("run", "pipeline"),
    ] {
        assert!(
            reaches(&deps, upper, lower),
            "{upper} should use {lower}: {deps:?}"
        );
    }
}
