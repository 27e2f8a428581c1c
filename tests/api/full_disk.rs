//! A disk that fills up: writes fail with EFBIG under a file-size limit (no root needed). The
//! server must tell the truth about every write, stop taking any once the store fails, say so on
//! `/health/`, stop, and start again later with every acknowledged write and no refused one.

use crate::helpers::TestServer;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// What the client was told about one write.
#[derive(Debug, PartialEq)]
enum Told {
    Done,
    /// 503 saying the change may or may not have been applied.
    Maybe,
    /// 503 saying nothing was changed, or no answer because the server was gone.
    NotDone,
}

fn told(s: &TestServer, r: Option<crate::helpers::Resp>) -> Told {
    match r {
        Some(r) if r.status == 201 || r.status == 200 => Told::Done,
        Some(r) if r.status == 503 => {
            assert_eq!(r.body["code"], "storage_unavailable", "{}", r.text);
            assert!(r.header("retry-after").is_some(), "{}", r.text);
            let details = r.body["details"].as_str().unwrap_or_default();
            if details.contains("may or may not") {
                Told::Maybe
            } else {
                assert!(details.contains("nothing was changed"), "{details}");
                Told::NotDone
            }
        }
        Some(r) => panic!("a write answered {}: {}\n{}", r.status, r.text, s.log()),
        None => Told::NotDone,
    }
}

#[test]
fn a_full_disk_fails_closed_stops_the_server_and_loses_no_acknowledged_write() {
    // sled's: on etcd the node writes no store files (etcd's own disk handling is etcd's).
    if crate::helpers::etcd::on() {
        return;
    }
    // 100 KiB of store: room for the account and some tens of writes, then EFBIG.
    let mut s = TestServer::start_with_file_limit(200);
    let (u, _, env) = s.user_with_env("disk");
    let t = Some(u.token.as_str());
    let mut vars: BTreeMap<String, Told> = BTreeMap::new();
    let mut imports: Vec<(Vec<String>, Told)> = Vec::new();
    let mut unhealthy = None;
    for i in 0..2_000 {
        // Single variables and 20-key imports, alternating.
        if i % 5 == 4 {
            let keys: Vec<String> = (0..20).map(|k| format!("IMP_{i}_{k}")).collect();
            let data: String = keys
                .iter()
                .map(|k| format!("{k}={}\n", "i".repeat(100)))
                .collect();
            let path = format!("/api/environments/{env}/import/");
            let r = s.try_post(&path, t, json!({"data": data, "format": "env"}));
            imports.push((keys, told(&s, r)));
        } else {
            let key = format!("VAR_{i}");
            let body = json!({"key": key, "value": "v".repeat(200), "environment": env});
            let r = s.try_post_keyed("/api/variables/", t, &key, body);
            vars.insert(key, told(&s, r));
        }
        let refused = vars
            .values()
            .chain(imports.iter().map(|(_, t)| t))
            .filter(|t| **t != Told::Done)
            .count();
        if refused == 1 && unhealthy.is_none() {
            unhealthy = s.try_get("/health/");
        }
        // A few more attempts after the first failure: each must be refused, none applied.
        if refused >= 4 {
            break;
        }
    }
    let done = vars.values().filter(|t| **t == Told::Done).count();
    assert!(done >= 10, "the limit left room for some writes ({done})");
    assert!(
        vars.values().any(|t| *t != Told::Done),
        "the disk filled up within the test"
    );
    let h = unhealthy.expect("health answered while the server was stopping");
    assert_eq!(h.status, 503, "{}", h.text);
    assert_eq!(h.body["storage"], "failed");

    // Fail-stop: the server exits on its own with a clear message.
    let status = s
        .wait_exit(Duration::from_secs(30))
        .expect("the server stopped");
    assert!(!status.success());
    assert!(
        s.log().contains("stopped after a storage failure"),
        "{}",
        s.log()
    );

    // Started again without the limit: every acknowledged write is there, no refused one is,
    // and every import is all or nothing.
    let s = s.start_again();
    let list = |page: usize| {
        s.get(
            &format!("/api/environments/{env}/variables/?page={page}&page_size=100"),
            t,
        )
        .expect(200)
    };
    let mut present = BTreeMap::new();
    let mut page = 1;
    loop {
        let body = list(page);
        for v in body["results"].as_array().expect("results") {
            let key = v["key"].as_str().expect("key").to_string();
            present.insert(key, v["decrypted_value"].clone());
        }
        if body["next"] == Value::Null {
            break;
        }
        page += 1;
    }
    for (key, t) in &vars {
        match t {
            Told::Done => assert_eq!(present.get(key), Some(&json!("v".repeat(200))), "{key}"),
            Told::NotDone => assert!(!present.contains_key(key), "{key} was refused yet is there"),
            Told::Maybe => {}
        }
    }
    for (keys, t) in &imports {
        let there = keys.iter().filter(|k| present.contains_key(*k)).count();
        assert!(
            there == 0 || there == keys.len(),
            "an import is all or nothing: {there}/20"
        );
        match t {
            Told::Done => assert_eq!(there, keys.len()),
            Told::NotDone => assert_eq!(there, 0),
            Told::Maybe => {}
        }
    }
    // A write the client was not sure about is simply retried with its Idempotency-Key: the
    // first outcome if it had been applied, applied now if not; never a conflict with itself.
    for (key, t) in &vars {
        if *t == Told::Done {
            continue;
        }
        let body = json!({"key": key, "value": "v".repeat(200), "environment": env});
        let r = s.try_post_keyed("/api/variables/", Some(&u.token), key, body);
        let r = r.expect("the server answers");
        assert_eq!(r.status, 201, "retry of {key}: {}", r.text);
        assert_eq!(r.body["key"], key.as_str());
    }
    // Every acknowledged write kept its audit entry.
    let audit = s
        .get("/api/audit-logs/?action=variable_created&page_size=100", t)
        .expect(200);
    let audited = audit["count"].as_u64().expect("count") as usize;
    let acknowledged = vars.values().filter(|t| **t == Told::Done).count();
    assert!(
        audited >= acknowledged,
        "{audited} entries for {acknowledged} writes"
    );
}
