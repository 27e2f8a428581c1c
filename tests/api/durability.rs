use crate::helpers::TestServer;
use serde_json::json;
use std::path::Path;

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
    let dir = s.data_dir();
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
        assert!(
            files_containing(&dir, needle.as_bytes()).is_empty(),
            "data dir holds {needle}"
        );
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
