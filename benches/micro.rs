//! Micro-benchmarks of the per-packet hot path: decoding one frame, and one
//! step of a connection's state machines. `cargo bench --features criterion --bench micro`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use tcpstate::decode::{decode, linktype, Segment, TcpFlags};
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

criterion_group!(benches, bench_decode, bench_state_step);
criterion_main!(benches);
