//! Writes the hand-crafted captures in `testdata/crafted/`.
//!
//! Real TCP stacks do not produce these segment sequences on request (bad
//! acknowledgment numbers in the handshake, SYN+FIN, data after a FIN, ...),
//! so they are built frame by frame here:
//!
//! ```sh
//! cargo run --example craft -- testdata/crafted
//! ```
//!
//! Every file is a classic pcap (little-endian, microsecond timestamps,
//! LINKTYPE_ETHERNET) holding one connection 10.1.0.1:40000 → 10.1.0.2:80,
//! except `seed_ftp.pcap`, the replica of a Chinese course's Sniffer FTP walkthrough
//! (two connections between 76.88.16.104 and 76.88.16.16:21).
//! Frames are 1 ms apart, starting 2024-01-01T00:00:00Z. The output is the
//! same on every run. `testdata/README.md` describes each file.

use std::path::PathBuf;

use etherparse::{PacketBuilder, TcpOptionElement};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// 2024-01-01T00:00:00Z
const START_SECS: u32 = 1_704_067_200;

const REQ: &[u8] = b"GET /tcpstate HTTP/1.0\r\n\r\n"; // 26 bytes
const RESP: &[u8] = b"HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"; // 38 bytes

/// Window field of a SYN (unscaled) and of every later segment (scaled by
/// the window scale 7 both SYNs announce: 502 << 7 = 64256 bytes).
const SYN_WINDOW: u16 = 64240;
const WINDOW: u16 = 502;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Client,
    Server,
}
use Side::{Client, Server};

impl Side {
    fn idx(self) -> usize {
        self as usize
    }
    fn peer(self) -> Side {
        match self {
            Client => Server,
            Server => Client,
        }
    }
    fn mac(self) -> [u8; 6] {
        match self {
            Client => [0x02, 0, 0, 0x01, 0, 0x01],
            Server => [0x02, 0, 0, 0x01, 0, 0x02],
        }
    }
    fn ip(self) -> [u8; 4] {
        match self {
            Client => [10, 1, 0, 1],
            Server => [10, 1, 0, 2],
        }
    }
    fn port(self) -> u16 {
        match self {
            Client => 40000,
            Server => 80,
        }
    }
}

/// One side's MAC, IPv4 address and port.
#[derive(Clone, Copy)]
struct Addr {
    mac: [u8; 6],
    ip: [u8; 4],
    port: u16,
}

impl Side {
    fn default_addr(self) -> Addr {
        Addr {
            mac: self.mac(),
            ip: self.ip(),
            port: self.port(),
        }
    }
}

/// A connection under construction: the frames so far and, per side, the
/// next sequence number to send (SND.NXT).
struct Conn {
    frames: Vec<Vec<u8>>,
    nxt: [u32; 2],
    /// Window for the next segment only, instead of the default.
    next_window: Option<u16>,
    /// Client and server addresses.
    addrs: [Addr; 2],
}

impl Conn {
    fn new(client_isn: u32, server_isn: u32) -> Self {
        Conn {
            frames: Vec::new(),
            nxt: [client_isn, server_isn],
            next_window: None,
            addrs: [Client.default_addr(), Server.default_addr()],
        }
    }

    /// The same with other addresses and ports.
    fn between(client_isn: u32, server_isn: u32, client: Addr, server: Addr) -> Self {
        Conn {
            addrs: [client, server],
            ..Conn::new(client_isn, server_isn)
        }
    }

    /// A segment with explicit numbers. The sequence state is not touched.
    fn raw(&mut self, from: Side, flags: u8, seq: u32, ack: u32, payload: &[u8]) {
        let (src, dst) = (self.addrs[from.idx()], self.addrs[from.peer().idx()]);
        let window = match flags {
            _ if self.next_window.is_some() => self.next_window.take().unwrap_or(WINDOW),
            f if f & RST != 0 => 0,
            f if f & SYN != 0 => SYN_WINDOW,
            _ => WINDOW,
        };
        let mut tcp = PacketBuilder::ethernet2(src.mac, dst.mac)
            .ipv4(src.ip, dst.ip, 64)
            .tcp(src.port, dst.port, seq, window);
        if flags & SYN != 0 {
            tcp = tcp
                .syn()
                .options(&[
                    TcpOptionElement::MaximumSegmentSize(1460),
                    TcpOptionElement::Noop,
                    TcpOptionElement::WindowScale(7),
                    TcpOptionElement::Noop,
                    TcpOptionElement::Noop,
                    TcpOptionElement::SelectiveAcknowledgementPermitted,
                ])
                .expect("SYN options fit");
        }
        if flags & FIN != 0 {
            tcp = tcp.fin();
        }
        if flags & RST != 0 {
            tcp = tcp.rst();
        }
        if flags & PSH != 0 {
            tcp = tcp.psh();
        }
        if flags & ACK != 0 {
            tcp = tcp.ack(ack);
        }
        let mut frame = Vec::with_capacity(tcp.size(payload.len()));
        tcp.write(&mut frame, payload).expect("write to a Vec");
        self.frames.push(frame);
    }

    /// A well-formed segment: seq = SND.NXT of `from`, ack (if ACK is set)
    /// = SND.NXT of the peer. Advances SND.NXT of `from` past the payload and
    /// any SYN or FIN.
    fn send(&mut self, from: Side, flags: u8, payload: &[u8]) -> &mut Self {
        let (seq, ack) = (self.nxt[from.idx()], self.nxt[from.peer().idx()]);
        self.raw(from, flags, seq, ack, payload);
        let len = payload.len() as u32 + u32::from(flags & SYN != 0) + u32::from(flags & FIN != 0);
        self.nxt[from.idx()] = seq.wrapping_add(len);
        self
    }

    /// An odd segment: seq and ack are off by `dseq` and `dack` from the
    /// values `send` would use (modulo 2^32), and SND.NXT does not advance,
    /// e.g. a retransmission (`dseq` -1 for a SYN or FIN) or a segment that
    /// acknowledges one less than it should (`dack` -1).
    fn odd(&mut self, from: Side, flags: u8, payload: &[u8], dseq: i32, dack: i32) -> &mut Self {
        let seq = self.nxt[from.idx()].wrapping_add_signed(dseq);
        let ack = self.nxt[from.peer().idx()].wrapping_add_signed(dack);
        self.raw(from, flags, seq, ack, payload);
        self
    }

    /// Advertise `window` in the next segment only.
    fn window(&mut self, window: u16) -> &mut Self {
        self.next_window = Some(window);
        self
    }

    /// SYN, SYN+ACK, ACK.
    fn handshake(&mut self) -> &mut Self {
        self.send(Client, SYN, b"")
            .send(Server, SYN | ACK, b"")
            .send(Client, ACK, b"")
    }

    /// Request, ACK, response, ACK.
    fn exchange(&mut self) -> &mut Self {
        self.send(Client, PSH | ACK, REQ)
            .send(Server, ACK, b"")
            .send(Server, PSH | ACK, RESP)
            .send(Client, ACK, b"")
    }

    /// Four-segment release, `first` closes first.
    fn close(&mut self, first: Side) -> &mut Self {
        let second = first.peer();
        self.send(first, FIN | ACK, b"")
            .send(second, ACK, b"")
            .send(second, FIN | ACK, b"")
            .send(first, ACK, b"")
    }

    /// The frames as a pcap file, 1 ms apart.
    fn pcap(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic, µs
        out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
        out.extend_from_slice(&4u16.to_le_bytes());
        out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
        out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
        out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
        out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        for (i, frame) in self.frames.iter().enumerate() {
            let ms = i as u32;
            let len = frame.len() as u32;
            out.extend_from_slice(&(START_SECS + ms / 1000).to_le_bytes());
            out.extend_from_slice(&((ms % 1000) * 1000).to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes()); // incl_len
            out.extend_from_slice(&len.to_le_bytes()); // orig_len
            out.extend_from_slice(frame);
        }
        out
    }
}

/// The SYN-ACK acknowledges x instead of x + 1 (x = 2^32 - 1, so x + 1
/// would wrap to 0). The client answers as RFC 9293 says for SYN-SENT with an
/// unacceptable ACK, <SEQ=SEG.ACK><CTL=RST>, and stays in SYN-SENT. Its
/// retransmitted SYN gets a correct SYN-ACK and the connection proceeds.
fn synack_bad_ack() -> Conn {
    let mut c = Conn::new(u32::MAX, 1_000_000_000);
    c.send(Client, SYN, b"")
        .odd(Server, SYN | ACK, b"", 0, -1)
        .odd(Client, RST, b"", -1, 0)
        .odd(Client, SYN, b"", -1, 0)
        .send(Server, SYN | ACK, b"")
        .send(Client, ACK, b"")
        .exchange()
        .close(Client);
    c
}

/// The third segment of the handshake acknowledges y instead of y + 1. The
/// server ignores it; the request (with the right ACK) completes the
/// handshake, then a normal exchange and release.
fn third_ack_bad_ack() -> Conn {
    let mut c = Conn::new(4_294_967_000, 2_000_000_000);
    c.send(Client, SYN, b"")
        .send(Server, SYN | ACK, b"")
        .odd(Client, ACK, b"", 0, -1)
        .exchange()
        .close(Client);
    c
}

/// The third segment of the handshake carries seq x (the SYN's own number)
/// instead of x + 1 (x = 2^32 - 1: x + 1 wraps to 0).
fn third_ack_bad_seq() -> Conn {
    let mut c = Conn::new(u32::MAX, 3_000_000_000);
    c.send(Client, SYN, b"")
        .send(Server, SYN | ACK, b"")
        .odd(Client, ACK, b"", -1, 0)
        .exchange()
        .close(Client);
    c
}

/// A SYN+FIN segment, answered by RST+ACK acknowledging both the SYN and the
/// FIN (x + 2), as a closed port does. (Linux drops SYN+FIN silently.)
fn syn_fin() -> Conn {
    let mut c = Conn::new(123_456_789, 0);
    c.send(Client, SYN | FIN, b"").send(Server, RST | ACK, b"");
    c
}

/// A single SYN+RST segment, not answered (a listener ignores RSTs).
fn syn_rst() -> Conn {
    let mut c = Conn::new(123_456_789, 0);
    c.odd(Client, SYN | RST, b"", 0, 0);
    c
}

/// The server acknowledges the client's FIN with u (the FIN's own sequence
/// number) instead of u + 1 and never acknowledges it: it even sends its own
/// FIN with ack = u. The client retransmits its FIN, then acknowledges the
/// server's FIN, so the client's FIN is left unacknowledged for good.
/// Server ISN 2^32 - 16: the server's numbers wrap during the response.
fn fin_not_acked() -> Conn {
    let mut c = Conn::new(1_111_111_111, 4_294_967_280);
    c.handshake()
        .exchange()
        .send(Client, FIN | ACK, b"")
        .odd(Server, ACK, b"", 0, -1)
        .odd(Client, FIN | ACK, b"", -1, 0)
        .odd(Server, FIN | ACK, b"", 0, -1)
        .odd(Client, ACK, b"", 0, 1);
    c
}

/// After its FIN (seq u), the client sends 10 bytes with seq u + 1. The
/// server (CLOSE-WAIT) does not accept them: its ACK stays at u + 1. Then it
/// closes normally.
fn data_after_fin() -> Conn {
    let mut c = Conn::new(2_222_222_222, 3_333_333_333);
    c.handshake()
        .exchange()
        .send(Client, FIN | ACK, b"")
        .send(Server, ACK, b"")
        .odd(Client, PSH | ACK, b"0123456789", 0, 0)
        .send(Server, ACK, b"")
        .send(Server, FIN | ACK, b"")
        .send(Client, ACK, b"");
    c
}

/// In the middle of an established connection the client sends a RST whose
/// seq is 10,000,000 beyond its SND.NXT (and beyond 2^32: it wraps), far
/// outside the server's window. The server ignores it (RFC 5961 3.2) and the
/// connection goes on and is released normally.
fn rst_out_of_window() -> Conn {
    let mut c = Conn::new(4_290_000_000, 1_234_567_890);
    c.handshake()
        .send(Client, PSH | ACK, REQ)
        .send(Server, ACK, b"")
        .odd(Client, RST | ACK, b"", 10_000_000, 0)
        .send(Server, PSH | ACK, RESP)
        .send(Client, ACK, b"")
        .close(Client);
    c
}

/// A complete connection (client closes first), then one more data segment
/// from the client on the same 4-tuple, without a new SYN, answered by
/// <SEQ=SEG.ACK><CTL=RST> from the server, which no longer knows it.
fn segments_after_close() -> Conn {
    let mut c = Conn::new(3_000_000_000, 1_500_000_000);
    c.handshake()
        .exchange()
        .close(Client)
        .send(Client, PSH | ACK, REQ)
        .odd(Server, RST, b"", 0, 0);
    c
}

/// A normal connection whose client ISN is 2^32 - 6: the SYN is at
/// 4294967290, the 100 bytes of data occupy 4294967291..=94 (wrapping), the
/// FIN is at 95 and its ACK is 96.
fn seq_wrap() -> Conn {
    let mut c = Conn::new(4_294_967_290, 500_000_000);
    let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    c.handshake()
        .send(Client, PSH | ACK, &data)
        .send(Server, ACK, b"")
        .send(Server, PSH | ACK, RESP)
        .send(Client, ACK, b"")
        .close(Client);
    c
}

/// The client's buffer fills: it advertises a zero window. The server then
/// probes with one byte at its next sequence number (the probe Wireshark
/// recognises; Linux probes with a zero-length segment at SND.UNA - 1
/// instead, see captures/zero_window.pcap). The client answers with a zero
/// window, later opens it (window update), and the server resends the byte.
fn zero_window_probe() -> Conn {
    let mut c = Conn::new(3_000_000_000, 4_294_967_000);
    c.handshake()
        .exchange()
        .send(Server, PSH | ACK, &[b'x'; 100])
        .window(0)
        .send(Client, ACK, b"")
        .odd(Server, ACK, b"y", 0, 0)
        .window(0)
        .send(Client, ACK, b"")
        .send(Client, ACK, b"")
        .send(Server, PSH | ACK, b"yz")
        .send(Client, ACK, b"")
        .close(Client);
    c
}

/// The course's Sniffer walkthrough (testdata/README.md), replicated: an FTP
/// client 76.88.16.104 and server 76.88.16.16 (port 21). Frame numbers are
/// the walkthrough's line numbers where it quotes them:
///
/// * frames 1–3, the three-way handshake on client port 1038: SYN
///   seq=1791872318; SYN+ACK seq=3880988084 ack=1791872318+1; ACK
///   ack=3880988084+1;
/// * frames 17–20, the release on client port 1028, **the server closing
///   first**: server FIN seq=1803774978; client ACK ack=1803774978+1; client
///   FIN+ACK seq=846902939 ack=1803774978+1; server ACK ack=846902939+1.
///
/// The walkthrough shows two client ports, so these are two FTP sessions in
/// one capture. Port 1028's handshake (frames 4–6) precedes its release; its
/// client sends QUIT, the server answers 221 and closes first. Port 1038 logs
/// in, then quits and the client closes first (frames 23–26). Real stacks set
/// ACK on every segment after the handshake, so the server's FIN of line 17
/// is a FIN+ACK here (the walkthrough names only its FIN flag).
fn seed_ftp() -> Conn {
    let host = |ip: [u8; 4], mac_last: u8, port: u16| Addr {
        mac: [0x02, 0, 0, 0x4c, 0x58, mac_last],
        ip,
        port,
    };
    let client = [76, 88, 16, 104];
    let server = host([76, 88, 16, 16], 0x10, 21);
    const BANNER: &[u8] = b"220 76.88.16.16 FTP server ready.\r\n";
    const BYE: &[u8] = b"221 Goodbye.\r\n";
    const QUIT: &[u8] = b"QUIT\r\n";
    // Port 1028: the client sends only QUIT, so its FIN is at ISN + 1 + 6;
    // the server sends the banner and 221, so its FIN is at ISN + 1 + both.
    let old_client_isn = 846_902_939 - 1 - QUIT.len() as u32;
    let old_server_isn = 1_803_774_978 - 1 - (BANNER.len() + BYE.len()) as u32;
    let mut ctl = Conn::between(
        1_791_872_318,
        3_880_988_084,
        host(client, 0x68, 1038),
        server,
    );
    let mut old = Conn::between(
        old_client_isn,
        old_server_isn,
        host(client, 0x68, 1028),
        server,
    );
    let mut out = Conn::new(0, 0);
    // Each step sends on one connection and moves the frame to `out`.
    let mut step = |c: &mut Conn, from: Side, flags: u8, payload: &[u8]| {
        c.send(from, flags, payload);
        out.frames
            .push(c.frames.pop().expect("a frame was just sent"));
    };
    step(&mut ctl, Client, SYN, b""); // 1
    step(&mut ctl, Server, SYN | ACK, b""); // 2
    step(&mut ctl, Client, ACK, b""); // 3
    step(&mut old, Client, SYN, b""); // 4
    step(&mut old, Server, SYN | ACK, b""); // 5
    step(&mut old, Client, ACK, b""); // 6
    step(&mut ctl, Server, PSH | ACK, BANNER); // 7
    step(&mut old, Server, PSH | ACK, BANNER); // 8
    step(&mut old, Client, PSH | ACK, QUIT); // 9
    step(&mut ctl, Client, PSH | ACK, b"USER anonymous\r\n"); // 10
    step(
        &mut ctl,
        Server,
        PSH | ACK,
        b"331 Guest login ok, send your e-mail address as password.\r\n",
    ); // 11
    step(&mut ctl, Client, PSH | ACK, b"PASS guest@\r\n"); // 12
    step(&mut ctl, Server, PSH | ACK, b"230 Guest login ok.\r\n"); // 13
    step(&mut ctl, Client, PSH | ACK, b"SYST\r\n"); // 14
    step(&mut ctl, Server, PSH | ACK, b"215 UNIX Type: L8\r\n"); // 15
    step(&mut old, Server, PSH | ACK, BYE); // 16
    step(&mut old, Server, FIN | ACK, b""); // 17: FIN seq=1803774978
    step(&mut old, Client, ACK, b""); // 18: ack=1803774979
    step(&mut old, Client, FIN | ACK, b""); // 19: FIN seq=846902939
    step(&mut old, Server, ACK, b""); // 20: ack=846902940
    step(&mut ctl, Client, PSH | ACK, QUIT); // 21
    step(&mut ctl, Server, PSH | ACK, BYE); // 22
    step(&mut ctl, Client, FIN | ACK, b""); // 23
    step(&mut ctl, Server, ACK, b""); // 24
    step(&mut ctl, Server, FIN | ACK, b""); // 25
    step(&mut ctl, Client, ACK, b""); // 26
    out
}

type Scenario = (&'static str, fn() -> Conn);

const SCENARIOS: &[Scenario] = &[
    ("synack_bad_ack", synack_bad_ack),
    ("third_ack_bad_ack", third_ack_bad_ack),
    ("third_ack_bad_seq", third_ack_bad_seq),
    ("syn_fin", syn_fin),
    ("syn_rst", syn_rst),
    ("fin_not_acked", fin_not_acked),
    ("data_after_fin", data_after_fin),
    ("rst_out_of_window", rst_out_of_window),
    ("segments_after_close", segments_after_close),
    ("seq_wrap", seq_wrap),
    ("zero_window_probe", zero_window_probe),
    ("seed_ftp", seed_ftp),
];

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("testdata/crafted"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    for (name, build) in SCENARIOS {
        let conn = build();
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, conn.pcap())?;
        let n = conn.frames.len();
        let plural = if n == 1 { "" } else { "s" };
        println!("{}: {n} frame{plural}", path.display());
    }
    Ok(())
}
