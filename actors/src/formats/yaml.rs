//! YAML files, both ways: one flat mapping of `KEY: value`. yaml-rust2 does the syntax; this file
//! bounds the nesting before handing it a document, turns scalars into text and fails nested
//! values per key. Rendering needs no YAML library: every value is written as a JSON string,
//! which is valid YAML and keeps newlines, quotes and leading spaces exact.

use super::json::json_str;
use super::{scalar_entry, Failure, Parsed, Refusal};
use std::fmt::Write;

/// Deeper than this is refused before parsing: a nested value is built and dropped recursively,
/// so an upload of `[[[[...` could exhaust the stack (serde_json has its own limit of 128, so JSON
/// needs no such check).
const MAX_NESTING: usize = 64;

fn too_deep(data: &str) -> bool {
    let mut depth = 0usize;
    for b in data.bytes() {
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

pub(super) fn parse_yaml(data: &str) -> Result<Parsed, Refusal> {
    use yaml_rust2::{Yaml, YamlLoader};
    if too_deep(data) {
        return Err(Refusal::Invalid(
            "The YAML document is nested too deeply.".into(),
        ));
    }
    let docs = YamlLoader::load_from_str(data)
        .map_err(|e| Refusal::Invalid(format!("Not valid YAML: {e}")))?;
    let mut out = Parsed::default();
    let hash = match docs.into_iter().next() {
        None => return Ok(out),
        Some(Yaml::Hash(h)) => h,
        Some(Yaml::Null) => return Ok(out),
        Some(_) => {
            return Err(Refusal::Invalid(
                "A YAML import must be one flat mapping of KEY: value.".into(),
            ))
        }
    };
    for (k, v) in hash {
        let key = match k {
            Yaml::String(s) | Yaml::Real(s) => s,
            Yaml::Integer(i) => i.to_string(),
            Yaml::Boolean(b) => b.to_string(),
            _ => {
                out.failures.push(Failure {
                    line: None,
                    key: None,
                    reason: "A key is not a plain scalar.".into(),
                });
                continue;
            }
        };
        let value = match v {
            Yaml::String(s) | Yaml::Real(s) => Ok(s),
            Yaml::Integer(i) => Ok(i.to_string()),
            Yaml::Boolean(b) => Ok(b.to_string()),
            Yaml::Null => Err("The value is null."),
            _ => Err("Nested values are not supported; values must be scalars."),
        };
        scalar_entry(&mut out, &key, value)?;
    }
    Ok(out)
}

/// A flat YAML mapping; every value double-quoted (JSON string syntax is valid YAML).
pub fn render_yaml(vars: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in vars {
        let _ = writeln!(out, "{k}: {}", json_str(v));
    }
    if vars.is_empty() {
        out.push_str("{}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::formats::{pairs, parse, Format};

    #[test]
    fn yaml_scalars_become_text_and_nesting_fails_per_key() {
        let p = parse(
            "A: x\nB: 42\nC: [1, 2]\nD: \"multi\\nline\"\n",
            Format::Yaml,
        )
        .expect("yaml");
        assert_eq!(
            pairs(&p),
            vec![
                ("A".into(), "x".into()),
                ("B".into(), "42".into()),
                ("D".into(), "multi\nline".into())
            ]
        );
        assert_eq!(p.failures.len(), 1);
        assert!(parse("- a\n- b\n", Format::Yaml).is_err());
        assert!(parse(&"[".repeat(100_000), Format::Yaml).is_err());
    }
}
