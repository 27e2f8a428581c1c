//! `keynest migrate`: a sled installation copied to etcd and back, served from each copy.
//! Runs in the suite's etcd run (`KEYNEST_TEST_STORE=etcd`), which has an etcd.

use crate::helpers::{etcd, TestServer};
use std::process::Command;

fn migrate(from: &str, to: &str, prefix: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_keynest"))
        .args([
            "migrate",
            "--from",
            from,
            "--to",
            to,
            "--etcd-prefix",
            prefix,
        ])
        .output()
        .expect("run keynest migrate")
}

#[test]
fn an_installation_moves_from_sled_to_etcd_and_back_verified() {
    let Some(endpoint) = etcd::shared() else {
        return;
    };
    let key = "3c".repeat(32);
    let sled = [
        ("KEYNEST_STORE", "sled"),
        ("KEYNEST_MASTER_KEY", key.as_str()),
    ];
    let mut s = TestServer::start_with_env(&sled);
    let (u, _, env) = s.user_with_env("mover");
    let t = Some(u.token.as_str());
    let var = s.var(&u, env, "DATABASE_URL", "postgres://moved");
    s.patch(
        &format!("/api/variables/{var}/"),
        t,
        serde_json::json!({"value": "postgres://moved-v2"}),
    )
    .expect(200);
    let audit = s.get("/api/audit-logs/", t).expect(200);
    assert!(s.terminate().success());
    let source = s.data_dir();

    // sled -> etcd, under a prefix of its own.
    let prefix = format!("migrated-{}/", std::process::id());
    let out = migrate(
        &format!("sled:{}", source.display()),
        &format!("etcd:{endpoint}"),
        &prefix,
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("org {} ", u.org)),
        "a tally per organization: {text}"
    );
    // Into a store that is not empty: refused.
    let again = migrate(
        &format!("sled:{}", source.display()),
        &format!("etcd:{endpoint}"),
        &prefix,
    );
    assert!(!again.status.success());

    let on_etcd = [
        ("KEYNEST_STORE", "etcd"),
        ("KEYNEST_ETCD_PREFIX", prefix.as_str()),
        ("KEYNEST_MASTER_KEY", key.as_str()),
    ];
    let e = TestServer::start_with_env(&on_etcd);
    let got = e.get(&format!("/api/variables/{var}/"), t).expect(200);
    assert_eq!(got["decrypted_value"], "postgres://moved-v2");
    let history = e
        .get(&format!("/api/variables/{var}/versions/"), t)
        .expect(200);
    assert_eq!(history["count"], 2, "{history}");
    assert_eq!(e.get("/api/audit-logs/", t).expect(200), audit);
    // A write on the copy gets the next ids, not reused ones.
    let next = e.var(&u, env, "NEXT", "n");
    assert!(next > var);
    drop(e);

    // etcd -> sled, into a fresh data dir.
    let back = tempfile::tempdir().expect("tmp");
    let out = migrate(
        &format!("etcd:{endpoint}"),
        &format!("sled:{}", back.path().display()),
        &prefix,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let b = TestServer::start_on_with_env(back, &sled);
    assert_eq!(
        b.get(&format!("/api/variables/{next}/"), t).expect(200)["decrypted_value"],
        "n"
    );
}
