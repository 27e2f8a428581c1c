//! JSON files, both ways: one flat object of `KEY: value`. serde_json does the syntax; this file
//! decides which values become text (strings, numbers, booleans) and which fail per key (null,
//! nested), and writes the object by hand to keep the keys in the order given.
//!
//! The upload is read as a stream of serde visits, never as a `serde_json::Value`: a value tree
//! costs some 30 bytes per node, so 10 MiB of `[0,0,0,...` under one key would become hundreds of
//! MiB before it could fail. Only the top-level keys and their scalar values are kept; a nested
//! value is walked, counted against `NodeBudget` and dropped as it goes, so it costs nothing but
//! the walk, and the walk stops at the first node past the limits.

use super::{scalar_entry, NodeBudget, Parsed, Refusal, MAX_IMPORT_KEYS};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashMap;
use std::fmt::{self, Write};

const NESTED: &str =
    "Nested values are not supported; values must be strings, numbers or booleans.";

/// What the walk keeps: each distinct top-level key once, in the order first seen, with its last
/// value, as `serde_json`'s order-preserving map did before this file streamed (a repeated key
/// keeps its place and takes the later value). Kept apart from `Parsed` until the end because a
/// later duplicate may replace an earlier record.
struct Reader {
    nodes: NodeBudget,
    keys: Vec<(String, Result<String, &'static str>)>,
    index: HashMap<String, usize>,
    /// The limit that stopped the walk; serde only carries a message, this keeps the refusal.
    refusal: Option<Refusal>,
}

impl Reader {
    /// Count a key or scalar.
    fn scalar<E: de::Error>(&mut self) -> Result<(), E> {
        let step = self.nodes.scalar();
        self.stop_on(step)
    }

    /// Count the start of a list or object at `level`.
    fn open<E: de::Error>(&mut self, level: usize) -> Result<(), E> {
        let step = self.nodes.open(level);
        self.stop_on(step)
    }

    /// A refusal stops serde with an error; the refusal itself is kept for `parse_json`.
    fn stop_on<E: de::Error>(&mut self, step: Result<(), Refusal>) -> Result<(), E> {
        step.map_err(|refusal| {
            self.refusal = Some(refusal);
            E::custom("import limit")
        })
    }

    fn keep<E: de::Error>(
        &mut self,
        key: String,
        value: Result<String, &'static str>,
    ) -> Result<(), E> {
        if let Some(&at) = self.index.get(&key) {
            self.keys[at].1 = value;
            return Ok(());
        }
        if self.keys.len() >= MAX_IMPORT_KEYS {
            return self.stop_on(Err(super::too_many_keys()));
        }
        self.index.insert(key.clone(), self.keys.len());
        self.keys.push((key, value));
        Ok(())
    }
}

pub(super) fn parse_json(data: &str) -> Result<Parsed, Refusal> {
    let mut reader = Reader {
        nodes: NodeBudget::new("JSON"),
        keys: Vec::new(),
        index: HashMap::new(),
        refusal: None,
    };
    let mut de = serde_json::Deserializer::from_str(data);
    let read = de
        .deserialize_any(Document(&mut reader))
        .and_then(|()| de.end());
    if let Err(e) = read {
        return Err(match reader.refusal.take() {
            Some(refusal) => refusal,
            // Every visitor below accepts every kind of value except `Document`, which takes only
            // an object: a data error that no limit raised is a top-level list or scalar.
            None if e.is_data() => {
                Refusal::Invalid("A JSON import must be one flat object of KEY: value.".into())
            }
            None => Refusal::Invalid(format!(
                "Not valid JSON (line {}, column {}).",
                e.line(),
                e.column()
            )),
        });
    }
    let mut out = Parsed::default();
    for (key, value) in reader.keys {
        scalar_entry(&mut out, &key, value)?;
    }
    Ok(out)
}

/// The whole document: one object, read key by key.
struct Document<'r>(&'r mut Reader);

impl<'de> Visitor<'de> for Document<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("one flat object of KEY: value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let reader = self.0;
        reader.open::<A::Error>(1)?;
        while let Some(key) = map.next_key::<String>()? {
            reader.scalar::<A::Error>()?;
            let value = map.next_value_seed(Value(reader))?;
            reader.keep(key, value)?;
        }
        Ok(())
    }
}

/// A top-level value: its text, or why its key fails.
struct Value<'r>(&'r mut Reader);

impl<'de> DeserializeSeed<'de> for Value<'_> {
    type Value = Result<String, &'static str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Value<'_> {
    type Value = Result<String, &'static str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.visit_string(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.0.scalar::<E>()?;
        Ok(Ok(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.visit_string(v.to_string())
    }

    // Numbers are written as serde_json writes them (`1e100`, `0.5`, `8080`), which is how they
    // read before this file streamed.
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_string(serde_json::Number::from(v).to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_string(serde_json::Number::from(v).to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // serde_json reads no NaN or infinity, so `from_f64` always has a number here.
        let text = serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string());
        self.visit_string(text)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.0.scalar::<E>()?;
        Ok(Err("The value is null."))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Skip {
            reader: self.0,
            level: 2,
        }
        .visit_seq(seq)?;
        Ok(Err(NESTED))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Skip {
            reader: self.0,
            level: 2,
        }
        .visit_map(map)?;
        Ok(Err(NESTED))
    }
}

/// A value that is read only to be counted and dropped: nothing of it is kept, and a string in it
/// is seen borrowed, so walking it allocates nothing. It recurses once per level, at most
/// `MAX_NESTING` levels.
struct Skip<'r> {
    reader: &'r mut Reader,
    /// The level a list or mapping met here would open.
    level: usize,
}

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.reader.scalar()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.reader.open::<A::Error>(self.level)?;
        let inner = self.level + 1;
        while seq
            .next_element_seed(Skip {
                reader: &mut *self.reader,
                level: inner,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.reader.open::<A::Error>(self.level)?;
        let inner = self.level + 1;
        while map
            .next_key_seed(Skip {
                reader: &mut *self.reader,
                level: inner,
            })?
            .is_some()
        {
            map.next_value_seed(Skip {
                reader: &mut *self.reader,
                level: inner,
            })?;
        }
        Ok(())
    }
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
