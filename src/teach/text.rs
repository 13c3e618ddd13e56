//! Every word of the teaching views, in English and Chinese.
//!
//! [`Text`] decides what to say and works out the numbers; each language
//! words it, as one implementation of the private `Messages` trait (`en.rs`,
//! `zh.rs` beside this file). A new language is a new implementation and a
//! [`Lang`] variant, without touching the logic. The checks' titles and
//! reasons come from the catalog ([`crate::rules`]), which holds them in
//! both languages.
//!
//! The Chinese follows the terminology of Chinese TCP textbooks: 三次握手,
//! 四次挥手, 半关闭, 序号 (seq), 确认号 (ack), 初始序号 ISN, 客户端/服务器,
//! 主动关闭/被动关闭, TIME-WAIT 等待 2MSL; docs/notation.md explains it.
//! State names keep their RFC 9293 spelling (SYN-SENT, FIN-WAIT-1 …) in both
//! languages, as the textbooks do.
//!
//! Nothing here lays text out: the renderers place and colour it.

mod en;
mod zh;

use super::{AckNote, Collapsed, Facts, Numbers, PhaseKind, Seg, Step};
use crate::capture::CaptureFormat;
use crate::diagnosis::{Cause, Confidence, Diagnosis, RetryPattern};
use crate::report::{CaptureReport, ConnectionReport, FindingReport};
use crate::rules::{Rule, Severity};
use crate::state::{Side, State};
use crate::verdict::{HandshakeStatus, Initiator, TeardownStatus};

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

    /// The language's words.
    fn messages(self) -> &'static dyn Messages {
        match self {
            Lang::En => &en::En,
            Lang::Zh => &zh::Zh,
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

/// What the narration of a step quotes, worked out once for every language.
struct Narration {
    /// The segment's sender and the other side, as a sentence names them.
    me: String,
    other: String,
    /// The segment's numbers (`?` for an ack that is not there).
    seq: String,
    ack: String,
    /// Whether the ack is the one the step needs (or is not checked).
    ack_ok: bool,
    /// What the handshake's acks should be: the client's ISN + 1 (x + 1)
    /// and the server's (y + 1).
    x_plus_1: String,
    y_plus_1: String,
    /// The sequence number of the sender's FIN (u or w).
    fin: String,
    /// Whether the ack reads as the other side's FIN + 1 (u + 1); two
    /// unknown numbers (`?`) agree.
    acks_peer_fin: bool,
    /// Whether the segment carries data.
    data: bool,
    /// The server's port.
    port: u16,
}

/// The words of one language: how it phrases each thing the teaching views
/// say. [`Text`] chooses the message and its numbers.
trait Messages {
    /// "client" or "server".
    fn side(&self, side: Side) -> &'static str;
    /// The side in a sentence: "the client".
    fn the(&self, side: Side) -> String;
    /// A frame as the Sniffer walkthrough numbers it: `line 17`.
    fn line(&self, frame: u64) -> String;
    fn frame(&self, frame: u64) -> String;
    /// The first line of a capture: frames, segments, connections.
    fn capture_header(&self, c: &CaptureReport, file: &str, format: &str) -> String;
    /// `connection 2: client A → server B`.
    fn connection_title(&self, id: u64, client: &str, server: &str, arrow: &str) -> String;
    fn connection(&self, id: u64) -> String;
    /// The ISN line of a connection whose handshake was not captured.
    fn isn_unknown(&self) -> &'static str;
    /// One side's ISN, or that it sent no SYN.
    fn isn(&self, side: Side, isn: Option<u32>) -> String;
    /// The ISN line: each side's ISN (as [`Messages::isn`] gives them) and,
    /// for relative numbers, the absolute ISNs.
    fn isn_line(&self, numbers: Numbers, isn: [&str; 2], absolute: [&str; 2]) -> String;
    /// One sentence on what the states mean.
    fn states_caveat(&self) -> &'static str;
    /// A phase's heading; `who` names the side that began the release.
    fn phase(&self, kind: PhaseKind, who: &str) -> String;
    /// A step's name: "handshake 1 of 3".
    fn step(&self, step: Step) -> String;
    /// The arithmetic behind an ack: "(= client ISN 1791872318 + 1)".
    fn ack_note(&self, note: &AckNote) -> String;
    /// A Wireshark analysis flag (`tcp.analysis.*` name), if known.
    fn analysis(&self, flag: &str) -> Option<&'static str>;
    /// The summary of segments left out; `flags` counts their analysis flags.
    fn collapsed(&self, c: &Collapsed, flags: &[String]) -> String;
    /// The short form of [`Messages::collapsed`], for the ladder.
    fn collapsed_short(&self, c: &Collapsed) -> String;
    fn severity(&self, s: Severity) -> &'static str;
    /// A finding in one line, with its severity and title in this language.
    fn finding(&self, f: &FindingReport, severity: &str, title: &str) -> String;
    /// A check's title.
    fn finding_title(&self, rule: &Rule) -> &'static str;
    /// Why a check's finding matters, in a sentence.
    fn finding_why(&self, rule: &Rule) -> String;
    fn handshake_status(&self, s: HandshakeStatus) -> &'static str;
    fn teardown_status(&self, s: TeardownStatus) -> &'static str;
    /// ", the client first": who began the release, in the result line.
    fn first_to_close(&self, side: Side) -> String;
    /// Said after TIME-WAIT in the result line.
    fn time_wait(&self) -> &'static str;
    /// The result line: how the connection was opened and closed, and each
    /// side's final state (`client TIME-WAIT …`).
    fn result(&self, handshake: &str, teardown: &str, first: &str, ends: [&str; 2]) -> String;
    /// A phase's opening sentence, for the phases that have one.
    fn phase_narration(&self, kind: PhaseKind) -> Option<&'static str>;
    /// What a step means, why it is needed and what each side now knows.
    fn narration(&self, step: Step, n: &Narration) -> String;
    /// A cause's name in words ("silent drop").
    fn cause(&self, c: Cause) -> &'static str;
    fn confidence(&self, c: Confidence) -> &'static str;
    /// A retry schedule in words, for the silent drop.
    fn retry_pattern(&self, p: RetryPattern) -> &'static str;
    /// The diagnosis in one sentence, from its evidence; `intervals` is
    /// the list of intervals between sends ("1.000 s, 2.000 s").
    fn diagnosis(&self, d: &Diagnosis, intervals: &str) -> String;
}

/// The words, in one language.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text {
    pub lang: Lang,
}

fn initiator_side(i: Option<Initiator>) -> Option<Side> {
    match i {
        Some(Initiator::One(side)) => Some(side),
        _ => None,
    }
}

impl Text {
    pub fn new(lang: Lang) -> Text {
        Text { lang }
    }

    fn m(&self) -> &'static dyn Messages {
        self.lang.messages()
    }

    pub fn side(&self, side: Side) -> &'static str {
        self.m().side(side)
    }

    /// `line 17` / `第17行`: the walkthrough numbers the capture's lines (frames).
    pub fn line(&self, frame: u64) -> String {
        self.m().line(frame)
    }

    pub fn frame(&self, frame: u64) -> String {
        self.m().frame(frame)
    }

    pub fn capture_header(&self, c: &CaptureReport, file: &str) -> String {
        let format = match c.format {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        };
        self.m().capture_header(c, file, format)
    }

    /// [`Text::capture_header`] with the capture's link types beside its
    /// format, as the table names them: `x.pcap (pcap, ETHERNET): …`.
    pub fn capture_header_linked(&self, c: &CaptureReport, file: &str) -> String {
        let format = match c.format {
            CaptureFormat::Pcap => "pcap",
            CaptureFormat::Pcapng => "pcapng",
        };
        let format = format!("{format}, {}", c.link_types.join("+"));
        self.m().capture_header(c, file, &format)
    }

    /// `connection 2: client A → server B`.
    pub fn connection_title(&self, id: u64, client: &str, server: &str, arrow: &str) -> String {
        self.m().connection_title(id, client, server, arrow)
    }

    /// A handshake status in the course's words (`三次握手完成`).
    pub fn handshake_status(&self, s: HandshakeStatus) -> &'static str {
        self.m().handshake_status(s)
    }

    /// A teardown status in the course's words (`四次挥手正常完成`).
    pub fn teardown_status(&self, s: TeardownStatus) -> &'static str {
        self.m().teardown_status(s)
    }

    pub fn connection(&self, id: u64) -> String {
        self.m().connection(id)
    }

    /// The ISNs, and which numbers are shown.
    pub fn isn_line(&self, conn: &ConnectionReport, facts: &Facts, numbers: Numbers) -> String {
        let m = self.m();
        let (c, s) = (conn.client.isn, conn.server.isn);
        if c.is_none() && s.is_none() {
            return m.isn_unknown().into();
        }
        let show = |v: Option<u32>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        let isn = [
            m.isn(Side::Client, facts.isn(Side::Client)),
            m.isn(Side::Server, facts.isn(Side::Server)),
        ];
        let absolute = [show(c), show(s)];
        m.isn_line(numbers, [&isn[0], &isn[1]], [&absolute[0], &absolute[1]])
    }

    /// One sentence on what the states mean (narration only).
    pub fn states_caveat(&self) -> &'static str {
        self.m().states_caveat()
    }

    pub fn phase(&self, kind: PhaseKind) -> String {
        let who = match kind {
            PhaseKind::Release { initiator, .. } => initiator_side(initiator),
            _ => None,
        };
        self.m().phase(kind, who.map_or("", |s| self.side(s)))
    }

    /// The step's name: "handshake 1 of 3" / "第一次握手".
    pub fn step(&self, step: Step) -> String {
        self.m().step(step)
    }

    /// The arithmetic behind an ack: "(= client ISN 1791872318 + 1)".
    pub fn ack_note(&self, note: &AckNote) -> String {
        self.m().ack_note(note)
    }

    /// A Wireshark analysis flag, for people; an unknown one as it is.
    pub fn analysis(&self, name: &str) -> String {
        self.m().analysis(name).unwrap_or(name).to_string()
    }

    /// The summary of segments left out.
    pub fn collapsed(&self, c: &Collapsed) -> String {
        let flags: Vec<String> = c
            .analysis
            .iter()
            .map(|(name, n)| format!("{} ×{n}", self.analysis(name)))
            .collect();
        self.m().collapsed(c, &flags)
    }

    /// The short form for the ladder: "⋮ 9996 segments, lines 4–9999".
    pub fn collapsed_short(&self, c: &Collapsed) -> String {
        self.m().collapsed_short(c)
    }

    pub fn severity(&self, s: Severity) -> &'static str {
        self.m().severity(s)
    }

    /// A finding in one line: code, severity, title, and what happened (the
    /// message names frames and numbers; in Chinese the frames are listed).
    pub fn finding(&self, f: &FindingReport) -> String {
        self.m()
            .finding(f, self.severity(f.severity), &self.finding_title(f))
    }

    /// The finding's title in this language.
    pub fn finding_title(&self, f: &FindingReport) -> String {
        self.m().finding_title(&f.code.rule()).to_string()
    }

    /// Why the finding matters (narration only).
    pub fn finding_why(&self, f: &FindingReport) -> Option<String> {
        Some(self.m().finding_why(&f.code.rule()))
    }

    /// A cause's name in words ("silent drop").
    pub fn cause(&self, c: Cause) -> &'static str {
        self.m().cause(c)
    }

    pub fn confidence(&self, c: Confidence) -> &'static str {
        self.m().confidence(c)
    }

    /// The diagnosis in one sentence, with its numbers.
    pub fn diagnosis(&self, d: &Diagnosis) -> String {
        let intervals: Vec<String> = d
            .evidence
            .intervals_s
            .iter()
            .map(|s| format!("{s:.3} s"))
            .collect();
        self.m().diagnosis(d, &intervals.join(", "))
    }

    /// The last line: how the connection was opened and closed, and where
    /// each side ended.
    /// The connection's diagnosis as the teaching views show it under the
    /// result: `diagnosis: refused (certain): the server answered …`, in
    /// the view's language; `None` for a connection without one.
    pub fn diagnosis_line(&self, conn: &ConnectionReport) -> Option<String> {
        let d = conn.diagnosis.as_ref()?;
        let (cause, confidence, text) = (
            self.cause(d.cause),
            self.confidence(d.confidence),
            self.diagnosis(d),
        );
        Some(match self.lang {
            Lang::En => format!("diagnosis: {cause} ({confidence}): {text}"),
            Lang::Zh => format!("诊断：{cause}（{confidence}）：{text}"),
        })
    }

    pub fn result(&self, conn: &ConnectionReport) -> String {
        let m = self.m();
        let first = initiator_side(conn.teardown.initiator)
            .map(|s| m.first_to_close(s))
            .unwrap_or_default();
        let end = |side: Side, state: State| {
            let wait = if state == State::TimeWait {
                m.time_wait()
            } else {
                ""
            };
            format!("{} {state}{wait}", self.side(side))
        };
        let ends = [
            end(Side::Client, conn.client.final_state),
            end(Side::Server, conn.server.final_state),
        ];
        m.result(
            m.handshake_status(conn.handshake.status),
            m.teardown_status(conn.teardown.status),
            &first,
            [&ends[0], &ends[1]],
        )
    }

    /// A phase's opening sentence (narration only).
    pub fn phase_narration(&self, kind: PhaseKind) -> Option<&'static str> {
        self.m().phase_narration(kind)
    }

    /// What a step means, why it is needed and what each side now knows.
    pub fn narration(
        &self,
        seg: &Seg<'_>,
        facts: &Facts,
        conn: &ConnectionReport,
    ) -> Option<String> {
        let step = seg.step?;
        let m = self.m();
        let num = |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
        let plus1 =
            |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.wrapping_add(1).to_string());
        let (s, o) = (seg.from, seg.from.peer());
        let ack = num(seg.ack);
        let n = Narration {
            me: m.the(s),
            other: m.the(o),
            seq: seg.seq.to_string(),
            ack_ok: seg.note.is_none_or(|n| n.ok),
            x_plus_1: plus1(facts.isn(Side::Client)),
            y_plus_1: plus1(facts.isn(Side::Server)),
            fin: num(facts.fin(s)),
            acks_peer_fin: ack == plus1(facts.fin(o)),
            data: seg.p.len > 0,
            port: conn.server.port,
            ack,
        };
        Some(m.narration(step, &n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Check;

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
    fn steps_are_named_as_in_the_textbooks() {
        let zh = Text::new(Lang::Zh);
        assert_eq!(zh.step(Step::Handshake(1)), "第一次握手");
        assert_eq!(zh.step(Step::Release(4)), "第四次挥手");
        let en = Text::new(Lang::En);
        assert_eq!(en.step(Step::Handshake(3)), "handshake 3 of 3");
        assert_eq!(en.step(Step::Release(2)), "release 2 of 4");
    }

    #[test]
    fn finding_texts_come_from_the_catalog_in_each_language() {
        let rule = Check::TimeWait.rule();
        let f = FindingReport {
            code: Check::TimeWait,
            severity: rule.severity,
            title: rule.title,
            message: "the client ends in TIME-WAIT".into(),
            frames: vec![20, 21],
            count: 1,
        };
        let (en, zh) = (Text::new(Lang::En), Text::new(Lang::Zh));
        assert_eq!(en.finding_title(&f), rule.title);
        assert_eq!(zh.finding_title(&f), rule.zh.title);
        assert_eq!(zh.finding_why(&f).as_deref(), Some(rule.zh.why));
        // English gives the explanation's first sentence.
        let why = en.finding_why(&f).unwrap();
        assert!(rule.explanation.starts_with(why.trim_end_matches('.')));
        assert_eq!(
            en.finding(&f),
            "RL009 (info) TIME-WAIT: this side waits 2·MSL — the client ends in TIME-WAIT"
        );
        assert_eq!(
            zh.finding(&f),
            "RL009（提示）TIME-WAIT：本端等待 2MSL（第20、21行）"
        );
    }

    #[test]
    fn an_unknown_analysis_flag_is_shown_as_it_is() {
        for lang in [Lang::En, Lang::Zh] {
            assert_eq!(Text::new(lang).analysis("new_flag"), "new_flag");
        }
        assert_eq!(Text::new(Lang::Zh).analysis("duplicate_ack"), "重复确认");
    }
}
