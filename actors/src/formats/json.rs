//! JSON files, both ways: one flat object of `KEY: value`. serde_json does the syntax; this file
//! decides which values become text (strings, numbers, booleans) and which fail per key (null,
//! nested), and writes the object by hand to keep the keys in the order given.

use super::{scalar_entry, Parsed, Refusal};
use std::fmt::Write;

pub(super) fn parse_json(data: &str) -> Result<Parsed, Refusal> {
    let doc: serde_json::Value = serde_json::from_str(data).map_err(|e| {
        Refusal::Invalid(format!(
            "Not valid JSON (line {}, column {}).",
            e.line(),
            e.column()
        ))
    })?;
    let serde_json::Value::Object(map) = doc else {
        return Err(Refusal::Invalid(
            "A JSON import must be one flat object of KEY: value.".into(),
        ));
    };
    let mut out = Parsed::default();
    for (k, v) in map {
        let value = match v {
            serde_json::Value::String(s) => Ok(s),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            serde_json::Value::Bool(b) => Ok(b.to_string()),
            serde_json::Value::Null => Err("The value is null."),
            _ => {
                Err("Nested values are not supported; values must be strings, numbers or booleans.")
            }
        };
        scalar_entry(&mut out, &k, value)?;
    }
    Ok(out)
}

/// A flat JSON object of strings, keys in the order given.
pub fn render_json(vars: &[(String, String)]) -> String {
    let mut out = String::from("{\n");
    for (i, (k, v)) in vars.iter().enumerate() {
        let sep = if i + 1 < vars.len() { "," } else { "" };
        let _ = writeln!(out, "  {}: {}{sep}", json_str(k), json_str(v));
    }
    out.push('}');
    out.push('\n');
    out
}

/// `s` as a JSON string literal; also what the YAML renderer quotes values with.
pub(super) fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use crate::formats::{pairs, parse, Format};

    #[test]
    fn json_scalars_become_text_and_nesting_fails_per_key() {
        let p = parse(
            r#"{"A": "x", "B": 42, "C": true, "D": {"n": 1}, "1X": "y"}"#,
            Format::Json,
        )
        .expect("json");
        assert_eq!(
            pairs(&p),
            vec![
                ("A".into(), "x".into()),
                ("B".into(), "42".into()),
                ("C".into(), "true".into())
            ]
        );
        assert_eq!(p.failures.len(), 2);
        assert!(parse("[1, 2]", Format::Json).is_err());
    }
}
