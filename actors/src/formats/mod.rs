//! The file formats an environment is imported from and exported to: `.env`, JSON and YAML.
//! Pure functions, no I/O: the HTTP layer reads the upload and writes the download, the
//! organization actor stores what `parse` returns.
//!
//! This module owns what the three formats share: the `Format` names (query values, file
//! extensions, content types), the per-entry `Failure` and whole-file `Refusal` a parse reports,
//! and the limits every import obeys. Each format's own syntax, both directions, lives in its
//! file: `env.rs`, `json.rs`, `yaml.rs`.
//!
//! An upload is hostile until parsed, so the limits are not checked on the result: a parser that
//! builds first and counts after has already spent the memory (5 million failure records for a
//! 10 MiB `.env` of `x` lines) or the stack (a YAML tree 5,000 levels deep). Every record goes
//! through `Parsed::push`, and every JSON/YAML node through `NodeBudget`, which refuse the file at
//! the first step past a limit, while the parser is still reading.

mod env;
#[cfg(test)]
mod hostile;
mod json;
mod yaml;

pub use env::{env_line, parse_env, render_env, ExportHeader};
pub use json::render_json;
pub use yaml::render_yaml;

use crate::input::{VariableKey, MAX_VALUE_BYTES};

pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;
pub const MAX_IMPORT_KEYS: usize = 5_000;
/// How many levels a JSON or YAML document may nest, its top-level object being level 1. Only
/// flat documents import, so deeper levels exist only to be walked past and failed per key; the
/// bound keeps that walk short and the JSON walk, which recurses, far from the end of the stack.
pub const MAX_NESTING: usize = 64;
/// How many nodes (keys, scalars, lists and mappings) a JSON or YAML document may hold. A file at
/// the key limit has 10,001; ten times that leaves room for nested values that fail per key, and
/// still stops a 10 MiB `[[],[],...` or `KEY: [0,0,...` after a fraction of its millions of nodes.
pub const MAX_NODES: usize = 20 * MAX_IMPORT_KEYS;

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

    /// The format a file's name implies: `.json`, `.yaml`/`.yml`, else `.env`. The one place
    /// that maps a name to a format, for the server's multipart upload and the CLI's `--file`.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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

impl Parsed {
    /// Record one entry or failure. The one way a parser adds a record, so the key limit is
    /// counted while the file is read: the record past `MAX_IMPORT_KEYS` refuses the file instead
    /// of being built, however many more lines follow.
    fn push(&mut self, record: Result<(VariableKey, String), Failure>) -> Result<(), Refusal> {
        if self.entries.len() + self.failures.len() >= MAX_IMPORT_KEYS {
            return Err(too_many_keys());
        }
        match record {
            Ok(entry) => self.entries.push(entry),
            Err(failure) => self.failures.push(failure),
        }
        Ok(())
    }
}

/// A whole file is refused (nothing is imported) for these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooLarge,
    Invalid(String),
}

fn too_many_keys() -> Refusal {
    Refusal::Invalid(format!("A file may hold at most {MAX_IMPORT_KEYS} keys."))
}

/// The nodes a JSON or YAML parser has met so far. The parser reports each node as it reads it,
/// before building anything of it, so a document is refused at its first node past `MAX_NODES`
/// or deeper than `MAX_NESTING`, however much of it is left.
struct NodeBudget {
    /// "JSON" or "YAML", for the refusal's message.
    format: &'static str,
    seen: usize,
}

impl NodeBudget {
    fn new(format: &'static str) -> NodeBudget {
        NodeBudget { format, seen: 0 }
    }

    /// A key or scalar.
    fn scalar(&mut self) -> Result<(), Refusal> {
        self.seen += 1;
        if self.seen > MAX_NODES {
            return Err(Refusal::Invalid(format!(
                "The {} document holds more than {MAX_NODES} keys and values; \
                 a file may hold at most {MAX_IMPORT_KEYS} keys.",
                self.format
            )));
        }
        Ok(())
    }

    /// The start of a list or mapping at `level` (the top-level one is level 1).
    fn open(&mut self, level: usize) -> Result<(), Refusal> {
        if level > MAX_NESTING {
            return Err(Refusal::Invalid(format!(
                "The {} document is nested more than {MAX_NESTING} levels deep.",
                self.format
            )));
        }
        self.scalar()
    }
}

/// Parse a document of `format`. Per-entry problems are `failures`; a document that cannot be
/// read at all, or breaks a limit, is a `Refusal`.
pub fn parse(data: &str, format: Format) -> Result<Parsed, Refusal> {
    if data.len() > MAX_IMPORT_BYTES {
        return Err(Refusal::TooLarge);
    }
    let parsed = match format {
        Format::Env => parse_env(data),
        Format::Json => json::parse_json(data),
        Format::Yaml => yaml::parse_yaml(data),
    }?;
    // Checked on the result: the values together are no larger than the file, already bounded.
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

/// One `KEY: value` of a JSON object or YAML mapping: an entry, or a failure named by its key
/// (those formats have no useful line numbers once parsed).
fn scalar_entry(out: &mut Parsed, key: &str, value: Result<String, &str>) -> Result<(), Refusal> {
    let key_fail = |reason: String| Failure {
        line: None,
        key: Some(key.to_string()),
        reason,
    };
    out.push(match (VariableKey::parse(key), value) {
        (Ok(k), Ok(v)) => Ok((k, v)),
        (Err(e), _) => Err(key_fail(format!("Invalid key: {e}"))),
        (_, Err(reason)) => Err(key_fail(reason.to_string())),
    })
}

/// The entries as plain strings, for comparing in the tests of every format.
#[cfg(test)]
fn pairs(p: &Parsed) -> Vec<(String, String)> {
    p.entries
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
