//! `--filter EXPR`: which connections a run looks at.
//!
//! The words are tcpdump's for addresses — `host`, `net` (CIDR), `port`,
//! `portrange`, the `src`/`dst` qualifiers, `ip`/`ip6`, `and`/`or`/`not`
//! (also `&&`, `||`, `!`) and parentheses — and the same grammar over the
//! verdicts of a connection: `handshake refused`, `teardown reset`,
//! `state CLOSE-WAIT` (either side's final state), `conn_state S0`,
//! `finding HS006`, `severity warning` (a finding at or above it),
//! `diagnosis silent_drop` (the cause of the connection's diagnosis,
//! `docs/diagnosis.md`; `diagnosis any`: any cause),
//! `duration > 2s`, `bytes > 1M` (payload, both directions) and
//! `packets >= 10`.
//!
//! A connection matches when the expression holds with its client as the
//! source and its server as the destination, or the other way round, so
//! `src host A` is a connection with A at either end and
//! `src host A and dst port 80` one where A talks to port 80.
//!
//! [`Filter::keeps`] evaluates the address part alone on a segment's
//! addresses and ports (the verdicts are not known yet: three-valued
//! logic), so that segments of connections that cannot match are dropped
//! before they are tracked.
//!
//! ```
//! use tcpstate::filter::Filter;
//! let f = Filter::parse("port 443 and (handshake unanswered or severity warning)").unwrap();
//! assert!(f.has_verdicts() && f.has_addresses());
//! let e = Filter::parse("port 443 and handshake maybe").unwrap_err();
//! assert_eq!(e.to_string(), "unknown handshake status 'maybe' (complete, simultaneous, refused, unanswered, unreachable, incomplete, missing)");
//! assert_eq!(e.caret("port 443 and handshake maybe"), "  port 443 and handshake maybe\n                         ^^^^^");
//! ```

use crate::diagnosis::Cause;
use crate::report::ConnectionReport;
use crate::rules::{Check, Severity};
use crate::state::State;
use std::fmt;
use std::net::IpAddr;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    text: String,
    expr: Expr,
}

/// The expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// A test on addresses and ports, known from any segment.
    Address(Address),
    /// A test on the connection's verdicts, known once it is done.
    Verdict(Verdict),
}

/// Which end of a connection an address test looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Src,
    Dst,
    /// No qualifier, or `src or dst`: either end.
    Either,
    /// `src and dst`: both ends.
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    Host(Dir, IpAddr),
    /// An address with a prefix length.
    Net(Dir, IpAddr, u8),
    Port(Dir, u16),
    PortRange(Dir, u16, u16),
    /// IPv4 connections.
    Ip4,
    /// IPv6 connections.
    Ip6,
    /// `tcp`: every connection (all are TCP).
    Tcp,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Handshake(&'static str),
    Teardown(&'static str),
    /// Either side's final state.
    State(State),
    ConnState(&'static str),
    Finding(Check),
    /// A finding at or above this severity.
    Severity(Severity),
    /// A diagnosis with this cause (`None`: any cause).
    Diagnosis(Option<Cause>),
    /// Seconds.
    Duration(Cmp, f64),
    /// Payload bytes, both directions.
    Bytes(Cmp, u64),
    /// Packets, both directions.
    Packets(Cmp, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
}

impl Cmp {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Ge => a >= b,
            Cmp::Gt => a > b,
        }
    }
}

const HANDSHAKES: [&str; 7] = [
    "complete",
    "simultaneous",
    "refused",
    "unanswered",
    "unreachable",
    "incomplete",
    "missing",
];
const TEARDOWNS: [&str; 6] = [
    "graceful",
    "simultaneous",
    "reset",
    "half_closed",
    "incomplete",
    "none",
];
/// The words a protocol (`tcp`, `ip`, `ip6`) may qualify.
const QUALIFIED: [&str; 6] = ["host", "net", "port", "portrange", "src", "dst"];

const CONN_STATES: [&str; 13] = [
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
];

/// A bad expression: what is wrong, and where (a byte range of the
/// expression).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    /// Byte offset of the offending token.
    pub start: usize,
    /// Its length in bytes (at least 1 is shown).
    pub len: usize,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

impl ParseError {
    /// The expression on one line and a caret line under the offending
    /// token, both indented by two columns.
    pub fn caret(&self, expr: &str) -> String {
        let shown = crate::render::printable(expr);
        // Columns are counted on the printable text, so a control character
        // (shown escaped) cannot shift the caret.
        let start = self.start.min(expr.len());
        let end = start.saturating_add(self.len).min(expr.len());
        let before = expr.get(..start).map(crate::render::printable);
        let token = expr.get(start..end).map(crate::render::printable);
        let col = before.map_or(0, |b| unicode_width::UnicodeWidthStr::width(b.as_ref()));
        let width = token
            .map_or(0, |t| unicode_width::UnicodeWidthStr::width(t.as_ref()))
            .max(1);
        format!("  {shown}\n  {}{}", " ".repeat(col), "^".repeat(width))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    Open,
    Close,
    And,
    Or,
    Not,
    Cmp(Cmp),
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    tok: Tok<'a>,
    start: usize,
    len: usize,
}

fn is_word_byte(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '(' | ')' | '<' | '>' | '=' | '!' | '&' | '|')
}

fn tokenize(text: &str) -> Result<Vec<Token<'_>>, ParseError> {
    let mut tokens = Vec::new();
    let mut rest = text.char_indices().peekable();
    while let Some((start, c)) = rest.next() {
        if c.is_whitespace() {
            continue;
        }
        let next_is = |rest: &mut std::iter::Peekable<std::str::CharIndices<'_>>, want: char| {
            rest.next_if(|&(_, n)| n == want).is_some()
        };
        let (tok, len) = match c {
            '(' => (Tok::Open, 1),
            ')' => (Tok::Close, 1),
            '&' if next_is(&mut rest, '&') => (Tok::And, 2),
            '|' if next_is(&mut rest, '|') => (Tok::Or, 2),
            '!' if next_is(&mut rest, '=') => (Tok::Cmp(Cmp::Ne), 2),
            '!' => (Tok::Not, 1),
            '<' if next_is(&mut rest, '=') => (Tok::Cmp(Cmp::Le), 2),
            '<' => (Tok::Cmp(Cmp::Lt), 1),
            '>' if next_is(&mut rest, '=') => (Tok::Cmp(Cmp::Ge), 2),
            '>' => (Tok::Cmp(Cmp::Gt), 1),
            '=' if next_is(&mut rest, '=') => (Tok::Cmp(Cmp::Eq), 2),
            '=' => (Tok::Cmp(Cmp::Eq), 1),
            '&' | '|' => {
                return Err(ParseError {
                    message: format!(
                        "'{c}' alone is not an operator (use '{c}{c}', 'and' or 'or')"
                    ),
                    start,
                    len: 1,
                })
            }
            _ => {
                let mut end = start + c.len_utf8();
                while let Some((i, n)) = rest.next_if(|&(_, n)| is_word_byte(n)) {
                    end = i + n.len_utf8();
                }
                let word = &text[start..end];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    _ => Tok::Word(word),
                };
                (tok, end - start)
            }
        };
        tokens.push(Token { tok, start, len });
    }
    Ok(tokens)
}

/// Expressions nest at most this deep (parentheses and `not`), and have
/// at most so many tests, so that a hostile expression cannot overflow the
/// stack when it is parsed, evaluated or dropped.
const MAX_DEPTH: usize = 64;
const MAX_TESTS: usize = 1000;

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    pos: usize,
    /// The expression's length: where "the end" is.
    end: usize,
    depth: usize,
    tests: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let t = self.peek();
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    fn error_at(&self, token: Option<Token<'_>>, message: String) -> ParseError {
        match token {
            Some(t) => ParseError {
                message,
                start: t.start,
                len: t.len,
            },
            None => ParseError {
                message,
                start: self.end,
                len: 1,
            },
        }
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while matches!(self.peek(), Some(Token { tok: Tok::Or, .. })) {
            self.next();
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while matches!(self.peek(), Some(Token { tok: Tok::And, .. })) {
            self.next();
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn deeper(&mut self, at: Token<'_>) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                Some(at),
                format!("the expression nests more than {MAX_DEPTH} deep"),
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        let token = self.next();
        match token {
            Some(t @ Token { tok: Tok::Not, .. }) => {
                self.deeper(t)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            Some(t @ Token { tok: Tok::Open, .. }) => {
                self.deeper(t)?;
                let inner = self.or()?;
                self.depth -= 1;
                match self.next() {
                    Some(Token {
                        tok: Tok::Close, ..
                    }) => Ok(inner),
                    other => {
                        Err(self
                            .error_at(other, "expected ')' to close the '(' before".to_string()))
                    }
                }
            }
            Some(
                t @ Token {
                    tok: Tok::Word(word),
                    ..
                },
            ) => {
                self.tests += 1;
                if self.tests > MAX_TESTS {
                    return Err(error(
                        t,
                        format!("the expression has more than {MAX_TESTS} tests"),
                    ));
                }
                self.term(word, t)
            }
            _ => Err(self.error_at(
                token,
                "expected a test (host, net, port, portrange, ip, ip6, handshake, teardown, \
                 state, conn_state, finding, severity, duration, bytes, packets), 'not' or '('"
                    .to_string(),
            )),
        }
    }

    /// The word after `what`, or an error naming what was expected.
    fn value(&mut self, expected: &str) -> Result<(&'a str, Token<'a>), ParseError> {
        match self.next() {
            Some(
                t @ Token {
                    tok: Tok::Word(w), ..
                },
            ) => Ok((w, t)),
            other => Err(self.error_at(other, format!("expected {expected}"))),
        }
    }

    fn term(&mut self, word: &'a str, at: Token<'a>) -> Result<Expr, ParseError> {
        let lower = word.to_ascii_lowercase();
        let verdict = |v| Ok(Expr::Verdict(v));
        match lower.as_str() {
            "src" | "dst" => {
                let mut dir = if lower == "src" { Dir::Src } else { Dir::Dst };
                // `src or dst` / `src and dst` (and the same from dst) as one qualifier.
                if let (
                    Some(op),
                    Some(Token {
                        tok: Tok::Word(w), ..
                    }),
                ) = (self.peek(), self.tokens.get(self.pos + 1).copied())
                {
                    let other = if dir == Dir::Src { "dst" } else { "src" };
                    if w.eq_ignore_ascii_case(other) {
                        match op.tok {
                            Tok::Or => dir = Dir::Either,
                            Tok::And => dir = Dir::Both,
                            _ => {}
                        }
                        if dir != Dir::Src && dir != Dir::Dst {
                            self.pos += 2;
                        }
                    }
                }
                self.address(dir)
            }
            "host" | "net" | "port" | "portrange" => {
                self.pos -= 1;
                self.address(Dir::Either)
            }
            "ip" | "ip6" | "tcp" => {
                let proto = Expr::Address(match lower.as_str() {
                    "ip" => Address::Ip4,
                    "ip6" => Address::Ip6,
                    _ => Address::Tcp,
                });
                // tcpdump's `tcp port 80`, `ip host A`, `ip6 src net N`: the
                // protocol and the test after it.
                match self.peek() {
                    Some(
                        t @ Token {
                            tok: Tok::Word(next),
                            ..
                        },
                    ) if QUALIFIED.iter().any(|q| next.eq_ignore_ascii_case(q)) => {
                        self.pos += 1;
                        let test = self.term(next, t)?;
                        Ok(Expr::And(Box::new(proto), Box::new(test)))
                    }
                    _ => Ok(proto),
                }
            }
            "handshake" => {
                let (w, t) = self.value("a handshake status")?;
                verdict(Verdict::Handshake(named(
                    w,
                    t,
                    "handshake status",
                    &HANDSHAKES,
                )?))
            }
            "teardown" => {
                let (w, t) = self.value("a teardown status")?;
                verdict(Verdict::Teardown(named(
                    w,
                    t,
                    "teardown status",
                    &TEARDOWNS,
                )?))
            }
            "diagnosis" => {
                let (w, t) = self.value("a diagnosis cause, or any")?;
                let names: Vec<&'static str> = std::iter::once("any")
                    .chain(Cause::ALL.iter().map(|c| c.as_str()))
                    .collect();
                let name = named(w, t, "diagnosis cause", &names)?;
                verdict(Verdict::Diagnosis(Cause::from_name(name)))
            }
            "conn_state" => {
                let (w, t) = self.value("a Zeek conn_state")?;
                verdict(Verdict::ConnState(named(w, t, "conn_state", &CONN_STATES)?))
            }
            "state" => {
                let (w, t) = self.value("a TCP state, e.g. CLOSE-WAIT")?;
                let want = w.replace('_', "-");
                match State::ALL
                    .into_iter()
                    .find(|s| s.to_string().eq_ignore_ascii_case(&want))
                {
                    Some(s) => verdict(Verdict::State(s)),
                    None => {
                        let names: Vec<String> = State::ALL.iter().map(|s| s.to_string()).collect();
                        Err(error(
                            t,
                            format!("unknown TCP state '{w}' ({})", names.join(", ")),
                        ))
                    }
                }
            }
            "finding" => {
                let (w, t) = self.value("a check code, e.g. HS006")?;
                match Check::from_code(w) {
                    Some(c) => verdict(Verdict::Finding(c)),
                    None => Err(error(
                        t,
                        format!("unknown check code '{w}' (`tcpstate rules` lists them)"),
                    )),
                }
            }
            "severity" => {
                let (w, t) = self.value("error, warning or info")?;
                let s = match w.to_ascii_lowercase().as_str() {
                    "error" => Severity::Error,
                    "warning" => Severity::Warning,
                    "info" => Severity::Info,
                    _ => {
                        return Err(error(
                            t,
                            format!("unknown severity '{w}' (error, warning, info)"),
                        ))
                    }
                };
                verdict(Verdict::Severity(s))
            }
            "duration" => {
                let (cmp, w, t) = self.comparison("a duration, e.g. 2s or 150ms")?;
                let secs = duration(w).ok_or_else(|| {
                    error(
                        t,
                        format!("'{w}' is not a duration (e.g. 2s, 150ms, 1.5m, 1h)"),
                    )
                })?;
                verdict(Verdict::Duration(cmp, secs))
            }
            "bytes" => {
                let (cmp, w, t) = self.comparison("a size, e.g. 1500, 64k or 1M")?;
                let n = size(w).ok_or_else(|| {
                    error(
                        t,
                        format!("'{w}' is not a size (e.g. 1500, 64k, 1M, 2G, 1Mi)"),
                    )
                })?;
                verdict(Verdict::Bytes(cmp, n))
            }
            "packets" => {
                let (cmp, w, t) = self.comparison("a number of packets")?;
                let n = w
                    .parse()
                    .map_err(|_| error(t, format!("'{w}' is not a number of packets")))?;
                verdict(Verdict::Packets(cmp, n))
            }
            _ => Err(error(
                at,
                format!(
                    "unknown word '{word}' (host, net, port, portrange, src, dst, ip, ip6, \
                     handshake, teardown, state, conn_state, finding, severity, duration, \
                     bytes, packets)"
                ),
            )),
        }
    }

    /// `OP VALUE` after `duration`, `bytes` or `packets`; a missing
    /// operator means `=`.
    fn comparison(&mut self, expected: &str) -> Result<(Cmp, &'a str, Token<'a>), ParseError> {
        let cmp = match self.peek().map(|t| t.tok) {
            Some(Tok::Cmp(c)) => {
                self.next();
                c
            }
            _ => Cmp::Eq,
        };
        let (w, t) = self.value(expected)?;
        Ok((cmp, w, t))
    }

    /// `host ADDR`, `net CIDR`, `port N`, `portrange A-B` (or a bare
    /// address after a qualifier, as in `src 10.0.0.1`).
    fn address(&mut self, dir: Dir) -> Result<Expr, ParseError> {
        let token = self.next();
        let Some(
            at @ Token {
                tok: Tok::Word(word),
                ..
            },
        ) = token
        else {
            return Err(self.error_at(token, "expected host, net, port or portrange".into()));
        };
        let address = match word.to_ascii_lowercase().as_str() {
            "host" => {
                let (w, t) = self.value("an IPv4 or IPv6 address")?;
                Address::Host(dir, ip(w, t)?)
            }
            "net" => {
                let (w, t) = self.value("a network, e.g. 10.0.0.0/8")?;
                let (addr, prefix) = net(w, t)?;
                Address::Net(dir, addr, prefix)
            }
            "port" => {
                let (w, t) = self.value("a port number")?;
                Address::Port(dir, port(w, t)?)
            }
            "portrange" => {
                let (w, t) = self.value("a port range, e.g. 1000-2000")?;
                let Some((a, b)) = w.split_once('-') else {
                    return Err(error(
                        t,
                        format!("'{w}' is not a port range (e.g. 1000-2000)"),
                    ));
                };
                let (a, b) = (port(a, t)?, port(b, t)?);
                if a > b {
                    return Err(error(t, format!("the port range '{w}' is empty")));
                }
                Address::PortRange(dir, a, b)
            }
            _ => match word.parse::<IpAddr>() {
                Ok(addr) => Address::Host(dir, addr),
                Err(_) if word.contains('/') => {
                    let (addr, prefix) = net(word, at)?;
                    Address::Net(dir, addr, prefix)
                }
                Err(_) => {
                    return Err(error(
                        at,
                        format!("expected host, net, port or portrange, not '{word}'"),
                    ))
                }
            },
        };
        Ok(Expr::Address(address))
    }
}

fn error(t: Token<'_>, message: String) -> ParseError {
    ParseError {
        message,
        start: t.start,
        len: t.len,
    }
}

fn named(
    word: &str,
    t: Token<'_>,
    what: &str,
    names: &[&'static str],
) -> Result<&'static str, ParseError> {
    let want = word.replace('-', "_");
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(&want))
        .copied()
        .ok_or_else(|| error(t, format!("unknown {what} '{word}' ({})", names.join(", "))))
}

fn ip(word: &str, t: Token<'_>) -> Result<IpAddr, ParseError> {
    word.parse()
        .map_err(|_| error(t, format!("'{word}' is not an IPv4 or IPv6 address")))
}

fn port(word: &str, t: Token<'_>) -> Result<u16, ParseError> {
    word.parse()
        .map_err(|_| error(t, format!("'{word}' is not a port number (0-65535)")))
}

/// `ADDR/LEN`, or a bare address (the whole address).
fn net(word: &str, t: Token<'_>) -> Result<(IpAddr, u8), ParseError> {
    let (addr, len) = match word.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (word, None),
    };
    let addr = ip(addr, t)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err(error(
                    t,
                    format!("'{word}': the prefix length must be 0 to {max}"),
                ))
            }
        },
    };
    Ok((addr, len))
}

/// Seconds in `2s`, `150ms`, `10us`, `1.5m`, `1h` or a bare number of seconds.
fn duration(word: &str) -> Option<f64> {
    let lower = word.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let n: f64 = number.parse().ok()?;
    let scale = match unit {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 1e-3,
        "us" | "µs" => 1e-6,
        "ns" => 1e-9,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    let secs = n * scale;
    secs.is_finite().then_some(secs)
}

/// Bytes in `1500`, `64k`, `1M`, `2G` (powers of 1000), `64Ki`, `1Mi`,
/// `2Gi` (powers of 1024), with an optional trailing `B`.
fn size(word: &str) -> Option<u64> {
    let split = word
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(split);
    let unit = unit.strip_suffix(['B', 'b']).unwrap_or(unit);
    let scale: f64 = match unit {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" | "KI" | "ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let n: f64 = number.parse().ok()?;
    let bytes = (n * scale).round();
    (bytes.is_finite() && bytes >= 0.0 && bytes <= u64::MAX as f64).then_some(bytes as u64)
}

/// Three-valued truth: the verdicts are not known from a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    False,
    Unknown,
    True,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
    fn and(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::False => Tri::False,
            Tri::True => other(),
            Tri::Unknown => match other() {
                Tri::False => Tri::False,
                _ => Tri::Unknown,
            },
        }
    }
    fn or(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::True => Tri::True,
            Tri::False => other(),
            Tri::Unknown => match other() {
                Tri::True => Tri::True,
                _ => Tri::Unknown,
            },
        }
    }
    fn not(self) -> Tri {
        match self {
            Tri::False => Tri::True,
            Tri::True => Tri::False,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// One orientation of a connection's ends.
#[derive(Debug, Clone, Copy)]
struct Ends {
    src: IpAddr,
    src_port: u16,
    dst: IpAddr,
    dst_port: u16,
}

impl Ends {
    fn reversed(self) -> Ends {
        Ends {
            src: self.dst,
            src_port: self.dst_port,
            dst: self.src,
            dst_port: self.src_port,
        }
    }
}

fn in_net(addr: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (addr, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn at(dir: Dir, ends: &Ends, test: impl Fn(IpAddr, u16) -> bool) -> bool {
    let src = test(ends.src, ends.src_port);
    let dst = test(ends.dst, ends.dst_port);
    match dir {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Either => src || dst,
        Dir::Both => src && dst,
    }
}

impl Address {
    fn holds(&self, ends: &Ends) -> bool {
        match *self {
            Address::Host(dir, want) => at(dir, ends, |a, _| a == want),
            Address::Net(dir, net, prefix) => at(dir, ends, |a, _| in_net(a, net, prefix)),
            Address::Port(dir, want) => at(dir, ends, |_, p| p == want),
            Address::PortRange(dir, lo, hi) => at(dir, ends, |_, p| (lo..=hi).contains(&p)),
            Address::Ip4 => ends.src.is_ipv4(),
            Address::Ip6 => ends.src.is_ipv6(),
            Address::Tcp => true,
        }
    }
}

impl Verdict {
    fn holds(&self, c: &ConnectionReport) -> bool {
        match self {
            Verdict::Handshake(s) => c.handshake.status.as_str() == *s,
            Verdict::Teardown(s) => c.teardown.status.as_str() == *s,
            Verdict::State(s) => c.client.final_state == *s || c.server.final_state == *s,
            Verdict::ConnState(s) => c.conn_state.as_str() == *s,
            Verdict::Finding(check) => c.findings.iter().any(|f| f.code == *check),
            Verdict::Severity(level) => c.findings.iter().any(|f| f.severity >= *level),
            Verdict::Diagnosis(cause) => c
                .diagnosis
                .as_ref()
                .is_some_and(|d| cause.is_none_or(|want| d.cause == want)),
            Verdict::Duration(cmp, secs) => cmp.holds(c.duration_s, *secs),
            Verdict::Bytes(cmp, n) => cmp.holds(
                c.client
                    .payload_bytes
                    .saturating_add(c.server.payload_bytes),
                *n,
            ),
            Verdict::Packets(cmp, n) => {
                cmp.holds(c.client.packets.saturating_add(c.server.packets), *n)
            }
        }
    }
}

impl Expr {
    /// With a connection report, every test is known; without, only the
    /// address tests.
    fn eval(&self, ends: &Ends, report: Option<&ConnectionReport>) -> Tri {
        match self {
            Expr::And(a, b) => a.eval(ends, report).and(|| b.eval(ends, report)),
            Expr::Or(a, b) => a.eval(ends, report).or(|| b.eval(ends, report)),
            Expr::Not(a) => a.eval(ends, report).not(),
            Expr::Address(t) => Tri::of(t.holds(ends)),
            Expr::Verdict(v) => report.map_or(Tri::Unknown, |c| Tri::of(v.holds(c))),
        }
    }

    fn any(&self, leaf: &impl Fn(&Expr) -> bool) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.any(leaf) || b.any(leaf),
            Expr::Not(a) => a.any(leaf),
            _ => leaf(self),
        }
    }
}

impl Filter {
    /// Parses an expression; the error says what is wrong and where.
    pub fn parse(text: &str) -> Result<Filter, ParseError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            end: text.len(),
            depth: 0,
            tests: 0,
        };
        if parser.tokens.is_empty() {
            return Err(parser.error_at(None, "the filter is empty".into()));
        }
        let expr = parser.or()?;
        if let Some(t) = parser.peek() {
            let message = match t.tok {
                Tok::Close => "')' without a '(' before it".to_string(),
                _ => "expected 'and', 'or' or the end of the filter".to_string(),
            };
            return Err(parser.error_at(Some(t), message));
        }
        Ok(Filter {
            text: text.to_string(),
            expr,
        })
    }

    /// The expression as it was given.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Whether the expression tests addresses or ports.
    pub fn has_addresses(&self) -> bool {
        self.expr
            .any(&|e| matches!(e, Expr::Address(a) if *a != Address::Tcp))
    }

    /// Whether the expression tests verdicts (known only once a connection
    /// is done).
    pub fn has_verdicts(&self) -> bool {
        self.expr.any(&|e| matches!(e, Expr::Verdict(_)))
    }

    /// Whether a segment from `src`:`src_port` to `dst`:`dst_port` may
    /// belong to a matching connection (in either direction). `false` only
    /// when the addresses alone rule the connection out.
    pub fn keeps(&self, src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> bool {
        let ends = Ends {
            src,
            src_port,
            dst,
            dst_port,
        };
        self.expr.eval(&ends, None) != Tri::False
            || self.expr.eval(&ends.reversed(), None) != Tri::False
    }

    /// Whether a finished connection matches, with its client as the source
    /// or as the destination.
    pub fn matches(&self, c: &ConnectionReport) -> bool {
        let (Ok(client), Ok(server)) = (c.client.addr.parse(), c.server.addr.parse()) else {
            return false;
        };
        let ends = Ends {
            src: client,
            src_port: c.client.port,
            dst: server,
            dst_port: c.server.port,
        };
        self.expr.eval(&ends, Some(c)) == Tri::True
            || self.expr.eval(&ends.reversed(), Some(c)) == Tri::True
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn keeps(f: &str, src: &str, sp: u16, dst: &str, dp: u16) -> bool {
        Filter::parse(f).unwrap().keeps(v4(src), sp, v4(dst), dp)
    }

    #[test]
    fn addresses_match_in_either_direction() {
        assert!(keeps("port 80", "10.0.0.1", 40000, "10.0.0.2", 80));
        assert!(keeps("port 80", "10.0.0.2", 80, "10.0.0.1", 40000));
        assert!(!keeps("port 81", "10.0.0.2", 80, "10.0.0.1", 40000));
        assert!(keeps(
            "src host 10.0.0.1 and dst port 80",
            "10.0.0.2",
            80,
            "10.0.0.1",
            4
        ));
        assert!(!keeps(
            "src host 10.0.0.1 and dst port 80",
            "10.0.0.1",
            80,
            "10.0.0.2",
            4
        ));
        assert!(keeps("net 10.0.0.0/8", "10.1.2.3", 1, "192.168.0.1", 2));
        assert!(!keeps(
            "net 10.0.0.0/8 and net 192.168.0.0/16 and port 3",
            "10.1.2.3",
            1,
            "192.168.0.1",
            2
        ));
        assert!(keeps(
            "src and dst net 10.0.0.0/8",
            "10.1.2.3",
            1,
            "10.9.0.1",
            2
        ));
        assert!(!keeps(
            "src and dst net 10.0.0.0/8",
            "10.1.2.3",
            1,
            "11.9.0.1",
            2
        ));
        assert!(keeps(
            "portrange 1000-2000",
            "10.1.2.3",
            1500,
            "10.9.0.1",
            2
        ));
        assert!(!keeps(
            "portrange 1000-2000",
            "10.1.2.3",
            999,
            "10.9.0.1",
            2001
        ));
        assert!(keeps("net 0.0.0.0/0", "1.2.3.4", 1, "5.6.7.8", 2));
        assert!(!keeps("ip6", "1.2.3.4", 1, "5.6.7.8", 2));
        assert!(keeps("ip and not port 22", "1.2.3.4", 1, "5.6.7.8", 2));
        assert!(keeps("src 1.2.3.4", "5.6.7.8", 2, "1.2.3.4", 1));
    }

    #[test]
    fn verdicts_never_drop_a_segment() {
        assert!(keeps("handshake refused", "1.2.3.4", 1, "5.6.7.8", 2));
        assert!(keeps("not handshake refused", "1.2.3.4", 1, "5.6.7.8", 2));
        assert!(keeps(
            "port 9 or severity error",
            "1.2.3.4",
            1,
            "5.6.7.8",
            2
        ));
        assert!(!keeps(
            "port 9 and severity error",
            "1.2.3.4",
            1,
            "5.6.7.8",
            2
        ));
        assert!(!keeps(
            "not (port 1 or finding HS006)",
            "1.2.3.4",
            1,
            "5.6.7.8",
            2
        ));
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        let f = Filter::parse("port 1 or port 2 and port 3").unwrap();
        assert!(matches!(f.expr(), Expr::Or(_, _)));
        let f = Filter::parse("not port 1 and port 2").unwrap();
        assert!(matches!(f.expr(), Expr::And(_, _)));
        let f = Filter::parse("!(port 1 || port 2) && port 3").unwrap();
        assert!(matches!(f.expr(), Expr::And(_, _)));
    }

    #[test]
    fn values_with_units() {
        assert_eq!(duration("2s"), Some(2.0));
        assert_eq!(duration("150ms"), Some(0.15));
        assert_eq!(duration("1.5m"), Some(90.0));
        assert_eq!(duration("2"), Some(2.0));
        assert_eq!(duration("2x"), None);
        assert_eq!(size("1M"), Some(1_000_000));
        assert_eq!(size("64k"), Some(64_000));
        assert_eq!(size("1Mi"), Some(1 << 20));
        assert_eq!(size("1500B"), Some(1500));
        assert_eq!(size("1e99"), None);
        assert_eq!(size("99999999999999999999999G"), None);
    }

    fn err(f: &str) -> (String, String) {
        let e = Filter::parse(f).unwrap_err();
        (e.message.clone(), e.caret(f))
    }

    #[test]
    fn errors_point_at_the_offending_token() {
        let (m, c) = err("port 80 and host nope");
        assert!(m.contains("'nope' is not an IPv4 or IPv6 address"), "{m}");
        assert_eq!(c, "  port 80 and host nope\n                   ^^^^");
        let (m, c) = err("port 80 and");
        assert!(m.starts_with("expected a test"), "{m}");
        assert_eq!(c, "  port 80 and\n             ^");
        let (_, c) = err("(port 80");
        assert_eq!(c, "  (port 80\n          ^");
        let (m, c) = err("port 80)");
        assert!(m.contains("without a '('"), "{m}");
        assert_eq!(c, "  port 80)\n         ^");
        let (m, _) = err("port 80 port 81");
        assert!(m.contains("expected 'and', 'or'"), "{m}");
        let (m, _) = err("");
        assert_eq!(m, "the filter is empty");
        let (m, _) = err("a & b");
        assert!(m.contains("'&' alone"), "{m}");
        let (m, c) = err("state LISTENING");
        assert!(m.contains("unknown TCP state"), "{m}");
        assert_eq!(c, "  state LISTENING\n        ^^^^^^^^^");
        let (m, _) = err("net 10.0.0.0/33");
        assert!(m.contains("prefix length"), "{m}");
        let (m, _) = err("portrange 2000-1000");
        assert!(m.contains("empty"), "{m}");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}port 1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert!(Filter::parse(&deep).unwrap_err().message.contains("nests"));
        let nots = format!("{}port 1", "not ".repeat(10_000));
        assert!(Filter::parse(&nots).is_err());
        let long = vec!["port 1"; 100_000].join(" and ");
        assert!(Filter::parse(&long).unwrap_err().message.contains("tests"));
        let ok = format!("{}port 1{}", "(".repeat(20), ")".repeat(20));
        assert!(Filter::parse(&ok).is_ok());
    }

    #[test]
    fn a_caret_under_a_wide_or_control_character_stays_aligned() {
        let f = "host 中文";
        let e = Filter::parse(f).unwrap_err();
        assert_eq!(e.caret(f), "  host 中文\n       ^^^^");
    }
}
