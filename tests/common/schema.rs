//! A JSON Schema (draft 2020-12) validator for the keywords tcpstate's two
//! shipped schemas use, and only those: a schema using any other keyword is
//! refused when it is compiled ([`Validator::new`]), so the validator cannot
//! silently ignore a rule the schema states.
//!
//! It replaced the `jsonschema` crate, whose build (with `regex`,
//! `fancy-regex`, `num-bigint` and the rest it pulls in) took a quarter of a
//! clean `cargo test`'s compile time. The keywords follow the 2020-12
//! validation vocabulary (json-schema.org/draft/2020-12/json-schema-validation):
//! `type`, `const`, `enum`, `minimum`, `maximum`, `pattern` (ECMA-262
//! subset, through `regex-lite`), `format` (`date-time` as RFC 3339,
//! `ipv4`, `ipv6`, checked as assertions as the tests always did),
//! `properties`, `required`, `additionalProperties`, `propertyNames`,
//! `items`, `minItems`, `maxItems`, `uniqueItems`, `anyOf`, `oneOf`, and
//! `$ref` to `#/$defs/…`. Integers are numbers without a fractional part
//! (`1.0` is an integer, as the specification says).

use serde_json::{Map, Value};
use std::collections::HashMap;

/// Where an instance is, rendered (as a JSON Pointer) only for an error.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Key(up, name) => write!(f, "{up}/{}", escape(name)),
            At::Index(up, i) => write!(f, "{up}/{i}"),
        }
    }
}

/// Keywords that only annotate: they never make an instance invalid.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "title",
    "description",
    "default",
    "examples",
];
/// Keywords this validator checks.
const CHECKED: &[&str] = &[
    "type",
    "const",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "format",
    "properties",
    "required",
    "additionalProperties",
    "propertyNames",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "anyOf",
    "oneOf",
    "$ref",
    "$defs",
];

pub struct Validator {
    root: Value,
    patterns: HashMap<String, regex_lite::Regex>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.root)
    }
}

impl Validator {
    /// Compiles `root`: every keyword known, every `$ref` resolvable,
    /// every pattern a valid regular expression.
    pub fn new(root: Value) -> Result<Validator, String> {
        let mut v = Validator {
            root,
            patterns: HashMap::new(),
        };
        let root = v.root.clone();
        v.compile(&root, "#")?;
        Ok(v)
    }

    fn compile(&mut self, schema: &Value, at: &str) -> Result<(), String> {
        let obj = match schema {
            Value::Bool(_) => return Ok(()),
            Value::Object(o) => o,
            _ => return Err(format!("{at}: a schema is an object or a boolean")),
        };
        for (k, sub) in obj {
            if !CHECKED.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                return Err(format!(
                    "{at}: keyword `{k}` is not supported by this validator"
                ));
            }
            match k.as_str() {
                "properties" | "$defs" => {
                    let map = sub
                        .as_object()
                        .ok_or_else(|| format!("{at}/{k}: not an object"))?;
                    for (name, s) in map {
                        self.compile(s, &format!("{at}/{k}/{name}"))?;
                    }
                }
                "items" | "additionalProperties" | "propertyNames" => {
                    self.compile(sub, &format!("{at}/{k}"))?
                }
                "anyOf" | "oneOf" => {
                    let list = sub
                        .as_array()
                        .filter(|l| !l.is_empty())
                        .ok_or_else(|| format!("{at}/{k}: not a non-empty array"))?;
                    for (i, s) in list.iter().enumerate() {
                        self.compile(s, &format!("{at}/{k}/{i}"))?;
                    }
                }
                "$ref" => {
                    let r = sub
                        .as_str()
                        .ok_or_else(|| format!("{at}/$ref: not a string"))?;
                    if self.resolve(r).is_none() {
                        return Err(format!("{at}: `$ref` {r} does not resolve"));
                    }
                }
                "pattern" => {
                    let p = sub
                        .as_str()
                        .ok_or_else(|| format!("{at}/pattern: not a string"))?;
                    let re =
                        regex_lite::Regex::new(p).map_err(|e| format!("{at}/pattern: {p}: {e}"))?;
                    self.patterns.insert(p.to_string(), re);
                }
                "format" => {
                    let f = sub.as_str().unwrap_or_default();
                    if ![
                        "date-time",
                        "ipv4",
                        "ipv6",
                        "uint",
                        "uint8",
                        "uint16",
                        "uint32",
                        "uint64",
                        "int64",
                        "double",
                    ]
                    .contains(&f)
                    {
                        return Err(format!("{at}: format `{f}` is not supported"));
                    }
                }
                "type" => {
                    let names: Vec<&Value> = match sub {
                        Value::Array(a) => a.iter().collect(),
                        one => vec![one],
                    };
                    for n in names {
                        let ok = n.as_str().is_some_and(|n| {
                            [
                                "null", "boolean", "object", "array", "number", "string", "integer",
                            ]
                            .contains(&n)
                        });
                        if !ok {
                            return Err(format!("{at}/type: {n} is not a type"));
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The schema a `#/$defs/NAME` (JSON Pointer) reference names.
    fn resolve(&self, r: &str) -> Option<&Value> {
        let pointer = r.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    /// Whether `value` matches.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.errors(value).is_empty()
    }

    /// Every error of `value`, each "at 'PATH': what".
    pub fn errors(&self, value: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.check(&self.root, value, &At::Root, &mut out);
        out
    }

    fn check(&self, schema: &Value, v: &Value, path: &At<'_>, out: &mut Vec<String>) {
        let obj: &Map<String, Value> = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => {
                out.push(format!("at '{path}': nothing is allowed here"));
                return;
            }
            Value::Object(o) => o,
            _ => return,
        };
        let mut fail = |what: String| out.push(format!("at '{path}': {what}"));
        if let Some(t) = obj.get("type") {
            let ok = match t {
                Value::Array(a) => a.iter().any(|n| is_type(v, n.as_str().unwrap_or(""))),
                n => is_type(v, n.as_str().unwrap_or("")),
            };
            if !ok {
                fail(format!("{v} is not of type {t}"));
            }
        }
        if let Some(c) = obj.get("const") {
            if !equal(c, v) {
                fail(format!("{v} is not {c}"));
            }
        }
        if let Some(Value::Array(e)) = obj.get("enum") {
            if !e.iter().any(|c| equal(c, v)) {
                fail(format!("{v} is not one of {}", Value::Array(e.clone())));
            }
        }
        if let Some(n) = v.as_f64() {
            if let Some(min) = obj.get("minimum").and_then(Value::as_f64) {
                if n < min || below(v, &obj["minimum"]) {
                    fail(format!("{v} is less than the minimum of {min}"));
                }
            }
            if let Some(max) = obj.get("maximum").and_then(Value::as_f64) {
                if n > max || above(v, &obj["maximum"]) {
                    fail(format!("{v} is greater than the maximum of {max}"));
                }
            }
        }
        if let Value::String(s) = v {
            if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
                if !self.patterns[p].is_match(s) {
                    fail(format!("\"{s}\" does not match \"{p}\""));
                }
            }
            if let Some(f) = obj.get("format").and_then(Value::as_str) {
                let ok = match f {
                    "date-time" => is_date_time(s),
                    "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
                    "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
                    _ => true,
                };
                if !ok {
                    fail(format!("\"{s}\" is not a \"{f}\""));
                }
            }
        }
        if let Value::Array(items) = v {
            if let Some(n) = obj.get("minItems").and_then(Value::as_u64) {
                if (items.len() as u64) < n {
                    fail(format!("{} items, fewer than {n}", items.len()));
                }
            }
            if let Some(n) = obj.get("maxItems").and_then(Value::as_u64) {
                if items.len() as u64 > n {
                    fail(format!("{} items, more than {n}", items.len()));
                }
            }
            if obj.get("uniqueItems") == Some(&Value::Bool(true)) {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].iter().any(|b| equal(a, b)) {
                        fail(format!("item {i} ({a}) is not unique"));
                    }
                }
            }
        }
        if let Value::Object(fields) = v {
            if let Some(Value::Array(req)) = obj.get("required") {
                for name in req.iter().filter_map(Value::as_str) {
                    if !fields.contains_key(name) {
                        fail(format!("\"{name}\" is a required property"));
                    }
                }
            }
        }
        // The applicators, which add their own errors.
        if let Value::Object(fields) = v {
            let props = obj.get("properties").and_then(Value::as_object);
            for (name, value) in fields {
                let at = At::Key(path, name);
                match props.and_then(|p| p.get(name)) {
                    Some(s) => self.check(s, value, &at, out),
                    None => {
                        if let Some(extra) = obj.get("additionalProperties") {
                            if extra == &Value::Bool(false) {
                                out.push(format!(
                                    "at '{path}': additional property \"{name}\" is not allowed"
                                ));
                            } else {
                                self.check(extra, value, &at, out);
                            }
                        }
                    }
                }
                // A name's errors are the object's, as other validators say.
                if let Some(names) = obj.get("propertyNames") {
                    self.check(names, &Value::String(name.clone()), path, out);
                }
            }
        }
        if let (Value::Array(items), Some(s)) = (v, obj.get("items")) {
            for (i, item) in items.iter().enumerate() {
                self.check(s, item, &At::Index(path, i), out);
            }
        }
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            if let Some(target) = self.resolve(r) {
                self.check(target, v, path, out);
            }
        }
        if let Some(Value::Array(any)) = obj.get("anyOf") {
            if !any.iter().any(|s| self.valid(s, v)) {
                out.push(format!("at '{path}': {v} matches none of anyOf"));
            }
        }
        if let Some(Value::Array(one)) = obj.get("oneOf") {
            let n = one.iter().filter(|s| self.valid(s, v)).count();
            if n != 1 {
                out.push(format!(
                    "at '{path}': {v} matches {n} of oneOf, not exactly one"
                ));
            }
        }
    }

    fn valid(&self, schema: &Value, v: &Value) -> bool {
        let mut out = Vec::new();
        self.check(schema, v, &At::Root, &mut out);
        out.is_empty()
    }
}

fn is_type(v: &Value, name: &str) -> bool {
    match name {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

/// JSON equality, numbers by value (1 and 1.0 are equal).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_u64(), y.as_u64(), x.as_i64(), y.as_i64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| equal(p, q)))
        }
        _ => a == b,
    }
}

/// Exact integer comparisons where `f64` would round (u64 values above 2^53).
fn below(v: &Value, min: &Value) -> bool {
    match (v.as_i64(), min.as_i64()) {
        (Some(a), Some(b)) => a < b,
        _ => false,
    }
}

fn above(v: &Value, max: &Value) -> bool {
    match (v.as_u64(), max.as_u64()) {
        (Some(a), Some(b)) => a > b,
        _ => v
            .as_i64()
            .is_some_and(|a| max.as_u64().is_some_and(|b| a >= 0 && a as u64 > b)),
    }
}

/// A JSON Pointer token (RFC 6901).
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, with the
/// fields in range (a leap second allowed, as RFC 3339 does).
fn is_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
            .then(|| s[r].parse::<u32>().ok())
            .flatten()
    };
    let (Some(year), Some(month), Some(day), Some(h), Some(m), Some(sec)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return false;
    };
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't'))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return false;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || day == 0
        || day > days[month as usize - 1]
        || h > 23
        || m > 59
        || sec > 60
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let _ = sign;
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && (h1 - b'0') * 10 + (h2 - b'0') <= 23
                && (m1 - b'0') * 10 + (m2 - b'0') <= 59
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Value, v: Value) -> Vec<String> {
        Validator::new(schema).unwrap().errors(&v)
    }

    #[test]
    fn each_keyword_can_fail() {
        let defs = json!({"$defs": {"port": {"type": "integer", "minimum": 0, "maximum": 65535}},
            "type": "object", "required": ["a"], "additionalProperties": false,
            "properties": {"a": {"$ref": "#/$defs/port"}, "b": {"enum": ["x", "y"]},
                "c": {"type": "array", "items": {"const": 1}, "minItems": 1, "maxItems": 2, "uniqueItems": true},
                "d": {"type": "string", "pattern": "^[A-Z]+$"}, "e": {"format": "ipv4"},
                "f": {"format": "date-time"}, "g": {"oneOf": [{"type": "integer"}, {"minimum": 0}]},
                "h": {"anyOf": [{"type": "null"}, {"type": "string"}]},
                "i": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}}});
        assert!(errors(
            defs.clone(),
            json!({"a": 80, "b": "x", "c": [1], "d": "AB", "e": "10.0.0.1",
            "f": "2026-12-02T01:02:03.5+01:00", "g": -1, "h": null, "i": {"ok": 1}})
        )
        .is_empty());
        for (bad, want) in [
            (json!({}), "required"),
            (json!({"a": 70000}), "maximum"),
            (json!({"a": -1}), "minimum"),
            (json!({"a": "80"}), "type"),
            (json!({"a": 1, "z": 1}), "additional"),
            (json!({"a": 1, "b": "z"}), "one of"),
            (json!({"a": 1, "c": []}), "fewer"),
            (json!({"a": 1, "c": [1, 1]}), "unique"),
            (json!({"a": 1, "c": [2]}), "is not 1"),
            (json!({"a": 1, "d": "ab"}), "match"),
            (json!({"a": 1, "e": "10.0.0.256"}), "ipv4"),
            (json!({"a": 1, "f": "2026-02-30T00:00:00Z"}), "date-time"),
            (json!({"a": 1, "g": 1}), "oneOf"),
            (json!({"a": 1, "h": 3}), "anyOf"),
            (json!({"a": 1, "i": {"Bad": 1}}), "match"),
        ] {
            let e = errors(defs.clone(), bad.clone());
            assert!(e.iter().any(|e| e.contains(want)), "{bad}: {e:?}");
        }
    }

    #[test]
    fn unknown_keywords_and_refs_are_refused() {
        assert!(Validator::new(json!({"type": "string", "maxLength": 3})).is_err());
        assert!(Validator::new(json!({"$ref": "#/$defs/nothing"})).is_err());
        assert!(Validator::new(json!({"pattern": "("})).is_err());
        assert!(Validator::new(json!({"type": "text"})).is_err());
    }
}
