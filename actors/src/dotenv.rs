//! `.env`, JSON and YAML: parse an uploaded file into keys and values, and render an
//! environment's variables back out. Pure functions, no I/O.
//!
//! Parsing follows the common dotenv parsers (python-dotenv, the `dotenvy` crate, Node's
//! `dotenv`): blank lines and `#` comments are skipped; `export ` is allowed before a key; single
//! quotes are literal and may span lines; double quotes decode `\n \r \t \" \\ \'` and may span
//! lines; unquoted values are trimmed and cut at ` #`; `A=b=c` gives `b=c`. A line that is not an
//! assignment, or whose key is invalid, is reported with its line number, never dropped.
//!
//! Rendering picks, per value, the plainest form those three parsers all read back exactly:
//! unquoted when nothing in it is special, single quotes when it has no `'` and no backslash
//! sequence a parser could decode, else double quotes with `\\ \" \n \r` escaped.

use crate::input::{VariableKey, MAX_VALUE_BYTES};
use std::fmt::Write;

pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_IMPORT_KEYS: usize = 5_000;
const MAX_NESTING: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Env,
    Json,
    Yaml,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "env" | "dotenv" => Some(Format::Env),
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }

    /// The format a file's name implies: `.json`, `.yaml`/`.yml`, else `.env`.
    pub fn from_file_name(name: &str) -> Format {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else {
            Format::Env
        }
    }

    /// For `auto`: a document that starts with `{` is JSON, else `.env`.
    pub fn sniff(data: &str) -> Format {
        if data.trim_start().starts_with('{') {
            Format::Json
        } else {
            Format::Env
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Env => "env",
            Format::Json => "json",
            Format::Yaml => "yaml",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Env => "text/plain; charset=utf-8",
            Format::Json => "application/json",
            Format::Yaml => "application/yaml; charset=utf-8",
        }
    }
}

/// An entry that could not be imported: where (line for `.env`, key for JSON/YAML) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub reason: String,
}

/// What a file holds: valid entries in file order, and the ones that failed.
#[derive(Debug, Default)]
pub struct Parsed {
    pub entries: Vec<(VariableKey, String)>,
    pub failures: Vec<Failure>,
}

/// A whole file is refused (nothing is imported) for these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooLarge,
    Invalid(String),
}

/// Parse a document of `format`. Per-entry problems are `failures`; a document that cannot be
/// read at all, or breaks a limit, is a `Refusal`.
pub fn parse(data: &str, format: Format) -> Result<Parsed, Refusal> {
    if data.len() > MAX_IMPORT_BYTES {
        return Err(Refusal::TooLarge);
    }
    let parsed = match format {
        Format::Env => Ok(parse_env(data)),
        Format::Json => parse_json(data),
        Format::Yaml => parse_yaml(data),
    }?;
    if parsed.entries.len() + parsed.failures.len() > MAX_IMPORT_KEYS {
        return Err(Refusal::Invalid(format!(
            "A file may hold at most {MAX_IMPORT_KEYS} keys."
        )));
    }
    if let Some((k, _)) = parsed
        .entries
        .iter()
        .find(|(_, v)| v.len() > MAX_VALUE_BYTES)
    {
        return Err(Refusal::Invalid(format!(
            "The value of {} is larger than {MAX_VALUE_BYTES} bytes.",
            k.as_str()
        )));
    }
    Ok(parsed)
}

fn fail(line: usize, reason: &str) -> Failure {
    Failure {
        line: Some(line),
        key: None,
        reason: reason.to_string(),
    }
}

/// Parse `.env` text. One pass over the text: a quoted value is read up to its closing quote
/// across lines; one that never closes ends the parse with a failure at its line.
pub fn parse_env(data: &str) -> Parsed {
    let mut out = Parsed::default();
    let mut pos = 0;
    let mut line_no = 0;
    while pos < data.len() {
        line_no += 1;
        let line_end = data[pos..].find('\n').map_or(data.len(), |n| pos + n);
        let raw = &data[pos..line_end];
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line_start = pos;
        pos = line_end + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((key, rest)) = body.split_once('=') else {
            out.failures
                .push(fail(line_no, "Not an assignment (KEY=value)."));
            continue;
        };
        let key = match VariableKey::parse(key.trim()) {
            Ok(k) => k,
            Err(e) => {
                out.failures
                    .push(fail(line_no, &format!("Invalid key: {e}")));
                continue;
            }
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let value = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                // Offset of the text after the opening quote, in `data`.
                let from = line_start + (line.len() - rest.len()) + 1;
                match close_quote(&data[from..], q) {
                    None => {
                        out.failures.push(fail(
                            line_no,
                            "Unterminated quoted value: the rest of the file was not read.",
                        ));
                        break;
                    }
                    Some((value, used)) => {
                        let after_end = data[from + used..]
                            .find('\n')
                            .map_or(data.len(), |n| from + used + n);
                        let after = data[from + used..after_end].trim();
                        line_no += data[from..from + used].matches('\n').count();
                        pos = after_end + 1;
                        if after.is_empty() || after.starts_with('#') {
                            Ok(value)
                        } else {
                            Err("Unexpected text after the closing quote.")
                        }
                    }
                }
            }
            _ => Ok(unquoted(rest)),
        };
        match value {
            Ok(v) => out.entries.push((key, v)),
            Err(reason) => out.failures.push(fail(line_no, reason)),
        }
    }
    out
}

/// The value inside quotes `q` at the start of `text` (just past the opening quote), and how many
/// bytes of `text` it used, closing quote included; `None` when the quote never closes.
/// CRLF line ends inside a value read as LF, as text-mode readers see them.
fn close_quote(text: &str, q: char) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((idx, c)) = chars.next() {
        if c == q {
            return Some((value, idx + 1));
        }
        if c == '\r' && matches!(chars.peek(), Some((_, '\n'))) {
            continue;
        }
        if c == '\\' && q == '"' {
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, e @ ('"' | '\\' | '\''))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
            continue;
        }
        value.push(c);
    }
    None
}

fn unquoted(rest: &str) -> String {
    let mut cut = rest.len();
    let bytes = rest.as_bytes();
    for (idx, b) in bytes.iter().enumerate() {
        if *b == b'#' && idx > 0 && matches!(bytes[idx - 1], b' ' | b'\t') {
            cut = idx;
            break;
        }
    }
    rest[..cut].trim().to_string()
}

fn scalar_entry(out: &mut Parsed, key: &str, value: Result<String, &str>) {
    let key_fail = |reason: String| Failure {
        line: None,
        key: Some(key.to_string()),
        reason,
    };
    match (VariableKey::parse(key), value) {
        (Ok(k), Ok(v)) => out.entries.push((k, v)),
        (Err(e), _) => out.failures.push(key_fail(format!("Invalid key: {e}"))),
        (_, Err(reason)) => out.failures.push(key_fail(reason.to_string())),
    }
}

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

fn parse_json(data: &str) -> Result<Parsed, Refusal> {
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
        scalar_entry(&mut out, &k, value);
    }
    Ok(out)
}

fn parse_yaml(data: &str) -> Result<Parsed, Refusal> {
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
        scalar_entry(&mut out, &key, value);
    }
    Ok(out)
}

/// Where an export comes from, for the `.env` header.
pub struct ExportHeader<'a> {
    pub environment: &'a str,
    pub project: &'a str,
    pub organization: &'a str,
    /// `YYYY-MM-DD HH:MM:SS UTC`
    pub generated_on: &'a str,
}

/// `KEY=value` with the value quoted only as much as the common parsers need.
pub fn env_line(key: &str, value: &str) -> String {
    format!("{key}={}", quote(value))
}

fn quote(value: &str) -> String {
    let special = |c: char| {
        matches!(c, '#' | '"' | '\'' | '`' | '\\' | '$') || c.is_whitespace() || c.is_control()
    };
    if value.is_empty() || !value.chars().any(special) {
        return value.to_string();
    }
    // python-dotenv reads a backslash just before a closing quote as an escaped quote (in either
    // kind of quotes) and then mis-reads the following lines, so a value ending in `\` is written
    // unquoted whenever that reads back (python-dotenv and Node read it exactly; dotenvy does not).
    let unquoted_ok = value.ends_with('\\')
        && value.trim() == value
        && !value.starts_with(['\'', '"', '`'])
        && !value.chars().any(|c| c == '#' || c.is_control());
    if unquoted_ok {
        return value.to_string();
    }
    // Single quotes are literal in all three parsers, but python-dotenv decodes \\ and \' inside
    // them, so they are only safe without those sequences.
    let single_ok = !value.contains('\'')
        && !value.contains("\\\\")
        && !value.ends_with('\\')
        && !value.contains('\r');
    if single_ok {
        return format!("'{value}'");
    }
    // Double quotes: exact for python-dotenv and dotenvy; Node's dotenv decodes only \n and \r,
    // so a value holding both ' and one of " or \ cannot be written exactly for Node.
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The documented `.env` export: four header comments, a blank line, one `KEY=value` per line.
pub fn render_env(header: &ExportHeader, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by KeyNest - Environment: {}",
        one_line(header.environment)
    );
    let _ = writeln!(out, "# Project: {}", one_line(header.project));
    let _ = writeln!(out, "# Organization: {}", one_line(header.organization));
    let _ = writeln!(out, "# Generated on: {}", header.generated_on);
    out.push('\n');
    for (k, v) in vars {
        out.push_str(&env_line(k, v));
        out.push('\n');
    }
    out
}

/// Names go into comment lines: a newline in one must not start a new (parsed) line.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
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

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
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
    use super::*;
    use proptest::prelude::*;

    fn pairs(p: &Parsed) -> Vec<(String, String)> {
        p.entries
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn env_syntax_as_the_common_parsers_read_it() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\nC='lit $X \\n'\nD=\"esc\\n\\\"q\\\" \\\\\"\nE=b=c\nF=\nG=#not-comment\nH='multi\nline'\nI=\"x\" # trailing\r\nJ=a#b\n";
        let p = parse_env(text);
        assert!(p.failures.is_empty(), "{:?}", p.failures);
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit $X \\n"),
            ("D", "esc\n\"q\" \\"),
            ("E", "b=c"),
            ("F", ""),
            ("G", "#not-comment"),
            ("H", "multi\nline"),
            ("I", "x"),
            ("J", "a#b"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&p), want);
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let p = parse_env("GOOD=1\njust text\n1BAD=2\nexport\nM='two\nlines'\nQ='open\nOK=2");
        assert_eq!(
            pairs(&p),
            vec![
                ("GOOD".into(), "1".into()),
                ("M".into(), "two\nlines".into())
            ]
        );
        let lines: Vec<usize> = p.failures.iter().filter_map(|f| f.line).collect();
        assert_eq!(
            lines,
            vec![2, 3, 4, 7],
            "an unclosed quote ends the parse at its line"
        );
    }

    #[test]
    fn plain_values_stay_unquoted() {
        assert_eq!(
            env_line("DATABASE_URL", "postgresql://user:pass@host/db"),
            "DATABASE_URL=postgresql://user:pass@host/db"
        );
        assert_eq!(env_line("E", ""), "E=");
        assert_eq!(env_line("S", "a b"), "S='a b'");
        assert_eq!(env_line("Q", "it's"), "Q=\"it's\"");
    }

    #[test]
    fn json_and_yaml_scalars_become_text_and_nesting_fails_per_key() {
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
        assert!(parse("[1, 2]", Format::Json).is_err());
        assert!(parse("- a\n- b\n", Format::Yaml).is_err());
        assert!(parse(&"[".repeat(100_000), Format::Yaml).is_err());
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    Just('\''),
                    Just('"'),
                    Just('\\'),
                    Just('\n'),
                    Just('\r'),
                    Just('#'),
                    Just(' '),
                    Just('$'),
                    Just('='),
                    Just('a'),
                    Just('é'),
                    Just('\t')
                ],
                0..24
            )
            .prop_map(|cs| cs.into_iter().collect()),
        ]
    }

    proptest! {
        #[test]
        fn export_then_parse_gives_back_every_value(vals in proptest::collection::vec(value(), 0..12)) {
            let vars: Vec<(String, String)> = vals.iter().enumerate().map(|(i, v)| (format!("K{i}"), v.clone())).collect();
            let header = ExportHeader { environment: "e\nX=1", project: "p", organization: "o", generated_on: "now" };
            for (format, text) in [(Format::Env, render_env(&header, &vars)), (Format::Json, render_json(&vars)), (Format::Yaml, render_yaml(&vars))] {
                let p = parse(&text, format).expect("parses");
                prop_assert!(p.failures.is_empty(), "{:?} {:?}", format, p.failures);
                prop_assert_eq!(pairs(&p), vars.clone(), "{:?}", format);
            }
        }

        #[test]
        fn the_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            for format in [Format::Env, Format::Json, Format::Yaml] {
                let _ = parse(&text, format);
            }
        }
    }
}
