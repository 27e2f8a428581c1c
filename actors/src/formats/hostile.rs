//! Uploads written to hurt the server, against every parser: each must be refused (or read) after
//! a bounded amount of work, never by exhausting the stack or memory. Each case was a way to take
//! the server down before the parsers counted as they read; the property test at the end looks
//! for new ones among random bytes and generated nesting, alias graphs and repetitions.
//!
//! What "bounded" means here is checked by the refusal each case gets: a limit's message can only
//! come from the parser stopping at that limit. No clock is read: on a loaded 2-core machine a
//! debug build's times say nothing, and how fast a refusal is belongs to the benches.

use super::{parse, Format, Refusal, MAX_IMPORT_BYTES, MAX_IMPORT_KEYS, MAX_NESTING, MAX_NODES};
use proptest::prelude::*;

/// `data` as `format` is refused, with a message holding `why`.
#[track_caller]
fn refused(data: &str, format: Format, why: &str) {
    refused_for_one_of(data, format, &[why]);
}

#[track_caller]
fn refused_for_one_of(data: &str, format: Format, whys: &[&str]) {
    match parse(data, format) {
        Err(Refusal::Invalid(message)) => assert!(
            whys.iter().any(|why| message.contains(why)),
            "{format:?}: refused, but for {message:?}, not {whys:?}"
        ),
        other => panic!(
            "{format:?}: not refused ({whys:?}): {:?}",
            other.map(|p| p.failures.len())
        ),
    }
}

fn deeper_than_allowed() -> String {
    format!("nested more than {MAX_NESTING} levels")
}

fn too_many_keys() -> String {
    format!("at most {MAX_IMPORT_KEYS} keys")
}

fn too_many_nodes() -> String {
    format!("more than {MAX_NODES} keys and values")
}

/// `head`, then `unit` repeated up to the byte limit, as the server would accept it.
fn fill(head: &str, unit: &str) -> String {
    let mut s = String::from(head);
    let n = (MAX_IMPORT_BYTES - head.len()) / unit.len();
    s.push_str(&unit.repeat(n));
    s
}

#[test]
fn deep_yaml_block_nesting_is_refused() {
    // The 10 KB document that overflowed the stack: a top-level list is refused at its start.
    let dashes = format!("{}x", "- ".repeat(5_000));
    refused(&dashes, Format::Yaml, "one flat mapping");
    // The same under a key, so the parser must walk into it to fail the key.
    refused(
        &format!("K:\n  {dashes}"),
        Format::Yaml,
        &deeper_than_allowed(),
    );
    let mut mappings = String::from("K:\n");
    for level in 1..2_000 {
        mappings.push_str(&format!("{}k{level}:\n", " ".repeat(level)));
    }
    refused(&mappings, Format::Yaml, &deeper_than_allowed());
}

#[test]
fn deep_flow_nesting_is_refused_in_yaml_and_json() {
    let open = "[".repeat(1_000_000);
    refused(&open, Format::Json, "one flat object");
    refused(
        &format!("{{\"K\": {open}"),
        Format::Json,
        &deeper_than_allowed(),
    );
    let objects = "{\"k\": ".repeat(200_000);
    refused(
        &format!("{{\"K\": {objects}"),
        Format::Json,
        &deeper_than_allowed(),
    );
    // yaml-rust2's scanner reads ahead of the parser for a possible `[...]: value` key and gives
    // up at 255 open brackets, so flow nesting may be refused by it before the depth limit.
    let yaml_deep = [deeper_than_allowed(), "recursion limit exceeded".into()];
    let yaml_deep: Vec<&str> = yaml_deep.iter().map(String::as_str).collect();
    for doc in [
        open.clone(),
        format!("K: {open}"),
        format!("K: {}", "{k: ".repeat(200_000)),
        format!("K: {}", " [\n".repeat(200_000)),
        format!("K: {}", " {k:\n".repeat(200_000)),
    ] {
        refused_for_one_of(&doc, Format::Yaml, &yaml_deep);
    }
    // One level short of the limit is only a nested value, failed by its key.
    let inner = MAX_NESTING - 1;
    let ok = format!(
        "{{\"K\": {}{}, \"A\": 1}}",
        "[".repeat(inner),
        "]".repeat(inner)
    );
    let p = parse(&ok, Format::Json).expect("nesting within the limit");
    assert_eq!((p.entries.len(), p.failures.len()), (1, 1));
    let ok = format!("K: {}{}\nA: 1\n", "[".repeat(inner), "]".repeat(inner));
    let p = parse(&ok, Format::Yaml).expect("nesting within the limit");
    assert_eq!((p.entries.len(), p.failures.len()), (1, 1));
}

#[test]
fn yaml_anchors_and_aliases_are_refused() {
    let laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n\
                  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n\
                  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n\
                  i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    refused(laughs, Format::Yaml, "anchors and aliases");
    for doc in [
        "A: &x secret\nB: *x\n",
        "A: &x secret\n",
        "&m {A: 1}\n",
        "? &k A\n: 1\n",
        "A: 1\n---\nB: &late 2\nC: *late\n",
    ] {
        refused(doc, Format::Yaml, "anchors and aliases");
    }
    // An alias to no anchor is not even valid YAML.
    refused("A: *x\n", Format::Yaml, "unknown anchor");
}

#[test]
fn many_small_keys_are_refused_at_the_key_limit() {
    let over = MAX_IMPORT_KEYS + 1;
    let env: String = (0..over).map(|i| format!("K{i}=v\n")).collect();
    refused(&env, Format::Env, &too_many_keys());
    let yaml: String = (0..over).map(|i| format!("K{i}: v\n")).collect();
    refused(&yaml, Format::Yaml, &too_many_keys());
    let json: Vec<String> = (0..over).map(|i| format!("\"K{i}\": \"v\"")).collect();
    refused(
        &format!("{{{}}}", json.join(",")),
        Format::Json,
        &too_many_keys(),
    );
    // Up to the byte limit: 10 MiB of two-byte keys.
    refused(&fill("", "K=\n"), Format::Env, &too_many_keys());
    // At the limit itself, every format still imports.
    let at: String = (0..MAX_IMPORT_KEYS).map(|i| format!("K{i}=v\n")).collect();
    assert_eq!(
        parse(&at, Format::Env).map(|p| p.entries.len()),
        Ok(MAX_IMPORT_KEYS)
    );
}

#[test]
fn many_failing_lines_are_refused_at_the_key_limit() {
    // The 10 MiB `.env` that built 5 million failure records.
    refused(&fill("", "x\n"), Format::Env, &too_many_keys());
    refused(&fill("", "1BAD=v\n"), Format::Env, &too_many_keys());
    refused(&fill("", "=\n"), Format::Env, &too_many_keys());
    let yaml: String = (0..=MAX_IMPORT_KEYS)
        .map(|i| format!("{i}x: ~\n"))
        .collect();
    refused(&yaml, Format::Yaml, &too_many_keys());
    let json: Vec<String> = (0..=MAX_IMPORT_KEYS)
        .map(|i| format!("\"{i}x\": null"))
        .collect();
    refused(
        &format!("{{{}}}", json.join(",")),
        Format::Json,
        &too_many_keys(),
    );
}

#[test]
fn millions_of_nodes_are_refused_at_the_node_limit() {
    refused(&fill("{\"K\": [", "0,"), Format::Json, &too_many_nodes());
    refused(&fill("{\"K\": [", "[],"), Format::Json, &too_many_nodes());
    refused(&fill("{", "\"A\":0,"), Format::Json, &too_many_nodes());
    refused(&fill("K: [", "0,"), Format::Yaml, &too_many_nodes());
    refused(&fill("K: [", "{}, "), Format::Yaml, &too_many_nodes());
    refused(&fill("K:\n", "  - 0\n"), Format::Yaml, &too_many_nodes());
}

#[test]
fn huge_single_lines_are_read_or_refused_once() {
    let huge = "x".repeat(MAX_IMPORT_BYTES - 16);
    refused(&format!("A={huge}"), Format::Env, "larger than");
    refused(&format!("A=\"{huge}\""), Format::Env, "larger than");
    refused(&format!("A: {huge}"), Format::Yaml, "larger than");
    refused(
        &format!("{{\"A\": \"{huge}\"}}"),
        Format::Json,
        "larger than",
    );
    // Text that is no assignment at all is one failure, however long.
    let p = parse(&huge, Format::Env).expect("one bad line");
    assert_eq!((p.entries.len(), p.failures.len()), (0, 1));
    // An unclosed quote reads to the end once and stops.
    let p = parse(&format!("A='{huge}"), Format::Env).expect("one bad line");
    assert_eq!((p.entries.len(), p.failures.len()), (0, 1));
    assert!(parse(&format!("{{\"A\": \"{huge}"), Format::Json).is_err());
}

/// A document built to hurt: deep nesting, alias graphs, or one piece repeated.
fn hostile_document() -> impl Strategy<Value = String> {
    let nesting = (
        prop::sample::select(vec!["[", "{", "- ", "{a: ", "[{\"k\": ", "{\"k\": [", "? "]),
        prop::sample::select(vec!["", "K: ", "K:\n  ", "{\"K\": ", "A=1\n"]),
        0usize..10_000,
        any::<bool>(),
    )
        .prop_map(|(open, head, depth, close)| {
            let mut doc = format!("{head}{}x", open.repeat(depth));
            if close {
                doc.push_str(&"]}".repeat(depth));
            }
            doc
        });
    // Anchors `a0..`, each a list of aliases to any anchor (earlier, itself, later or none).
    let aliases = (
        prop::collection::vec(
            prop::collection::vec(any::<prop::sample::Index>(), 0..12),
            1..24,
        ),
        any::<bool>(),
    )
        .prop_map(|(anchors, flow)| {
            let n = anchors.len();
            let mut doc = String::new();
            for (a, uses) in anchors.iter().enumerate() {
                let refs: Vec<String> = uses.iter().map(|t| format!("*a{}", t.index(n))).collect();
                if flow {
                    doc.push_str(&format!("k{a}: &a{a} [{}]\n", refs.join(", ")));
                } else {
                    doc.push_str(&format!("k{a}: &a{a}\n"));
                    for r in refs {
                        doc.push_str(&format!("  - {r}\n"));
                    }
                }
            }
            doc
        });
    let repeated = (
        prop_oneof![
            prop::sample::select(vec![
                "x\n",
                "K=v\n",
                "[",
                "]",
                "{",
                "}",
                "[0,",
                "- ",
                "a: 1\n",
                "&a ",
                "*a ",
                "\"",
                "'",
                "\\",
                "#",
                "---\n",
                "? ",
                "\"k\":",
                "\n",
                "  ",
                "!!str ",
                "%TAG ! x\n",
            ])
            .prop_map(String::from),
            "\\PC{1,8}",
        ],
        prop::sample::select(vec!["", "K: ", "{\"K\": ", "A='"]),
        0usize..50_000,
    )
        .prop_map(|(unit, head, times)| format!("{head}{}", unit.repeat(times)));
    let bytes = prop::collection::vec(any::<u8>(), 0..2_048)
        .prop_map(|b| String::from_utf8_lossy(&b).into_owned());
    prop_oneof![nesting, aliases, repeated, bytes]
}

proptest! {
    // A few hundred documents of up to a few hundred KB: a few seconds in a debug build.
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_parser_returns_within_its_limits(doc in hostile_document()) {
        for format in [Format::Env, Format::Json, Format::Yaml] {
            if let Ok(p) = parse(&doc, format) {
                prop_assert!(p.entries.len() + p.failures.len() <= MAX_IMPORT_KEYS);
            }
        }
    }
}
