//! The teaching views in Chinese, in the textbooks' terms (docs/notation.md).

use super::{Messages, Narration};
use crate::diagnosis::{Cause, Confidence, Diagnosis, RetryPattern, StallEnd};
use crate::report::{CaptureReport, FindingReport};
use crate::rules::{Rule, Severity};
use crate::state::{Side, State};
use crate::teach::{AckNote, Collapsed, Control, Numbers, PhaseKind, Step};
use crate::verdict::{HandshakeStatus, TeardownStatus};

pub(super) struct Zh;

/// 一 … 四, for "第一次握手"; larger numbers say 四.
fn nth(n: u8) -> &'static str {
    const NTH: [&str; 5] = ["", "一", "二", "三", "四"];
    NTH[usize::from(n.min(4))]
}

impl Messages for Zh {
    fn side(&self, side: Side) -> &'static str {
        match side {
            Side::Client => "客户端",
            Side::Server => "服务器",
        }
    }

    /// Chinese needs no article.
    fn the(&self, side: Side) -> String {
        self.side(side).to_string()
    }

    fn line(&self, frame: u64) -> String {
        format!("第{frame}行")
    }

    fn frame(&self, frame: u64) -> String {
        format!("帧 {frame}")
    }

    fn capture_header(&self, c: &CaptureReport, file: &str, format: &str) -> String {
        format!(
            "{file}（{format}）：{} 帧，{} 个 TCP 报文段，{} 个连接",
            c.frames, c.tcp_segments, c.connections
        )
    }

    fn connection_title(&self, id: u64, client: &str, server: &str, arrow: &str) -> String {
        format!("连接 {id}：客户端 {client} {arrow} 服务器 {server}")
    }

    fn connection(&self, id: u64) -> String {
        format!("连接 {id}")
    }

    fn isn_unknown(&self) -> &'static str {
        "初始序号 ISN：未知（没有捕获到三次握手）"
    }

    fn isn(&self, side: Side, isn: Option<u32>) -> String {
        match isn {
            Some(v) => format!("{} {v}", self.side(side)),
            None => format!("{}未发送 SYN", self.side(side)),
        }
    }

    fn isn_line(&self, numbers: Numbers, [c, s]: [&str; 2], [abs_c, abs_s]: [&str; 2]) -> String {
        match numbers {
            Numbers::Absolute => {
                format!("初始序号 ISN：{c}，{s} · 绝对序号（--relative 显示相对序号）")
            }
            Numbers::Relative => format!(
                "初始序号 ISN：{c}，{s}（相对序号；绝对值：客户端 {abs_c}，服务器 {abs_s}）"
            ),
        }
    }

    fn states_caveat(&self) -> &'static str {
        "说明：每一方的状态是从抓包位置推断出来的——\
         根据它发出了什么，以及它的确认号表明它已经收到了什么。"
    }

    fn phase(&self, kind: PhaseKind, who: &str) -> String {
        let (status, combined) = match kind {
            PhaseKind::Opening(status) => return opening(status).into(),
            PhaseKind::NotCaptured => return "没有捕获到三次握手：抓包开始时连接已经建立".into(),
            PhaseKind::Data => return "数据传输".into(),
            PhaseKind::Release {
                status, combined, ..
            } => (status, combined),
        };
        match status {
            TeardownStatus::Graceful if combined => {
                format!("四次挥手（只用了三个报文段）：{who}先关闭")
            }
            TeardownStatus::Graceful => format!("四次挥手：{who}先关闭"),
            TeardownStatus::Simultaneous => "同时关闭：双方的 FIN 交错而过".into(),
            TeardownStatus::Reset => format!("复位：{who}用 RST 终止连接"),
            TeardownStatus::HalfClosed => format!("半关闭：只有{who}发送了 FIN"),
            TeardownStatus::Incomplete => {
                format!("四次挥手（没有捕获到最后的 ACK）：{who}先关闭")
            }
            TeardownStatus::None => "释放连接".into(),
        }
    }

    fn step(&self, step: Step) -> String {
        match step {
            Step::Handshake(n) => format!("第{}次握手", nth(n)),
            Step::Release(n) => format!("第{}次挥手", nth(n)),
            Step::ReleaseCombined => "第二、三次挥手合并".into(),
            Step::SynAgain => "SYN 重传".into(),
            Step::SynAckAgain => "SYN+ACK 重传".into(),
            Step::SimOpenSyn => "同时打开：SYN".into(),
            Step::SimOpenSynAck => "同时打开：SYN+ACK".into(),
            Step::SimOpenAck => "同时打开：ACK".into(),
            Step::Refused => "拒绝连接".into(),
            Step::SimCloseFin { .. } => "同时关闭：FIN".into(),
            Step::SimCloseAck => "同时关闭：ACK".into(),
            Step::FinAgain => "FIN 重传".into(),
            Step::Reset => "复位 RST".into(),
            Step::HalfCloseData => "半关闭期间的数据".into(),
        }
    }

    fn ack_note(&self, note: &AckNote) -> String {
        let who = self.side(note.of);
        let what = match note.control {
            Control::Syn => format!("{who} ISN {}", note.base),
            Control::Fin => format!("{who} FIN 的序号 {}", note.base),
        };
        if note.ok {
            format!("(= {what} + 1)")
        } else {
            format!("(应为 {what} + 1 = {})", note.expected())
        }
    }

    fn analysis(&self, flag: &str) -> Option<&'static str> {
        Some(match flag {
            "retransmission" => "重传",
            "fast_retransmission" => "快速重传",
            "spurious_retransmission" => "虚假重传",
            "out_of_order" => "乱序",
            "lost_segment" => "前一报文段未捕获",
            "ack_lost_segment" => "确认了未捕获的报文段",
            "duplicate_ack" => "重复确认",
            "zero_window" => "零窗口",
            "zero_window_probe" => "零窗口探测",
            "zero_window_probe_ack" => "零窗口探测的确认",
            "keep_alive" => "保活",
            "keep_alive_ack" => "保活的确认",
            "window_update" => "窗口更新",
            "window_full" => "窗口已满",
            _ => return None,
        })
    }

    fn collapsed(&self, c: &Collapsed, flags: &[String]) -> String {
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!("；其中 {}", flags.join("，"))
        };
        let span = c.last_time - c.first_time;
        format!(
            "…… 省略 {} 个报文段（第{}–{}行，{span:.3} 秒）：客户端 → 服务器 {} 个、{} 字节；\
             服务器 → 客户端 {} 个、{} 字节{flags}（--full 显示全部）",
            c.total(),
            c.first_frame,
            c.last_frame,
            c.segments[Side::Client],
            c.bytes[Side::Client],
            c.segments[Side::Server],
            c.bytes[Side::Server]
        )
    }

    fn collapsed_short(&self, c: &Collapsed) -> String {
        format!(
            "省略 {} 个报文段（第{}–{}行）",
            c.total(),
            c.first_frame,
            c.last_frame
        )
    }

    fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Error => "错误",
            Severity::Warning => "警告",
            Severity::Info => "提示",
        }
    }

    /// The frames are listed instead of the (English) message.
    fn finding(&self, f: &FindingReport, severity: &str, title: &str) -> String {
        let times = if f.count > 1 {
            format!("（×{}）", f.count)
        } else {
            String::new()
        };
        let frames: Vec<String> = f.frames.iter().map(u64::to_string).collect();
        let frames = if frames.is_empty() {
            String::new()
        } else {
            format!("（第{}行）", frames.join("、"))
        };
        format!("{}（{severity}）{title}{times}{frames}", f.code)
    }

    fn finding_title(&self, rule: &Rule) -> &'static str {
        rule.zh.title
    }

    fn finding_why(&self, rule: &Rule) -> String {
        rule.zh.why.to_string()
    }

    fn handshake_status(&self, s: HandshakeStatus) -> &'static str {
        match s {
            HandshakeStatus::Complete => "三次握手完成",
            HandshakeStatus::Simultaneous => "同时打开",
            HandshakeStatus::Refused => "连接被拒绝",
            HandshakeStatus::Unanswered => "SYN 没有应答",
            HandshakeStatus::Unreachable => "SYN 被 ICMP 差错拒绝（不可达）",
            HandshakeStatus::Incomplete => "三次握手没有完成",
            HandshakeStatus::Missing => "没有捕获到三次握手",
        }
    }

    fn teardown_status(&self, s: TeardownStatus) -> &'static str {
        match s {
            TeardownStatus::Graceful => "四次挥手正常完成",
            TeardownStatus::Simultaneous => "同时关闭",
            TeardownStatus::Reset => "被 RST 终止",
            TeardownStatus::HalfClosed => "半关闭",
            TeardownStatus::Incomplete => "四次挥手没有完成",
            TeardownStatus::None => "没有释放连接",
        }
    }

    fn first_to_close(&self, side: Side) -> String {
        format!("，{}先关闭", self.side(side))
    }

    fn time_wait(&self) -> &'static str {
        "（等待 2MSL）"
    }

    fn result(&self, handshake: &str, teardown: &str, first: &str, [c, s]: [&str; 2]) -> String {
        format!("结果：{handshake} · {teardown}{first} · 最终状态：{c}，{s}")
    }

    fn phase_narration(&self, kind: PhaseKind) -> Option<&'static str> {
        match kind {
            PhaseKind::NotCaptured => Some(
                "抓包开始时连接已经建立：三次握手没有被捕获，所以初始序号未知；\
                 双方都被视为处于 ESTABLISHED 状态，相对序号从看到的第一个报文段算起。",
            ),
            PhaseKind::Data => Some(
                "数据传输：序号 seq 给发送的每个字节编号，\
                 确认号 ack 表示期待收到的下一个字节的序号，也就是确认了它之前的所有字节。",
            ),
            _ => None,
        }
    }

    fn narration(&self, step: Step, n: &Narration) -> String {
        let Narration {
            me,
            other,
            seq,
            ack,
            fin,
            ..
        } = n;
        match step {
            Step::Handshake(1) => format!(
                "第一次握手：客户端请求建立连接，发出 SYN 报文段，选择初始序号 x = {seq}。\
                 SYN 报文段不携带数据，但要消耗掉一个序号，\
                 所以客户端发送的第一个数据字节的序号将是 x + 1。\
                 客户端进入 SYN-SENT 状态，等待服务器的应答。"
            ),
            Step::Handshake(2) => {
                let ack_part = if n.ack_ok {
                    format!(
                        "确认号 ack = x + 1 = {ack}，\
                         意思是“你的 SYN 我收到了，下面期待你序号为 x + 1 的数据”"
                    )
                } else {
                    format!("确认号 ack = {ack}——但它应当是 x + 1 = {}", n.x_plus_1)
                };
                format!(
                    "第二次握手：服务器同意建立连接，回复 SYN+ACK 报文段，一举两得：\
                     SYN 带上服务器自己的初始序号 y = {seq}；{ack_part}。\
                     服务器进入 SYN-RECEIVED 状态。\
                     客户端收到它就知道自己的 SYN 已经送达，而服务器还不知道自己的 SYN 能否送达。"
                )
            }
            Step::Handshake(_) => {
                let ack_part = if n.ack_ok {
                    format!("ack = y + 1 = {ack}")
                } else {
                    format!("ack = {ack}——但它应当是 y + 1 = {}", n.y_plus_1)
                };
                format!(
                    "第三次握手：客户端对服务器的 SYN 进行确认：seq = x + 1 = {seq}，{ack_part}。\
                     至此双方都进入 ESTABLISHED 状态：\
                     彼此都知道对方的 SYN 已经收到，两个方向都是通的。\
                     为什么还要第三次握手：如果没有它，一个在网络中滞留已久的旧 SYN 到达服务器后，\
                     服务器就会以为客户端又要建立连接，从而白白等待、浪费资源；\
                     客户端的这次确认证明连接请求是当前有效的。"
                )
            }
            Step::SynAgain => format!(
                "{me}再次发送 SYN，初始序号不变：在超时时间内没有收到应答，\
                 于是超时重传（每次等待的时间加倍）。"
            ),
            Step::SynAckAgain => format!(
                "{me}再次发送 SYN+ACK：它的 SYN 还没有得到确认（{other}的 ACK 没有按时到达，\
                 或{other}重发了 SYN），这是半连接状态下 SYN+ACK 的重传。"
            ),
            Step::SimOpenSyn => format!(
                "同时打开：{me}主动发出 SYN，初始序号为 {seq}，进入 SYN-SENT 状态。\
                 另一方也在做同样的事，双方都没有在 LISTEN 状态等待。"
            ),
            Step::SimOpenSynAck => format!(
                "{me}在 SYN-SENT 状态下收到了对方的 SYN，于是回复 SYN+ACK：\
                 再次发出自己的 SYN（seq = 自己的初始序号 {seq}），\
                 同时确认对方的 SYN（ack = 对方初始序号 + 1 = {ack}），进入 SYN-RECEIVED 状态。\
                 哪一方的 SYN 得到确认，哪一方就进入 ESTABLISHED。"
            ),
            Step::SimOpenAck => format!(
                "{me}确认对方的 SYN+ACK（ack = {ack}）：同时打开完成，双方都处于 ESTABLISHED 状态。\
                 同时打开用了四个报文段（两个 SYN、两个 SYN+ACK），而不是三个。"
            ),
            Step::Refused => format!(
                "{me}用 RST 回答 SYN：端口 {port} 上没有进程在监听。\
                 这个 RST 确认了 SYN（ack = x + 1 = {ack}），客户端才会接受它；\
                 客户端放弃连接，回到 CLOSED 状态，应用程序得到“连接被拒绝”（connection refused）。\
                 没有握手，也就没有挥手。",
                port = n.port
            ),
            Step::Release(1) => format!(
                "第一次挥手：{me}没有数据要发送了，发出 FIN 报文段，关闭自己这个方向的连接，\
                 序号 seq = u = {fin}。和 SYN 一样，FIN 也要消耗一个序号，\
                 这样它才能被确认（ack = u + 1），丢失了也能重传。\
                 {me}是主动关闭方，进入 FIN-WAIT-1 状态。"
            ),
            Step::Release(2) => {
                let rides = if n.data {
                    "这个确认是随数据报文段一起发出的。"
                } else {
                    ""
                };
                format!(
                    "第二次挥手：{me}确认收到 FIN：ack = u + 1 = {ack}。\
                     {me}是被动关闭方，进入 CLOSE-WAIT 状态；\
                     {other}的 FIN 得到确认，进入 FIN-WAIT-2 状态。{rides}\
                     此时连接处于半关闭状态：{other}不再发送数据，\
                     但{me}仍然可以发送，{other}仍要接收。"
                )
            }
            Step::Release(3) => {
                let ack_part = if n.acks_peer_fin {
                    format!("确认号仍为 ack = u + 1 = {ack}")
                } else {
                    format!("ack = {ack}")
                };
                format!(
                    "第三次挥手：{me}也没有数据要发送了，\
                     发出自己的 FIN：seq = w = {fin}，{ack_part}。\
                     {me}进入 LAST-ACK 状态，等待最后的确认。"
                )
            }
            Step::Release(_) => format!(
                "第四次挥手：{me}确认{other}的 FIN：ack = w + 1 = {ack}。\
                 {other}收到后进入 CLOSED 状态。\
                 {me}是主动关闭方，进入 TIME-WAIT 状态，\
                 要等待 2MSL（报文段最大生存时间的两倍）才进入 CLOSED：\
                 万一这最后一个 ACK 丢失，{other}会重传 FIN，{me}必须还在，才能再次确认；\
                 等待也让本连接的旧报文段在网络中消失，\
                 以免干扰之后使用同一对地址和端口的新连接。"
            ),
            Step::ReleaseCombined => format!(
                "第二、三次挥手合并为一个报文段：{me}确认 FIN（ack = u + 1 = {ack}），\
                 并且因为已经没有数据要发送，在同一个报文段里发出自己的 FIN（seq = w = {fin}）。\
                 {me}经过 CLOSE-WAIT 直接进入 LAST-ACK 状态。\
                 所以这次释放只用了三个报文段，而不是四个。"
            ),
            Step::SimCloseFin { first: true } => {
                format!("{me}发出 FIN 关闭自己的方向，seq = {fin}，进入 FIN-WAIT-1 状态。")
            }
            Step::SimCloseFin { first: false } => format!(
                "{me}在收到对方的 FIN 之前也发出了自己的 FIN（seq = {fin}）：\
                 两个 FIN 在网络中交错而过。\
                 这就是同时关闭：双方都会在 FIN-WAIT-1 状态下收到对方的 FIN，进入 CLOSING 状态，\
                 等自己的 FIN 得到确认后，双方都进入 TIME-WAIT。"
            ),
            Step::SimCloseAck => {
                format!("{me}确认{other}的 FIN：ack = {other} FIN 的序号 + 1 = {ack}。")
            }
            Step::FinAgain => format!("{me}重传 FIN：它没有按时得到确认。"),
            Step::Reset => format!(
                "{me}用 RST 终止连接。与 FIN 不同，RST 不需要确认，也不等待任何东西：\
                 接受它的一方立即释放连接（CLOSED，没有 TIME-WAIT），尚未送达的数据会丢失。"
            ),
            Step::HalfCloseData => format!(
                "半关闭：{other}已经用 FIN 关闭了自己的发送方向，\
                 但{me}仍然可以发送数据——这里正是如此；\
                 {other}在 FIN-WAIT-2 状态下照样接收并确认这些数据。"
            ),
        }
    }

    fn cause(&self, c: Cause) -> &'static str {
        match c {
            Cause::Refused => "连接被拒绝",
            Cause::RejectedByIcmp => "被 ICMP 拒绝",
            Cause::CaptureProblem => "抓包问题",
            Cause::SilentDrop => "静默丢弃",
            Cause::SynackLostOrNotAccepted => "SYN+ACK 丢失或未被接受",
            Cause::ResetByMiddlebox => "被中间设备复位",
            Cause::ApplicationAbort => "应用程序异常终止",
            Cause::HalfOpen => "半开连接",
            Cause::ReceiverNotReading => "接收方不读数据",
            Cause::PathMtuBlackHole => "路径 MTU 黑洞",
            Cause::PeerVanished => "对端消失",
        }
    }

    fn confidence(&self, c: Confidence) -> &'static str {
        match c {
            Confidence::Certain => "确定",
            Confidence::Likely => "很可能",
        }
    }

    fn retry_pattern(&self, p: RetryPattern) -> &'static str {
        match p {
            RetryPattern::DoublingFrom1s => {
                "从 1 秒起逐次加倍，即 Linux tcp_syn_retries 的重传间隔"
            }
            RetryPattern::DoublingFrom3s => "从 3 秒起逐次加倍，即 Windows 的重传间隔",
            RetryPattern::Linear => "间隔相等，即 Linux 的 tcp_syn_linear_timeouts",
            RetryPattern::Doubling => "逐次加倍，即重传定时器的退避",
            RetryPattern::Irregular => "不符合已知的重传规律",
        }
    }

    fn diagnosis(&self, d: &Diagnosis, intervals: &str) -> String {
        let e = &d.evidence;
        let port = e.port.unwrap_or(0);
        let first = e.frames.first().copied().unwrap_or(0);
        let last = e.frames.last().copied().unwrap_or(0);
        let side = |s: Option<Side>| s.map_or("?", |s| self.side(s));
        let state = e.state.map_or_else(|| "?".to_string(), |s| s.to_string());
        match d.cause {
            Cause::Refused => {
                let ttl = e.rst_ttl.unwrap_or(0);
                let range = e.ttl_range.map_or_else(String::new, ttl_range);
                match e.firewall {
                    Some(true) => format!(
                        "用 RST 回答了 SYN（第{last}行）的分组 TTL 为 {ttl}，与抓包中此前服务器 \
                         SYN+ACK 的 TTL {range} 不同：路径上的防火墙以复位拒绝了到端口 {port} \
                         的连接（服务器可能根本没有收到 SYN）"
                    ),
                    Some(false) => format!(
                        "服务器用 RST 回答了 SYN（第{last}行）：端口 {port} 上没有程序监听\
                         （RST 的 TTL {ttl} 与服务器此前 SYN+ACK 的相同）"
                    ),
                    None => format!(
                        "服务器用 RST 回答了 SYN（第{last}行）：端口 {port} 上没有程序监听，\
                         或者防火墙以复位拒绝"
                    ),
                }
            }
            Cause::RejectedByIcmp => {
                let what = if e.firewall == Some(true) {
                    "：防火墙拒绝（administratively prohibited）"
                } else {
                    ""
                };
                format!(
                    "{} 用 ICMP 类型 {} 代码 {} 回答了 SYN（第{last}行）{what}；没有收到 SYN+ACK",
                    e.reporter.as_deref().unwrap_or("?"),
                    e.icmp_type.unwrap_or(0),
                    e.icmp_code.unwrap_or(0)
                )
            }
            Cause::SilentDrop => {
                let n = e.syn_count.unwrap_or(1);
                let waited = e.waited_s.unwrap_or(0.0);
                if n <= 1 {
                    format!(
                        "发往端口 {port} 的 1 个 SYN（第{first}行）在抓包结束前的 {waited:.3} 秒内\
                         没有应答：在路上被丢弃，或者抓包结束得太早"
                    )
                } else {
                    let pattern = e
                        .retry_pattern
                        .map_or(String::new(), |p| format!("：{}", self.retry_pattern(p)));
                    format!(
                        "{waited:.3} 秒内发往端口 {port} 的 {n} 个 SYN 都没有应答（间隔 \
                         {intervals}{pattern}）：防火墙或路径静默丢弃了它们"
                    )
                }
            }
            Cause::SynackLostOrNotAccepted => {
                let n = e.syn_ack_count.unwrap_or(1);
                if e.client_ack_seen == Some(true) {
                    format!(
                        "虽然抓到了客户端的 ACK，服务器仍发送了 {n} 次 SYN+ACK：\
                         服务器没有接受这个 ACK（全连接队列已满，或服务器端的问题）"
                    )
                } else {
                    format!(
                        "服务器发送了 {n} 次 SYN+ACK，客户端{}：SYN+ACK 在返回客户端的路上丢失",
                        if e.syn_count.unwrap_or(1) > 1 {
                            "重传了 SYN"
                        } else {
                            "没有确认"
                        }
                    )
                }
            }
            Cause::CaptureProblem => match (e.acked_unseen, e.side) {
                (Some(n), _) => format!(
                    "{n} 个确认覆盖了抓包中从未出现的数据（第{first}行）：是抓包丢了包，不是网络"
                ),
                (None, s) => format!(
                    "抓包中没有来自{}的任何分组：非对称路由或只抓到一个方向，不是网络故障",
                    side(s)
                ),
            },
            Cause::ResetByMiddlebox => {
                let who = side(e.side);
                let range = e.ttl_range.map_or_else(String::new, ttl_range);
                let ids = match (e.rst_ip_id, e.last_ip_id, e.ip_ids_increase) {
                    (Some(id), Some(last), Some(true)) => {
                        format!("，IP ID {id:#06x}（此前计数到 {last:#06x}）")
                    }
                    (Some(id), Some(last), _) => format!("，IP ID {id:#06x}（此前为 {last:#06x}）"),
                    _ => String::new(),
                };
                let race = match (e.race_s, e.frames.get(1)) {
                    (Some(s), Some(n)) => Some((s, n)),
                    _ => None,
                };
                let soon = e.answered_s.zip(e.rtt_s);
                let peer = side(e.side.map(Side::peer));
                let bytes = format!(
                    "客户端共发送 {} 字节、服务器共发送 {} 字节",
                    e.client_bytes.unwrap_or(0),
                    e.server_bytes.unwrap_or(0)
                );
                match race {
                    Some((s, n)) if e.state == Some(State::SynSent) => format!(
                        "一个自称来自{who}的 RST（第{first}行）拒绝了连接，但 {s:.6} 秒后{who}\
                         又用 SYN-ACK（第{n}行）应答了同一个 SYN：{who}确实在监听，这个 RST \
                         很可能是路径上的设备（防火墙、入侵检测系统、审查设备）伪造注入的"
                    ),
                    Some((s, n)) if !e.rst_header_off() => format!(
                        "一个自称来自{who}的 RST（第{first}行）之后 {s:.6} 秒，{who}自己又发来了数据\
                         （第{n}行），序号不小于该 RST 的序号：{who}并没有复位连接，这个 RST \
                         很可能是路径上的设备（防火墙、入侵检测系统、审查设备）伪造注入的；{bytes}"
                    ),
                    None if !e.rst_header_off() => {
                        let (answered, rtt) = soon.unwrap_or_default();
                        format!(
                            "一个自称来自{who}的 RST（第{first}行）确认了{peer}的数据，距抓包点看到\
                             这些数据只有 {answered:.6} 秒，不到握手时{who}应答所用 {rtt:.6} 秒的\
                             一半：{who}此时还不可能收到这些数据，这个 RST 很可能是路径上的设备\
                             （防火墙、入侵检测系统、审查设备）伪造注入的；{bytes}"
                        )
                    }
                    _ => {
                        let raced = race.map_or_else(String::new, |(s, n)| {
                            format!("；其后 {s:.6} 秒{who}自己又发来了数据（第{n}行）")
                        });
                        let hasty = soon.map_or_else(String::new, |(answered, rtt)| {
                            format!(
                                "；它在{peer}的数据之后 {answered:.6} 秒就确认了这些数据，\
                                 而握手往返时间为 {rtt:.6} 秒"
                            )
                        });
                        format!(
                            "一个自称来自{who}的 RST（第{first}行）与{who}的其他分组不符（TTL {}，\
                             其他分组为 {range}{ids}{raced}{hasty}）：很可能是路径上的设备（防火墙、\
                             入侵检测系统、审查设备）伪造注入的；{bytes}",
                            e.rst_ttl.unwrap_or(0),
                        )
                    }
                }
            }
            Cause::ApplicationAbort => format!(
                "{}在 {state} 状态下用 RST（第{first}行）异常终止了连接，此前客户端发送 {} 字节、\
                 服务器发送 {} 字节：应用程序在仍有未读数据时关闭，或使用了 SO_LINGER 0",
                side(e.side),
                e.client_bytes.unwrap_or(0),
                e.server_bytes.unwrap_or(0)
            ),
            Cause::HalfOpen => {
                let closer = e.side.unwrap_or(Side::Client);
                format!(
                    "{}已关闭（FIN，第{first}行），但{}始终没有关闭：\
                     {:.3} 秒后，在该连接最后一个被抓到的分组（第{last}行）时仍停在 {state}",
                    self.side(closer),
                    self.side(closer.peer()),
                    e.open_for_s.unwrap_or(0.0)
                )
            }
            Cause::ReceiverNotReading => {
                let other = e.side.map_or("?", |s| self.side(s.peer()));
                let ended = match e.ended {
                    Some(StallEnd::Resumed) => "之后窗口重新打开",
                    Some(StallEnd::Reset) => "直到 RST 结束连接时窗口仍为零",
                    Some(StallEnd::Closed) => "直到连接关闭时窗口仍为零",
                    _ => "直到抓包结束窗口仍为零",
                };
                format!(
                    "{}的接收窗口从第{first}行起关闭（为零）{:.3} 秒（共 {:.3} 秒，{}发来 {} 个探测），\
                     {ended}：{}的应用程序没有读取数据",
                    side(e.side),
                    e.zero_window_s.unwrap_or(0.0),
                    e.zero_window_total_s.unwrap_or(0.0),
                    other,
                    e.probes.unwrap_or(0),
                    side(e.side)
                )
            }
            Cause::PathMtuBlackHole => {
                let mss = |m: Option<u16>| m.map_or_else(|| "?".to_string(), |m| m.to_string());
                format!(
                    "{}的 {} 字节分段被重传 {} 次（第{first}-{last}行）始终没有被确认，\
                     而 {} 字节的分段能通过（MSS：客户端 {}，服务器 {}），\
                     也没有收到 ICMP“需要分片”：路径 MTU 黑洞丢弃了满长度的分组",
                    side(e.side),
                    e.segment_size.unwrap_or(0),
                    e.retransmissions.unwrap_or(0),
                    e.largest_acked.unwrap_or(0),
                    mss(e.client_mss),
                    mss(e.server_mss)
                )
            }
            Cause::PeerVanished => {
                let other = e.side.map_or("?", |s| self.side(s.peer()));
                let mut sent = Vec::new();
                if let Some(n) = e.retransmissions {
                    sent.push(format!("{n} 次重传"));
                }
                if let Some(n) = e.keepalives {
                    sent.push(format!("{n} 个保活探测"));
                }
                let pattern = match e.retry_pattern {
                    Some(RetryPattern::Linear) if e.keepalives.is_some() => {
                        "：间隔相等，即保活间隔（TCP_KEEPINTVL）".to_string()
                    }
                    p => p.map_or(String::new(), |p| format!("：{}", self.retry_pattern(p))),
                };
                let ended = match e.ended {
                    Some(StallEnd::Reset) => format!("直到{other}用 RST 放弃"),
                    _ => "直到抓包结束".to_string(),
                };
                format!(
                    "{}在第{first}行（连接开始后 {:.3} 秒）之后再无声息：{other}的 {} 在 {:.3} 秒内\
                     都没有应答（间隔 {intervals}{pattern}），{ended}",
                    side(e.side),
                    e.last_seen_s.unwrap_or(0.0),
                    sent.join("和"),
                    e.waited_s.unwrap_or(0.0)
                )
            }
        }
    }
}

/// A TTL range, one number when it is one.
fn ttl_range([lo, hi]: [u8; 2]) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// The opening phase's heading.
fn opening(status: HandshakeStatus) -> &'static str {
    match status {
        HandshakeStatus::Simultaneous => "同时打开",
        HandshakeStatus::Refused => "连接被拒绝：SYN 被 RST 回答",
        HandshakeStatus::Unanswered => "建立连接：SYN 始终没有应答",
        HandshakeStatus::Unreachable => "建立连接：SYN 被 ICMP 差错回答（不可达），没有 SYN+ACK",
        HandshakeStatus::Incomplete => "三次握手（没有完成）",
        _ => "三次握手",
    }
}
