//! Every word of the teaching views, in English and Chinese.
//!
//! The Chinese follows the seed texts' terminology: 三次握手, 四次挥手,
//! 半关闭, 序号 (seq), 确认号 (ack), 初始序号 ISN, 客户端/服务器, 主动关闭/被动关闭,
//! TIME-WAIT 等待 2MSL. State names keep their RFC 9293 spelling
//! (SYN-SENT, FIN-WAIT-1 …) in both languages, as in the seeds.
//!
//! Nothing here lays text out: the renderers place and colour it.

use super::{AckNote, Collapsed, Control, Facts, Numbers, PhaseKind, Seg, Step};
use crate::capture::CaptureFormat;
use crate::classify::{HandshakeStatus, Initiator, TeardownStatus};
use crate::report::{CaptureReport, ConnectionReport, FindingReport};
use crate::rules::{Check, Severity};
use crate::state::{Side, State};

/// The language of the teaching views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    Zh,
}

/// The first variable that is set and not empty, in order.
fn first_set<'a>(vars: &[Option<&'a str>]) -> Option<&'a str> {
    vars.iter().flatten().copied().find(|v| !v.is_empty())
}

impl Lang {
    /// The language of the locale: the first of `LC_ALL`, `LC_MESSAGES` and
    /// `LANG` that is set and not empty; `zh…` gives Chinese, anything else
    /// (or nothing) English.
    pub fn from_locale(
        lc_all: Option<&str>,
        lc_messages: Option<&str>,
        lang: Option<&str>,
    ) -> Lang {
        match first_set(&[lc_all, lc_messages, lang]) {
            Some(v) if v.to_ascii_lowercase().starts_with("zh") => Lang::Zh,
            _ => Lang::En,
        }
    }
}

/// Whether the locale's character set is UTF-8: the first of `LC_ALL`,
/// `LC_CTYPE` and `LANG` that is set and not empty decides (`…UTF-8` or
/// `…utf8`, any case). When none is set, UTF-8 is assumed: that is what
/// terminals use today, and an unset locale usually means a bare container
/// or CI job rather than a terminal that cannot show it.
pub fn locale_is_utf8(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    match first_set(&[lc_all, lc_ctype, lang]) {
        None => true,
        Some(v) => {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        }
    }
}

/// The words, in one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text {
    pub lang: Lang,
}

fn initiator_side(i: Option<Initiator>) -> Option<Side> {
    match i {
        Some(Initiator::Client) => Some(Side::Client),
        Some(Initiator::Server) => Some(Side::Server),
        _ => None,
    }
}

impl Text {
    pub fn new(lang: Lang) -> Text {
        Text { lang }
    }

    fn zh(&self) -> bool {
        self.lang == Lang::Zh
    }

    pub fn side(&self, side: Side) -> &'static str {
        match (self.lang, side) {
            (Lang::En, Side::Client) => "client",
            (Lang::En, Side::Server) => "server",
            (Lang::Zh, Side::Client) => "客户端",
            (Lang::Zh, Side::Server) => "服务器",
        }
    }

    /// "client" or "the client" in a sentence; Chinese needs no article.
    fn the(&self, side: Side) -> String {
        if self.zh() {
            self.side(side).to_string()
        } else {
            format!("the {}", self.side(side))
        }
    }

    /// `line 17` / `第17行`: the seeds number the capture's lines (frames).
    pub fn line(&self, frame: u64) -> String {
        if self.zh() {
            format!("第{frame}行")
        } else {
            format!("line {frame}")
        }
    }

    pub fn frame(&self, frame: u64) -> String {
        if self.zh() {
            format!("帧 {frame}")
        } else {
            format!("frame {frame}")
        }
    }

    pub fn capture_header(&self, c: &CaptureReport, file: &str) -> String {
        let format = match c.format {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        };
        if self.zh() {
            format!(
                "{file}（{format}）：{} 帧，{} 个 TCP 报文段，{} 个连接",
                c.frames, c.tcp_segments, c.connections
            )
        } else {
            format!(
                "{file} ({format}): {} frames, {} TCP segments, {} connection{}",
                c.frames,
                c.tcp_segments,
                c.connections,
                if c.connections == 1 { "" } else { "s" }
            )
        }
    }

    /// `connection 2: client A → server B`.
    pub fn connection_title(&self, id: u64, client: &str, server: &str, arrow: &str) -> String {
        if self.zh() {
            format!("连接 {id}：客户端 {client} {arrow} 服务器 {server}")
        } else {
            format!("connection {id}: client {client} {arrow} server {server}")
        }
    }

    pub fn connection(&self, id: u64) -> String {
        if self.zh() {
            format!("连接 {id}")
        } else {
            format!("connection {id}")
        }
    }

    /// The ISNs, and which numbers are shown.
    pub fn isn_line(&self, conn: &ConnectionReport, facts: &Facts, numbers: Numbers) -> String {
        let (c, s) = (conn.client.isn, conn.server.isn);
        if c.is_none() && s.is_none() {
            return if self.zh() {
                "初始序号 ISN：未知（没有捕获到三次握手）".into()
            } else {
                "ISN: unknown (the handshake was not captured)".into()
            };
        }
        let part = |side: Side, v: Option<u32>| match (v, self.zh()) {
            (Some(v), _) => format!("{} {v}", self.side(side)),
            (None, true) => format!("{}未发送 SYN", self.side(side)),
            (None, false) => format!("{} none (sent no SYN)", self.side(side)),
        };
        let show = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        let (fc, fs) = (
            part(Side::Client, facts.isn[0]),
            part(Side::Server, facts.isn[1]),
        );
        match (self.lang, numbers) {
            (Lang::En, Numbers::Absolute) => {
                format!("ISN: {fc}, {fs} · absolute numbers (--relative: relative to each ISN)")
            }
            (Lang::En, Numbers::Relative) => format!(
                "ISN: {fc}, {fs} (relative numbers; absolute ISN: client {}, server {})",
                show(c),
                show(s)
            ),
            (Lang::Zh, Numbers::Absolute) => {
                format!("初始序号 ISN：{fc}，{fs} · 绝对序号（--relative 显示相对序号）")
            }
            (Lang::Zh, Numbers::Relative) => format!(
                "初始序号 ISN：{fc}，{fs}（相对序号；绝对值：客户端 {}，服务器 {}）",
                show(c),
                show(s)
            ),
        }
    }

    /// One sentence on what the states mean (narration only).
    pub fn states_caveat(&self) -> &'static str {
        if self.zh() {
            "说明：每一方的状态是从抓包位置推断出来的——根据它发出了什么，以及它的确认号表明它已经收到了什么。"
        } else {
            "Note: each side's state is inferred as seen at the capture point, from what it sent and what its acknowledgements show it has received."
        }
    }

    pub fn phase(&self, kind: PhaseKind) -> String {
        let zh = self.zh();
        match kind {
            PhaseKind::Opening(status) => match (status, zh) {
                (HandshakeStatus::Simultaneous, false) => "simultaneous open".into(),
                (HandshakeStatus::Simultaneous, true) => "同时打开".into(),
                (HandshakeStatus::Refused, false) => {
                    "opening refused: the SYN is answered by RST".into()
                }
                (HandshakeStatus::Refused, true) => "连接被拒绝：SYN 被 RST 回答".into(),
                (HandshakeStatus::Unanswered, false) => "opening: the SYN is never answered".into(),
                (HandshakeStatus::Unanswered, true) => "建立连接：SYN 始终没有应答".into(),
                (HandshakeStatus::Incomplete, false) => {
                    "three-way handshake, never completed".into()
                }
                (HandshakeStatus::Incomplete, true) => "三次握手（没有完成）".into(),
                (_, false) => "three-way handshake".into(),
                (_, true) => "三次握手".into(),
            },
            PhaseKind::NotCaptured => if zh {
                "没有捕获到三次握手：抓包开始时连接已经建立"
            } else {
                "handshake not captured: the capture begins mid-connection"
            }
            .into(),
            PhaseKind::Data => if zh { "数据传输" } else { "data transfer" }.into(),
            PhaseKind::Release {
                status,
                initiator,
                combined,
            } => {
                let who = initiator_side(initiator)
                    .map(|s| self.side(s))
                    .unwrap_or("");
                match (status, zh) {
                    (TeardownStatus::Graceful, false) if combined => {
                        format!("four-way release in three segments — the {who} closes first")
                    }
                    (TeardownStatus::Graceful, true) if combined => {
                        format!("四次挥手（只用了三个报文段）：{who}先关闭")
                    }
                    (TeardownStatus::Graceful, false) => {
                        format!("four-way release — the {who} closes first")
                    }
                    (TeardownStatus::Graceful, true) => format!("四次挥手：{who}先关闭"),
                    (TeardownStatus::Simultaneous, false) => {
                        "simultaneous close — the FINs cross".into()
                    }
                    (TeardownStatus::Simultaneous, true) => "同时关闭：双方的 FIN 交错而过".into(),
                    (TeardownStatus::Reset, false) => {
                        format!("reset — the {who} aborts the connection with RST")
                    }
                    (TeardownStatus::Reset, true) => format!("复位：{who}用 RST 终止连接"),
                    (TeardownStatus::HalfClosed, false) => {
                        format!("half-close — only the {who} sent FIN")
                    }
                    (TeardownStatus::HalfClosed, true) => {
                        format!("半关闭：只有{who}发送了 FIN")
                    }
                    (TeardownStatus::Incomplete, false) => {
                        format!("four-way release, final ACK not captured — the {who} closes first")
                    }
                    (TeardownStatus::Incomplete, true) => {
                        format!("四次挥手（没有捕获到最后的 ACK）：{who}先关闭")
                    }
                    (TeardownStatus::None, false) => "release".into(),
                    (TeardownStatus::None, true) => "释放连接".into(),
                }
            }
        }
    }

    /// The step's name: "handshake 1 of 3" / "第一次握手".
    pub fn step(&self, step: Step) -> String {
        const NTH: [&str; 5] = ["", "一", "二", "三", "四"];
        let zh = self.zh();
        match step {
            Step::Handshake(n) if zh => format!("第{}次握手", NTH[usize::from(n.min(4))]),
            Step::Handshake(n) => format!("handshake {n} of 3"),
            Step::Release(n) if zh => format!("第{}次挥手", NTH[usize::from(n.min(4))]),
            Step::Release(n) => format!("release {n} of 4"),
            Step::ReleaseCombined if zh => "第二、三次挥手合并".into(),
            Step::ReleaseCombined => "release 2+3 of 4".into(),
            Step::SynAgain if zh => "SYN 重传".into(),
            Step::SynAgain => "SYN again".into(),
            Step::SynAckAgain if zh => "SYN+ACK 重传".into(),
            Step::SynAckAgain => "SYN+ACK again".into(),
            Step::SimOpenSyn if zh => "同时打开：SYN".into(),
            Step::SimOpenSyn => "simultaneous SYN".into(),
            Step::SimOpenSynAck if zh => "同时打开：SYN+ACK".into(),
            Step::SimOpenSynAck => "simultaneous SYN+ACK".into(),
            Step::SimOpenAck if zh => "同时打开：ACK".into(),
            Step::SimOpenAck => "ACK of the SYN+ACK".into(),
            Step::Refused if zh => "拒绝连接".into(),
            Step::Refused => "refused".into(),
            Step::SimCloseFin { .. } if zh => "同时关闭：FIN".into(),
            Step::SimCloseFin { .. } => "simultaneous FIN".into(),
            Step::SimCloseAck if zh => "同时关闭：ACK".into(),
            Step::SimCloseAck => "ACK of the FIN".into(),
            Step::FinAgain if zh => "FIN 重传".into(),
            Step::FinAgain => "FIN again".into(),
            Step::Reset if zh => "复位 RST".into(),
            Step::Reset => "reset".into(),
            Step::HalfCloseData if zh => "半关闭期间的数据".into(),
            Step::HalfCloseData => "half-close data".into(),
        }
    }

    /// The arithmetic behind an ack: "(= client ISN 1791872318 + 1)".
    pub fn ack_note(&self, note: &AckNote) -> String {
        let who = self.side(note.of);
        let what = match (note.control, self.zh()) {
            (Control::Syn, _) => format!("{who} ISN {}", note.base),
            (Control::Fin, false) => format!("{who} FIN seq {}", note.base),
            (Control::Fin, true) => format!("{who} FIN 的序号 {}", note.base),
        };
        if note.ok {
            format!("(= {what} + 1)")
        } else if self.zh() {
            format!("(应为 {what} + 1 = {})", note.expected())
        } else {
            format!("(expected {what} + 1 = {})", note.expected())
        }
    }

    /// A Wireshark analysis flag, for people.
    pub fn analysis(&self, name: &str) -> String {
        let (en, zh) = match name {
            "retransmission" => ("retransmission", "重传"),
            "fast_retransmission" => ("fast retransmission", "快速重传"),
            "spurious_retransmission" => ("spurious retransmission", "虚假重传"),
            "out_of_order" => ("out-of-order", "乱序"),
            "lost_segment" => ("previous segment not captured", "前一报文段未捕获"),
            "ack_lost_segment" => ("ACKed unseen segment", "确认了未捕获的报文段"),
            "duplicate_ack" => ("duplicate ACK", "重复确认"),
            "zero_window" => ("zero window", "零窗口"),
            "zero_window_probe" => ("zero-window probe", "零窗口探测"),
            "zero_window_probe_ack" => ("zero-window probe ACK", "零窗口探测的确认"),
            "keep_alive" => ("keep-alive", "保活"),
            "keep_alive_ack" => ("keep-alive ACK", "保活的确认"),
            "window_update" => ("window update", "窗口更新"),
            "window_full" => ("window full", "窗口已满"),
            other => (other, other),
        };
        if self.zh() { zh } else { en }.to_string()
    }

    /// The summary of segments left out.
    pub fn collapsed(&self, c: &Collapsed) -> String {
        let span = c.last_time - c.first_time;
        let flags: Vec<String> = c
            .analysis
            .iter()
            .map(|(name, n)| format!("{} ×{n}", self.analysis(name)))
            .collect();
        if self.zh() {
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("；其中 {}", flags.join("，"))
            };
            format!(
                "…… 省略 {} 个报文段（第{}–{}行，{span:.3} 秒）：客户端 → 服务器 {} 个、{} 字节；服务器 → 客户端 {} 个、{} 字节{flags}（--full 显示全部）",
                c.total(),
                c.first_frame,
                c.last_frame,
                c.segments[0],
                c.bytes[0],
                c.segments[1],
                c.bytes[1]
            )
        } else {
            let flags = if flags.is_empty() {
                String::new()
            } else {
                format!("; {}", flags.join(", "))
            };
            format!(
                "… {} segments not shown (lines {}–{}, {span:.3} s): client → server {} segments, {} bytes; server → client {} segments, {} bytes{flags} (--full shows them)",
                c.total(),
                c.first_frame,
                c.last_frame,
                c.segments[0],
                c.bytes[0],
                c.segments[1],
                c.bytes[1]
            )
        }
    }

    /// The short form for the ladder: "⋮ 9996 segments, lines 4–9999".
    pub fn collapsed_short(&self, c: &Collapsed) -> String {
        if self.zh() {
            format!(
                "省略 {} 个报文段（第{}–{}行）",
                c.total(),
                c.first_frame,
                c.last_frame
            )
        } else {
            format!(
                "{} segments not shown (lines {}–{})",
                c.total(),
                c.first_frame,
                c.last_frame
            )
        }
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        match (s, self.zh()) {
            (Severity::Error, false) => "error",
            (Severity::Warning, false) => "warning",
            (Severity::Info, false) => "info",
            (Severity::Error, true) => "错误",
            (Severity::Warning, true) => "警告",
            (Severity::Info, true) => "提示",
        }
    }

    /// A finding in one line: code, severity, title, and what happened (the
    /// message names frames and numbers; in Chinese the frames are listed).
    pub fn finding(&self, f: &FindingReport) -> String {
        let times = match (f.count > 1, self.zh()) {
            (false, _) => String::new(),
            (true, false) => format!(" (×{})", f.count),
            (true, true) => format!("（×{}）", f.count),
        };
        if self.zh() {
            let frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
            let frames = if frames.is_empty() {
                String::new()
            } else {
                format!("（第{}行）", frames.join("、"))
            };
            format!(
                "{}（{}）{}{times}{frames}",
                f.code,
                self.severity(f.severity),
                self.finding_title(f)
            )
        } else {
            format!(
                "{} ({}) {}{times} — {}",
                f.code,
                self.severity(f.severity),
                f.title,
                f.message
            )
        }
    }

    /// The finding's title in this language.
    pub fn finding_title(&self, f: &FindingReport) -> String {
        if self.zh() {
            finding_title_zh(f.code).unwrap_or(f.title).to_string()
        } else {
            f.title.to_string()
        }
    }

    /// Why the finding matters (narration only).
    pub fn finding_why(&self, f: &FindingReport) -> Option<String> {
        if self.zh() {
            finding_why_zh(f.code).map(str::to_string)
        } else {
            let rule = Check::from_code(f.code)?.rule();
            let first = rule
                .explanation
                .split(". ")
                .next()
                .unwrap_or(rule.explanation);
            Some(format!("{}.", first.trim_end_matches('.')))
        }
    }

    fn handshake_status(&self, s: HandshakeStatus) -> &'static str {
        if !self.zh() {
            return s.as_str();
        }
        match s {
            HandshakeStatus::Complete => "三次握手完成",
            HandshakeStatus::Simultaneous => "同时打开",
            HandshakeStatus::Refused => "连接被拒绝",
            HandshakeStatus::Unanswered => "SYN 没有应答",
            HandshakeStatus::Incomplete => "三次握手没有完成",
            HandshakeStatus::Missing => "没有捕获到三次握手",
        }
    }

    fn teardown_status(&self, s: TeardownStatus) -> &'static str {
        if !self.zh() {
            return match s {
                TeardownStatus::HalfClosed => "half-closed",
                other => other.as_str(),
            };
        }
        match s {
            TeardownStatus::Graceful => "四次挥手正常完成",
            TeardownStatus::Simultaneous => "同时关闭",
            TeardownStatus::Reset => "被 RST 终止",
            TeardownStatus::HalfClosed => "半关闭",
            TeardownStatus::Incomplete => "四次挥手没有完成",
            TeardownStatus::None => "没有释放连接",
        }
    }

    /// The last line: how the connection was opened and closed, and where
    /// each side ended.
    pub fn result(&self, conn: &ConnectionReport) -> String {
        let hs = self.handshake_status(conn.handshake.status);
        let td = self.teardown_status(conn.teardown.status);
        let who = match initiator_side(conn.teardown.initiator) {
            Some(s) if self.zh() => format!("，{}先关闭", self.side(s)),
            Some(s) => format!(", the {} first", self.side(s)),
            None => String::new(),
        };
        let end = |side: Side, state: State| {
            let wait = match (state, self.zh()) {
                (State::TimeWait, false) => " (waits 2·MSL)",
                (State::TimeWait, true) => "（等待 2MSL）",
                _ => "",
            };
            format!("{} {state}{wait}", self.side(side))
        };
        let (c, s) = (
            end(Side::Client, conn.client.final_state),
            end(Side::Server, conn.server.final_state),
        );
        if self.zh() {
            format!("结果：{hs} · {td}{who} · 最终状态：{c}，{s}")
        } else {
            format!("result: handshake {hs} · release {td}{who} · final states: {c}, {s}")
        }
    }

    /// A phase's opening sentence (narration only).
    pub fn phase_narration(&self, kind: PhaseKind) -> Option<&'static str> {
        let zh = self.zh();
        match kind {
            PhaseKind::NotCaptured => Some(if zh {
                "抓包开始时连接已经建立：三次握手没有被捕获，所以初始序号未知；双方都被视为处于 ESTABLISHED 状态，相对序号从看到的第一个报文段算起。"
            } else {
                "The capture begins in the middle of the connection: the handshake was not captured, so the ISNs are unknown; both sides are taken to be ESTABLISHED, and relative numbers count from the first segment seen."
            }),
            PhaseKind::Data => Some(if zh {
                "数据传输：序号 seq 给发送的每个字节编号，确认号 ack 表示期待收到的下一个字节的序号，也就是确认了它之前的所有字节。"
            } else {
                "Data transfer: seq numbers every byte a side sends, and ack names the next byte a side expects, acknowledging everything before it."
            }),
            _ => None,
        }
    }

    /// What a step means, why it is needed and what each side now knows.
    pub fn narration(
        &self,
        seg: &Seg<'_>,
        facts: &Facts,
        conn: &ConnectionReport,
    ) -> Option<String> {
        let step = seg.step?;
        let s = seg.from;
        let o = s.peer();
        let (me, other) = (self.the(s), self.the(o));
        let zh = self.zh();
        let num = |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        let plus1 =
            |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.wrapping_add(1).to_string());
        let ack = num(seg.ack);
        let seq = seg.seq.to_string();
        let x = facts.isn(Side::Client);
        let y = facts.isn(Side::Server);
        let ack_ok = seg.note.is_none_or(|n| n.ok);
        let text = match step {
            Step::Handshake(1) => {
                if zh {
                    format!("第一次握手：客户端请求建立连接，发出 SYN 报文段，选择初始序号 x = {seq}。SYN 报文段不携带数据，但要消耗掉一个序号，所以客户端发送的第一个数据字节的序号将是 x + 1。客户端进入 SYN-SENT 状态，等待服务器的应答。")
                } else {
                    format!("Handshake 1 of 3: the client asks to open a connection. Its SYN carries its initial sequence number x = {seq}. A SYN carries no data but consumes one sequence number, so the client's first data byte will be numbered x + 1. The client is now in SYN-SENT, waiting for an answer.")
                }
            }
            Step::Handshake(2) => {
                let ack_part = match (ack_ok, zh) {
                    (true, true) => format!("确认号 ack = x + 1 = {ack}，意思是“你的 SYN 我收到了，下面期待你序号为 x + 1 的数据”"),
                    (false, true) => format!("确认号 ack = {ack}——但它应当是 x + 1 = {}", plus1(x)),
                    (true, false) => format!("ACK with ack = x + 1 = {ack}, which says \"I received your SYN; the next number I expect from you is x + 1\""),
                    (false, false) => format!("ACK with ack = {ack} — but it should be x + 1 = {}", plus1(x)),
                };
                if zh {
                    format!("第二次握手：服务器同意建立连接，回复 SYN+ACK 报文段，一举两得：SYN 带上服务器自己的初始序号 y = {seq}；{ack_part}。服务器进入 SYN-RECEIVED 状态。客户端收到它就知道自己的 SYN 已经送达，而服务器还不知道自己的 SYN 能否送达。")
                } else {
                    format!("Handshake 2 of 3: the server agrees. Its SYN+ACK does two things at once: SYN with its own initial sequence number y = {seq}, and {ack_part}. The server is now in SYN-RECEIVED. When the client receives this it knows its SYN arrived; the server does not know yet whether its own SYN will.")
                }
            }
            Step::Handshake(_) => {
                let ack_part = match (ack_ok, zh) {
                    (true, true) => format!("ack = y + 1 = {ack}"),
                    (false, true) => format!("ack = {ack}——但它应当是 y + 1 = {}", plus1(y)),
                    (true, false) => format!("ack = y + 1 = {ack}"),
                    (false, false) => {
                        format!("ack = {ack} — but it should be y + 1 = {}", plus1(y))
                    }
                };
                if zh {
                    format!("第三次握手：客户端对服务器的 SYN 进行确认：seq = x + 1 = {seq}，{ack_part}。至此双方都进入 ESTABLISHED 状态：彼此都知道对方的 SYN 已经收到，两个方向都是通的。为什么还要第三次握手：如果没有它，一个在网络中滞留已久的旧 SYN 到达服务器后，服务器就会以为客户端又要建立连接，从而白白等待、浪费资源；客户端的这次确认证明连接请求是当前有效的。")
                } else {
                    format!("Handshake 3 of 3: the client acknowledges the server's SYN: seq = x + 1 = {seq}, {ack_part}. Both sides are now ESTABLISHED: each knows that the other's SYN arrived and that both directions work. Why a third segment: without it, an old duplicate SYN still wandering in the network could make the server open a connection the client never asked for, and wait on it in vain; the client's ACK proves the request is current.")
                }
            }
            Step::SynAgain => {
                if zh {
                    format!("{me}再次发送 SYN，初始序号不变：在超时时间内没有收到应答，于是超时重传（每次等待的时间加倍）。")
                } else {
                    format!("{} sends its SYN again, with the same ISN: no answer came back in time, so its retransmission timer fired (the wait doubles each time).", cap(&me))
                }
            }
            Step::SynAckAgain => {
                if zh {
                    format!("{me}再次发送 SYN+ACK：它的 SYN 还没有得到确认（{other}的 ACK 没有按时到达，或{other}重发了 SYN），这是半连接状态下 SYN+ACK 的重传。")
                } else {
                    format!("{} sends its SYN+ACK again: its SYN has not been acknowledged yet ({other}'s ACK did not arrive in time, or {other} repeated its SYN).", cap(&me))
                }
            }
            Step::SimOpenSyn => {
                if zh {
                    format!("同时打开：{me}主动发出 SYN，初始序号为 {seq}，进入 SYN-SENT 状态。另一方也在做同样的事，双方都没有在 LISTEN 状态等待。")
                } else {
                    format!("Simultaneous open: {me} actively sends a SYN with ISN {seq} and enters SYN-SENT. The other side does the same; neither is a listening server.")
                }
            }
            Step::SimOpenSynAck => {
                if zh {
                    format!("{me}在 SYN-SENT 状态下收到了对方的 SYN，于是回复 SYN+ACK：再次发出自己的 SYN（seq = 自己的初始序号 {seq}），同时确认对方的 SYN（ack = 对方初始序号 + 1 = {ack}），进入 SYN-RECEIVED 状态。哪一方的 SYN 得到确认，哪一方就进入 ESTABLISHED。")
                } else {
                    format!("{} received the other side's SYN while in SYN-SENT, so it answers with SYN+ACK: its own SYN again (seq = its ISN {seq}) and the acknowledgement of the other's SYN (ack = the other's ISN + 1 = {ack}). It enters SYN-RECEIVED; each side becomes ESTABLISHED once its own SYN is acknowledged.", cap(&me))
                }
            }
            Step::SimOpenAck => {
                if zh {
                    format!("{me}确认对方的 SYN+ACK（ack = {ack}）：同时打开完成，双方都处于 ESTABLISHED 状态。同时打开用了四个报文段（两个 SYN、两个 SYN+ACK），而不是三个。")
                } else {
                    format!("{} acknowledges the other side's SYN+ACK (ack = {ack}): the simultaneous open is complete and both sides are ESTABLISHED. It took two SYNs and two SYN+ACKs instead of three segments.", cap(&me))
                }
            }
            Step::Refused => {
                let port = conn.server.port;
                if zh {
                    format!("{me}用 RST 回答 SYN：端口 {port} 上没有进程在监听。这个 RST 确认了 SYN（ack = x + 1 = {ack}），客户端才会接受它；客户端放弃连接，回到 CLOSED 状态，应用程序得到“连接被拒绝”（connection refused）。没有握手，也就没有挥手。")
                } else {
                    format!("{} answers the SYN with RST: nothing listens on port {port}. The RST acknowledges the SYN (ack = x + 1 = {ack}), which is what makes the client accept it; the client gives up and is CLOSED, and its application sees \"connection refused\". No handshake, so no release either.", cap(&me))
                }
            }
            Step::Release(1) => {
                let u = num(facts.fin(s));
                if zh {
                    format!("第一次挥手：{me}没有数据要发送了，发出 FIN 报文段，关闭自己这个方向的连接，序号 seq = u = {u}。和 SYN 一样，FIN 也要消耗一个序号，这样它才能被确认（ack = u + 1），丢失了也能重传。{me}是主动关闭方，进入 FIN-WAIT-1 状态。")
                } else {
                    format!("Release 1 of 4: {me} has no more data to send and closes its direction with a FIN, seq = u = {u}. Like a SYN, a FIN consumes one sequence number, so that it can be acknowledged (ack = u + 1) and retransmitted if lost. {} is the active closer and enters FIN-WAIT-1.", cap(&me))
                }
            }
            Step::Release(2) => {
                let data = seg.p.len > 0;
                if zh {
                    let rides = if data {
                        "这个确认是随数据报文段一起发出的。"
                    } else {
                        ""
                    };
                    format!("第二次挥手：{me}确认收到 FIN：ack = u + 1 = {ack}。{me}是被动关闭方，进入 CLOSE-WAIT 状态；{other}的 FIN 得到确认，进入 FIN-WAIT-2 状态。{rides}此时连接处于半关闭状态：{other}不再发送数据，但{me}仍然可以发送，{other}仍要接收。")
                } else {
                    let rides = if data {
                        " This ACK rides on a data segment."
                    } else {
                        ""
                    };
                    format!("Release 2 of 4: {me} acknowledges the FIN: ack = u + 1 = {ack}. {} is the passive closer and enters CLOSE-WAIT; {other}, seeing its FIN acknowledged, enters FIN-WAIT-2.{rides} The connection is now half-closed: {other} will send no more data, but {me} still may, and {other} still receives.", cap(&me))
                }
            }
            Step::Release(3) => {
                let u1 = plus1(facts.fin(o));
                let ack_part = match (ack == u1, zh) {
                    (true, true) => format!("确认号仍为 ack = u + 1 = {ack}"),
                    (false, true) => format!("ack = {ack}"),
                    (true, false) => format!("still ack = u + 1 = {ack}"),
                    (false, false) => format!("ack = {ack}"),
                };
                let w = num(facts.fin(s));
                if zh {
                    format!("第三次挥手：{me}也没有数据要发送了，发出自己的 FIN：seq = w = {w}，{ack_part}。{me}进入 LAST-ACK 状态，等待最后的确认。")
                } else {
                    format!("Release 3 of 4: {me} has finished too and sends its own FIN: seq = w = {w}, {ack_part}. It enters LAST-ACK and waits for the last acknowledgement.")
                }
            }
            Step::Release(_) => {
                if zh {
                    format!("第四次挥手：{me}确认{other}的 FIN：ack = w + 1 = {ack}。{other}收到后进入 CLOSED 状态。{me}是主动关闭方，进入 TIME-WAIT 状态，要等待 2MSL（报文段最大生存时间的两倍）才进入 CLOSED：万一这最后一个 ACK 丢失，{other}会重传 FIN，{me}必须还在，才能再次确认；等待也让本连接的旧报文段在网络中消失，以免干扰之后使用同一对地址和端口的新连接。")
                } else {
                    format!("Release 4 of 4: {me} acknowledges that FIN: ack = w + 1 = {ack}. {} receives it and is CLOSED. {}, the active closer, enters TIME-WAIT and waits 2·MSL (twice the maximum segment lifetime) before CLOSED: if this last ACK is lost, {other} retransmits its FIN and {me} must still be there to acknowledge it again; the wait also lets old duplicate segments of this connection die out before the same pair of addresses and ports can be used again.", cap(&other), cap(&me))
                }
            }
            Step::ReleaseCombined => {
                let w = num(facts.fin(s));
                if zh {
                    format!("第二、三次挥手合并为一个报文段：{me}确认 FIN（ack = u + 1 = {ack}），并且因为已经没有数据要发送，在同一个报文段里发出自己的 FIN（seq = w = {w}）。{me}经过 CLOSE-WAIT 直接进入 LAST-ACK 状态。所以这次释放只用了三个报文段，而不是四个。")
                } else {
                    format!("Release steps 2 and 3 in one segment: {me} acknowledges the FIN (ack = u + 1 = {ack}) and, having nothing left to send, sends its own FIN in the same segment (seq = w = {w}). It passes through CLOSE-WAIT straight to LAST-ACK. That is why this release takes three segments instead of four.")
                }
            }
            Step::SimCloseFin { first: true } => {
                let fin = num(facts.fin(s));
                if zh {
                    format!("{me}发出 FIN 关闭自己的方向，seq = {fin}，进入 FIN-WAIT-1 状态。")
                } else {
                    format!(
                        "{} closes its direction: FIN, seq = {fin}; it enters FIN-WAIT-1.",
                        cap(&me)
                    )
                }
            }
            Step::SimCloseFin { first: false } => {
                let fin = num(facts.fin(s));
                if zh {
                    format!("{me}在收到对方的 FIN 之前也发出了自己的 FIN（seq = {fin}）：两个 FIN 在网络中交错而过。这就是同时关闭：双方都会在 FIN-WAIT-1 状态下收到对方的 FIN，进入 CLOSING 状态，等自己的 FIN 得到确认后，双方都进入 TIME-WAIT。")
                } else {
                    format!("{} sends its own FIN (seq = {fin}) before the other side's FIN has reached it: the two FINs cross. This is a simultaneous close: each side receives a FIN while still in FIN-WAIT-1 and goes to CLOSING; once its own FIN is acknowledged, each enters TIME-WAIT — both are active closers.", cap(&me))
                }
            }
            Step::SimCloseAck => {
                if zh {
                    format!("{me}确认{other}的 FIN：ack = {other} FIN 的序号 + 1 = {ack}。")
                } else {
                    format!(
                        "{} acknowledges {other}'s FIN: ack = its FIN's seq + 1 = {ack}.",
                        cap(&me)
                    )
                }
            }
            Step::FinAgain => {
                if zh {
                    format!("{me}重传 FIN：它没有按时得到确认。")
                } else {
                    format!(
                        "{} sends its FIN again: it was not acknowledged in time.",
                        cap(&me)
                    )
                }
            }
            Step::Reset => {
                if zh {
                    format!("{me}用 RST 终止连接。与 FIN 不同，RST 不需要确认，也不等待任何东西：接受它的一方立即释放连接（CLOSED，没有 TIME-WAIT），尚未送达的数据会丢失。")
                } else {
                    format!("{} aborts the connection with RST. Unlike a FIN, a RST waits for nothing and is not acknowledged: the side that accepts it drops the connection at once (CLOSED, no TIME-WAIT), and data still in flight is lost.", cap(&me))
                }
            }
            Step::HalfCloseData => {
                if zh {
                    format!("半关闭：{other}已经用 FIN 关闭了自己的发送方向，但{me}仍然可以发送数据——这里正是如此；{other}在 FIN-WAIT-2 状态下照样接收并确认这些数据。")
                } else {
                    format!("Half-close: {other} has closed its sending direction with a FIN, but {me} may still send data — as it does here — and {other}, in FIN-WAIT-2, still receives and acknowledges it.")
                }
            }
        };
        Some(text)
    }
}

/// First letter in upper case ("the client" → "The client").
fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The catalog's titles in Chinese.
fn finding_title_zh(code: &str) -> Option<&'static str> {
    finding_zh(code).map(|(t, _)| t)
}

fn finding_why_zh(code: &str) -> Option<&'static str> {
    finding_zh(code).map(|(_, w)| w)
}

/// A check's title and explanation in Chinese, by its code (for
/// `tcpstate rules --lang zh` and `tcpstate explain --lang zh`).
pub fn check_zh(code: &str) -> Option<(&'static str, &'static str)> {
    finding_zh(code)
}

fn finding_zh(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "HS001" => ("SYN+ACK 的确认号不是客户端初始序号 + 1", "第二次握手必须确认客户端的 SYN：SYN 占用一个序号，所以 ack 应为 x + 1。"),
        "HS002" => ("第三次握手的确认号不是服务器初始序号 + 1", "第三次握手必须确认服务器的 SYN：ack 应为 y + 1。"),
        "HS003" => ("第三次握手的序号不是客户端初始序号 + 1", "客户端的 SYN 已经占用了序号 x，所以第三次握手的 seq 应为 x + 1。"),
        "HS004" => ("SYN 与 FIN 同时置位", "建立连接和释放连接不能在同一个报文段里：SYN+FIN 是非法组合，常见于端口扫描。"),
        "HS005" => ("SYN 与 RST 同时置位", "SYN+RST 是非法组合，接收方应当丢弃它。"),
        "HS006" => ("SYN 重传", "客户端没有按时收到 SYN+ACK，超时后重发 SYN，重传间隔按指数退避。"),
        "HS007" => ("SYN+ACK 重传", "服务器没有按时收到第三次握手的 ACK（或客户端重发了 SYN），于是重传 SYN+ACK。"),
        "HS008" => ("SYN 携带数据（TCP 快速打开）", "普通的 SYN 不携带数据；TCP 快速打开（TFO）允许 SYN 携带数据，省去一个往返时间。"),
        "HS009" => ("连接被拒绝：RST 回答了 SYN", "目标端口上没有进程监听，服务器用 RST 拒绝了连接请求。"),
        "HS010" => ("SYN 始终没有应答", "SYN 没有得到任何回答：可能被防火墙丢弃，或者主机不可达。"),
        "HS011" => ("三次握手没有完成", "看到了 SYN+ACK，却始终没有看到第三次握手的 ACK：服务器停留在 SYN-RECEIVED（半连接）状态。"),
        "HS012" => ("同时打开", "双方同时发出 SYN，各自经过 SYN-SENT → SYN-RECEIVED → ESTABLISHED。"),
        "HS013" => ("没有捕获到三次握手", "抓包开始时连接已经建立，初始序号和窗口扩大因子都无从得知。"),
        "RL001" => ("FIN 没有得到确认：对方确认的是 u 而不是 u + 1", "FIN 占用一个序号，对它的确认必须是 ack = u + 1。"),
        "RL002" => ("发送方在自己的 FIN 之后又发送了数据", "发出 FIN 就表示这个方向不再有数据，之后再发送数据违反协议。"),
        "RL003" => ("FIN 重传", "FIN 没有按时得到确认，于是超时重传。"),
        "RL004" => ("释放连接的最后一个 ACK 缺失", "没有捕获到第四次挥手的 ACK：被动关闭方会停留在 LAST-ACK 状态并重传 FIN。"),
        "RL005" => ("连接停留在半关闭状态", "只有一方发送了 FIN，另一方直到抓包结束都没有关闭。"),
        "RL006" => ("连接被 RST 终止", "RST 立即终止连接，不经过四次挥手，尚未送达的数据会丢失。"),
        "RL007" => ("RST 不在接收窗口内", "序号不在接收窗口内的 RST 会被接收方忽略（RFC 5961），连接继续。"),
        "RL008" => ("连接关闭之后还有报文段", "连接已经关闭，之后又出现了报文段；接收方通常用 RST 回答。"),
        "RL009" => ("TIME-WAIT：本端等待 2MSL", "主动关闭方发出最后一个 ACK 后进入 TIME-WAIT 状态，等待 2MSL，在此期间这对地址和端口不能用于新的连接。"),
        "RL010" => ("同时关闭", "双方的 FIN 交错而过，各自经过 FIN-WAIT-1 → CLOSING → TIME-WAIT。"),
        "DT001" => ("重传", "报文段没有按时得到确认，于是再次发送。"),
        "DT002" => ("乱序", "报文段比序号在它之后的报文段到得还晚。"),
        "DT003" => ("前一报文段未捕获", "序号出现了空缺：有报文段丢失，或者抓包时漏掉了。"),
        "DT004" => ("确认了未捕获的报文段", "ACK 确认了抓包中没有出现过的数据：抓包漏掉了报文段。"),
        "DT005" => ("重复确认", "接收方重复发送相同的确认号，说明它在等待一个缺失的报文段。"),
        "DT006" => ("零窗口", "接收方通告的窗口为 0：它的接收缓存满了，发送方必须暂停发送。"),
        "DT007" => ("零窗口探测", "对方窗口为 0 时，发送方发出探测报文段，询问窗口是否已经打开。"),
        "DT008" => ("保活（keep-alive）", "连接空闲时发送的保活探测，用来检查对方是否还在。"),
        "DT009" => ("窗口已满", "发送方已经发满了对方通告的窗口，必须等待确认。"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_follows_the_locale_precedence() {
        assert_eq!(Lang::from_locale(None, None, None), Lang::En);
        assert_eq!(Lang::from_locale(None, None, Some("zh_CN.UTF-8")), Lang::Zh);
        assert_eq!(
            Lang::from_locale(Some("en_US.UTF-8"), None, Some("zh_CN.UTF-8")),
            Lang::En
        );
        assert_eq!(
            Lang::from_locale(Some(""), Some("zh_TW.UTF-8"), Some("C")),
            Lang::Zh
        );
    }

    #[test]
    fn utf8_follows_the_locale_and_defaults_to_yes() {
        assert!(locale_is_utf8(None, None, None));
        assert!(locale_is_utf8(None, None, Some("C.UTF-8")));
        assert!(locale_is_utf8(None, Some("en_US.utf8"), Some("C")));
        assert!(!locale_is_utf8(Some("C"), None, Some("en_US.UTF-8")));
        assert!(!locale_is_utf8(None, None, Some("POSIX")));
    }

    #[test]
    fn every_check_has_a_chinese_title_and_explanation() {
        for check in Check::ALL {
            assert!(finding_zh(check.code()).is_some(), "{}", check.code());
        }
    }

    #[test]
    fn steps_are_named_as_in_the_seeds() {
        let zh = Text::new(Lang::Zh);
        assert_eq!(zh.step(Step::Handshake(1)), "第一次握手");
        assert_eq!(zh.step(Step::Release(4)), "第四次挥手");
        let en = Text::new(Lang::En);
        assert_eq!(en.step(Step::Handshake(3)), "handshake 3 of 3");
        assert_eq!(en.step(Step::Release(2)), "release 2 of 4");
    }
}
