//! One connection as a JSON line, written directly.
//!
//! The output is byte for byte what `serde_json::to_writer` makes of a
//! [`ConnectionReport`] (tests compare the two on every connection of every
//! capture in `testdata/` and on a generated one), only faster: keys are
//! written as constants instead of being escaped one byte at a time, and
//! text that needs no escaping is copied at once. JSON Lines of a large
//! capture spend most of their time here. A report with per-packet detail
//! (`--packets`) goes through serde_json.

use crate::report::{ConnectionReport, EndpointReport, FindingReport};

/// Appends `c` as one line of compact JSON, newline included.
pub fn write(c: &ConnectionReport, out: &mut Vec<u8>) {
    if c.packets.is_some() {
        // serde_json cannot fail on these types: every map key is a string.
        if super::json::compact(out, c).is_ok() {
            out.push(b'\n');
        }
        return;
    }
    out.extend_from_slice(b"{\"id\":");
    uint(out, c.id);
    out.extend_from_slice(b",\"file\":");
    string(out, &c.file);
    out.extend_from_slice(b",\"client\":");
    endpoint(out, &c.client);
    out.extend_from_slice(b",\"server\":");
    endpoint(out, &c.server);
    if !c.encapsulation.is_empty() {
        out.extend_from_slice(b",\"encapsulation\":[");
        for (i, layer) in c.encapsulation.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, layer);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"roles_by\":");
    constant(out, c.roles_by.as_str());
    out.extend_from_slice(b",\"first_frame\":");
    uint(out, c.first_frame);
    out.extend_from_slice(b",\"last_frame\":");
    uint(out, c.last_frame);
    out.extend_from_slice(b",\"start_time\":");
    string(out, &c.start_time);
    out.extend_from_slice(b",\"start_ts\":");
    float(out, c.start_ts);
    out.extend_from_slice(b",\"duration_s\":");
    float(out, c.duration_s);

    let h = &c.handshake;
    out.extend_from_slice(b",\"handshake\":{\"status\":");
    constant(out, h.status.as_str());
    out.extend_from_slice(b",\"frames\":{\"syn\":");
    opt_uint(out, h.frames.syn);
    out.extend_from_slice(b",\"syn_ack\":");
    opt_uint(out, h.frames.syn_ack);
    out.extend_from_slice(b",\"ack\":");
    opt_uint(out, h.frames.ack);
    out.extend_from_slice(b"},\"rtt_s\":{\"syn_to_syn_ack\":");
    opt_float(out, h.rtt_s.syn_to_syn_ack);
    out.extend_from_slice(b",\"syn_ack_to_ack\":");
    opt_float(out, h.rtt_s.syn_ack_to_ack);
    out.extend_from_slice(b",\"total\":");
    opt_float(out, h.rtt_s.total);
    out.extend_from_slice(b"},\"syn_count\":");
    uint(out, u64::from(h.syn_count));
    out.extend_from_slice(b",\"syn_ack_count\":");
    uint(out, u64::from(h.syn_ack_count));

    let t = &c.teardown;
    out.extend_from_slice(b"},\"teardown\":{\"status\":");
    constant(out, t.status.as_str());
    out.extend_from_slice(b",\"initiator\":");
    match t.initiator {
        Some(i) => constant(out, i.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"frames\":");
    uints(out, &t.frames);

    out.extend_from_slice(b"},\"ended_by\":");
    constant(out, c.ended_by.as_str());
    out.extend_from_slice(b",\"conn_state\":");
    constant(out, c.conn_state.as_str());
    out.extend_from_slice(b",\"history\":");
    string(out, &c.history);
    out.extend_from_slice(b",\"completeness\":");
    uint(out, u64::from(c.completeness));

    let z = &c.zeek;
    out.extend_from_slice(b",\"zeek\":{\"orig_bytes\":");
    uint(out, z.orig_bytes);
    out.extend_from_slice(b",\"resp_bytes\":");
    uint(out, z.resp_bytes);
    out.extend_from_slice(b",\"missed_bytes\":");
    uint(out, z.missed_bytes);
    out.extend_from_slice(b",\"orig_pkts\":");
    uint(out, z.orig_pkts);
    out.extend_from_slice(b",\"orig_ip_bytes\":");
    uint(out, z.orig_ip_bytes);
    out.extend_from_slice(b",\"resp_pkts\":");
    uint(out, z.resp_pkts);
    out.extend_from_slice(b",\"resp_ip_bytes\":");
    uint(out, z.resp_ip_bytes);

    out.extend_from_slice(b"},\"findings\":[");
    for (i, f) in c.findings.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        finding(out, f);
    }
    out.extend_from_slice(b"]}\n");
}

fn endpoint(out: &mut Vec<u8>, e: &EndpointReport) {
    out.extend_from_slice(b"{\"addr\":");
    string(out, &e.addr);
    out.extend_from_slice(b",\"port\":");
    uint(out, u64::from(e.port));
    out.extend_from_slice(b",\"isn\":");
    opt_uint(out, e.isn.map(u64::from));
    out.extend_from_slice(b",\"final_state\":");
    constant(out, e.final_state.as_str());
    out.extend_from_slice(b",\"states\":[");
    for (i, s) in e.states.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        constant(out, s.as_str());
    }
    out.extend_from_slice(b"],\"packets\":");
    uint(out, e.packets);
    out.extend_from_slice(b",\"payload_bytes\":");
    uint(out, e.payload_bytes);
    out.push(b'}');
}

fn finding(out: &mut Vec<u8>, f: &FindingReport) {
    out.extend_from_slice(b"{\"code\":");
    constant(out, f.code.code());
    out.extend_from_slice(b",\"severity\":");
    constant(out, f.severity.as_str());
    out.extend_from_slice(b",\"title\":");
    string(out, f.title);
    out.extend_from_slice(b",\"message\":");
    string(out, &f.message);
    out.extend_from_slice(b",\"frames\":");
    uints(out, &f.frames);
    out.extend_from_slice(b",\"count\":");
    uint(out, f.count);
    out.push(b'}');
}

fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn opt_uint(out: &mut Vec<u8>, n: Option<u64>) {
    match n {
        Some(n) => uint(out, n),
        None => out.extend_from_slice(b"null"),
    }
}

fn uints(out: &mut Vec<u8>, list: &[u64]) {
    out.push(b'[');
    for (i, n) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        uint(out, *n);
    }
    out.push(b']');
}

/// A float as serde_json writes it (its shortest round-trip form; `null`
/// when not finite).
fn float(out: &mut Vec<u8>, x: f64) {
    if serde_json::to_writer(&mut *out, &x).is_err() {
        out.extend_from_slice(b"null");
    }
}

fn opt_float(out: &mut Vec<u8>, x: Option<f64>) {
    match x {
        Some(x) => float(out, x),
        None => out.extend_from_slice(b"null"),
    }
}

/// A name from the schema's fixed vocabulary (states, statuses, codes):
/// plain ASCII letters, digits and dashes, which JSON needs no escape for.
fn constant(out: &mut Vec<u8>, s: &str) {
    debug_assert!(!s.bytes().any(needs_escape), "{s}");
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Text as serde_json escapes it: `"` `\` and control characters; all
/// else, non-ASCII included, as is, but for the bidirectional controls
/// (escaped by [`super::json`], as in every JSON output).
fn string(out: &mut Vec<u8>, s: &str) {
    // Every bidirectional control is encoded starting with 0xE2.
    if s.bytes().any(|b| needs_escape(b) || b == 0xe2) {
        // Rare (file names, messages with odd characters): serde_json's own
        // escaping, so that the output stays identical.
        if super::json::compact(out, s).is_err() {
            out.extend_from_slice(b"\"\"");
        }
        return;
    }
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

fn needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::EndedBy;
    use crate::report::RolesBy;
    use crate::rules::{Check, Severity};
    use crate::state::{Side, State};
    use crate::verdict::{HandshakeStatus, Initiator, TeardownStatus};
    use crate::zeek::ConnState;

    /// Every name written as a constant is the one serde gives the value.
    #[test]
    fn constants_are_the_serde_names() {
        fn same<T: serde::Serialize>(v: T, name: &str) {
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{name}\""));
            assert!(!name.bytes().any(needs_escape));
        }
        for s in State::ALL {
            same(s, s.as_str());
        }
        for s in HandshakeStatus::ALL {
            same(s, s.as_str());
        }
        for s in TeardownStatus::ALL {
            same(s, s.as_str());
        }
        for i in [
            Initiator::One(Side::Client),
            Initiator::One(Side::Server),
            Initiator::Both,
        ] {
            same(i, i.as_str());
        }
        for r in [RolesBy::Syn, RolesBy::Ports] {
            same(r, r.as_str());
        }
        for e in [
            EndedBy::Close,
            EndedBy::Reuse,
            EndedBy::IdleTimeout,
            EndedBy::MaxConnections,
            EndedBy::CaptureEnd,
        ] {
            same(e, e.as_str());
        }
        for c in ConnState::ALL {
            same(c, c.as_str());
        }
        for s in [Severity::Info, Severity::Warning, Severity::Error] {
            same(s, s.as_str());
        }
        for c in Check::ALL {
            assert!(!c.code().bytes().any(needs_escape));
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_escapes_them() {
        for s in [
            "plain",
            "caf\u{e9} \u{7f}",
            "quote \" backslash \\",
            "tab\tnewline\ncr\r\u{1}\u{1f}",
            "",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for x in [0.0, 1.5, 1e-7, 1700000000.0041301, f64::NAN, f64::INFINITY] {
            let mut out = Vec::new();
            float(&mut out, x);
            assert_eq!(out, serde_json::to_vec(&x).unwrap(), "{x}");
        }
    }
}
