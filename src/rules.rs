//! The catalog of checks: one entry per finding code, with its severity, a
//! one-line title and the rule it enforces. `tcpstate rules`, `tcpstate
//! explain CODE` and docs/rules.md all print from this table.

use serde::Serialize;
use std::fmt;

/// How much a finding matters. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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

/// Every check tcpstate makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    SynAckBadAck,
    ThirdAckBadAck,
    ThirdAckBadSeq,
    SynFin,
    SynRst,
    SynRetransmitted,
    SynAckRetransmitted,
    SynData,
    Refused,
    SynUnanswered,
    HandshakeIncomplete,
    SimultaneousOpen,
    HandshakeNotCaptured,
    FinNotAcked,
    DataAfterFin,
    FinRetransmitted,
    FinalAckMissing,
    HalfClosedAtEnd,
    RstAbort,
    RstOutOfWindow,
    SegmentsAfterClose,
    TimeWait,
    SimultaneousClose,
    Retransmission,
    OutOfOrder,
    LostSegment,
    AckedUnseen,
    DupAck,
    ZeroWindow,
    ZeroWindowProbe,
    KeepAlive,
    WindowFull,
}

/// A check shows as its code: `HS001`.
impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
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
}

impl Check {
    pub const ALL: [Check; 32] = [
        Check::SynAckBadAck,
        Check::ThirdAckBadAck,
        Check::ThirdAckBadSeq,
        Check::SynFin,
        Check::SynRst,
        Check::SynRetransmitted,
        Check::SynAckRetransmitted,
        Check::SynData,
        Check::Refused,
        Check::SynUnanswered,
        Check::HandshakeIncomplete,
        Check::SimultaneousOpen,
        Check::HandshakeNotCaptured,
        Check::FinNotAcked,
        Check::DataAfterFin,
        Check::FinRetransmitted,
        Check::FinalAckMissing,
        Check::HalfClosedAtEnd,
        Check::RstAbort,
        Check::RstOutOfWindow,
        Check::SegmentsAfterClose,
        Check::TimeWait,
        Check::SimultaneousClose,
        Check::Retransmission,
        Check::OutOfOrder,
        Check::LostSegment,
        Check::AckedUnseen,
        Check::DupAck,
        Check::ZeroWindow,
        Check::ZeroWindowProbe,
        Check::KeepAlive,
        Check::WindowFull,
    ];

    /// Looks a check up by its code, case-insensitively.
    pub fn from_code(code: &str) -> Option<Check> {
        Check::ALL
            .into_iter()
            .find(|c| c.rule().code.eq_ignore_ascii_case(code))
    }

    pub fn code(self) -> &'static str {
        self.rule().code
    }

    pub fn severity(self) -> Severity {
        self.rule().severity
    }

    pub const fn rule(self) -> Rule {
        use Severity::*;
        let (code, severity, title, explanation) = match self {
            Check::SynAckBadAck => ("HS001", Error, "SYN-ACK does not acknowledge the client's ISN + 1",
                "The second step of the three-way handshake must acknowledge the client's SYN: a SYN \
                 occupies one sequence number, so the SYN-ACK carries ack = client ISN + 1 (seeds' notation: \
                 SYN seq=x; SYN-ACK ack=x+1). Any other value means the server answered a different SYN \
                 (an old duplicate, a spoofed or corrupted segment); the client must reply with a RST and \
                 keep waiting (RFC 9293 §3.5, §3.10.7.3)."),
            Check::ThirdAckBadAck => ("HS002", Error, "Third ACK does not acknowledge the server's ISN + 1",
                "The third step of the handshake acknowledges the server's SYN: ack = server ISN + 1 (seeds: \
                 ACK ack=y+1). Without it the server cannot know its SYN arrived, which is why the \
                 handshake needs three segments; a server in SYN-RECEIVED answers an unacceptable ACK \
                 with a RST (RFC 9293 §3.5, §3.10.7.4)."),
            Check::ThirdAckBadSeq => ("HS003", Error, "Third ACK's sequence number is not the client's ISN + 1",
                "After its SYN (which consumed sequence number x) the client's next segment starts at \
                 seq = x + 1 (seeds: ACK seq=x+1). Another value means the client and the capture disagree \
                 about the client's own sequence space (RFC 9293 §3.4, §3.5)."),
            Check::SynFin => ("HS004", Error, "SYN combined with FIN",
                "A segment that both opens (SYN) and closes (FIN) a connection is meaningless and is a \
                 classic scanner and evasion trick (nmap's SYN/FIN probes); stacks and middleboxes \
                 treat it inconsistently. Zeek records it as 'Q' in the history."),
            Check::SynRst => ("HS005", Error, "SYN combined with RST",
                "A segment that both opens (SYN) and resets (RST) a connection is contradictory; no \
                 conforming stack sends it (RFC 9293 §3.5.2 says when to send a RST, and never with SYN). \
                 Zeek records it as 'Q'."),
            Check::SynRetransmitted => ("HS006", Warning, "SYN retransmitted",
                "The client sent its SYN more than once: the SYN or the SYN-ACK was lost, or the server is \
                 slow or overloaded (full SYN backlog). Retransmissions follow an exponential back-off \
                 (1 s, 2 s, 4 s … on Linux; RFC 6298 §5), so each loss costs seconds of connect time."),
            Check::SynAckRetransmitted => ("HS007", Warning, "SYN-ACK retransmitted",
                "The server sent its SYN-ACK more than once: the SYN-ACK or the client's third ACK was \
                 lost, or the client retransmitted its SYN. While it waits, the server holds the \
                 connection in SYN-RECEIVED, in its half-open queue (seeds 002: the backlog and SYN \
                 floods)."),
            Check::SynData => ("HS008", Info, "Data on a SYN (TCP Fast Open)",
                "The SYN carries payload. RFC 9293 allows data on a SYN, but it is only delivered after \
                 the handshake completes, unless both ends use TCP Fast Open with a cookie (RFC 7413), \
                 which saves one round trip. Seeds 002 explain why an ordinary first SYN carries no data."),
            Check::Refused => ("HS009", Warning, "Connection refused: SYN answered by RST",
                "Nothing listened on the server port: a CLOSED port answers a SYN with RST,ACK acknowledging \
                 ISN + 1 (RFC 9293 §3.5.2, §3.10.7.1), and the client's connect() fails with 'connection \
                 refused'. Zeek's conn_state REJ."),
            Check::SynUnanswered => ("HS010", Warning, "SYN never answered",
                "The client's SYNs got no answer at all: a firewall dropped them, the host is down, or the \
                 answers took another path. The client retransmits with back-off and finally gives up \
                 (connect timeout). Zeek's conn_state S0."),
            Check::HandshakeIncomplete => ("HS011", Warning, "Handshake never completed",
                "A SYN-ACK was sent but the client's final ACK never appeared: the connection stays \
                 half-open on the server (SYN-RECEIVED) until the server gives up. Lost ACKs, a client \
                 that vanished, or SYN-flood traffic (seeds 002) look like this."),
            Check::SimultaneousOpen => ("HS012", Info, "Simultaneous open",
                "Both ends sent a SYN before receiving the other's: each goes SYN-SENT → SYN-RECEIVED → \
                 ESTABLISHED and answers with a SYN-ACK that repeats its own ISN (RFC 9293 §3.5, figure 7). \
                 Legal but rare outside NAT traversal."),
            Check::HandshakeNotCaptured => ("HS013", Info, "Handshake not captured",
                "The capture began after the connection was established, so ISNs, the handshake and \
                 window scaling are unknown; relative numbers start at 1 as in Wireshark, and states \
                 start as ESTABLISHED by assumption."),
            Check::FinNotAcked => ("RL001", Error, "FIN not acknowledged: the peer acknowledges u instead of u + 1",
                "A FIN occupies one sequence number: its acknowledgement is ack = u + 1 (seeds: FIN seq=u; \
                 ACK ack=u+1). The peer went on with the release, sending its own FIN, while still \
                 acknowledging only u, so the FIN's sender can never leave FIN-WAIT-1 and keeps \
                 retransmitting its FIN (RFC 9293 §3.6)."),
            Check::DataAfterFin => ("RL002", Error, "Data sent after the sender's own FIN",
                "A FIN means 'no more data from me' (RFC 9293 §3.6); its sequence number is the last of \
                 the stream. Payload beyond it is a protocol violation that the receiver must drop."),
            Check::FinRetransmitted => ("RL003", Warning, "FIN retransmitted",
                "The FIN was sent more than once: it or its acknowledgement was lost, so the release takes \
                 at least one retransmission timeout longer (RFC 6298)."),
            Check::FinalAckMissing => ("RL004", Warning, "Final ACK of the release missing",
                "Both sides sent their FIN but one FIN was never acknowledged in the capture: the last ACK \
                 of the four-way release was lost or not captured. The side that sent the \
                 unacknowledged FIN stays in LAST-ACK (or CLOSING) and retransmits it until it gives up."),
            Check::HalfClosedAtEnd => ("RL005", Warning, "Connection left half-closed",
                "One side sent its FIN and the other never closed before the capture ended: a half-closed \
                 connection (seeds: 半关闭). The FIN's sender waits in FIN-WAIT-2, the other side sits in \
                 CLOSE-WAIT; an application that never calls close() leaks such connections."),
            Check::RstAbort => ("RL006", Warning, "Connection aborted by RST",
                "The connection ended with a RST instead of the FIN exchange: an abortive close \
                 (SO_LINGER 0, closing with unread data, a crash, or a middlebox). Data in flight is lost \
                 and no TIME-WAIT protects the connection's sequence space (RFC 9293 §3.5.2, §3.6)."),
            Check::RstOutOfWindow => ("RL007", Warning, "RST outside the receive window",
                "A RST is acceptable only if its sequence number lies in the receiver's window (RFC 9293 \
                 §3.10.7.4, RFC 5961 §3); this one did not, so the receiver ignored it. Blind RST injection \
                 attempts and stale RSTs look like this."),
            Check::SegmentsAfterClose => ("RL008", Warning, "Segments after the connection closed",
                "Segments arrived after both sides had finished (CLOSED or TIME-WAIT, or reset). Late \
                 retransmissions and stray segments are what TIME-WAIT guards against: it keeps the 4-tuple \
                 reserved for 2·MSL so that old segments cannot corrupt a new connection (seeds 001, 003)."),
            Check::TimeWait => ("RL009", Info, "TIME-WAIT: this side waits 2·MSL",
                "The active closer ends in TIME-WAIT and keeps the 4-tuple for 2·MSL (RFC 9293 §3.6.1; 60 s \
                 on Linux) so that a lost final ACK can be repeated and old duplicates die out. Servers that \
                 close first accumulate TIME-WAIT sockets."),
            Check::SimultaneousClose => ("RL010", Info, "Simultaneous close",
                "Both ends sent a FIN before receiving the other's: both go FIN-WAIT-1 → CLOSING → TIME-WAIT \
                 (RFC 9293 §3.6, figure 13). Legal, and both sides then wait 2·MSL."),
            Check::Retransmission => ("DT001", Warning, "Retransmission",
                "A segment repeats sequence space already sent (as Wireshark's tcp.analysis.retransmission, \
                 fast_retransmission or spurious_retransmission): a loss, a timeout or a needless resend. \
                 Each retransmission timeout stalls the connection (RFC 6298, RFC 5681 §3.2)."),
            Check::OutOfOrder => ("DT002", Warning, "Out-of-order segment",
                "A segment arrived with a lower sequence number than one already seen, shortly after it \
                 (Wireshark's tcp.analysis.out_of_order): reordering on the path, or a retransmission \
                 seen very quickly."),
            Check::LostSegment => ("DT003", Warning, "Previous segment not captured",
                "The sequence number jumped past data never seen (Wireshark's tcp.analysis.lost_segment): \
                 the segment was lost before the capture point or the capture dropped it."),
            Check::AckedUnseen => ("DT004", Warning, "ACKed segment that was not captured",
                "An acknowledgement covers data the capture never showed (Wireshark's \
                 tcp.analysis.ack_lost_segment): the capture missed packets, typically because of capture \
                 drops or asymmetric routing."),
            Check::DupAck => ("DT005", Warning, "Duplicate ACK",
                "The same acknowledgement was repeated with nothing new (Wireshark's \
                 tcp.analysis.duplicate_ack): the receiver got a segment beyond a hole. Three duplicates \
                 trigger fast retransmit (RFC 5681 §3.2)."),
            Check::ZeroWindow => ("DT006", Warning, "Zero window",
                "A receiver advertised a window of 0 (Wireshark's tcp.analysis.zero_window): its buffer is \
                 full because the application is not reading, and the sender must stop and probe (RFC 9293 \
                 §3.8.6.1)."),
            Check::ZeroWindowProbe => ("DT007", Info, "Zero-window probe",
                "The sender probed a zero window with one byte (Wireshark's tcp.analysis.zero_window_probe), \
                 as RFC 9293 §3.8.6.1 requires, to learn when the window opens again."),
            Check::KeepAlive => ("DT008", Info, "Keep-alive",
                "An idle connection was probed with a segment carrying seq = next − 1 and 0 or 1 byte \
                 (Wireshark's tcp.analysis.keep_alive; RFC 1122 §4.2.3.6); the peer answers with an ACK if it \
                 is still there."),
            Check::WindowFull => ("DT009", Warning, "Window full",
                "The segment filled the receiver's advertised window exactly (Wireshark's \
                 tcp.analysis.window_full): the sender is limited by the receiver, not by the network."),
        };
        Rule {
            code,
            severity,
            title,
            explanation,
        }
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
}
