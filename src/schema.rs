//! The JSON Schemas (draft 2020-12) of the `tcpstate/1` output, generated
//! from the report model's types ([`crate::report`]) with `schemars`, so that
//! they say what the serde form of those types writes and cannot drift from
//! it: one for the document (`--format json`) and one for a JSON Lines
//! record (`--format jsonl`, one connection per line). `tcpstate schema`
//! prints them; `docs/tcpstate.schema.json` and
//! `docs/tcpstate-record.schema.json` are their shipped copies
//! (`docs/json-schema.md`).
//!
//! The model is closed: every object the output writes lists all its
//! fields, so every object schema with properties gets
//! `additionalProperties: false` (a schema describes the output of its own
//! version; a field added later within `tcpstate/1` is in the next
//! version's schema). Only the standard `format`s are kept (`date-time`,
//! `ipv4`, `ipv6`); schemars' own (`uint64`, `double`) say no more than
//! the `minimum`/`maximum` it writes beside them.

use crate::report::{ConnectionReport, Report};
use schemars::generate::{Contract, SchemaSettings};
use schemars::transform::{RecursiveTransform, RestrictFormats};
use schemars::{JsonSchema, Schema};
use std::io::{self, Write};

/// Which schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The whole document of `--format json`.
    Document,
    /// One line of `--format jsonl`.
    Record,
}

impl Which {
    pub const ALL: [Which; 2] = [Which::Document, Which::Record];

    /// The shipped copy's file name in `docs/`.
    pub const fn file_name(self) -> &'static str {
        match self {
            Which::Document => "tcpstate.schema.json",
            Which::Record => "tcpstate-record.schema.json",
        }
    }

    /// The schema.
    pub fn schema(self) -> Schema {
        match self {
            Which::Document => generate::<Report>(
                "tcpstate/1 document",
                "What `tcpstate analyze --format json` writes (with or without `--packets`).",
            ),
            Which::Record => generate::<ConnectionReport>(
                "tcpstate/1 JSON Lines record",
                "One line of `tcpstate analyze --format jsonl`: one connection, as an element of the document's `connections` array.",
            ),
        }
    }
}

/// Writes the schema, pretty-printed, with a final newline.
pub fn write(which: Which, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &which.schema())?;
    out.write_all(b"\n")
}

fn generate<T: JsonSchema>(title: &str, description: &str) -> Schema {
    let mut settings = SchemaSettings::draft2020_12();
    // What the output writes, not what could be read back: an `Option`
    // field is required (it is written as null), one skipped when empty
    // is not.
    settings.contract = Contract::Serialize;
    let settings = settings
        .with_transform(RecursiveTransform(closed))
        .with_transform(RestrictFormats::default());
    let mut schema = settings.into_generator().into_root_schema_for::<T>();
    schema.insert("title".into(), title.into());
    schema.insert("description".into(), description.into());
    schema
}

/// `additionalProperties: false` on an object schema with properties that
/// says nothing about others.
fn closed(schema: &mut Schema) {
    if let Some(object) = schema.as_object_mut() {
        if object.contains_key("properties") && !object.contains_key("additionalProperties") {
            object.insert("additionalProperties".into(), false.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every object schema in `v`, with its JSON pointer.
    fn objects<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    out.push((at.clone(), v));
                }
                for (k, child) in map {
                    objects(child, format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    objects(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn both_are_draft_2020_12_and_closed() {
        for which in Which::ALL {
            let v = which.schema().to_value();
            assert_eq!(
                v["$schema"], "https://json-schema.org/draft/2020-12/schema",
                "{which:?}"
            );
            let mut found = Vec::new();
            objects(&v, String::new(), &mut found);
            assert!(found.len() > 8, "{which:?}: {}", found.len());
            for (at, o) in found {
                assert_eq!(o["additionalProperties"], false, "{which:?} {at}");
            }
            let text = serde_json::to_string(&v).unwrap();
            for unknown in ["uint64", "uint32", "uint16", "uint8", "double"] {
                assert!(!text.contains(&format!("\"{unknown}\"")), "{unknown}");
            }
        }
    }

    #[test]
    fn the_document_requires_what_it_always_writes() {
        let v = Which::Document.schema().to_value();
        assert_eq!(
            v["required"],
            serde_json::json!(["schema", "tool", "captures", "connections", "summary"])
        );
        assert_eq!(v["properties"]["schema"]["const"], crate::report::SCHEMA);
        let conn = &v["$defs"]["ConnectionReport"];
        let required: Vec<&str> = conn["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        // Left out when empty or not asked for.
        assert!(!required.contains(&"encapsulation"));
        assert!(!required.contains(&"packets"));
        for field in ["id", "client", "handshake", "findings", "history", "zeek"] {
            assert!(required.contains(&field), "{field}");
        }
    }

    #[test]
    fn the_record_is_the_documents_connection() {
        let doc = Which::Document.schema().to_value();
        let rec = Which::Record.schema().to_value();
        assert_eq!(
            rec["properties"],
            doc["$defs"]["ConnectionReport"]["properties"]
        );
        assert_eq!(
            rec["required"],
            doc["$defs"]["ConnectionReport"]["required"]
        );
    }

    #[test]
    fn write_ends_with_a_newline() {
        let mut out = Vec::new();
        write(Which::Record, &mut out).unwrap();
        assert!(out.ends_with(b"}\n"));
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["title"], "tcpstate/1 JSON Lines record");
    }
}
