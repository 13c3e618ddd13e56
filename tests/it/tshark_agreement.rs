//! tcpstate against tshark on every capture in testdata/: the relative
//! sequence and acknowledgement numbers of every TCP frame, its analysis
//! flags (tcp.analysis.*), and the split into connections (tshark's tcp.stream). tshark's answers are recorded in
//! testdata/tshark/*.tsv by testdata/tools/tshark-golden.sh, so this test
//! does not need tshark installed.

use crate::common;
use common::*;
use std::collections::{BTreeMap, BTreeSet};

struct TsharkRow {
    stream: u64,
    flags: u16,
    seq: u32,
    ack: u32,
    /// The tcp.analysis.* flags tshark set on the frame.
    analysis: BTreeSet<String>,
}

/// The analysis flags recorded in the golden files (columns after `ack`).
fn read_golden(path: &std::path::Path) -> (Vec<String>, BTreeMap<u64, TsharkRow>) {
    let text = std::fs::read_to_string(path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    let analysis_names: Vec<String> = header[5..].iter().map(|s| s.to_string()).collect();
    let mut rows = BTreeMap::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), header.len(), "{}: {line}", path.display());
        let flags = u16::from_str_radix(cols[2].trim_start_matches("0x"), 16).unwrap();
        rows.insert(
            cols[0].parse().unwrap(),
            TsharkRow {
                stream: cols[1].parse().unwrap(),
                flags,
                seq: cols[3].parse().unwrap(),
                ack: cols[4].parse().unwrap(),
                analysis: analysis_names
                    .iter()
                    .zip(&cols[5..])
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(n, _)| n.clone())
                    .collect(),
            },
        );
    }
    (analysis_names, rows)
}

/// Frames of the crafted protocol violations (by name; other captures by
/// their path under `testdata/`) where tshark's analysis flags are an
/// artifact of Wireshark's bookkeeping, with the reason.
const TSHARK_ARTIFACTS: &[(&str, u64, &str)] = &[
    (
        "diagnosis/handshake_rst_race.pcap",
        3,
        "the forged RST before it has raw sequence number 0: Wireshark takes a \
         raw next-seq of 0 for 'unset', so the SYN-ACK (far behind it) is no \
         retransmission to tshark",
    ),
    (
        "third_ack_bad_seq.pcap",
        4,
        "ISN 2^32-1: Wireshark takes a raw next-seq of 0 for 'unset'",
    ),
    (
        "third_ack_bad_seq.pcap",
        5,
        "ISN 2^32-1: Wireshark takes a raw next-seq of 0 for 'unset'",
    ),
    (
        "synack_bad_ack.pcap",
        4,
        "ISN 2^32-1: Wireshark takes a raw next-seq of 0 for 'unset'",
    ),
    (
        "syn_fin.pcap",
        2,
        "Wireshark counts SYN+FIN as one sequence number, not two",
    ),
];

/// Frames tcpstate does not analyze on purpose, though tshark does, with the
/// reason; the frames after them may carry the flags their absence implies
/// (a previous segment not captured, an ACK of unseen data), listed here too.
const SKIPPED_ON_PURPOSE: &[(&str, &[u64], &[u64], &str)] = &[(
    "ip_options_bad.pcap",
    &[4],
    &[5, 7, 9],
    "an IPv4 option length runs past the header: a malformed packet \
     (malformed_ip_options); tshark notes it and dissects the packet anyway",
)];

/// Captures where tcpstate starts a new connection at these frames, inside
/// one tshark stream, on purpose, with the reason. The frames after the
/// split keep tshark's relative numbers (the bases of the connection handed
/// over, `conntable/ended.rs`) and its analysis flags.
pub(crate) const SPLIT_ON_PURPOSE: &[(&str, &[u64], &str)] = &[
    (
        "agree/reject_mid_s.pcap",
        &[91],
        "frame 91 comes 2.7 s after the connection was reset (frame 90): a \
         finished connection lingers 2 s, then is written; tshark starts a \
         new stream only on a SYN",
    ),
    (
        "agree/keepalive_idle_split.pcap",
        &[8],
        "frame 8 comes 400 s after frame 7, past the 300 s idle timeout",
    ),
];

#[test]
fn relative_numbers_and_streams_agree_with_tshark() {
    let dir = testdata("tshark");
    let mut checked = 0;
    let mut frames = 0;
    let mut mismatches = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let golden = entry.unwrap().path();
        if golden.extension().is_none_or(|e| e != "tsv") {
            continue;
        }
        // captures_x.pcap.tsv -> captures/x.pcap
        let stem = golden.file_stem().unwrap().to_str().unwrap();
        let (sub, name) = stem.split_once('_').unwrap();
        let capture = testdata(&format!("{sub}/{name}"));
        assert!(capture.exists(), "{} has no capture", golden.display());
        let (analysis_names, mut expected) = read_golden(&golden);
        let on_purpose = SKIPPED_ON_PURPOSE
            .iter()
            .find(|(f, ..)| sub == "crafted" && *f == name);
        if let Some((_, skipped, _, _)) = on_purpose {
            expected.retain(|frame, _| !skipped.contains(frame));
        }
        let report = analyze(&[&capture]);

        let mut by_frame = BTreeMap::new();
        for c in &report.connections {
            for p in c.packets.as_ref().unwrap() {
                by_frame.insert(p.frame, (c.id, p));
            }
        }
        assert_eq!(
            by_frame.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{name}: the same TCP frames"
        );
        // The same partition into connections as tshark's streams.
        let ours: BTreeSet<BTreeSet<u64>> = group(by_frame.iter().map(|(f, (id, _))| (*id, *f)));
        let splits = SPLIT_ON_PURPOSE
            .iter()
            .find(|(rel, ..)| *rel == format!("{sub}/{name}"))
            .map_or(&[][..], |(_, at, _)| *at);
        let theirs: BTreeSet<BTreeSet<u64>> = group(expected.iter().map(|(f, r)| {
            let part = splits.iter().filter(|&&s| s <= *f).count() as u64;
            (r.stream * 1_000 + part, *f)
        }));
        assert_eq!(
            ours, theirs,
            "{name}: connections differ from tshark's tcp.stream"
        );
        for (frame, row) in &expected {
            let (_, p) = by_frame[frame];
            assert_eq!(p.rel_seq, row.seq, "{name} frame {frame}: rel_seq");
            if row.flags & 0x10 != 0 {
                assert_eq!(p.rel_ack, Some(row.ack), "{name} frame {frame}: rel_ack");
            } else {
                assert_eq!(p.rel_ack, None, "{name} frame {frame}: no ACK flag");
            }
            let ours: BTreeSet<String> = p
                .analysis
                .iter()
                .filter(|a| analysis_names.contains(a))
                .cloned()
                .collect();
            let path = format!("{sub}/{name}");
            let artifact = TSHARK_ARTIFACTS
                .iter()
                .any(|(f, n, _)| (*f == path || sub == "crafted" && *f == name) && n == frame)
                || on_purpose.is_some_and(|(_, _, after, _)| after.contains(frame));
            if ours != row.analysis && !artifact {
                mismatches.push(format!(
                    "{name} frame {frame}: tcpstate {ours:?}, tshark {:?}",
                    row.analysis
                ));
            }
            frames += 1;
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} golden files found");
    assert!(
        mismatches.is_empty(),
        "analysis flags differ from tshark:\n{}",
        mismatches.join("\n")
    );
    eprintln!("{checked} captures, {frames} frames agree with tshark");
}

fn group(pairs: impl Iterator<Item = (u64, u64)>) -> BTreeSet<BTreeSet<u64>> {
    let mut m: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (k, f) in pairs {
        m.entry(k).or_default().insert(f);
    }
    m.into_values().collect()
}
