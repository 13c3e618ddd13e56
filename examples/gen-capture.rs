//! Generates large synthetic captures for benchmarks and stress tests,
//! deterministically from a seed.
//!
//!   cargo run --release --example gen-capture -- --connections 200000 --concurrent 5000 -o big.pcap
//!   cargo run --release --example gen-capture -- --syn-flood 1000000 -o flood.pcap
//!   cargo run --release --example gen-capture -- --one-connection 2000000 -o long.pcap
//!   cargo run --release --example gen-capture -- --reuse 100000 -o reuse.pcap
//!
//! Many connections are interleaved (`--concurrent` open at a time), each
//! with correct sequence numbers: a handshake, a request and a response in
//! several segments, and a graceful close by either side; a share are
//! refused, reset, retransmitted or left half-open. `--syn-flood N` writes N
//! SYNs from distinct sources instead, with no answer. `--one-connection N`
//! writes one connection of N segments in all (a handshake, data from the
//! client acknowledged by the server every second segment, one in a
//! thousand retransmitted, a graceful close); `--reuse N` writes N connections one after another on the same
//! 4-tuple, each a handshake and a graceful close with a new initial
//! sequence number.

use clap::Parser;
use etherparse::{PacketBuilder, TcpOptionElement};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Parser)]
struct Args {
    /// Connections to generate.
    #[arg(long, default_value_t = 10_000)]
    connections: u64,
    /// Connections open at the same time.
    #[arg(long, default_value_t = 500)]
    concurrent: usize,
    /// Instead of connections: this many SYNs from distinct sources, unanswered.
    #[arg(long)]
    syn_flood: Option<u64>,
    /// Instead of connections: one connection of this many segments (at least 7).
    #[arg(long)]
    one_connection: Option<u64>,
    /// Instead of connections: this many connections in a row on one 4-tuple.
    #[arg(long)]
    reuse: Option<u64>,
    /// Seed of the pseudo-random choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output pcap.
    #[arg(short, long)]
    output: PathBuf,
}

const FIN: u8 = 1;
const SYN: u8 = 2;
const RST: u8 = 4;
const PSH: u8 = 8;
const ACK: u8 = 16;

/// One segment of a connection's script.
struct Seg {
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u16,
}

/// A connection's remaining segments.
struct Script {
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    segs: VecDeque<Seg>,
}

/// Builds the script of one connection of the given kind.
fn script(rng: &mut fastrand::Rng, n: u64) -> Script {
    let client = (
        [10, 1 + (n >> 24) as u8, (n >> 16) as u8, (n >> 8) as u8],
        1024 + (n % 60_000) as u16,
    );
    let server = (
        [10, 200, 0, 1 + (n % 200) as u8],
        [80, 443, 8080, 5432][(n % 4) as usize],
    );
    let (c_isn, s_isn) = (rng.u32(..), rng.u32(..));
    let mut segs = VecDeque::new();
    let mut c = c_isn;
    let mut s = s_isn;
    let mut push = |from_client: bool, flags: u8, seq: u32, ack: u32, len: u16| {
        segs.push_back(Seg {
            from_client,
            flags,
            seq,
            ack,
            len,
        })
    };
    let kind = rng.u32(..100);
    push(true, SYN, c, 0, 0);
    if kind < 4 {
        // Refused.
        push(false, RST | ACK, 0, c.wrapping_add(1), 0);
        return Script {
            client,
            server,
            segs,
        };
    }
    if kind < 7 {
        // Unanswered, retransmitted once.
        push(true, SYN, c, 0, 0);
        return Script {
            client,
            server,
            segs,
        };
    }
    c = c.wrapping_add(1);
    push(false, SYN | ACK, s, c, 0);
    s = s.wrapping_add(1);
    push(true, ACK, c, s, 0);
    let request = rng.u16(60..400);
    push(true, PSH | ACK, c, s, request);
    if kind < 12 {
        // The request is retransmitted.
        push(true, PSH | ACK, c, s, request);
    }
    c = c.wrapping_add(u32::from(request));
    push(false, ACK, s, c, 0);
    // Sizes chosen so that 200,000 connections make about 2.5 million packets
    // in about 460 MB, like the capture the performance figures refer to.
    for _ in 0..rng.u32(1..7) {
        let len = rng.u16(100..520);
        push(false, PSH | ACK, s, c, len);
        s = s.wrapping_add(u32::from(len));
    }
    push(true, ACK, c, s, 0);
    if kind < 17 {
        // Reset by the client.
        push(true, RST | ACK, c, s, 0);
        return Script {
            client,
            server,
            segs,
        };
    }
    if kind < 60 {
        // Client closes first.
        push(true, FIN | ACK, c, s, 0);
        push(false, ACK, s, c.wrapping_add(1), 0);
        push(false, FIN | ACK, s, c.wrapping_add(1), 0);
        push(true, ACK, c.wrapping_add(1), s.wrapping_add(1), 0);
    } else {
        push(false, FIN | ACK, s, c, 0);
        push(true, ACK, c, s.wrapping_add(1), 0);
        push(true, FIN | ACK, c, s.wrapping_add(1), 0);
        push(false, ACK, s.wrapping_add(1), c.wrapping_add(1), 0);
    }
    Script {
        client,
        server,
        segs,
    }
}

struct Writer {
    out: BufWriter<File>,
    ts_us: u64,
    frame: Vec<u8>,
    payload: Vec<u8>,
    packets: u64,
}

impl Writer {
    fn new(path: &PathBuf) -> std::io::Result<Writer> {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
        // pcap header: microseconds, little-endian, snaplen 65535, Ethernet.
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&[0; 8])?;
        out.write_all(&65535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(Writer {
            out,
            ts_us: 1_700_000_000_000_000,
            frame: Vec::with_capacity(2048),
            payload: vec![b'x'; 1500],
            packets: 0,
        })
    }

    fn segment(
        &mut self,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seg: &Seg,
    ) -> std::io::Result<()> {
        let window = if seg.flags & SYN != 0 { 64240 } else { 502 };
        let mut b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src.0, dst.0, 64)
            .tcp(src.1, dst.1, seg.seq, window);
        if seg.flags & SYN != 0 {
            b = b.syn();
            b = b
                .options(&[
                    TcpOptionElement::MaximumSegmentSize(1460),
                    TcpOptionElement::Noop,
                    TcpOptionElement::WindowScale(7),
                ])
                .expect("options fit");
        }
        if seg.flags & ACK != 0 {
            b = b.ack(seg.ack);
        }
        if seg.flags & FIN != 0 {
            b = b.fin();
        }
        if seg.flags & RST != 0 {
            b = b.rst();
        }
        if seg.flags & PSH != 0 {
            b = b.psh();
        }
        self.frame.clear();
        b.write(&mut self.frame, &self.payload[..usize::from(seg.len)])
            .expect("write to a Vec");
        self.ts_us += 7;
        let len = self.frame.len() as u32;
        let (sec, usec) = (
            (self.ts_us / 1_000_000) as u32,
            (self.ts_us % 1_000_000) as u32,
        );
        for x in [sec, usec, len, len] {
            self.out.write_all(&x.to_le_bytes())?;
        }
        self.out.write_all(&self.frame)?;
        self.packets += 1;
        Ok(())
    }
}

const CLIENT: ([u8; 4], u16) = ([10, 1, 0, 1], 40000);
const SERVER: ([u8; 4], u16) = ([10, 200, 0, 1], 80);

/// Writes one segment of the client (`from_client`) or of the server.
fn send(
    w: &mut Writer,
    from_client: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u16,
) -> std::io::Result<()> {
    let seg = Seg {
        from_client,
        flags,
        seq,
        ack,
        len,
    };
    if from_client {
        w.segment(CLIENT, SERVER, &seg)
    } else {
        w.segment(SERVER, CLIENT, &seg)
    }
}

/// One connection of exactly `total` segments: three for the handshake, four
/// for the close, the rest data segments of 16 bytes from the client, every
/// second one acknowledged by the server, and about one in a thousand sent
/// twice (a retransmission).
fn one_connection(w: &mut Writer, rng: &mut fastrand::Rng, total: u64) -> std::io::Result<()> {
    const LEN: u16 = 16;
    let (mut c, mut s) = (rng.u32(..), rng.u32(..));
    send(w, true, SYN, c, 0, 0)?;
    c = c.wrapping_add(1);
    send(w, false, SYN | ACK, s, c, 0)?;
    s = s.wrapping_add(1);
    send(w, true, ACK, c, s, 0)?;
    let mut left = total - 7;
    let mut unacked = 0;
    let mut sent = 0u64;
    while left > 0 {
        if unacked == 2 || (unacked == 1 && left == 1) {
            send(w, false, ACK, s, c, 0)?;
            unacked = 0;
        } else if sent % 1000 == 999 && unacked == 1 {
            // Now and then the last data segment again: a retransmission
            // amid the ordinary segments.
            send(w, true, PSH | ACK, c.wrapping_sub(u32::from(LEN)), s, LEN)?;
            sent += 1;
        } else {
            send(w, true, PSH | ACK, c, s, LEN)?;
            c = c.wrapping_add(u32::from(LEN));
            unacked += 1;
            sent += 1;
        }
        left -= 1;
    }
    // An unacknowledged last data segment is acknowledged by the server's FIN.
    send(w, true, FIN | ACK, c, s, 0)?;
    send(w, false, ACK, s, c.wrapping_add(1), 0)?;
    send(w, false, FIN | ACK, s, c.wrapping_add(1), 0)?;
    send(w, true, ACK, c.wrapping_add(1), s.wrapping_add(1), 0)
}

/// `n` connections in a row on one 4-tuple: a handshake and a graceful close
/// by the client, each with initial sequence numbers of its own.
fn reuse(w: &mut Writer, rng: &mut fastrand::Rng, n: u64) -> std::io::Result<()> {
    for _ in 0..n {
        let (mut c, mut s) = (rng.u32(..), rng.u32(..));
        send(w, true, SYN, c, 0, 0)?;
        c = c.wrapping_add(1);
        send(w, false, SYN | ACK, s, c, 0)?;
        s = s.wrapping_add(1);
        send(w, true, ACK, c, s, 0)?;
        send(w, true, FIN | ACK, c, s, 0)?;
        send(w, false, ACK, s, c.wrapping_add(1), 0)?;
        send(w, false, FIN | ACK, s, c.wrapping_add(1), 0)?;
        send(w, true, ACK, c.wrapping_add(1), s.wrapping_add(1), 0)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let mut w = Writer::new(&args.output)?;
    if let Some(n) = args.syn_flood {
        for i in 0..n {
            let src = (
                [
                    100 + (i >> 24) as u8 % 100,
                    (i >> 16) as u8,
                    (i >> 8) as u8,
                    i as u8,
                ],
                1024 + (rng.u16(..) % 60_000),
            );
            let seg = Seg {
                from_client: true,
                flags: SYN,
                seq: rng.u32(..),
                ack: 0,
                len: 0,
            };
            w.segment(src, ([10, 0, 0, 1], 80), &seg)?;
        }
    } else if let Some(n) = args.one_connection {
        one_connection(&mut w, &mut rng, n.max(7))?;
    } else if let Some(n) = args.reuse {
        reuse(&mut w, &mut rng, n)?;
    } else {
        let mut open: Vec<Script> = Vec::with_capacity(args.concurrent);
        let mut started = 0u64;
        while started < args.connections || !open.is_empty() {
            while open.len() < args.concurrent.max(1) && started < args.connections {
                open.push(script(&mut rng, started));
                started += 1;
            }
            let i = rng.usize(..open.len());
            let conn = &mut open[i];
            if let Some(seg) = conn.segs.pop_front() {
                let (src, dst) = if seg.from_client {
                    (conn.client, conn.server)
                } else {
                    (conn.server, conn.client)
                };
                w.segment(src, dst, &seg)?;
            }
            if open[i].segs.is_empty() {
                open.swap_remove(i);
            }
        }
    }
    w.out.flush()?;
    eprintln!("{}: {} packets", args.output.display(), w.packets);
    Ok(())
}
