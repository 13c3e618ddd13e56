//! A Zeek conn.log: the TSV format with `#` header lines that zeek-cut and
//! other Zeek tooling read. Differences from Zeek's own log are listed in
//! docs/zeek.md.

use crate::report::{rfc3339, Report};
use std::io::{self, Write};

const FIELDS: [&str; 21] = [
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "local_orig",
    "local_resp",
    "missed_bytes",
    "history",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "tunnel_parents",
];
const TYPES: [&str; 21] = [
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "bool",
    "bool",
    "count",
    "string",
    "count",
    "count",
    "count",
    "count",
    "set[string]",
];

/// Zeek's `#open`/`#close` time format.
fn zeek_time(rfc: &str) -> String {
    // 2026-11-21T07:48:01.123456789Z -> 2026-11-21-07-48-01
    rfc.get(..19)
        .unwrap_or("1970-01-01T00:00:00")
        .replace(['T', ':'], "-")
}

/// Zeek's `tunnel_parents`: the tunnels that carried the connection, as a
/// set (`,`-separated), each named as in the JSON with an ASCII arrow; `-`
/// when it was captured bare.
fn tunnel_parents(layers: &[String]) -> String {
    if layers.is_empty() {
        return "-".into();
    }
    layers
        .iter()
        .map(|l| l.replace('→', "->").replace([',', '\t'], " "))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let first = report
        .connections
        .iter()
        .map(|c| c.start_time.as_str())
        .min()
        .map(str::to_string)
        .unwrap_or_else(|| rfc3339(0));
    writeln!(out, "#separator \\x09")?;
    writeln!(out, "#set_separator\t,")?;
    writeln!(out, "#empty_field\t(empty)")?;
    writeln!(out, "#unset_field\t-")?;
    writeln!(out, "#path\tconn")?;
    writeln!(out, "#open\t{}", zeek_time(&first))?;
    writeln!(out, "#fields\t{}", FIELDS.join("\t"))?;
    writeln!(out, "#types\t{}", TYPES.join("\t"))?;
    for c in &report.connections {
        let duration = if c.duration_s > 0.0 {
            format!("{:.6}", c.duration_s)
        } else {
            "-".into()
        };
        let row = [
            format!("{:.6}", c.start_ts),
            format!("CT{:016x}", c.id),
            c.client.addr.clone(),
            c.client.port.to_string(),
            c.server.addr.clone(),
            c.server.port.to_string(),
            "tcp".into(),
            "-".into(),
            duration,
            c.zeek.orig_bytes.to_string(),
            c.zeek.resp_bytes.to_string(),
            c.conn_state.as_str().into(),
            "-".into(),
            "-".into(),
            c.zeek.missed_bytes.to_string(),
            if c.history.is_empty() {
                "-".into()
            } else {
                c.history.clone()
            },
            c.zeek.orig_pkts.to_string(),
            c.zeek.orig_ip_bytes.to_string(),
            c.zeek.resp_pkts.to_string(),
            c.zeek.resp_ip_bytes.to_string(),
            tunnel_parents(&c.encapsulation),
        ];
        writeln!(out, "{}", row.join("\t"))?;
    }
    let last = report
        .connections
        .iter()
        .map(|c| c.start_time.as_str())
        .max()
        .map(str::to_string)
        .unwrap_or(first);
    writeln!(out, "#close\t{}", zeek_time(&last))
}
