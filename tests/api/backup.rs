//! Backup of a running server through its admin socket, and restore into a new data directory:
//! everything acknowledged before the backup began is there after the restore, the file is
//! encrypted as a whole, and only the operator (who can reach the data directory) can ask.

use crate::durability::files_containing;
use crate::helpers::TestServer;
use serde_json::json;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

fn keynest(args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keynest"));
    cmd.args(args)
        .env_remove("KEYNEST_MASTER_KEY")
        .env_remove("KEYNEST_DATA_DIR");
    // On etcd a restore goes to the prefix the server started on that data dir will use.
    let dir = args.windows(2).find(|w| w[0] == "--data-dir").map(|w| w[1]);
    if let (Some(endpoint), Some(dir)) = (crate::helpers::etcd::shared(), dir) {
        cmd.env("KEYNEST_STORE", "etcd")
            .env("KEYNEST_ETCD_ENDPOINTS", endpoint)
            .env(
                "KEYNEST_ETCD_PREFIX",
                crate::helpers::etcd::prefix_for(std::path::Path::new(dir)),
            );
    }
    cmd.output().expect("run keynest")
}

#[test]
fn a_backup_taken_under_writes_restores_everything_acknowledged_before_it() {
    let s = TestServer::start();
    let (admin, _, env) = s.user_with_env("owner");
    let t = Some(admin.token.as_str());
    let versioned = s.var(&admin, env, "DATABASE_URL", "postgres://v1");
    s.patch(
        &format!("/api/variables/{versioned}/"),
        t,
        json!({"value": "postgres://v2"}),
    )
    .expect(200);
    let member = s.register("member");
    s.add_member(&admin, admin.org, &member, "viewer");
    let token = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            t,
            json!({"name": "ci"}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();

    // Writers keep going while the backup is taken; what was acknowledged before it began must
    // be in it.
    let before_backup = Mutex::new(Vec::new());
    let started = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let dir = s.data_dir();
    let out_dir = tempfile::tempdir().expect("tmp");
    let file = out_dir.path().join("keynest.backup");
    std::thread::scope(|scope| {
        for w in 0..4 {
            let (s, admin, before, started, stop) = (&s, &admin, &before_backup, &started, &stop);
            scope.spawn(move || {
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let key = format!("W{w}_{i}");
                    s.var(admin, env, &key, &format!("value {w} {i}"));
                    // Answered before the backup was asked for: it must be in it.
                    if !started.load(Ordering::SeqCst) {
                        before.lock().expect("lock").push(key);
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
        started.store(true, Ordering::SeqCst);
        let out = keynest(&[
            "backup",
            "--data-dir",
            dir.to_str().expect("utf-8"),
            "--output",
            file.to_str().expect("utf-8"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        stop.store(true, Ordering::SeqCst);
    });
    let before = before_backup.into_inner().expect("lock");
    assert!(
        before.len() > 10,
        "writers were busy before the backup ({})",
        before.len()
    );

    // The whole file is encrypted: not a name, email or key in it.
    for needle in ["owner@example.com", "DATABASE_URL", "postgres://v2"] {
        let hits = files_containing(out_dir.path(), needle.as_bytes());
        assert!(hits.is_empty(), "{needle} in {hits:?}");
    }
    // A backup file is refused under another master key (positive control below).
    let elsewhere = tempfile::tempdir().expect("tmp");
    let wrong_key = elsewhere.path().join("wrong.key");
    std::fs::write(&wrong_key, "ab".repeat(32)).expect("key");
    let out = keynest(&[
        "restore",
        "--input",
        file.to_str().expect("utf-8"),
        "--data-dir",
        elsewhere.path().join("data").to_str().expect("utf-8"),
        "--master-key-file",
        wrong_key.to_str().expect("utf-8"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("another master key"));

    let restored = tempfile::tempdir().expect("tmp");
    let out = keynest(&[
        "restore",
        "--input",
        file.to_str().expect("utf-8"),
        "--data-dir",
        restored.path().to_str().expect("utf-8"),
        "--master-key-file",
        dir.join("master.key").to_str().expect("utf-8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(s);
    let r = TestServer::start_on(restored);
    let list = r
        .get(
            &format!("/api/environments/{env}/variables/?page_size=100"),
            t,
        )
        .expect(200);
    let mut keys = std::collections::BTreeSet::new();
    let mut page = list;
    loop {
        for v in page["results"].as_array().expect("results") {
            keys.insert(v["key"].as_str().expect("key").to_string());
        }
        match page["next"].as_str() {
            Some(next) => {
                let path = next.trim_start_matches(&r.base).to_string();
                page = r.get(&path, t).expect(200);
            }
            None => break,
        }
    }
    for key in &before {
        assert!(
            keys.contains(key),
            "{key} was acknowledged before the backup"
        );
    }
    let versions = r
        .get(&format!("/api/variables/{versioned}/versions/"), t)
        .expect(200);
    assert_eq!(versions["count"], 2);
    assert_eq!(versions["results"][0]["decrypted_value"], "postgres://v2");
    let members = r
        .get(&format!("/api/organizations/{}/members/", admin.org), t)
        .expect(200);
    assert_eq!(members["count"], 2);
    r.get(&format!("/api/environments/{env}/variables/"), Some(&token))
        .expect(200);
    let audit = r
        .get("/api/audit-logs/?action=variable_created", t)
        .expect(200);
    assert!(audit["count"].as_u64().expect("count") as usize > before.len());
}

#[test]
fn the_admin_socket_is_the_operators_only() {
    let s = TestServer::start();
    let socket = s.data_dir().join("admin.sock");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&socket).expect("socket").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    // The public port has no backup route.
    let r = s.post("/backup", None, json!({"output": "/tmp/x"}));
    assert_eq!(r.status, 404);
}
