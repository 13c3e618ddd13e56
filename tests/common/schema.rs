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

use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

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

/// A compiled schema: each (sub)schema a [`Node`] in `nodes`, the root at
/// index 0, its keywords read once so that checking a value looks nothing
/// up by keyword name (the tests validate every output they parse, some of
/// them thousands of connections long).
pub struct Validator {
    root: Value,
    nodes: Vec<Node>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.root)
    }
}

/// One schema: `true`, `false`, or an object's keywords.
enum Node {
    True,
    False,
    Keywords(Box<Keywords>),
}

/// The keywords of one schema object, each as `check` needs it; an index
/// is another [`Node`].
#[derive(Default)]
struct Keywords {
    /// `type`: the names, and the keyword's value for the message.
    types: Option<(Vec<String>, Value)>,
    constant: Option<Value>,
    one_of_values: Option<Vec<Value>>,
    /// `minimum` and `maximum`: as `f64`, and the keyword's value.
    minimum: Option<(f64, Value)>,
    maximum: Option<(f64, Value)>,
    pattern: Option<(String, regex_lite::Regex)>,
    format: Option<String>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    unique_items: bool,
    required: Vec<String>,
    properties: Option<BTreeMap<String, usize>>,
    additional_properties: Option<usize>,
    property_names: Option<usize>,
    items: Option<usize>,
    reference: Option<usize>,
    any_of: Option<Vec<usize>>,
    one_of: Option<Vec<usize>>,
}

/// Where `check` puts what it finds: every error, rendered, or only
/// whether there is one (for `anyOf` and `oneOf`, which ask no more and
/// stop at the first).
enum Errors {
    All(Vec<String>),
    Any(bool),
}

impl Errors {
    /// Records an error, rendering it only if it is kept.
    fn push(&mut self, what: impl FnOnce() -> String) {
        match self {
            Errors::All(out) => out.push(what()),
            Errors::Any(found) => *found = true,
        }
    }

    /// Whether checking can stop: an error was found and only that counts.
    fn done(&self) -> bool {
        matches!(self, Errors::Any(true))
    }
}

impl Validator {
    /// Compiles `root`: every keyword known, every `$ref` resolvable,
    /// every pattern a valid regular expression.
    pub fn new(root: Value) -> Result<Validator, String> {
        let mut v = Validator {
            root: Value::Null,
            nodes: Vec::new(),
        };
        let mut refs = HashMap::new();
        v.compile(&root, "#", &root, &mut refs)?;
        v.root = root;
        Ok(v)
    }

    /// Compiles `schema` (found at `at` in `root`) into a new node, and
    /// returns its index; `refs` holds the nodes of `$ref` targets already
    /// compiled (or being compiled), so each is compiled once.
    fn compile(
        &mut self,
        schema: &Value,
        at: &str,
        root: &Value,
        refs: &mut HashMap<String, usize>,
    ) -> Result<usize, String> {
        let index = self.nodes.len();
        self.nodes.push(Node::True);
        let obj = match schema {
            Value::Bool(true) => return Ok(index),
            Value::Bool(false) => {
                self.nodes[index] = Node::False;
                return Ok(index);
            }
            Value::Object(o) => o,
            _ => return Err(format!("{at}: a schema is an object or a boolean")),
        };
        let mut kw = Keywords::default();
        for (k, sub) in obj {
            if !CHECKED.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                return Err(format!(
                    "{at}: keyword `{k}` is not supported by this validator"
                ));
            }
            match k.as_str() {
                "$defs" => {
                    let map = sub
                        .as_object()
                        .ok_or_else(|| format!("{at}/{k}: not an object"))?;
                    for (name, s) in map {
                        // Its path is how a `$ref` names it: compiled once.
                        let at = format!("{at}/{k}/{name}");
                        if !refs.contains_key(&at) {
                            refs.insert(at.clone(), self.nodes.len());
                            self.compile(s, &at, root, refs)?;
                        }
                    }
                }
                "properties" => {
                    let map = sub
                        .as_object()
                        .ok_or_else(|| format!("{at}/{k}: not an object"))?;
                    let mut props = BTreeMap::new();
                    for (name, s) in map {
                        let node = self.compile(s, &format!("{at}/{k}/{name}"), root, refs)?;
                        props.insert(name.clone(), node);
                    }
                    kw.properties = Some(props);
                }
                "items" | "additionalProperties" | "propertyNames" => {
                    let node = Some(self.compile(sub, &format!("{at}/{k}"), root, refs)?);
                    match k.as_str() {
                        "items" => kw.items = node,
                        "additionalProperties" => kw.additional_properties = node,
                        _ => kw.property_names = node,
                    }
                }
                "anyOf" | "oneOf" => {
                    let list = sub
                        .as_array()
                        .filter(|l| !l.is_empty())
                        .ok_or_else(|| format!("{at}/{k}: not a non-empty array"))?;
                    let mut nodes = Vec::new();
                    for (i, s) in list.iter().enumerate() {
                        nodes.push(self.compile(s, &format!("{at}/{k}/{i}"), root, refs)?);
                    }
                    if k == "anyOf" {
                        kw.any_of = Some(nodes);
                    } else {
                        kw.one_of = Some(nodes);
                    }
                }
                "$ref" => {
                    let r = sub
                        .as_str()
                        .ok_or_else(|| format!("{at}/$ref: not a string"))?;
                    kw.reference = Some(match refs.get(r) {
                        Some(&node) => node,
                        None => {
                            let target = r
                                .strip_prefix('#')
                                .and_then(|pointer| root.pointer(pointer))
                                .ok_or_else(|| format!("{at}: `$ref` {r} does not resolve"))?;
                            // Reserved before compiling, for a schema that
                            // refers to itself.
                            refs.insert(r.to_string(), self.nodes.len());
                            self.compile(target, r, root, refs)?
                        }
                    });
                }
                "pattern" => {
                    let p = sub
                        .as_str()
                        .ok_or_else(|| format!("{at}/pattern: not a string"))?;
                    let re =
                        regex_lite::Regex::new(p).map_err(|e| format!("{at}/pattern: {p}: {e}"))?;
                    kw.pattern = Some((p.to_string(), re));
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
                    kw.format = sub.as_str().map(str::to_string);
                }
                "type" => {
                    let names: Vec<&Value> = match sub {
                        Value::Array(a) => a.iter().collect(),
                        one => vec![one],
                    };
                    for n in &names {
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
                    let names = names.iter().filter_map(|n| n.as_str()).map(str::to_string);
                    kw.types = Some((names.collect(), sub.clone()));
                }
                "const" => kw.constant = Some(sub.clone()),
                "enum" => kw.one_of_values = sub.as_array().cloned(),
                "minimum" => kw.minimum = sub.as_f64().map(|n| (n, sub.clone())),
                "maximum" => kw.maximum = sub.as_f64().map(|n| (n, sub.clone())),
                "minItems" => kw.min_items = sub.as_u64(),
                "maxItems" => kw.max_items = sub.as_u64(),
                "uniqueItems" => kw.unique_items = sub == &Value::Bool(true),
                "required" => {
                    if let Value::Array(req) = sub {
                        let names = req.iter().filter_map(Value::as_str).map(str::to_string);
                        kw.required = names.collect();
                    }
                }
                _ => {}
            }
        }
        self.nodes[index] = Node::Keywords(Box::new(kw));
        Ok(index)
    }

    /// Whether `value` matches.
    pub fn is_valid(&self, value: &Value) -> bool {
        self.valid(0, value)
    }

    /// Every error of `value`, each "at 'PATH': what".
    pub fn errors(&self, value: &Value) -> Vec<String> {
        let mut out = Errors::All(Vec::new());
        self.check(0, value, &At::Root, &mut out);
        match out {
            Errors::All(errors) => errors,
            Errors::Any(_) => unreachable!(),
        }
    }

    fn check(&self, node: usize, v: &Value, path: &At<'_>, out: &mut Errors) {
        let kw = match &self.nodes[node] {
            Node::True => return,
            Node::False => {
                out.push(|| format!("at '{path}': nothing is allowed here"));
                return;
            }
            Node::Keywords(kw) => kw,
        };
        self.assertions(kw, v, path, out);
        if out.done() {
            return;
        }
        self.applicators(kw, v, path, out);
    }

    /// The keywords that judge `v` itself.
    fn assertions(&self, kw: &Keywords, v: &Value, path: &At<'_>, out: &mut Errors) {
        let mut fail = |what: &dyn Fn() -> String| out.push(|| format!("at '{path}': {}", what()));
        if let Some((names, t)) = &kw.types {
            if !names.iter().any(|n| is_type(v, n)) {
                fail(&|| format!("{v} is not of type {t}"));
            }
        }
        if let Some(c) = &kw.constant {
            if !equal(c, v) {
                fail(&|| format!("{v} is not {c}"));
            }
        }
        if let Some(e) = &kw.one_of_values {
            if !e.iter().any(|c| equal(c, v)) {
                fail(&|| format!("{v} is not one of {}", Value::Array(e.clone())));
            }
        }
        if let Some(n) = v.as_f64() {
            if let Some((min, at_least)) = &kw.minimum {
                if n < *min || below(v, at_least) {
                    fail(&|| format!("{v} is less than the minimum of {min}"));
                }
            }
            if let Some((max, at_most)) = &kw.maximum {
                if n > *max || above(v, at_most) {
                    fail(&|| format!("{v} is greater than the maximum of {max}"));
                }
            }
        }
        if let Value::String(s) = v {
            if let Some((p, re)) = &kw.pattern {
                if !re.is_match(s) {
                    fail(&|| format!("\"{s}\" does not match \"{p}\""));
                }
            }
            if let Some(f) = &kw.format {
                let ok = match f.as_str() {
                    "date-time" => is_date_time(s),
                    "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
                    "ipv6" => s.parse::<std::net::Ipv6Addr>().is_ok(),
                    _ => true,
                };
                if !ok {
                    fail(&|| format!("\"{s}\" is not a \"{f}\""));
                }
            }
        }
        if let Value::Array(items) = v {
            if let Some(n) = kw.min_items {
                if (items.len() as u64) < n {
                    fail(&|| format!("{} items, fewer than {n}", items.len()));
                }
            }
            if let Some(n) = kw.max_items {
                if items.len() as u64 > n {
                    fail(&|| format!("{} items, more than {n}", items.len()));
                }
            }
            if kw.unique_items {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].iter().any(|b| equal(a, b)) {
                        fail(&|| format!("item {i} ({a}) is not unique"));
                    }
                }
            }
        }
        if let Value::Object(fields) = v {
            for name in &kw.required {
                if !fields.contains_key(name) {
                    fail(&|| format!("\"{name}\" is a required property"));
                }
            }
        }
    }

    /// The keywords that apply schemas to `v`'s parts or to `v` again,
    /// which add their own errors.
    fn applicators(&self, kw: &Keywords, v: &Value, path: &At<'_>, out: &mut Errors) {
        if let Value::Object(fields) = v {
            for (name, value) in fields {
                let at = At::Key(path, name);
                match kw.properties.as_ref().and_then(|p| p.get(name)) {
                    Some(&s) => self.check(s, value, &at, out),
                    None => match kw.additional_properties {
                        Some(extra) if matches!(self.nodes[extra], Node::False) => out.push(|| {
                            format!("at '{path}': additional property \"{name}\" is not allowed")
                        }),
                        Some(extra) => self.check(extra, value, &at, out),
                        None => {}
                    },
                }
                // A name's errors are the object's, as other validators say.
                if let Some(names) = kw.property_names {
                    self.check(names, &Value::String(name.clone()), path, out);
                }
                if out.done() {
                    return;
                }
            }
        }
        if let (Value::Array(items), Some(s)) = (v, kw.items) {
            for (i, item) in items.iter().enumerate() {
                self.check(s, item, &At::Index(path, i), out);
                if out.done() {
                    return;
                }
            }
        }
        if let Some(target) = kw.reference {
            self.check(target, v, path, out);
        }
        if let Some(any) = &kw.any_of {
            if !any.iter().any(|&s| self.valid(s, v)) {
                out.push(|| format!("at '{path}': {v} matches none of anyOf"));
            }
        }
        if let Some(one) = &kw.one_of {
            let n = one.iter().filter(|&&s| self.valid(s, v)).count();
            if n != 1 {
                out.push(|| format!("at '{path}': {v} matches {n} of oneOf, not exactly one"));
            }
        }
    }

    /// Whether `v` matches node `node`, stopping at its first error.
    fn valid(&self, node: usize, v: &Value) -> bool {
        let mut out = Errors::Any(false);
        self.check(node, v, &At::Root, &mut out);
        !out.done()
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
