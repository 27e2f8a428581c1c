//! Key rotation, online. An organization's data key rotates while reads and writes go on: every
//! value and version reads back the same during and after it, and after a restart. The master
//! key rotates through the admin socket: afterwards the old key opens nothing, and a crash at
//! any point of it leaves a server that starts with one of the two keys and has lost nothing.

use crate::helpers::{etcd, TestServer, User};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Every value of an environment (export) and, for each variable, its versions' values.
fn snapshot(s: &TestServer, u: &User, env: u64) -> (Value, BTreeMap<String, Vec<Value>>) {
    let t = Some(u.token.as_str());
    let values = s
        .get(&format!("/api/environments/{env}/export/?format=json"), t)
        .expect(200);
    let mut versions = BTreeMap::new();
    let mut path = format!("/api/environments/{env}/variables/?page_size=100");
    loop {
        let page = s.get(&path, t).expect(200);
        for v in page["results"].as_array().expect("results") {
            if v["version"].as_u64().unwrap_or(1) > 1 {
                let id = v["id"].as_u64().expect("id");
                let h = s
                    .get(&format!("/api/variables/{id}/versions/"), t)
                    .expect(200);
                let vals = h["results"]
                    .as_array()
                    .expect("versions")
                    .iter()
                    .map(|x| x["decrypted_value"].clone())
                    .collect();
                versions.insert(v["key"].as_str().expect("key").to_string(), vals);
            }
        }
        match page["next"].as_str() {
            Some(next) => path = next.trim_start_matches(&s.base).to_string(),
            None => break,
        }
    }
    (values, versions)
}

/// `n` variables, one in five with a second version.
fn fill(s: &TestServer, u: &User, env: u64, n: usize) {
    let t = Some(u.token.as_str());
    let import = format!("/api/environments/{env}/import/");
    let first: String = (0..n).map(|i| format!("K{i}=value-{i}\n")).collect();
    s.multipart(&import, t, &[("file", Some(".env"), first.as_bytes())])
        .expect(200);
    let second: String = (0..n)
        .step_by(5)
        .map(|i| format!("K{i}=second-{i}\n"))
        .collect();
    s.multipart(&import, t, &[("file", Some(".env"), second.as_bytes())])
        .expect(200);
}

fn org_key(s: &TestServer, u: &User) -> Value {
    s.get(&format!("/api/organizations/{}/", u.org), Some(&u.token))
        .expect(200)["key"]
        .clone()
}

#[test]
fn a_data_key_rotation_reseals_in_the_background_while_writes_go_on() {
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("owner");
    let t = Some(admin.token.as_str());
    fill(&s, &admin, env, 600);
    assert_eq!(org_key(&s, &admin), json!({"version": 1, "rotation": null}));
    let before = snapshot(&s, &admin, env);

    let stop = AtomicBool::new(false);
    let (written, progress) = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut written = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let key = format!("DURING_{i}");
                s.var(&admin, env, &key, &format!("during {i}"));
                written.push(key);
            }
            written
        });
        let started = s
            .post(
                &format!("/api/organizations/{}/rotate-key/", admin.org),
                t,
                json!({}),
            )
            .expect(202);
        assert_eq!(started["key"]["version"], 2, "{started}");
        let total = started["key"]["rotation"]["total"].as_u64().expect("total");
        // 600 values, their first versions and 120 second ones, and what the writer had
        // written by then (a value and its first version each).
        assert!(total >= 600 + 600 + 120, "values and versions: {started}");
        let mut progress = vec![0];
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let key = org_key(&s, &admin);
            if key["rotation"].is_null() {
                assert_eq!(key["version"], 2);
                break;
            }
            assert_eq!(key["rotation"]["total"], total);
            progress.push(key["rotation"]["done"].as_u64().expect("done"));
            assert!(Instant::now() < deadline, "rotation did not finish");
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.store(true, Ordering::SeqCst);
        (writer.join().expect("writer"), progress)
    });
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress only grows: {progress:?}"
    );
    assert!(!written.is_empty(), "the writer wrote during the rotation");

    // Reads and writes kept working; every value and version reads back as before.
    let after = snapshot(&s, &admin, env);
    for (k, v) in before.0.as_object().expect("values") {
        assert_eq!(&after.0[k], v, "{k}");
    }
    assert_eq!(after.1, before.1, "versions");
    for (i, key) in written.iter().enumerate() {
        assert_eq!(after.0[key], format!("during {i}"));
    }
    let audit = s.get("/api/audit-logs/?action=key_rotated", t).expect(200);
    assert_eq!(audit["count"], 1, "{audit}");

    // And after a restart, with only the new key left in the store.
    let s = s.restart(true);
    let again = snapshot(&s, &admin, env);
    assert_eq!(again, after);
    assert_eq!(org_key(&s, &admin), json!({"version": 2, "rotation": null}));
    // A second rotation works the same way.
    s.post(
        &format!("/api/organizations/{}/rotate-key/", admin.org),
        t,
        json!({}),
    )
    .expect(202);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !org_key(&s, &admin)["rotation"].is_null() {
        assert!(Instant::now() < deadline, "second rotation did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(org_key(&s, &admin)["version"], 3);
    assert_eq!(snapshot(&s, &admin, env), after);
}

#[test]
fn a_rotation_cut_short_by_a_crash_goes_on_after_the_restart() {
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("owner");
    let t = Some(admin.token.as_str());
    fill(&s, &admin, env, 2000);
    let before = snapshot(&s, &admin, env);
    s.post(
        &format!("/api/organizations/{}/rotate-key/", admin.org),
        t,
        json!({}),
    )
    .expect(202);
    let mut s = s;
    s.kill9();
    let s = s.start_again();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !org_key(&s, &admin)["rotation"].is_null() {
        assert!(
            Instant::now() < deadline,
            "the rotation did not go on after the restart"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(org_key(&s, &admin)["version"], 2);
    assert_eq!(snapshot(&s, &admin, env), before);
}

#[test]
fn only_admins_rotate_an_organizations_key() {
    let s = TestServer::start();
    let admin = s.register("admin");
    let outsider = s.register("outsider");
    let path = format!("/api/organizations/{}/rotate-key/", admin.org);
    let mut cases = vec![("outsider", outsider, 404)];
    for role in ["viewer", "editor"] {
        let u = s.register(role);
        s.add_member(&admin, admin.org, &u, role);
        cases.push((role, u, 403));
    }
    for (role, user, status) in cases {
        let r = s.post(&path, Some(&user.token), json!({}));
        assert_eq!(r.status, status, "{role}: {}", r.text);
    }
    s.post(&path, Some(&admin.token), json!({})).expect(202);
    // The public API has no master-key rotation: that is the operator's (admin socket).
    assert_eq!(s.post("/rotate-master-key", None, json!({})).status, 404);
}

fn keynest(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_keynest"))
        .args(args)
        .env_remove("KEYNEST_MASTER_KEY")
        .env_remove("KEYNEST_DATA_DIR")
        .output()
        .expect("run keynest")
}

fn rotate_master_key(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "rotate-master-key",
        "--data-dir",
        dir.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    keynest(&args)
}

/// The server refuses to start on `dir` with the key in `key_file`.
fn refused_with(dir: &std::path::Path, key_file: &std::path::Path) -> bool {
    let key = key_file.to_str().expect("utf-8");
    match TestServer::spawn(dir, &[("KEYNEST_MASTER_KEY_FILE", key)]) {
        Ok((mut child, _, _)) => {
            let _ = child.kill();
            let _ = child.wait();
            false
        }
        Err(log) => log.contains("master key does not match"),
    }
}

#[test]
fn a_rotated_master_key_opens_everything_and_the_old_one_nothing() {
    if etcd::on() {
        // Refused on a running etcd node: see the offline rotation's test below.
        return;
    }
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("owner");
    fill(&s, &admin, env, 50);
    let dir = s.data_dir();
    let keep = tempfile::tempdir().expect("tmp");
    let old_key = keep.path().join("old.key");
    std::fs::copy(dir.join("master.key"), &old_key).expect("copy");
    let before = snapshot(&s, &admin, env);

    let out = rotate_master_key(&dir, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("data keys re-sealed"));
    assert_ne!(
        std::fs::read(dir.join("master.key")).expect("key"),
        std::fs::read(&old_key).expect("old")
    );
    assert!(!dir.join("master.key.new").exists());
    // The running server goes on, and seals what is new (an organization) with the new key.
    assert_eq!(snapshot(&s, &admin, env), before);
    let (late, _, late_env) = s.user_with_env("late");
    s.var(&late, late_env, "AFTER", "rotation");
    let s = s.restart(true);
    assert_eq!(snapshot(&s, &admin, env), before);
    let t = Some(late.token.as_str());
    let got = s
        .get(
            &format!("/api/environments/{late_env}/export/?format=json"),
            t,
        )
        .expect(200);
    assert_eq!(got, json!({"AFTER": "rotation"}));
    let mut s = s;
    assert!(s.terminate().success());
    assert!(refused_with(&dir, &old_key), "the old key is refused");
}

#[test]
fn a_crash_at_any_point_of_a_master_key_rotation_loses_nothing() {
    if etcd::on() {
        // Refused on a running etcd node: see the offline rotation's test below.
        return;
    }
    for (point, committed) in [
        ("after-new-key-file", false),
        ("after-batch", true),
        ("after-rename", true),
    ] {
        let failpoint = format!("rotate:{point}");
        let mut s = TestServer::start_with_env(&[("KEYNEST_TEST_FAILPOINT", &failpoint)]);
        let (admin, _, env) = s.user_with_env("owner");
        fill(&s, &admin, env, 30);
        let dir = s.data_dir();
        let keep = tempfile::tempdir().expect("tmp");
        let old_key = keep.path().join("old.key");
        std::fs::copy(dir.join("master.key"), &old_key).expect("copy");
        let before = snapshot(&s, &admin, env);

        let out = rotate_master_key(&dir, &[]);
        assert!(
            !out.status.success(),
            "{point}: the server died mid-rotation"
        );
        assert!(
            s.wait_exit(Duration::from_secs(10)).is_some(),
            "{point}: aborted"
        );
        let mut s = s.start_again();
        assert_eq!(snapshot(&s, &admin, env), before, "{point}");
        assert!(!dir.join("master.key.new").exists(), "{point}: settled");
        let same = std::fs::read(dir.join("master.key")).expect("key")
            == std::fs::read(&old_key).expect("old");
        assert_eq!(same, !committed, "{point}: which key is in place");
        // Writes work, and the server starts again with the key in place.
        s.var(&admin, env, "AFTER", "crash");
        assert!(s.terminate().success(), "{point}");
        assert_eq!(refused_with(&dir, &old_key), committed, "{point}: old key");
    }
}

#[test]
fn a_key_given_from_outside_rotates_only_to_a_key_the_operator_gives() {
    if etcd::on() {
        // Refused on a running etcd node: see the offline rotation's test below.
        return;
    }
    let outside = tempfile::tempdir().expect("tmp");
    let old_key = outside.path().join("old.key");
    std::fs::write(&old_key, "ab".repeat(32)).expect("key");
    let old = old_key.to_str().expect("utf-8");
    let s = TestServer::start_with_env(&[("KEYNEST_MASTER_KEY_FILE", old)]);
    let (admin, _, env) = s.user_with_env("owner");
    fill(&s, &admin, env, 20);
    let before = snapshot(&s, &admin, env);
    let dir = s.data_dir();

    let out = rotate_master_key(&dir, &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--new-key-file"));

    let new_key = outside.path().join("new.key");
    std::fs::write(&new_key, "cd".repeat(32)).expect("key");
    let out = rotate_master_key(&dir, &["--new-key-file", new_key.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("--master-key-file with the new key"),
        "{said}"
    );
    assert!(!dir.join("master.key").exists() && !dir.join("master.key.new").exists());
    let mut s = s;
    assert!(s.terminate().success());
    assert!(refused_with(&dir, &old_key));
    let new = new_key.to_str().expect("utf-8");
    let (mut child, _, _) = TestServer::spawn(&dir, &[("KEYNEST_MASTER_KEY_FILE", new)])
        .expect("starts with the new key");
    let _ = child.kill();
    let _ = child.wait();
    let _ = before;
}

/// On etcd every node holds the master key, so a running node refuses to rotate it (the others
/// would go on sealing with the old one); with every node stopped the CLI rotates it in etcd,
/// and the nodes start with the new key only.
#[test]
fn on_etcd_the_master_key_rotates_only_offline() {
    let Some(endpoint) = etcd::shared() else {
        return;
    };
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("owner");
    fill(&s, &admin, env, 20);
    let dir = s.data_dir();
    let before = snapshot(&s, &admin, env);
    let keep = tempfile::tempdir().expect("tmp");
    let old_key = keep.path().join("old.key");
    std::fs::copy(dir.join("master.key"), &old_key).expect("copy");

    let out = rotate_master_key(&dir, &[]);
    assert!(!out.status.success(), "a running etcd node rotated its key");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("Stop every node"), "{said}");
    assert_eq!(
        std::fs::read(dir.join("master.key")).expect("key"),
        std::fs::read(&old_key).expect("old"),
        "the key file was changed"
    );
    assert_eq!(snapshot(&s, &admin, env), before);

    let mut s = s;
    assert!(s.terminate().success());
    let new_key = keep.path().join("new.key");
    std::fs::write(&new_key, "6b".repeat(32)).expect("new key");
    let prefix = etcd::prefix_for(&dir);
    let offline = |master: &std::path::Path| {
        keynest(&[
            "rotate-master-key",
            "--store",
            "etcd",
            "--etcd-endpoints",
            endpoint,
            "--etcd-prefix",
            &prefix,
            "--master-key-file",
            master.to_str().expect("utf-8"),
            "--new-key-file",
            new_key.to_str().expect("utf-8"),
        ])
    };
    let wrong = offline(&new_key);
    assert!(
        !wrong.status.success(),
        "rotated with a key that is not the current one"
    );
    let out = offline(&old_key);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("data keys re-sealed"));
    assert!(refused_with(&dir, &old_key), "the old key is refused");
    let s =
        s.start_again_with_env(&[("KEYNEST_MASTER_KEY_FILE", new_key.to_str().expect("utf-8"))]);
    assert_eq!(snapshot(&s, &admin, env), before);
}
