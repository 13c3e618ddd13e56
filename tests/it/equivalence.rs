//! The bounded, streaming and parallel paths give the same results as the
//! straightforward one, on a generated capture of many interleaved
//! connections (examples/gen-capture.rs).

use crate::common;
use common::*;

/// Asserts two lists of connections are equal, naming the first difference.
#[track_caller]
fn assert_same(got: &[serde_json::Value], want: &[serde_json::Value], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of connections");
    for (g, w) in got.iter().zip(want) {
        if g != w {
            let fields: Vec<&String> = w
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| g.get(*k) != w.get(*k))
                .collect();
            let diffs: Vec<String> = fields
                .iter()
                .map(|k| format!("{k}: {} vs {}", g[k.as_str()], w[k.as_str()]))
                .collect();
            panic!(
                "{what}: connection {} differs: {}",
                w["id"],
                diffs.join("; ")
            );
        }
    }
}

fn connections_of_document(bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut doc: serde_json::Value = document(bytes).unwrap();
    match doc["connections"].take() {
        serde_json::Value::Array(connections) => connections,
        other => panic!("connections: {other}"),
    }
}

fn connections_of_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    let mut v: Vec<serde_json::Value> = String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| record(l).unwrap())
        .collect();
    v.sort_by_key(|c| c["id"].as_u64());
    v
}

#[test]
fn streaming_bounded_and_parallel_paths_agree() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate(dir.path(), 3000, 300, 1);
    let b = generate(dir.path(), 2000, 150, 2);

    // The straightforward path: one document, no practical limit, one thread.
    let reference = connections_of_document(&analyze_output(
        &[
            "--format",
            "json",
            "--max-connections",
            "100000000",
            "--jobs",
            "1",
        ],
        &[&a],
    ));
    assert_eq!(reference.len(), 3000);
    // Reporting on a second thread beside the reading changes nothing.
    assert_same(
        &connections_of_document(&analyze_output(&["--format", "json", "--jobs", "2"], &[&a])),
        &reference,
        "JSON document, two threads",
    );
    // Streaming, bounded: JSON Lines with the default limits, on one
    // thread and on two.
    for jobs in ["1", "2"] {
        assert_same(
            &connections_of_lines(&analyze_output(
                &["--format", "jsonl", "--jobs", jobs],
                &[&a],
            )),
            &reference,
            &format!("JSON Lines, {jobs} thread(s)"),
        );
    }
    // A table far smaller than the capture: finished connections are handed
    // over early as closed, and open ones that never finish (unanswered SYNs)
    // are evicted and say so; every result is otherwise the same.
    let mut small = connections_of_lines(&analyze_output(
        &["--format", "jsonl", "--max-connections", "400"],
        &[&a],
    ));
    let mut evicted = 0;
    for (s, r) in small.iter_mut().zip(&reference) {
        if s["ended_by"] == "max_connections" {
            assert_eq!(
                r["ended_by"], "capture_end",
                "only connections still open at the end are evicted"
            );
            s["ended_by"] = r["ended_by"].clone();
            evicted += 1;
        }
    }
    assert!(evicted > 0, "the small table did evict");
    assert_same(&small, &reference, "JSON Lines with a small table");

    // Two files in parallel equal the two files one after the other.
    let one_by_one: Vec<serde_json::Value> = [&a, &b]
        .iter()
        .flat_map(|f| {
            connections_of_document(&analyze_output(
                &["--format", "json", "--max-connections", "100000000"],
                &[f],
            ))
        })
        .collect();
    let together = connections_of_document(&analyze_output(
        &["--format", "json", "--jobs", "2"],
        &[&a, &b],
    ));
    assert_eq!(together.len(), one_by_one.len());
    for (i, (t, o)) in together.iter().zip(&one_by_one).enumerate() {
        let mut o = o.clone();
        o["id"] = serde_json::json!(i as u64 + 1);
        assert_eq!(t, &o, "connection {}", i + 1);
    }
    let lines = connections_of_lines(&analyze_output(&["--format", "jsonl"], &[&a, &b]));
    assert_same(&lines, &together, "JSON Lines of two files");
}
