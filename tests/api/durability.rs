use crate::helpers::TestServer;
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

#[test]
fn a_restart_keeps_users_tokens_records_and_values() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("keeper");
    let var = s.var(&u, env, "KEEP", "kept\nacross restarts ✓");
    let s = s.restart(true);
    let t = Some(u.token.as_str());
    s.get("/api/auth/profile/", t).expect(200);
    assert_eq!(
        s.get(&format!("/api/projects/{project}/"), t).expect(200)["name"],
        "web"
    );
    let v = s.get(&format!("/api/variables/{var}/"), t).expect(200);
    assert_eq!(v["decrypted_value"], "kept\nacross restarts ✓");
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    )
    .expect(200);
    // New ids never reuse old ones.
    let var2 = s.var(&u, env, "NEXT", "v");
    assert!(var2 > var);
}

#[test]
fn kill_9_right_after_a_201_loses_nothing() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("crash");
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(s.var(&u, env, &format!("K{i}"), &format!("value {i}")));
    }
    let s = s.restart(false);
    let t = Some(u.token.as_str());
    for (i, id) in ids.iter().enumerate() {
        let v = s.get(&format!("/api/variables/{id}/"), t).expect(200);
        assert_eq!(v["decrypted_value"], format!("value {i}"));
    }
    let log = s
        .get("/api/audit-logs/?action=variable_created", t)
        .expect(200);
    assert_eq!(
        log["count"], 20,
        "each acknowledged change has its audit entry"
    );
}

pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            hits.extend(files_containing(&path, needle));
        } else if let Ok(bytes) = std::fs::read(&path) {
            if bytes.windows(needle.len()).any(|w| w == needle) {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

#[test]
fn no_secret_in_plaintext_in_the_data_dir_or_the_log() {
    let mut s = TestServer::start();
    let (u, _, env) = s.user_with_env("leak");
    let secrets = [
        "sk_live_PLAINTEXT_CANARY_1",
        "postgres://u:CANARY_PASSWORD_2@db/x",
    ];
    let var = s.var(&u, env, "CANARY", secrets[0]);
    s.patch(
        &format!("/api/variables/{var}/"),
        Some(&u.token),
        json!({"value": secrets[1]}),
    )
    .expect(200);
    s.get(
        &format!("/api/environments/{env}/variables/"),
        Some(&u.token),
    )
    .expect(200);
    assert!(s.terminate().success());
    let (dir, store_dir) = (s.data_dir(), s.store_dir());
    let log = s.log();
    assert!(
        log.contains("POST /api/variables/ 201"),
        "the log has a line per request:\n{log}"
    );
    for needle in secrets
        .iter()
        .chain(["correct horse battery", u.token.as_str()].iter())
    {
        assert!(!log.contains(needle), "log holds {needle}");
        for d in [&dir, &store_dir] {
            assert!(
                files_containing(d, needle.as_bytes()).is_empty(),
                "{d:?} holds {needle}"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_wrong_master_key_is_refused_at_start() {
    let mut s = TestServer::start();
    s.register("someone");
    assert!(s.terminate().success());
    let dir = s.data_dir();
    let wrong = "ab".repeat(32);
    let log = TestServer::spawn(&dir, &[("KEYNEST_MASTER_KEY", wrong.as_str())])
        .expect_err("must not start");
    assert!(log.contains("master key does not match"), "{log}");
    // A malformed key is refused too, and the right key still works.
    let log =
        TestServer::spawn(&dir, &[("KEYNEST_MASTER_KEY", "xyz")]).expect_err("must not start");
    assert!(log.contains("64 hex"), "{log}");
    let (mut child, _, _) = TestServer::spawn(&dir, &[]).expect("right key starts");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn concurrent_writes_all_land_and_survive_a_crash() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("busy");
    let org2 = s
        .post(
            "/api/organizations/",
            Some(&u.token),
            json!({"name": "second"}),
        )
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let env2 = s.env(&u, s.project(&u, org2, "p"), "e");
    // 32 writers at once over two organizations: every write is answered and durable.
    std::thread::scope(|scope| {
        for t in 0..32 {
            let (s, u) = (&s, &u);
            let target = if t % 2 == 0 { env } else { env2 };
            scope.spawn(move || {
                for i in 0..5 {
                    s.var(u, target, &format!("T{t}_{i}"), &format!("value {t} {i}"));
                }
            });
        }
    });
    let s = s.restart(false);
    for target in [env, env2] {
        let list = s
            .get(
                &format!("/api/environments/{target}/variables/?page_size=100"),
                Some(&u.token),
            )
            .expect(200);
        assert_eq!(list["count"], 80, "environment {target}");
    }
}

/// What a client has been told about one key, and what it asked last without an answer.
#[derive(Clone, Debug, PartialEq)]
enum KeyState {
    Absent,
    Holds(String),
}

#[derive(Default)]
struct Ledger {
    /// key -> (environment, id, the acknowledged state, the state an unanswered request would
    /// leave)
    keys: std::collections::BTreeMap<String, (u64, Option<u64>, KeyState, Option<KeyState>)>,
    acknowledged: usize,
}

/// One writer's mixed writes on its own keys until the server goes away.
fn write_until_killed(
    s: &TestServer,
    token: &str,
    env: u64,
    writer: usize,
    ledger: &Mutex<Ledger>,
) {
    let t = Some(token);
    for round in 0.. {
        let key = format!("W{writer}_{}", round % 6);
        let (id, acked) = {
            let l = ledger.lock().expect("ledger");
            match l.keys.get(&key) {
                Some((_, id, state, _)) => (*id, state.clone()),
                None => (None, KeyState::Absent),
            }
        };
        let value = format!("{key} round {round}");
        // Create when absent; else change the value, or now and then delete.
        let (method, path, body, after) = match (&acked, id) {
            (KeyState::Holds(_), Some(id)) if round % 7 == 3 => (
                "DELETE",
                format!("/api/variables/{id}/"),
                None,
                KeyState::Absent,
            ),
            (KeyState::Holds(_), Some(id)) => (
                "PATCH",
                format!("/api/variables/{id}/"),
                Some(json!({"value": value})),
                KeyState::Holds(value.clone()),
            ),
            _ => (
                "POST",
                "/api/variables/".to_string(),
                Some(json!({"key": key, "value": value, "environment": env})),
                KeyState::Holds(value.clone()),
            ),
        };
        ledger
            .lock()
            .expect("ledger")
            .keys
            .insert(key.clone(), (env, id, acked.clone(), Some(after.clone())));
        let Some(r) = s.try_send(method, &path, t, body) else {
            return; // killed: the request stays unanswered
        };
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text);
        let new_id = match method {
            "POST" => r.body["id"].as_u64(),
            "DELETE" => None,
            _ => id,
        };
        let mut l = ledger.lock().expect("ledger");
        l.keys.insert(key, (env, new_id, after, None));
        l.acknowledged += 1;
    }
}

#[test]
fn kill_9_again_and_again_under_mixed_writes_loses_no_acknowledged_write() {
    let mut s = TestServer::start();
    let (u, _, env) = s.user_with_env("loop");
    let org2 = s
        .post(
            "/api/organizations/",
            Some(&u.token),
            json!({"name": "two"}),
        )
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let env2 = s.env(&u, s.project(&u, org2, "p"), "e");
    let ledger = Mutex::new(Ledger::default());
    for round in 0..3 {
        let pid = s.pid().to_string();
        std::thread::scope(|scope| {
            for w in 0..8 {
                let (s, ledger, token) = (&s, &ledger, u.token.as_str());
                let target = if w % 2 == 0 { env } else { env2 };
                scope.spawn(move || write_until_killed(s, token, target, w, ledger));
            }
            std::thread::sleep(Duration::from_millis(400 + 150 * round));
            Command::new("kill")
                .args(["-9", &pid])
                .status()
                .expect("kill -9");
        });
        s = s.start_again();
        // Every key holds what its last acknowledged write left, or what its one unanswered
        // write would have left; never anything else.
        let mut l = ledger.lock().expect("ledger");
        let mut present = std::collections::BTreeMap::new();
        for target in [env, env2] {
            let list = s
                .get(
                    &format!("/api/environments/{target}/variables/?page_size=100"),
                    Some(&u.token),
                )
                .expect(200);
            for v in list["results"].as_array().expect("results") {
                let key = v["key"].as_str().expect("key").to_string();
                let value = v["decrypted_value"].as_str().expect("value").to_string();
                present.insert(key, (v["id"].as_u64().expect("id"), value));
            }
        }
        for (key, (_, id, acked, inflight)) in l.keys.iter_mut() {
            let now = match present.get(key) {
                Some((_, value)) => KeyState::Holds(value.clone()),
                None => KeyState::Absent,
            };
            assert!(
                now == *acked || Some(&now) == inflight.as_ref(),
                "round {round}, {key}: told {acked:?}, unanswered {inflight:?}, found {now:?}"
            );
            // Carry on from what is there.
            *id = present.get(key).map(|(id, _)| *id);
            *acked = now;
            *inflight = None;
        }
        let audited = s
            .get(
                "/api/audit-logs/?target_type=variable&page_size=1",
                Some(&u.token),
            )
            .expect(200)["count"]
            .as_u64()
            .expect("count") as usize;
        assert!(
            audited >= l.acknowledged,
            "round {round}: {audited} audit entries for {} acknowledged writes",
            l.acknowledged
        );
    }
    assert!(
        ledger.lock().expect("ledger").acknowledged > 30,
        "the writers got going"
    );
}
