//! `--shard K/N` (issue 17): the N shards of the same captures are disjoint
//! and their union is the whole run — the same connections with the same
//! verdicts, only the ids differ (K + 1 + N·i) — on a generated capture of
//! thousands of connections and on the tunnelled captures; the segments of
//! other shards are counted (`other_shard`); the shard combines with
//! `--filter`; bad values exit 2; the README's recipes work.

use crate::common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The JSON Lines records of `tcpstate analyze --format jsonl ARGS… FILES…`.
fn jsonl(args: &[&str], files: &[PathBuf]) -> Vec<Value> {
    let out = tcpstate()
        .args(["analyze", "--format", "jsonl", "--fail-on", "never"])
        .args(args)
        .args(files)
        .exits(0);
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn id(record: &Value) -> u64 {
    record["id"].as_u64().expect("an integer id")
}

/// A record without its id: everything that must be the same whichever
/// shard it comes from.
fn without_id(record: &Value) -> String {
    let mut r = record.clone();
    r.as_object_mut().unwrap().remove("id");
    r.to_string()
}

/// The connection's identity: file, both endpoints, start.
fn identity(record: &Value) -> String {
    format!(
        "{} {}:{} {}:{} {}",
        record["file"],
        record["client"]["addr"],
        record["client"]["port"],
        record["server"]["addr"],
        record["server"]["port"],
        record["start_time"]
    )
}

/// Each record without its id, and how often.
fn multiset<'a>(records: impl IntoIterator<Item = &'a Value>) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(without_id(r)).or_default() += 1;
    }
    m
}

/// Runs every shard of `n` over `files` with `args` and checks them against
/// `whole` (the unsharded run): each shard's ids are K+1+N·i (some left
/// out by a filter on verdicts) in the order
/// the whole run saw the connections, no connection is in two shards, and
/// the union is the whole run. Returns the shards' records.
fn check_shards(files: &[PathBuf], args: &[&str], n: u32, whole: &[Value]) -> Vec<Vec<Value>> {
    let whole_id: BTreeMap<String, u64> = whole.iter().map(|r| (without_id(r), id(r))).collect();
    assert_eq!(
        whole_id.len(),
        whole.len(),
        "records of the whole run are distinct"
    );
    let mut seen_ids = BTreeSet::new();
    let mut seen = BTreeSet::new();
    let mut shards = Vec::new();
    for k in 0..n {
        let shard = format!("{k}/{n}");
        let records = jsonl(&[args, &["--shard", &shard]].concat(), files);
        let mut ids: Vec<u64> = records.iter().map(id).collect();
        ids.sort_unstable();
        if args.contains(&"-f") {
            // A filter on verdicts leaves out some of the ids.
            assert!(ids.iter().all(|i| (i - 1) % u64::from(n) == u64::from(k)));
        } else {
            let expected: Vec<u64> = (0..records.len() as u64)
                .map(|i| u64::from(k) + 1 + u64::from(n) * i)
                .collect();
            assert_eq!(ids, expected, "shard {shard}: ids K+1+N·i");
        }
        for r in &records {
            assert!(
                seen_ids.insert(id(r)),
                "shard {shard}: id {} seen before",
                id(r)
            );
            assert!(
                seen.insert(identity(r)),
                "shard {shard}: {} is in another shard too",
                identity(r)
            );
        }
        // The shard numbers its connections in the order the whole run did.
        let mut by_shard_id: Vec<(u64, u64)> = records
            .iter()
            .map(|r| {
                let whole = *whole_id
                    .get(&without_id(r))
                    .unwrap_or_else(|| panic!("shard {shard}: not in the whole run: {r}"));
                (id(r), whole)
            })
            .collect();
        by_shard_id.sort_unstable();
        assert!(
            by_shard_id.windows(2).all(|w| w[0].1 < w[1].1),
            "shard {shard}: ids not in first-seen order"
        );
        shards.push(records);
    }
    assert_eq!(
        multiset(shards.iter().flatten()),
        multiset(whole),
        "{n} shards of {files:?} ({args:?}): the union is not the whole run"
    );
    shards
}

#[test]
fn the_union_of_the_shards_is_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generate(dir.path(), 3000, 300, 17);
    let files = [cap];
    let whole = jsonl(&[], &files);
    assert_eq!(whole.len(), 3000);
    for n in [1, 2, 3, 7] {
        let shards = check_shards(&files, &[], n, &whole);
        if n > 1 {
            // Every shard gets a fair share.
            for s in &shards {
                let fair = whole.len() / n as usize;
                assert!(
                    s.len() > fair * 8 / 10 && s.len() < fair * 12 / 10,
                    "{n}: {}",
                    s.len()
                );
            }
        }
    }
    // One thread or three: the same shard.
    let one = jsonl(&["--jobs", "1", "--shard", "2/7"], &files);
    let three = jsonl(&["--jobs", "4", "--shard", "2/7"], &files);
    assert_eq!(one, three);
    // Shard 0 of 1 is the whole run, ids and all.
    assert_eq!(jsonl(&["--shard", "0/1"], &files), whole);
}

#[test]
fn several_files_share_one_id_sequence_per_shard() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        generate(dir.path(), 400, 40, 3),
        generate(dir.path(), 300, 30, 4),
    ];
    let whole = jsonl(&["--jobs", "1"], &files);
    assert_eq!(whole.len(), 700);
    let shards = check_shards(&files, &["--jobs", "1"], 3, &whole);
    // Side by side (a worker per file, ids shifted as the files merge)
    // gives the same records as one file after the other.
    for (k, records) in shards.iter().enumerate() {
        let shard = format!("{k}/3");
        assert_eq!(&jsonl(&["--jobs", "2", "--shard", &shard], &files), records);
    }
}

#[test]
fn zeek_uids_do_not_collide_across_shards() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generate(dir.path(), 600, 60, 9);
    let mut uids = BTreeSet::new();
    for k in 0..4 {
        let out = tcpstate()
            .args([
                "analyze",
                "--format",
                "zeek",
                "--fail-on",
                "never",
                "--shard",
            ])
            .arg(format!("{k}/4"))
            .arg(&cap)
            .exits(0);
        let text = String::from_utf8(out.stdout).unwrap();
        for row in text.lines().filter(|l| !l.starts_with('#')) {
            let uid = row.split('\t').nth(1).unwrap().to_string();
            let n = u64::from_str_radix(uid.trim_start_matches("CT"), 16).unwrap();
            assert_eq!((n - 1) % 4, k, "{uid} in shard {k}/4");
            assert!(uids.insert(uid.clone()), "{uid} twice");
        }
    }
    assert_eq!(uids.len(), 600);
}

/// The JSON document of a run.
fn json(args: &[&str], file: &Path) -> Value {
    let out = tcpstate()
        .args(["analyze", "--format", "json", "--fail-on", "never"])
        .args(args)
        .arg(file)
        .exits(0);
    parse_value(&out.stdout).unwrap()
}

#[test]
fn the_segments_of_other_shards_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generate(dir.path(), 500, 50, 21);
    let whole = json(&[], &cap);
    let all = whole["captures"][0]["tcp_segments"].as_u64().unwrap();
    assert!(whole["captures"][0]["skipped"].get("other_shard").is_none());
    let (mut tracked, mut connections) = (0, 0);
    for k in 0..3 {
        let shard = format!("{k}/3");
        let report = json(&["--shard", &shard], &cap);
        let capture = &report["captures"][0];
        let mine = capture["tcp_segments"].as_u64().unwrap();
        let other = capture["skipped"]["other_shard"].as_u64().unwrap();
        assert_eq!(mine + other, all, "{shard}");
        assert!(other > 0 && mine > 0, "{shard}");
        assert_eq!(capture["frames"], whole["captures"][0]["frames"]);
        tracked += mine;
        connections += report["summary"]["connections"].as_u64().unwrap();
        let verdict = report["summary"]["verdict"]["text"].as_str().unwrap();
        assert!(
            verdict.ends_with(&format!(
                "; shard {shard}: {other} TCP segments of other shards not tracked"
            )),
            "{verdict}"
        );
        // The table's summary says so too.
        let out = tcpstate()
            .args(["analyze", "--shard", &shard])
            .arg(&cap)
            .exits(0);
        let table = String::from_utf8(out.stdout).unwrap();
        assert!(table.contains(&format!("other_shard {other}")), "{table}");
    }
    assert_eq!(tracked, all);
    assert_eq!(
        connections,
        whole["summary"]["connections"].as_u64().unwrap()
    );
}

#[test]
fn a_shard_combines_with_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generate(dir.path(), 800, 80, 5);
    let files = [cap.clone()];
    // An address part (dropped before tracking) and a verdict part.
    let filter = ["-f", "port 443 or handshake refused"];
    let whole = jsonl(&filter, &files);
    assert!(whole.len() > 150 && whole.len() < 800, "{}", whole.len());
    check_shards(&files, &filter, 3, &whole);
    let filtered = json(&filter, &cap)["captures"][0]["skipped"]["filtered"].clone();
    let report = json(&[&filter[..], &["--shard", "1/3"]].concat(), &cap);
    let skipped = &report["captures"][0]["skipped"];
    assert_eq!(
        skipped["filtered"], filtered,
        "the filter drops the same segments"
    );
    assert!(skipped["other_shard"].as_u64().unwrap() > 0);
}

#[test]
fn tunnelled_connections_shard_consistently() {
    let tunnels: Vec<PathBuf> = all_captures()
        .into_iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("tunnels")))
        .collect();
    assert!(tunnels.len() >= 20);
    let whole = jsonl(&["--jobs", "1"], &tunnels);
    assert!(whole.iter().any(|r| r.get("encapsulation").is_some()));
    for n in [2, 3, 5] {
        check_shards(&tunnels, &["--jobs", "1"], n, &whole);
    }
    // Two VXLAN tunnels carry the same inner 4-tuple: two connections,
    // which the tunnels' identity (their VNIs) sends to different shards
    // for some N; without it in the key they would always go together.
    let two = [testdata("tunnels/vxlan_two_tunnels.pcap")];
    let split = (2..=16).find(|n| {
        let shards: Vec<usize> = (0..*n)
            .map(|k| jsonl(&["--shard", &format!("{k}/{n}")], &two).len())
            .collect();
        assert_eq!(shards.iter().sum::<usize>(), 2, "{n}: {shards:?}");
        shards.iter().all(|&c| c < 2)
    });
    assert!(split.is_some(), "the two tunnels are always in one shard");
}

#[test]
fn bad_shard_values_exit_2() {
    let cap = testdata("captures/refused.pcap");
    for (bad, why) in [
        ("4/4", "K must be less than N"),
        ("1/0", "N must be at least 1"),
        ("0/0", "N must be at least 1"),
        ("1", "expected K/N"),
        ("-1/4", "expected K/N"),
        ("a/b", "expected K/N"),
        ("1/2/3", "expected K/N"),
        ("0/4294967296", "K and N must be less than 2^32"),
        ("", "expected K/N"),
    ] {
        let out = tcpstate()
            .args(["analyze", &format!("--shard={bad}")])
            .arg(&cap)
            .exits(2);
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("'{bad}' is not a shard: {why}")),
            "{bad}: {err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn conn_takes_the_ids_of_the_shard() {
    let dir = tempfile::tempdir().unwrap();
    let cap = generate(dir.path(), 60, 10, 2);
    let files = [cap.clone()];
    let shard = jsonl(&["--shard", "1/3"], &files);
    let pick = id(&shard[3]);
    let one = jsonl(&["--shard", "1/3", "--conn", &pick.to_string()], &files);
    assert_eq!(one, vec![shard[3].clone()]);
    // An id of another shard is not in this one.
    let out = tcpstate()
        .args(["analyze", "--shard", "1/3", "--conn", "3"])
        .arg(&cap)
        .exits(2);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!(
            "no connection 3 in shard 1/3: its {} connections have the ids 2, 5, … {}",
            shard.len(),
            2 + 3 * (shard.len() - 1)
        )),
        "{err}"
    );
}

/// The README's recipe for a directory of captures: one process per file
/// with `find … -print0 | xargs -0 -P`, each writing its own JSON Lines,
/// then one file; and one shard per machine over the same files.
#[test]
fn the_readme_recipes_work() {
    let dir = tempfile::tempdir().unwrap();
    let caps = dir.path().join("captures");
    std::fs::create_dir(&caps).unwrap();
    let names: Vec<String> = (0..3)
        .map(|s| {
            let f = generate(&caps, 150, 20, 30 + s);
            format!("./{}", f.file_name().unwrap().to_str().unwrap())
        })
        .collect();
    // The README's lines, with `"$(nproc)"` as 2 and N = 3.
    let script = r#"
        set -eu
        cd "$1/captures"
        find . -name '*.pcap' -print0 |
          xargs -0 -P 2 -I{} "$TCPSTATE" analyze --jobs 1 --fail-on never --format jsonl -o {}.jsonl {}
        find . -name '*.pcap.jsonl' -exec cat {} + > ../all.jsonl
        for K in 0 1 2; do
          "$TCPSTATE" analyze --shard "$K/3" --fail-on never --format jsonl ./*.pcap > "../shard-$K.jsonl"
        done
        cat ../shard-*.jsonl > ../sharded.jsonl
    "#;
    let out = std::process::Command::new("sh")
        .args(["-c", script, "sh"])
        .arg(dir.path())
        .env("TCPSTATE", env!("CARGO_BIN_EXE_tcpstate"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(dir.path().join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let sorted = |records: &[Value]| -> Vec<String> {
        let mut v: Vec<String> = records.iter().map(Value::to_string).collect();
        v.sort();
        v
    };
    // Each file analyzed alone, as the README names them.
    let mut alone = Vec::new();
    for name in &names {
        let out = tcpstate()
            .current_dir(&caps)
            .args(["analyze", "--format", "jsonl", "--fail-on", "never", name])
            .exits(0);
        for l in String::from_utf8(out.stdout).unwrap().lines() {
            alone.push(serde_json::from_str::<Value>(l).unwrap());
        }
    }
    let all = read("all.jsonl");
    assert_eq!(all.len(), 450);
    assert_eq!(sorted(&all), sorted(&alone));
    // (file, id) names a connection in the per-file outputs; the sharded
    // ones have ids unique over the whole set.
    let sharded = read("sharded.jsonl");
    assert_eq!(multiset(&sharded), multiset(&all));
    let ids: BTreeSet<u64> = sharded.iter().map(id).collect();
    assert_eq!(ids.len(), sharded.len());
}
