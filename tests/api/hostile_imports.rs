//! Imports written to take the server down, sent as a registered user would send them: each one
//! used to overflow the stack or grow the process by gigabytes (a YAML list 5,000 levels deep, a
//! 400-byte "billion laughs" of YAML aliases, a 10 MiB `.env` of five million bad lines). Each must
//! now get a 400 in the error envelope, leave the server answering, and leave its memory where it
//! was. The parsers' own tests (`actors/src/formats/hostile.rs`) cover more shapes, faster; these
//! check the whole path, upload to answer, on the real binary.

use crate::helpers::{Resp, TestServer};
use serde_json::json;

const MIB: u64 = 1024 * 1024;

/// Peak resident memory of process `pid` so far (`VmHWM`), in bytes. The peak, not the current
/// size, so that memory a request takes and gives back before the next reading still counts.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kib * 1024
}

/// The classic: nine levels of nine aliases each, 9^9 (387 million) `lol`s once expanded.
fn var_id(s: &TestServer, t: Option<&str>, env: u64, key: &str) -> u64 {
    let list = s
        .get(&format!("/api/environments/{env}/variables/"), t)
        .expect(200);
    let found = list["results"].as_array().and_then(|vars| {
        vars.iter()
            .find(|v| v["key"] == key)
            .and_then(|v| v["id"].as_u64())
    });
    found.expect("the variable")
}

fn billion_laughs() -> String {
    let mut doc = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (name, prev) in ["b", "c", "d", "e", "f", "g", "h", "i"]
        .iter()
        .zip("abcdefgh".chars())
    {
        let refs = vec![format!("*{prev}"); 9].join(", ");
        doc.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    doc
}

/// `unit` repeated to just under the 10 MiB import limit, after `head`.
fn ten_mib(head: &str, unit: &str) -> String {
    let n = (10 * MIB as usize - head.len() - 64) / unit.len();
    format!("{head}{}", unit.repeat(n))
}

#[test]
fn hostile_imports_are_refused_and_the_server_stays_up() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("hostile");
    let t = Some(u.token.as_str());
    let path = format!("/api/environments/{env}/import/");
    let file =
        |name: &str, doc: &str| s.multipart(&path, t, &[("file", Some(name), doc.as_bytes())]);
    let body = |doc: &str, format: &str| s.post(&path, t, json!({"data": doc, "format": format}));

    // Warm up with a 10 MiB upload refused the ordinary way (one value over 64 KiB), so the
    // baseline holds what any upload that size costs (buffered, then copied out of the multipart
    // stream) and the growth measured below is what the hostile documents add.
    let warm = ten_mib("A=", "x");
    file("warm.env", &warm).expect_error(400, "bad_request");
    let baseline = peak_rss(s.pid());

    let laughs = billion_laughs();
    assert!(laughs.len() < 500, "{} bytes", laughs.len());
    let dashes = format!("{}x", "- ".repeat(5_000));
    let cases: Vec<(&str, Resp, &str)> = vec![
        (
            "deep YAML block list",
            body(&dashes, "yaml"),
            "flat mapping",
        ),
        (
            "deep YAML block list under a key",
            body(&format!("K:\n  {dashes}"), "yaml"),
            "nested more than",
        ),
        (
            "deep YAML flow list under a key",
            file("deep.yaml", &format!("K: {}", " [\n".repeat(100_000))),
            "YAML",
        ),
        (
            "YAML billion laughs",
            file("laughs.yml", &laughs),
            "aliases",
        ),
        (
            "10 MiB .env of bad lines",
            file(".env", &ten_mib("", "x\n")),
            "at most 5000 keys",
        ),
        (
            "10 MiB .env of tiny keys",
            file(".env", &ten_mib("", "K=\n")),
            "at most 5000 keys",
        ),
        (
            "deep JSON list under a key",
            file("deep.json", &format!("{{\"K\": {}", "[".repeat(1_000_000))),
            "nested more than",
        ),
        (
            "10 MiB JSON list under a key",
            file("wide.json", &ten_mib("{\"K\": [", "0,")),
            "keys and values",
        ),
        (
            "10 MiB YAML list under a key",
            file("wide.yaml", &ten_mib("K: [", "[],")),
            "keys and values",
        ),
    ];
    for (what, r, why) in cases {
        let envelope = r.expect_error(400, "bad_request");
        let details = envelope["details"].as_str().unwrap_or_default();
        assert!(details.contains(why), "{what}: {details}");
        s.get("/health/", None).expect(200);
    }

    // A JSON body whose extra field is a 14 MiB list: the fields the import reads are read, the
    // rest is skipped without being built (a `Value` tree of it once took 775 MiB).
    let padding = format!("[{}0]", "0,".repeat(7 * MIB as usize));
    let padded = format!("{{\"data\": \"P=1\", \"x\": {padding}}}");
    let r = s.send("POST", &path, t, padded.as_bytes()).expect(200);
    assert_eq!(r["summary"]["imported"], 1, "{r}");
    s.delete(&format!("/api/variables/{}/", var_id(&s, t, env, "P")), t)
        .expect(204);

    // The server still imports an ordinary file, in every format.
    for (name, doc) in [
        ("ok.env", "A=1\nB=two\n"),
        ("ok.json", "{\"C\": 3}"),
        ("ok.yaml", "D: four\n"),
    ] {
        let r = file(name, doc).expect(200);
        assert_eq!(r["failed_imports"], serde_json::Value::Null, "{name}: {r}");
    }
    let vars = s
        .get(&format!("/api/environments/{env}/export/?format=json"), t)
        .expect(200);
    assert_eq!(vars, json!({"A": "1", "B": "two", "C": "3", "D": "four"}));

    // Before the parsers counted as they read, these documents took the server past 800 MiB
    // (the `.env`) and 2 GiB (the aliases) or killed it (the nesting). Now each costs its upload,
    // which the warm-up already paid, plus what the parser keeps up to its limit: at most 5,000
    // short records. 64 MiB is ample room for that and for the
    // allocator keeping a few freed upload buffers, and far below any of the old failures.
    let growth = peak_rss(s.pid()).saturating_sub(baseline);
    assert!(
        growth < 64 * MIB,
        "peak RSS grew by {} MiB over the hostile imports",
        growth / MIB
    );
}
