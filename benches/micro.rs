//! Micro-benchmarks of the per-packet hot path: decoding one frame, and one
//! step of a connection's state machines; and of the JSON document's tail:
//! unpacking the held-back records (`render/packed.rs`).
//! `cargo bench --features criterion --bench micro`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::io::Write;
use tcpstate::decode::{decode, linktype, Segment, TcpFlags};
use tcpstate::render::{jsonl, packed};
use tcpstate::seq::SeqNum;
use tcpstate::state::{Side, Tracker};

fn frame() -> Vec<u8> {
    let builder = etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 443, 1_000_000, 502)
        .ack(2_000_000)
        .psh();
    let mut out = Vec::new();
    builder.write(&mut out, &[0x42; 300]).unwrap();
    out
}

fn bench_decode(c: &mut Criterion) {
    let f = frame();
    c.bench_function("decode one Ethernet/IPv4/TCP frame", |b| {
        b.iter(|| decode(black_box(linktype::ETHERNET), black_box(&f), true))
    });
}

fn bench_state_step(c: &mut Criterion) {
    let base = decode(linktype::ETHERNET, &frame(), true).unwrap();
    // An established connection; each step is a data segment one way and its ACK back.
    let mut tracker = Tracker::new_midstream();
    let mut transitions = Vec::with_capacity(8);
    let mut seq = SeqNum(1_000_000);
    c.bench_function("state machines: one data segment and its ACK", |b| {
        b.iter(|| {
            let data = Segment { seq, ..base };
            transitions.clear();
            tracker.on_segment(Side::Client, black_box(&data), &mut transitions);
            seq = seq + data.payload_len;
            let ack = Segment {
                seq: SeqNum(2_000_000),
                ack: seq,
                flags: TcpFlags(TcpFlags::ACK),
                payload_len: 0,
                ..base
            };
            tracker.on_segment(Side::Server, black_box(&ack), &mut transitions);
        })
    });
}

/// A record shaped like a connection of the document (nested objects, a
/// list of states, findings, numbers and strings), with constant field
/// names as the model has: each is packed as a number.
#[derive(serde::Serialize)]
struct Record {
    id: u64,
    file: &'static str,
    client: Endpoint,
    server: Endpoint,
    roles_by: &'static str,
    first_frame: u64,
    last_frame: u64,
    start_time: &'static str,
    start_ts: f64,
    handshake: Handshake,
    conn_state: &'static str,
    history: &'static str,
    findings: Vec<Finding>,
}

#[derive(serde::Serialize)]
struct Endpoint {
    addr: &'static str,
    port: u16,
    isn: u32,
    final_state: &'static str,
    states: Vec<&'static str>,
    packets: u64,
    payload_bytes: u64,
}

#[derive(serde::Serialize)]
struct Handshake {
    status: &'static str,
    syn: u64,
    syn_ack: Option<u64>,
    rtt_s: f64,
}

#[derive(serde::Serialize)]
struct Finding {
    code: &'static str,
    severity: &'static str,
    title: &'static str,
    message: &'static str,
    frames: Vec<u64>,
    count: u64,
}

fn record() -> Record {
    let side = |addr, port| Endpoint {
        addr,
        port,
        isn: 180_540_311,
        final_state: "TIME-WAIT",
        states: vec![
            "CLOSED",
            "SYN-SENT",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "TIME-WAIT",
        ],
        packets: 6,
        payload_bytes: 268,
    };
    Record {
        id: 555,
        file: "target/bench/big.pcap",
        client: side("10.1.0.9", 3434),
        server: side("10.200.0.11", 8080),
        roles_by: "syn",
        first_frame: 590,
        last_frame: 882,
        start_time: "2023-11-14T22:13:20.004130000Z",
        start_ts: 1_700_000_000.004_130_1,
        handshake: Handshake {
            status: "complete",
            syn: 590,
            syn_ack: Some(853),
            rtt_s: 0.057638,
        },
        conn_state: "SF",
        history: "ShADadFf",
        findings: vec![Finding {
            code: "RL009",
            severity: "info",
            title: "TIME-WAIT: this side waits 2·MSL",
            message: "the client ends in TIME-WAIT and keeps 10.1.0.9:3434 for 2·MSL",
            frames: vec![882],
            count: 1,
        }],
    }
}

fn bench_unpack(c: &mut Criterion) {
    let mut names = packed::Names::default();
    let mut one = Vec::new();
    jsonl::to_vec_packed(&mut one, &record(), 2, &mut names).unwrap();
    let mut held = Vec::new();
    for _ in 0..1000 {
        held.extend_from_slice(&one);
        held.push(b',');
    }
    let mut out = Vec::new();
    let mut w = packed::Unpacked::new(&mut out);
    w.write_all(&held).unwrap();
    w.finish().unwrap();
    let mut group = c.benchmark_group("document tail");
    group.throughput(Throughput::Bytes(out.len() as u64));
    group.bench_function("unpack 1,000 held-back records", |b| {
        b.iter(|| {
            let mut w = packed::Unpacked::new(std::io::sink());
            w.write_all(black_box(&held)).unwrap();
            w.finish().unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, bench_decode, bench_state_step, bench_unpack);
criterion_main!(benches);
