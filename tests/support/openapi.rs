//! Request bodies checked against the schema Discord publishes: `../shared/discord/openapi.json`
//! beside the repository (OpenAPI 3.1, its schemas JSON Schema 2020-12). The operation is found by
//! method and path template, its `requestBody` schema for the content type taken, and the body
//! walked with the keywords those schemas use: `$ref`, `allOf`, `anyOf`, `oneOf`, `type`,
//! `const`, `enum`, `properties`, `required`, `items`, `minItems`, `maxItems`, `uniqueItems`,
//! `minLength`, `maxLength`, `minimum`, `maximum`, `pattern`.
//!
//! One leniency, Discord's own: a snowflake (`format: snowflake`) may be sent as a JSON integer
//! as well as a string (serenity sends a new attachment's id as the integer 0).
#![allow(dead_code)]

use serde_json::Value;
use std::sync::OnceLock;

/// The OpenAPI document, read once.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/discord/openapi.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text).expect("openapi.json parses")
    })
}

/// The request body schema of `method path` (a request path such as
/// `/api/v10/webhooks/1/tok/messages/@original`) for `content_type`
/// (`application/json`, `multipart/form-data`). The template with the most literal segments wins,
/// so `@original` is not read as a message id.
pub fn request_schema(method: &str, path: &str, content_type: &str) -> Option<&'static Value> {
    let path = path.strip_prefix("/api/v10").unwrap_or(path);
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    let (_, op) = paths
        .iter()
        .filter_map(|(template, item)| {
            let t: Vec<&str> = template.trim_matches('/').split('/').collect();
            if t.len() != segs.len() {
                return None;
            }
            let mut literal = 0;
            for (a, b) in t.iter().zip(&segs) {
                if a.starts_with('{') && a.ends_with('}') {
                    continue;
                }
                if a != b {
                    return None;
                }
                literal += 1;
            }
            Some((literal, item.get(method.to_ascii_lowercase())?))
        })
        .max_by_key(|(literal, _)| *literal)?;
    op["requestBody"]["content"][content_type]
        .get("schema")
        .filter(|s| !s.is_null())
}

/// What in `body` the operation's schema refuses (empty when valid); an operation without a
/// schema for the content type is itself a problem.
pub fn validate_request(method: &str, path: &str, content_type: &str, body: &Value) -> Vec<String> {
    match request_schema(method, path, content_type) {
        Some(schema) => validate(schema, body),
        None => vec![format!(
            "no {content_type} request body for {method} {path}"
        )],
    }
}

/// What in `value` `schema` refuses, each as `path: reason`.
pub fn validate(schema: &Value, value: &Value) -> Vec<String> {
    validate_at(schema, value, "$")
}

fn resolve(reference: &str) -> &'static Value {
    let pointer = reference
        .strip_prefix('#')
        .unwrap_or_else(|| panic!("external $ref {reference}"));
    spec()
        .pointer(pointer)
        .unwrap_or_else(|| panic!("unresolved $ref {reference}"))
}

fn type_matches(kind: &str, value: &Value, schema: &Value) -> bool {
    match kind {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "string" => value.is_string() || (schema["format"] == "snowflake" && value.is_u64()),
        _ => false,
    }
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        return; // `true` or an empty schema: anything goes.
    };
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        check(resolve(r), value, path, out);
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for sub in all {
            check(sub, value, path, out);
        }
    }
    for (key, exactly_one) in [("anyOf", false), ("oneOf", true)] {
        let Some(alternatives) = s.get(key).and_then(Value::as_array) else {
            continue;
        };
        let results: Vec<Vec<String>> = alternatives
            .iter()
            .map(|a| validate_at(a, value, path))
            .collect();
        let matching = results.iter().filter(|r| r.is_empty()).count();
        if matching == 0 {
            let closest = results.into_iter().min_by_key(Vec::len).unwrap_or_default();
            out.push(format!(
                "{path}: matches none of {key} (closest: {})",
                closest.join("; ")
            ));
        } else if exactly_one && matching > 1 {
            out.push(format!("{path}: matches {matching} alternatives of oneOf"));
        }
    }
    if let Some(t) = s.get("type") {
        let kinds: Vec<&str> = match t {
            Value::String(k) => vec![k.as_str()],
            Value::Array(ks) => ks.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !kinds.iter().any(|k| type_matches(k, value, schema)) {
            out.push(format!("{path}: {value} is not of type {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const") {
        if c != value {
            out.push(format!("{path}: {value} is not {c}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        if !e.contains(value) {
            out.push(format!(
                "{path}: {value} is not one of {}",
                Value::Array(e.clone())
            ));
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, v) in map {
                    if let Some(p) = props.get(k) {
                        check(p, v, &format!("{path}.{k}"), out);
                    }
                }
            }
            for r in s
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(k) = r.as_str().filter(|k| !map.contains_key(*k)) {
                    out.push(format!("{path}: {k} is required"));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = s.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{path}[{i}]"), out);
                }
            }
            let n = items.len() as f64;
            bounds(
                s,
                ("minItems", "maxItems"),
                n,
                &format!("{path}: {n} items"),
                out,
            );
            if s.get("uniqueItems") == Some(&Value::Bool(true)) {
                for (i, a) in items.iter().enumerate() {
                    if items[i + 1..].contains(a) {
                        out.push(format!("{path}: {a} appears twice"));
                    }
                }
            }
        }
        Value::String(text) => {
            let n = text.chars().count() as f64;
            bounds(
                s,
                ("minLength", "maxLength"),
                n,
                &format!("{path}: {n} characters"),
                out,
            );
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                let re = regex::Regex::new(p).unwrap_or_else(|e| panic!("pattern {p}: {e}"));
                if !re.is_match(text) {
                    out.push(format!("{path}: {text:?} does not match {p}"));
                }
            }
        }
        Value::Number(n) => {
            let n = n.as_f64().unwrap_or(f64::NAN);
            bounds(s, ("minimum", "maximum"), n, &format!("{path}: {n}"), out);
        }
        _ => {}
    }
}

/// `n` against the schema's lower and upper bound keywords `keys`; `what` says what was counted.
fn bounds(
    s: &serde_json::Map<String, Value>,
    (min_key, max_key): (&str, &str),
    n: f64,
    what: &str,
    out: &mut Vec<String>,
) {
    if let Some(min) = s
        .get(min_key)
        .and_then(Value::as_f64)
        .filter(|min| n < *min)
    {
        out.push(format!("{what}, below the {min_key} of {min}"));
    }
    if let Some(max) = s
        .get(max_key)
        .and_then(Value::as_f64)
        .filter(|max| n > *max)
    {
        out.push(format!("{what}, above the {max_key} of {max}"));
    }
}

fn validate_at(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    check(schema, value, path, &mut out);
    out
}
