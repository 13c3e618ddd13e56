//! The integration tests, as one test crate: one binary to link instead of
//! one per file. Each file in this directory is a module, one topic each;
//! `tests/common/` holds the helpers they share.
//!
//! To add a file `tests/it/NAME.rs`, declare it below with `mod NAME;` and
//! reach the helpers with `use crate::common;` (then `use common::*;` as
//! before). Its insta snapshots live in `tests/it/snapshots/`, named
//! `it__NAME__SNAPSHOT.snap`.

#[path = "../common/mod.rs"]
mod common;

mod agree_late_segments;
mod bounded_long;
mod captures;
mod catalog_references;
mod core_layers;
mod corruption;
mod daily2_live;
mod daily2_merge;
mod daily2_table;
mod daily2_timeline;
mod daily2_unreadable;
mod daily_cli;
mod daily_compressed;
mod daily_conn;
mod daily_empty;
mod daily_filter;
mod daily_table;
mod decap_fragments;
mod decap_not_silent;
mod decap_tunnels;
mod diagnet_causes;
mod diagnosis_causes;
mod diagrst_causes;
mod engine_cli;
mod engine_library;
mod equivalence;
mod flood;
mod hostile;
mod html2_ladder;
mod html_browser;
mod html_snapshots;
mod icmp_errors;
mod icmp_verify_checksums;
mod inputs;
mod jsonl_writer;
mod lifecycle_scenarios;
mod limits;
mod mermaid;
mod output;
mod schema_consumers;
mod schema_outputs;
mod shard_union;
mod spool_packets;
mod stream_interrupt;
mod stream_outputs;
mod stream_stops;
mod streaming;
mod summary_counts;
mod teach;
mod teachstream_memory;
mod tshark_agreement;
mod validation;
mod zeekrec_records;
