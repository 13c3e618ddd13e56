//! The catalog of checks: one entry per finding code, with its severity, a
//! one-line title, the rule it enforces and the same in Chinese. The
//! [`Check`] enum, [`Check::ALL`] and every text are generated from that one
//! list; `tcpstate rules`, `tcpstate explain CODE`, docs/rules.md and the
//! teaching views all print from it.

use serde::Serialize;
use std::fmt;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Notable but legal.
    Info,
    /// Suspicious or lossy behaviour.
    Warning,
    /// A protocol violation.
    Error,
}

impl Severity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One catalog entry.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Rule {
    pub code: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// What the rule is, why it matters, and where it comes from.
    pub explanation: &'static str,
    /// The title and a one-sentence reason in Chinese (`--lang zh`).
    #[serde(skip)]
    pub zh: Translation,
}

/// A check's words in a language other than the catalog's English.
#[derive(Debug, Clone, Copy)]
pub struct Translation {
    pub title: &'static str,
    /// Why the finding matters, in a sentence.
    pub why: &'static str,
}

/// Defines [`Check`] (one variant per entry, in catalog order),
/// [`Check::ALL`] and the table [`Check::rule`] reads, from one list.
macro_rules! catalog {
    ($(
        $check:ident {
            code: $code:literal,
            severity: $severity:ident,
            title: $title:literal,
            explanation: $explanation:literal,
            zh_title: $zh_title:literal,
            zh_why: $zh_why:literal $(,)?
        }
    )*) => {
        /// Every check tcpstate makes.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Check {
            $(
                #[doc = $title]
                $check,
            )*
        }

        /// The entries, indexed by [`Check`] (variants count from 0 in order).
        const CATALOG: [Rule; [$($code),*].len()] = [$(
            Rule {
                code: $code,
                severity: Severity::$severity,
                title: $title,
                explanation: $explanation,
                zh: Translation {
                    title: $zh_title,
                    why: $zh_why,
                },
            },
        )*];

        impl Check {
            /// Every check, in catalog order.
            pub const ALL: [Check; CATALOG.len()] = [$(Check::$check),*];
        }
    };
}

catalog! {
    SynAckBadAck {
        code: "HS001",
        severity: Error,
        title: "SYN-ACK does not acknowledge the client's ISN + 1",
        explanation: "The second step of the three-way handshake must acknowledge the client's \
            SYN: a SYN occupies one sequence number, so the SYN-ACK carries ack = client ISN + 1 \
            (in the notation of docs/notation.md: SYN seq=x; SYN-ACK ack=x+1). Any other value \
            means the server answered a different SYN (an old duplicate, a spoofed or corrupted \
            segment); the client must reply with a RST and keep waiting (RFC 9293 §3.5, \
            §3.10.7.3).",
        zh_title: "SYN+ACK 的确认号不是客户端初始序号 + 1",
        zh_why: "第二次握手必须确认客户端的 SYN：SYN 占用一个序号，所以 ack 应为 x + 1。",
    }
    ThirdAckBadAck {
        code: "HS002",
        severity: Error,
        title: "Third ACK does not acknowledge the server's ISN + 1",
        explanation: "The third step of the handshake acknowledges the server's SYN: ack = server \
            ISN + 1 (docs/notation.md: ACK ack=y+1). Without it the server cannot know its SYN \
            arrived, which is why the handshake needs three segments; a server in SYN-RECEIVED \
            answers an unacceptable ACK with a RST (RFC 9293 §3.5, §3.10.7.4).",
        zh_title: "第三次握手的确认号不是服务器初始序号 + 1",
        zh_why: "第三次握手必须确认服务器的 SYN：ack 应为 y + 1。",
    }
    ThirdAckBadSeq {
        code: "HS003",
        severity: Error,
        title: "Third ACK's sequence number is not the client's ISN + 1",
        explanation: "After its SYN (which consumed sequence number x) the client's next segment \
            starts at seq = x + 1 (docs/notation.md: ACK seq=x+1). Another value means the client \
            and the capture disagree about the client's own sequence space (RFC 9293 §3.4, \
            §3.5).",
        zh_title: "第三次握手的序号不是客户端初始序号 + 1",
        zh_why: "客户端的 SYN 已经占用了序号 x，所以第三次握手的 seq 应为 x + 1。",
    }
    SynFin {
        code: "HS004",
        severity: Error,
        title: "SYN combined with FIN",
        explanation: "A segment that both opens (SYN) and closes (FIN) a connection is \
            meaningless and is a classic scanner and evasion trick (nmap's SYN/FIN probes); \
            stacks and middleboxes treat it inconsistently. Zeek records it as 'Q' in the \
            history.",
        zh_title: "SYN 与 FIN 同时置位",
        zh_why: "建立连接和释放连接不能在同一个报文段里：SYN+FIN 是非法组合，常见于端口扫描。",
    }
    SynRst {
        code: "HS005",
        severity: Error,
        title: "SYN combined with RST",
        explanation: "A segment that both opens (SYN) and resets (RST) a connection is \
            contradictory; no conforming stack sends it (RFC 9293 §3.5.2 says when to send a \
            RST, and never with SYN). Zeek records it as 'Q'.",
        zh_title: "SYN 与 RST 同时置位",
        zh_why: "SYN+RST 是非法组合，接收方应当丢弃它。",
    }
    SynRetransmitted {
        code: "HS006",
        severity: Warning,
        title: "SYN retransmitted",
        explanation: "The client sent its SYN more than once: the SYN or the SYN-ACK was lost, or \
            the server is slow or overloaded (full SYN backlog). Retransmissions follow an \
            exponential back-off (1 s, 2 s, 4 s … on Linux; RFC 6298 §5), so each loss costs \
            seconds of connect time.",
        zh_title: "SYN 重传",
        zh_why: "客户端没有按时收到 SYN+ACK，超时后重发 SYN，重传间隔按指数退避。",
    }
    SynAckRetransmitted {
        code: "HS007",
        severity: Warning,
        title: "SYN-ACK retransmitted",
        explanation: "The server sent its SYN-ACK more than once: the SYN-ACK or the client's \
            third ACK was lost, or the client retransmitted its SYN. While it waits, the server \
            holds the connection in SYN-RECEIVED, in its half-open queue (the backlog that SYN \
            floods fill: RFC 4987).",
        zh_title: "SYN+ACK 重传",
        zh_why: "服务器没有按时收到第三次握手的 ACK（或客户端重发了 SYN），于是重传 SYN+ACK。",
    }
    SynData {
        code: "HS008",
        severity: Info,
        title: "Data on a SYN (TCP Fast Open)",
        explanation: "The SYN carries payload. RFC 9293 allows data on a SYN, but it is only \
            delivered after the handshake completes, unless both ends use TCP Fast Open with a \
            cookie (RFC 7413), which saves one round trip. An ordinary first SYN carries none: a \
            SYN from a spoofed address would make the server hold data for nobody (RFC 7413).",
        zh_title: "SYN 携带数据（TCP 快速打开）",
        zh_why: "普通的 SYN 不携带数据；TCP 快速打开（TFO）允许 SYN 携带数据，省去一个往返时间。",
    }
    Refused {
        code: "HS009",
        severity: Warning,
        title: "Connection refused: SYN answered by RST",
        explanation: "Nothing listened on the server port: a CLOSED port answers a SYN with \
            RST,ACK acknowledging ISN + 1 (RFC 9293 §3.5.2, §3.10.7.1), and the client's \
            connect() fails with 'connection refused'. Zeek's conn_state REJ.",
        zh_title: "连接被拒绝：RST 回答了 SYN",
        zh_why: "目标端口上没有进程监听，服务器用 RST 拒绝了连接请求。",
    }
    SynUnanswered {
        code: "HS010",
        severity: Warning,
        title: "SYN never answered",
        explanation: "The client's SYNs got no answer at all: a firewall dropped them, the host is \
            down, or the answers took another path. The client retransmits with back-off and \
            finally gives up (connect timeout). Zeek's conn_state S0.",
        zh_title: "SYN 始终没有应答",
        zh_why: "SYN 没有得到任何回答：可能被防火墙丢弃，或者主机不可达。",
    }
    HandshakeIncomplete {
        code: "HS011",
        severity: Warning,
        title: "Handshake never completed",
        explanation: "A SYN-ACK was sent but the client's final ACK never appeared: the \
            connection stays half-open on the server (SYN-RECEIVED) until the server gives up. \
            Lost ACKs, a client that vanished, or SYN-flood traffic (RFC 4987) look like this.",
        zh_title: "三次握手没有完成",
        zh_why: "看到了 SYN+ACK，却始终没有看到第三次握手的 ACK：\
            服务器停留在 SYN-RECEIVED（半连接）状态。",
    }
    SimultaneousOpen {
        code: "HS012",
        severity: Info,
        title: "Simultaneous open",
        explanation: "Both ends sent a SYN before receiving the other's: each goes SYN-SENT → \
            SYN-RECEIVED → ESTABLISHED and answers with a SYN-ACK that repeats its own ISN \
            (RFC 9293 §3.5, figure 7). Legal but rare outside NAT traversal.",
        zh_title: "同时打开",
        zh_why: "双方同时发出 SYN，各自经过 SYN-SENT → SYN-RECEIVED → ESTABLISHED。",
    }
    HandshakeNotCaptured {
        code: "HS013",
        severity: Info,
        title: "Handshake not captured",
        explanation: "The capture began after the connection was established, so ISNs, the \
            handshake and window scaling are unknown; relative numbers start at 1 as in \
            Wireshark, and states start as ESTABLISHED by assumption.",
        zh_title: "没有捕获到三次握手",
        zh_why: "抓包开始时连接已经建立，初始序号和窗口扩大因子都无从得知。",
    }
    FinNotAcked {
        code: "RL001",
        severity: Error,
        title: "FIN not acknowledged: the peer acknowledges u instead of u + 1",
        explanation: "A FIN occupies one sequence number: its acknowledgement is ack = u + 1 \
            (docs/notation.md: FIN seq=u; ACK ack=u+1). The peer went on with the release, \
            sending its own FIN, while still acknowledging only u, so the FIN's sender can never \
            leave FIN-WAIT-1 and keeps retransmitting its FIN (RFC 9293 §3.6).",
        zh_title: "FIN 没有得到确认：对方确认的是 u 而不是 u + 1",
        zh_why: "FIN 占用一个序号，对它的确认必须是 ack = u + 1。",
    }
    DataAfterFin {
        code: "RL002",
        severity: Error,
        title: "Data sent after the sender's own FIN",
        explanation: "A FIN means 'no more data from me' (RFC 9293 §3.6); its sequence number is \
            the last of the stream. Payload beyond it is a protocol violation that the receiver \
            must drop.",
        zh_title: "发送方在自己的 FIN 之后又发送了数据",
        zh_why: "发出 FIN 就表示这个方向不再有数据，之后再发送数据违反协议。",
    }
    FinRetransmitted {
        code: "RL003",
        severity: Warning,
        title: "FIN retransmitted",
        explanation: "The FIN was sent more than once: it or its acknowledgement was lost, so the \
            release takes at least one retransmission timeout longer (RFC 6298).",
        zh_title: "FIN 重传",
        zh_why: "FIN 没有按时得到确认，于是超时重传。",
    }
    FinalAckMissing {
        code: "RL004",
        severity: Warning,
        title: "Final ACK of the release missing",
        explanation: "Both sides sent their FIN but one FIN was never acknowledged in the \
            capture: the last ACK of the four-way release was lost or not captured. The side \
            that sent the unacknowledged FIN stays in LAST-ACK (or CLOSING) and retransmits it \
            until it gives up.",
        zh_title: "释放连接的最后一个 ACK 缺失",
        zh_why: "没有捕获到第四次挥手的 ACK：被动关闭方会停留在 LAST-ACK 状态并重传 FIN。",
    }
    HalfClosedAtEnd {
        code: "RL005",
        severity: Warning,
        title: "Connection left half-closed",
        explanation: "One side sent its FIN and the other never closed before the capture ended: \
            a half-closed connection (半关闭, RFC 9293 §3.6.1). The FIN's sender waits in \
            FIN-WAIT-2, the other side sits in CLOSE-WAIT; an application that never calls \
            close() leaks such connections.",
        zh_title: "连接停留在半关闭状态",
        zh_why: "只有一方发送了 FIN，另一方直到抓包结束都没有关闭。",
    }
    RstAbort {
        code: "RL006",
        severity: Warning,
        title: "Connection aborted by RST",
        explanation: "The connection ended with a RST instead of the FIN exchange: an abortive \
            close (SO_LINGER 0, closing with unread data, a crash, or a middlebox). Data in \
            flight is lost and no TIME-WAIT protects the connection's sequence space (RFC 9293 \
            §3.5.2, §3.6).",
        zh_title: "连接被 RST 终止",
        zh_why: "RST 立即终止连接，不经过四次挥手，尚未送达的数据会丢失。",
    }
    RstOutOfWindow {
        code: "RL007",
        severity: Warning,
        title: "RST outside the receive window",
        explanation: "A RST is acceptable only if its sequence number lies in the receiver's \
            window (RFC 9293 §3.10.7.4, RFC 5961 §3); this one did not, so the receiver ignored \
            it. Blind RST injection attempts and stale RSTs look like this.",
        zh_title: "RST 不在接收窗口内",
        zh_why: "序号不在接收窗口内的 RST 会被接收方忽略（RFC 5961），连接继续。",
    }
    SegmentsAfterClose {
        code: "RL008",
        severity: Warning,
        title: "Segments after the connection closed",
        explanation: "Segments arrived after both sides had finished (CLOSED or TIME-WAIT, or \
            reset). Late retransmissions and stray segments are what TIME-WAIT guards against: \
            it keeps the 4-tuple reserved for 2·MSL so that old segments cannot corrupt a new \
            connection (RFC 9293 §3.6.1).",
        zh_title: "连接关闭之后还有报文段",
        zh_why: "连接已经关闭，之后又出现了报文段；接收方通常用 RST 回答。",
    }
    TimeWait {
        code: "RL009",
        severity: Info,
        title: "TIME-WAIT: this side waits 2·MSL",
        explanation: "The active closer ends in TIME-WAIT and keeps the 4-tuple for 2·MSL \
            (RFC 9293 §3.6.1; 60 s on Linux) so that a lost final ACK can be repeated and old \
            duplicates die out. Servers that close first accumulate TIME-WAIT sockets.",
        zh_title: "TIME-WAIT：本端等待 2MSL",
        zh_why: "主动关闭方发出最后一个 ACK 后进入 TIME-WAIT 状态，等待 2MSL，\
            在此期间这对地址和端口不能用于新的连接。",
    }
    SimultaneousClose {
        code: "RL010",
        severity: Info,
        title: "Simultaneous close",
        explanation: "Both ends sent a FIN before receiving the other's: both go FIN-WAIT-1 → \
            CLOSING → TIME-WAIT (RFC 9293 §3.6, figure 13). Legal, and both sides then wait \
            2·MSL.",
        zh_title: "同时关闭",
        zh_why: "双方的 FIN 交错而过，各自经过 FIN-WAIT-1 → CLOSING → TIME-WAIT。",
    }
    Retransmission {
        code: "DT001",
        severity: Warning,
        title: "Retransmission",
        explanation: "A segment repeats sequence space already sent (as Wireshark's \
            tcp.analysis.retransmission, fast_retransmission or spurious_retransmission): a \
            loss, a timeout or a needless resend. Each retransmission timeout stalls the \
            connection (RFC 6298, RFC 5681 §3.2).",
        zh_title: "重传",
        zh_why: "报文段没有按时得到确认，于是再次发送。",
    }
    OutOfOrder {
        code: "DT002",
        severity: Warning,
        title: "Out-of-order segment",
        explanation: "A segment arrived with a lower sequence number than one already seen, \
            shortly after it (Wireshark's tcp.analysis.out_of_order): reordering on the path, or \
            a retransmission seen very quickly.",
        zh_title: "乱序",
        zh_why: "报文段比序号在它之后的报文段到得还晚。",
    }
    LostSegment {
        code: "DT003",
        severity: Warning,
        title: "Previous segment not captured",
        explanation: "The sequence number jumped past data never seen (Wireshark's \
            tcp.analysis.lost_segment): the segment was lost before the capture point or the \
            capture dropped it.",
        zh_title: "前一报文段未捕获",
        zh_why: "序号出现了空缺：有报文段丢失，或者抓包时漏掉了。",
    }
    AckedUnseen {
        code: "DT004",
        severity: Warning,
        title: "ACKed segment that was not captured",
        explanation: "An acknowledgement covers data the capture never showed (Wireshark's \
            tcp.analysis.ack_lost_segment): the capture missed packets, typically because of \
            capture drops or asymmetric routing.",
        zh_title: "确认了未捕获的报文段",
        zh_why: "ACK 确认了抓包中没有出现过的数据：抓包漏掉了报文段。",
    }
    DupAck {
        code: "DT005",
        severity: Warning,
        title: "Duplicate ACK",
        explanation: "The same acknowledgement was repeated with nothing new (Wireshark's \
            tcp.analysis.duplicate_ack): the receiver got a segment beyond a hole. Three \
            duplicates trigger fast retransmit (RFC 5681 §3.2).",
        zh_title: "重复确认",
        zh_why: "接收方重复发送相同的确认号，说明它在等待一个缺失的报文段。",
    }
    ZeroWindow {
        code: "DT006",
        severity: Warning,
        title: "Zero window",
        explanation: "A receiver advertised a window of 0 (Wireshark's \
            tcp.analysis.zero_window): its buffer is full because the application is not \
            reading, and the sender must stop and probe (RFC 9293 §3.8.6.1).",
        zh_title: "零窗口",
        zh_why: "接收方通告的窗口为 0：它的接收缓存满了，发送方必须暂停发送。",
    }
    ZeroWindowProbe {
        code: "DT007",
        severity: Info,
        title: "Zero-window probe",
        explanation: "The sender probed a zero window with one byte (Wireshark's \
            tcp.analysis.zero_window_probe), as RFC 9293 §3.8.6.1 requires, to learn when the \
            window opens again.",
        zh_title: "零窗口探测",
        zh_why: "对方窗口为 0 时，发送方发出探测报文段，询问窗口是否已经打开。",
    }
    KeepAlive {
        code: "DT008",
        severity: Info,
        title: "Keep-alive",
        explanation: "An idle connection was probed with a segment carrying seq = next − 1 and 0 \
            or 1 byte (Wireshark's tcp.analysis.keep_alive; RFC 1122 §4.2.3.6); the peer answers \
            with an ACK if it is still there.",
        zh_title: "保活（keep-alive）",
        zh_why: "连接空闲时发送的保活探测，用来检查对方是否还在。",
    }
    WindowFull {
        code: "DT009",
        severity: Warning,
        title: "Window full",
        explanation: "The segment filled the receiver's advertised window exactly (Wireshark's \
            tcp.analysis.window_full): the sender is limited by the receiver, not by the \
            network.",
        zh_title: "窗口已满",
        zh_why: "发送方已经发满了对方通告的窗口，必须等待确认。",
    }
    IcmpUnreachable {
        code: "IC001",
        severity: Warning,
        title: "ICMP destination unreachable",
        explanation: "A router (or the destination host) answered one of the connection's \
            segments with an ICMP destination unreachable (IPv4 type 3: net, host, protocol or \
            port unreachable and the rarer codes; ICMPv6 type 1: no route, address or port \
            unreachable…) that quotes the segment's IP header and ports: the segment was not \
            delivered. The finding names the reporting address, the type and code and the quoted \
            segment. A SYN answered so gets the handshake status `unreachable`. TCP treats net, \
            host and source-route failures as soft errors that need not abort the connection, \
            protocol and port unreachable as hard ones (RFC 1122 §4.2.3.9, RFC 5461); Linux \
            aborts a connection still in SYN-SENT on any of them ('no route to host', \
            'connection refused').",
        zh_title: "ICMP 目的不可达",
        zh_why: "路由器或目的主机用 ICMP 目的不可达回答了这个连接的报文：报文没有送达。",
    }
    IcmpAdminProhibited {
        code: "IC002",
        severity: Warning,
        title: "ICMP administratively prohibited: rejected by a filter",
        explanation: "A filter on the path rejected the segment and said so with ICMP \
            destination unreachable, 'communication administratively prohibited' (IPv4 type 3 \
            code 13, or codes 9 and 10; RFC 1812 §5.2.7.1) or ICMPv6 type 1 code 1 (and the \
            policy codes 5 and 6, RFC 4443 §3.1): nftables' `reject with icmp type \
            admin-prohibited`. Unlike a silent drop the client learns at once; unlike a RST it \
            comes from the filtering router, whose address the finding names, not from the \
            server.",
        zh_title: "ICMP 管理性禁止：被过滤规则拒绝",
        zh_why: "路径上的防火墙拒绝了这个报文，并用 ICMP “管理性禁止”告知发送方，报告者是那台路由器而不是服务器。",
    }
    IcmpPacketTooBig {
        code: "IC003",
        severity: Info,
        title: "ICMP fragmentation needed / packet too big",
        explanation: "A router could not forward a packet larger than its next hop's MTU: IPv4 \
            'fragmentation needed and DF set' (type 3 code 4) with the next-hop MTU (RFC 1191), \
            or ICMPv6 'packet too big' (type 2) with the MTU (RFC 8201). Path MTU discovery: the \
            sender lowers its packet size and resends. The finding names the router, the MTU and \
            the quoted segment with its size. When these messages are filtered on the way back, \
            full-size segments vanish while the handshake works: the classic path-MTU black hole \
            (RFC 2923).",
        zh_title: "ICMP 需要分片 / 报文过大",
        zh_why: "报文超过了下一跳的 MTU，路由器用 ICMP 告知 MTU，发送方应当减小报文长度（路径 MTU 发现）。",
    }
    IcmpTimeExceeded {
        code: "IC004",
        severity: Warning,
        title: "ICMP time exceeded: TTL or hop limit expired in transit",
        explanation: "A router dropped the segment because its TTL (IPv4) or hop limit (IPv6) \
            reached zero (ICMP type 11 code 0, ICMPv6 type 3 code 0; RFC 792, RFC 4443 §3.3), \
            or a fragmented datagram was not reassembled in time (code 1). A routing loop, or a \
            sender whose TTL is too small for the path; the finding names the router and the \
            TTL the quoted packet arrived with.",
        zh_title: "ICMP 超时：TTL 或跳数限制在途中耗尽",
        zh_why: "报文的 TTL（跳数限制）在途中降到零被路由器丢弃：可能是路由环路，或发送方的 TTL 太小。",
    }
    IcmpOther {
        code: "IC005",
        severity: Info,
        title: "Other ICMP error about the connection",
        explanation: "An ICMP redirect (IPv4 type 5: use another gateway, which the finding \
            names), parameter problem (IPv4 type 12, ICMPv6 type 4: a header field the receiver \
            could not process) or source quench (IPv4 type 4, deprecated by RFC 6633) quoting \
            one of the connection's segments.",
        zh_title: "关于该连接的其他 ICMP 差错",
        zh_why: "ICMP 重定向、参数问题或源抑制报文引用了这个连接的报文。",
    }
}

impl Check {
    /// Looks a check up by its code, case-insensitively.
    pub fn from_code(code: &str) -> Option<Check> {
        Check::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(code))
    }

    pub const fn code(self) -> &'static str {
        self.rule().code
    }

    pub const fn severity(self) -> Severity {
        self.rule().severity
    }

    /// The check's catalog entry.
    pub const fn rule(self) -> Rule {
        CATALOG[self as usize]
    }
}

/// A check shows as its code: `HS001`.
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_found_by_code() {
        let mut codes: Vec<&str> = Check::ALL.iter().map(|c| c.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Check::ALL.len());
        for c in Check::ALL {
            assert_eq!(Check::from_code(c.code()), Some(c));
            assert_eq!(Check::from_code(&c.code().to_lowercase()), Some(c));
        }
        assert_eq!(Check::from_code("XX999"), None);
    }

    #[test]
    fn all_lists_every_variant_in_table_order() {
        for (i, c) in Check::ALL.into_iter().enumerate() {
            assert_eq!(c as usize, i);
        }
        assert!(Check::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn every_entry_is_written_out_in_both_languages() {
        for c in Check::ALL {
            let r = c.rule();
            let texts = [r.title, r.explanation, r.zh.title, r.zh.why];
            assert!(texts.iter().all(|t| !t.trim().is_empty()), "{}", r.code);
            assert!(r.zh.why.ends_with('。'), "{}", r.code);
        }
    }

    #[test]
    fn explanations_cite_no_material_outside_the_project() {
        for c in Check::ALL {
            let e = c.rule().explanation.to_lowercase();
            assert!(!e.contains("seed"), "{}: {e}", c.code());
        }
    }
}
