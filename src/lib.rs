//! tcpstate: TCP connection establishment and release, analyzed from
//! packet captures.
//!
//! Data flows one way: [`capture`] reads frames → [`decode`] turns them into
//! segments → [`table`] splits them into connections, each a [`flow`] →
//! [`state`] runs each side's RFC 9293 state machine, [`analysis`]
//! Wireshark-style sequence analysis and [`checks`] the per-segment checks →
//! [`verdict`] judges each finished connection once (opening, release, the
//! checks about the whole connection) → [`report`] builds the report model
//! → [`render`] prints it;
//! [`teach`] turns a connection's report into the phases and named steps of
//! the teaching views, with their English and Chinese text. [`analyze`]
//! runs the pipeline for one capture, on one thread or three; [`run`]
//! analyzes several captures side by side, merges them into one report
//! and writes it in the chosen format.

pub mod analysis;
pub mod analyze;
pub mod capture;
pub mod checks;
pub mod decode;
pub mod flow;
pub mod render;
pub mod report;
pub mod rules;
pub mod run;
pub mod seq;
pub mod state;
pub mod table;
pub mod teach;
pub mod verdict;
pub mod zeek;
