//! YAML files, both ways: one flat mapping of `KEY: value`. yaml-rust2 does the syntax; this file
//! keeps the top-level keys and scalars, turns them into text and fails nested values per key.
//! Rendering needs no YAML library: every value is written as a JSON string, which is valid YAML
//! and keeps newlines, quotes and leading spaces exact.
//!
//! An upload never becomes a `Yaml` tree. yaml-rust2's loader builds one by recursion (a 10 KB
//! `- - - - ... x` overflowed the server's stack) and copies the value an alias names at every
//! use (a 400-byte "billion laughs" of aliases to aliases grew the server to 2 GB). This file pulls
//! the parser's events one at a time instead, which takes no recursion, and stops the parser at
//! the first anchor or alias (a flat mapping of secrets has no use for them, and refusing them
//! ends the expansion attack outright), at the first level past `MAX_NESTING` and at the first
//! node past `MAX_NODES`. A nested value is read only far enough to skip it.

use super::json::json_str;
use super::{scalar_entry, Failure, NodeBudget, Parsed, Refusal};
use std::collections::HashSet;
use std::fmt::Write;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::{Yaml, YamlLoader};

/// The parser's events, each checked against the limits before the reader sees it.
struct Events<'a> {
    parser: Parser<std::str::Chars<'a>>,
    nodes: NodeBudget,
    /// How many lists and mappings are open.
    depth: usize,
}

impl Events<'_> {
    fn next(&mut self) -> Result<(Event, Marker), Refusal> {
        let (event, mark) = self
            .parser
            .next_token()
            .map_err(|e| Refusal::Invalid(format!("Not valid YAML: {e}")))?;
        match &event {
            // Anchor ids start at 1; 0 is a node without one.
            Event::Alias(_)
            | Event::Scalar(_, _, 1.., _)
            | Event::SequenceStart(1.., _)
            | Event::MappingStart(1.., _) => {
                return Err(Refusal::Invalid(format!(
                    "YAML anchors and aliases (&name, *name) are not supported (line {}).",
                    mark.line()
                )))
            }
            Event::Scalar(..) => self.nodes.scalar()?,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                self.depth += 1;
                self.nodes.open(self.depth)?;
            }
            Event::SequenceEnd | Event::MappingEnd => self.depth = self.depth.saturating_sub(1),
            _ => {}
        }
        Ok((event, mark))
    }

    /// Read past a node whose first event was `first`: for a list or mapping, up to its end.
    fn skip(&mut self, first: &Event) -> Result<(), Refusal> {
        if !matches!(first, Event::SequenceStart(..) | Event::MappingStart(..)) {
            return Ok(());
        }
        let level = self.depth;
        while self.depth >= level {
            // The parser reports an unclosed list as an error before its stream ends; this only
            // guards the loop should it not.
            if self.next()?.0 == Event::StreamEnd {
                return Err(Refusal::Invalid("Not valid YAML: unexpected end.".into()));
            }
        }
        Ok(())
    }
}

pub(super) fn parse_yaml(data: &str) -> Result<Parsed, Refusal> {
    let mut events = Events {
        parser: Parser::new_from_str(data),
        nodes: NodeBudget::new("YAML"),
        depth: 0,
    };
    let mut out = Parsed::default();
    let mut documents = 0;
    loop {
        match events.next()?.0 {
            Event::StreamEnd => return Ok(out),
            Event::DocumentStart => {
                documents += 1;
                let (root, mark) = events.next()?;
                // Only the first document is imported; the others must still be valid YAML.
                if documents == 1 {
                    read_root(&mut events, root, mark, &mut out)?;
                } else {
                    events.skip(&root)?;
                }
            }
            _ => {}
        }
    }
}

/// The first document's root: a mapping, or nothing at all (an empty file, `~`).
fn read_root(
    events: &mut Events,
    root: Event,
    mark: Marker,
    out: &mut Parsed,
) -> Result<(), Refusal> {
    if matches!(root, Event::MappingStart(..)) {
        return read_mapping(events, out);
    }
    if matches!(root, Event::Scalar(..)) && typed(root, mark) == Yaml::Null {
        return Ok(());
    }
    Err(Refusal::Invalid(
        "A YAML import must be one flat mapping of KEY: value.".into(),
    ))
}

/// The top-level mapping, whose start was just read, up to its end.
fn read_mapping(events: &mut Events, out: &mut Parsed) -> Result<(), Refusal> {
    // The loader refused a document that repeats a key; so does this. It holds no more keys than
    // `out` has records, which the key limit bounds.
    let mut seen = HashSet::new();
    loop {
        let (key, key_mark) = events.next()?;
        let key = match key {
            Event::MappingEnd => return Ok(()),
            Event::Scalar(..) => typed(key, key_mark),
            other => {
                events.skip(&other)?;
                Yaml::BadValue
            }
        };
        let (value, value_mark) = events.next()?;
        let value = match value {
            Event::Scalar(..) => typed(value, value_mark),
            other => {
                events.skip(&other)?;
                Yaml::BadValue
            }
        };
        let text = match &key {
            Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
            Yaml::Integer(i) => Some(i.to_string()),
            Yaml::Boolean(b) => Some(b.to_string()),
            _ => None,
        };
        // Compared as typed, as the loader did: `1` and `"1"` are different keys, `~` and `null`
        // the same one. A list or mapping as a key is not kept, so it is not compared.
        if key != Yaml::BadValue && !seen.insert(key) {
            return Err(Refusal::Invalid(format!(
                "Not valid YAML: the key at line {} repeats an earlier key.",
                key_mark.line()
            )));
        }
        let Some(text) = text else {
            out.push(Err(Failure {
                line: None,
                key: None,
                reason: "A key is not a plain scalar.".into(),
            }))?;
            continue;
        };
        let value = match value {
            Yaml::String(s) | Yaml::Real(s) => Ok(s),
            Yaml::Integer(i) => Ok(i.to_string()),
            Yaml::Boolean(b) => Ok(b.to_string()),
            Yaml::Null => Err("The value is null."),
            _ => Err("Nested values are not supported; values must be scalars."),
        };
        scalar_entry(out, &text, value)?;
    }
}

/// A scalar event typed exactly as yaml-rust2's loader types it (quoted is text, `42` an integer,
/// `!!str 42` text, `!!int x` a bad value, ...): the loader is handed a document of this one
/// scalar. A tree of one node cannot nest or grow, and the typing stays the library's own.
fn typed(scalar: Event, mark: Marker) -> Yaml {
    let mut loader = YamlLoader::default();
    for event in [Event::DocumentStart, scalar, Event::DocumentEnd] {
        loader.on_event(event, mark);
    }
    loader
        .documents()
        .first()
        .cloned()
        .unwrap_or(Yaml::BadValue)
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
