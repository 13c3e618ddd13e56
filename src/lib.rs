//! tcpstate: TCP connection establishment and release, analyzed from
//! packet captures.
//!
//! Data flows one way: [`capture`] reads frames → [`decode`] turns them into
//! segments → [`conntable`] splits them into connections, each a
//! [`connection`] → [`state`] runs each side's RFC 9293 state machine,
//! [`wireshark`] Wireshark's sequence analysis and completeness, [`zeek`]
//! Zeek's view, and [`checks`] the per-segment checks → [`verdict`] judges
//! each finished connection once (opening, release, the checks about the
//! whole connection) → [`report`] builds the report model → [`render`]
//! prints it; [`teach`] turns a connection's report into the phases and
//! named steps of the teaching views, with their English and Chinese text.
//! [`pipeline`] runs these stages for one capture, on one thread or three
//! (with [`shard`], only one shard's connections);
//! [`run`] analyzes several captures side by side, merges them into one
//! report and writes it in the chosen format. [`schema`] generates the JSON
//! Schemas of the JSON outputs from the report model. `docs/architecture.md` says
//! where each kind of change goes.

pub mod capture;
pub mod checks;
pub mod connection;
pub mod conntable;
pub mod decode;
pub mod diagnosis;
pub mod filter;
pub mod input;
pub mod merge;
pub mod pipeline;
pub mod prefetch;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod schema;
pub mod seq;
pub mod shard;
pub mod state;
pub mod teach;
pub mod tempfile;
pub mod verdict;
pub mod wireshark;
pub mod zeek;
