//! Several nodes on etcd: 3 etcd members and 3 KeyNest nodes on 127.0.0.1, concurrent writers
//! through all three, and `kill -9` of one KeyNest node and one etcd member mid-load. Runs in
//! the suite's etcd run (`KEYNEST_TEST_STORE=etcd`, as `.ci/run` does), which has etcd installed.

use crate::helpers::{etcd, TestServer, User};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Every page of a list, its `results` concatenated.
fn all_pages(s: &TestServer, path: &str, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    for page in 1.. {
        let r = s.get(
            &format!("{path}{sep}page_size=100&page={page}"),
            Some(token),
        );
        if r.status == 404 && page > 1 {
            break;
        }
        if r.status != 200 {
            let log = s.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("node log, newest first:\n{}", tail.join("\n"));
        }
        let body = r.expect(200);
        out.extend(body["results"].as_array().expect("results").iter().cloned());
        if body["next"].is_null() {
            break;
        }
    }
    out
}

fn login(s: &TestServer, u: &User) -> String {
    s.post(
        "/api/auth/login/",
        None,
        json!({"email": u.email, "password": "correct horse battery"}),
    )
    .expect(200)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn three_nodes_on_three_etcd_members_lose_no_acknowledged_write() {
    if !etcd::on() {
        return;
    }
    let root = tempfile::tempdir().expect("tmp");
    let members = etcd::members(3, root.path());
    let etcd_pids: Vec<u32> = members.iter().map(etcd::launch).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members.iter().all(|m| etcd::healthy(&m.client)) {
        assert!(Instant::now() < deadline, "the etcd cluster did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let endpoints: Vec<&str> = members.iter().map(|m| m.client.as_str()).collect();
    let endpoints = endpoints.join(",");
    let key = "5a".repeat(32);
    let env = [
        ("KEYNEST_STORE", "etcd"),
        ("KEYNEST_ETCD_ENDPOINTS", endpoints.as_str()),
        ("KEYNEST_ETCD_PREFIX", "cluster/"),
        ("KEYNEST_MASTER_KEY", key.as_str()),
    ];
    let nodes: Vec<TestServer> = (0..3).map(|_| TestServer::start_with_env(&env)).collect();

    // Made on one node, used on the others at once.
    let (u, _, e) = nodes[0].user_with_env("cluster");
    let t = u.token.as_str();
    for (i, (w, r)) in [(1, 2), (2, 0), (0, 1)].into_iter().enumerate() {
        let id = nodes[w].var(&u, e, &format!("RAW_{i}"), &format!("v{i}"));
        let got = nodes[r]
            .get(&format!("/api/variables/{id}/"), Some(t))
            .expect(200);
        assert_eq!(
            got["decrypted_value"],
            format!("v{i}"),
            "read on node {r} right after a write on {w}"
        );
    }

    // A session ended on one node is refused by the others on their next request.
    let second = login(&nodes[0], &u);
    nodes[2]
        .get("/api/auth/profile/", Some(&second))
        .expect(200);
    nodes[1]
        .post("/api/auth/logout/", Some(&second), json!({}))
        .expect(200);
    nodes[0]
        .get("/api/auth/profile/", Some(&second))
        .expect_error(401, "not_authenticated");
    nodes[2]
        .get("/api/auth/profile/", Some(&second))
        .expect_error(401, "not_authenticated");

    // One user logging in on every node at once: each login moves the same records (the
    // user's last login, their account-event counter); every one succeeds.
    std::thread::scope(|scope| {
        for node in &nodes {
            for _ in 0..3 {
                let u = &u;
                scope.spawn(move || {
                    let token = login(node, u);
                    node.get("/api/auth/profile/", Some(&token)).expect(200);
                });
            }
        }
    });

    // Concurrent writers through all three nodes; node 2 and one etcd member die mid-load.
    let acked: Mutex<BTreeMap<String, (u64, String)>> = Mutex::default();
    let refused: Mutex<BTreeMap<u16, usize>> = Mutex::default();
    let stop = AtomicBool::new(false);
    let killed = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for (n, node) in nodes.iter().enumerate() {
            for w in 0..2 {
                let (acked, stop, killed, refused) = (&acked, &stop, &killed, &refused);
                scope.spawn(move || {
                    let mut i = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let key = format!("K_{n}_{w}_{i}");
                        let value = format!("value {n}/{w}/{i}");
                        i += 1;
                        let body = json!({"key": key, "value": value, "environment": e});
                        match node.try_post("/api/variables/", Some(t), body) {
                            Some(r) if r.status == 201 => {
                                let id = r.body["id"].as_u64().expect("id");
                                acked.lock().expect("lock").insert(key, (id, value));
                            }
                            // Refused whole (409 contended, 503 while etcd elects): not acked.
                            Some(r) => {
                                assert!(
                                    [409, 503].contains(&r.status),
                                    "unexpected answer {}: {}",
                                    r.status,
                                    r.text
                                );
                                *refused.lock().expect("lock").entry(r.status).or_default() += 1;
                            }
                            None if n == 2 && killed.load(Ordering::SeqCst) => break,
                            None => panic!("node {n} stopped answering"),
                        }
                    }
                });
            }
        }
        std::thread::sleep(Duration::from_secs(3));
        killed.store(true, Ordering::SeqCst);
        for pid in [nodes[2].pid(), etcd_pids[2]] {
            std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .expect("kill -9");
        }
        std::thread::sleep(Duration::from_secs(4));
        stop.store(true, Ordering::SeqCst);
    });
    let acked = acked.into_inner().expect("lock");
    eprintln!(
        "cluster load: {} acknowledged, refused {:?}",
        acked.len(),
        refused.into_inner().expect("lock")
    );
    assert!(
        acked.len() >= 20,
        "the load wrote something: {}",
        acked.len()
    );

    // Every acknowledged write and its audit entry, identical through every surviving node.
    let mut seen: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for node in &nodes[..2] {
        let vars = all_pages(node, &format!("/api/environments/{e}/variables/"), t);
        let by_key: BTreeMap<&str, &Value> = vars
            .iter()
            .map(|v| (v["key"].as_str().expect("key"), v))
            .collect();
        for (key, (id, value)) in &acked {
            let v = by_key
                .get(key.as_str())
                .unwrap_or_else(|| panic!("{key} lost"));
            assert_eq!(v["id"].as_u64(), Some(*id));
            assert_eq!(v["decrypted_value"].as_str(), Some(value.as_str()));
        }
        let audit = all_pages(node, "/api/audit-logs/?action=variable_created", t);
        let audited: std::collections::BTreeSet<u64> = audit
            .iter()
            .filter_map(|a| a["target_id"].as_u64())
            .collect();
        for (key, (id, _)) in &acked {
            assert!(audited.contains(id), "no audit entry for {key} ({id})");
        }
        seen.push((vars, audit));
    }
    assert_eq!(seen[0], seen[1], "both surviving nodes answer the same");
    // And the survivors still take writes and read each other's.
    let id = nodes[0].var(&u, e, "AFTER", "after");
    let got = nodes[1]
        .get(&format!("/api/variables/{id}/"), Some(t))
        .expect(200);
    assert_eq!(got["decrypted_value"], "after");

    // Quorum lost (one member of three left): no node answers from what may be stale, and
    // `/health/` says so to a load balancer.
    std::process::Command::new("kill")
        .args(["-9", &etcd_pids[1].to_string()])
        .status()
        .expect("kill -9");
    nodes[0]
        .get(&format!("/api/variables/{id}/"), Some(t))
        .expect_error(503, "storage_unavailable");
    let health = nodes[1].get("/health/", None).expect(503);
    assert_eq!(health["storage"], "unreachable", "{health}");
}

/// Jobs that must run once (the session sweep) run on the one node holding an etcd lease, and
/// their writes are fenced by the lock's revision: a holder deposed meanwhile writes nothing.
#[test]
fn a_job_runs_on_one_node_and_a_deposed_holders_write_is_refused() {
    use keynest_actors::error::DomainError;
    use keynest_actors::store::{etcd::Fence, Store};
    let Some(endpoint) = etcd::shared() else {
        return;
    };
    let prefix = format!("lease-{}/", std::process::id());
    let open = || Store::open_etcd(&[endpoint.to_string()], &prefix).expect("open etcd");
    let (a, b) = (open(), open());
    let (la, lb) = (
        a.leader("job").expect("leader"),
        b.leader("job").expect("leader"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let fence = loop {
        match (la.fence(), lb.fence()) {
            (Some(_), Some(_)) => panic!("two holders at once"),
            (Some(f), None) | (None, Some(f)) => break f,
            (None, None) => {
                assert!(Instant::now() < deadline, "nobody took the job");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let holder = if la.fence().is_some() { &a } else { &b };
    let mut ok = holder.changes();
    ok.put_raw(b"job-output".to_vec(), b"1".to_vec());
    ok.fenced(Some(fence.clone()));
    holder.apply(ok).expect("the holder writes");
    // A holder whose lock was taken over has another revision than the lock's now.
    let stale = Fence {
        revision: fence.revision - 1,
        ..fence
    };
    let mut late = holder.changes();
    late.put_raw(b"job-output".to_vec(), b"2".to_vec());
    late.fenced(Some(stale));
    assert!(matches!(holder.apply(late), Err(DomainError::Contended)));
    assert_eq!(
        holder.get_raw(b"job-output").expect("get").as_deref(),
        Some(b"1".as_slice())
    );
}

/// Bookkeeping written without a change (a session's last use) never writes back a record
/// another node deleted: a session revoked on one node stays revoked.
#[test]
fn a_record_deleted_on_one_node_is_not_written_back_by_another() {
    use keynest_actors::store::Store;
    let Some(endpoint) = etcd::shared() else {
        return;
    };
    let prefix = format!("volatile-{}/", std::process::id());
    let open = || Store::open_etcd(&[endpoint.to_string()], &prefix).expect("open etcd");
    let (a, b) = (open(), open());
    let key = b"T-session".to_vec();
    let mut c = b.changes();
    c.put(key.clone(), &1u64).expect("put");
    b.apply(c).expect("apply");
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "{what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    until("a sees the record", &|| {
        a.get::<u64>(&key).expect("get") == Some(1)
    });
    // Its last use, recorded on a: kept while the record is there.
    a.put_volatile(&key, &2u64).expect("put_volatile");
    until("b sees the use", &|| {
        b.get::<u64>(&key).expect("get") == Some(2)
    });
    // Revoked on b; a, having seen that, records a use: the record stays gone.
    let mut c = b.changes();
    c.del(key.clone());
    b.apply(c).expect("apply");
    until("a sees the deletion", &|| {
        a.get::<u64>(&key).expect("get").is_none()
    });
    a.put_volatile(&key, &3u64).expect("put_volatile");
    let c = open();
    assert_eq!(c.get::<u64>(&key).expect("get"), None, "written back");
}

/// Two nodes on the shared etcd under one prefix and one master key, with `env` added.
fn pair(env: &[(&str, &str)]) -> (TestServer, TestServer) {
    let endpoint = etcd::shared().expect("etcd");
    let prefix = format!("pair-{}-{}/", std::process::id(), rand_suffix());
    let key = "3c".repeat(32);
    let mut all = vec![
        ("KEYNEST_STORE", "etcd"),
        ("KEYNEST_ETCD_ENDPOINTS", endpoint),
        ("KEYNEST_ETCD_PREFIX", prefix.as_str()),
        ("KEYNEST_MASTER_KEY", key.as_str()),
    ];
    all.extend_from_slice(env);
    let a = TestServer::start_with_env(&all);
    let b = TestServer::start_with_env(&all);
    (a, b)
}

/// A prefix part no other test of this run uses.
fn rand_suffix() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// A session kept in use on one node is not idle on another: each node also counts the
/// session's stored last use (recorded by whichever node saw it).
#[test]
fn a_session_used_on_one_node_is_not_idle_on_another() {
    if etcd::shared().is_none() {
        return;
    }
    let (a, b) = pair(&[("KEYNEST_SESSION_IDLE_TIMEOUT", "2s")]);
    let u = a.register("idle");
    let t = u.token.as_str();
    a.get("/api/auth/profile/", Some(t)).expect(200);
    // Used on b only, for longer than the idle timeout.
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(400));
        b.get("/api/auth/profile/", Some(t)).expect(200);
    }
    a.get("/api/auth/profile/", Some(t)).expect(200);
    b.get("/api/auth/profile/", Some(t)).expect(200);
    // Positive control: unused on both for longer than the timeout and its slack, refused.
    std::thread::sleep(Duration::from_millis(3_000));
    a.get("/api/auth/profile/", Some(t))
        .expect_error(401, "not_authenticated");
}

/// The organizations-per-user quota holds with a user's creations and joins spread over two
/// nodes at once (a count another node's change moves refuses the change: built again).
#[test]
fn the_organizations_quota_holds_across_nodes() {
    if etcd::shared().is_none() {
        return;
    }
    let (a, b) = pair(&[("KEYNEST_MAX_ORGANIZATIONS_PER_USER", "3")]);
    crate::quotas::racing_joins_stay_within_the_quota(&[a, b]);
}

/// Nodes started at the same moment on an empty prefix all start, on one installation: one
/// node's first-start records (check value, records key, session policy) stand, the others
/// read them. A kept answer sealed on one node replays on every other (one records key).
#[test]
fn nodes_started_together_on_an_empty_prefix_share_one_installation() {
    let Some(endpoint) = etcd::shared() else {
        return;
    };
    let prefix = format!("together-{}/", std::process::id());
    let key = "4d".repeat(32);
    let env = [
        ("KEYNEST_STORE", "etcd"),
        ("KEYNEST_ETCD_ENDPOINTS", endpoint),
        ("KEYNEST_ETCD_PREFIX", prefix.as_str()),
        ("KEYNEST_MASTER_KEY", key.as_str()),
        ("KEYNEST_SESSION_IDLE_TIMEOUT", "1h"),
    ];
    let nodes: Vec<TestServer> = std::thread::scope(|scope| {
        let starting: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| TestServer::start_with_env(&env)))
            .collect();
        starting
            .into_iter()
            .map(|h| h.join().expect("a node did not start"))
            .collect()
    });
    let u = nodes[0].register("together");
    let t = Some(u.token.as_str());
    let body = json!({"name": "kept"});
    let first = nodes[0]
        .try_post_keyed("/api/organizations/", t, "same-request", body.clone())
        .expect("answer");
    assert_eq!(first.status, 201, "{}", first.text);
    for node in &nodes[1..] {
        let again = node
            .try_post_keyed("/api/organizations/", t, "same-request", body.clone())
            .expect("answer");
        assert_eq!(again.status, 201, "{}", again.text);
        assert_eq!(
            again.body["id"], first.body["id"],
            "replayed, not made again"
        );
    }
}

/// The same request with one `Idempotency-Key` sent to two nodes at once applies once: both
/// answers name the same variable, and the environment holds one per key.
#[test]
fn the_same_keyed_request_on_two_nodes_at_once_applies_once() {
    if etcd::shared().is_none() {
        return;
    }
    let (a, b) = pair(&[]);
    let (u, _, e) = a.user_with_env("twice");
    let t = Some(u.token.as_str());
    for i in 0..10 {
        let key = format!("twice-{i}");
        let body = json!({"key": format!("K{i}"), "value": "v", "environment": e});
        let ids: Vec<Value> = std::thread::scope(|scope| {
            let sent: Vec<_> = [&a, &b]
                .into_iter()
                .map(|node| {
                    let (key, body) = (key.clone(), body.clone());
                    scope.spawn(move || {
                        let r = node
                            .try_post_keyed("/api/variables/", t, &key, body)
                            .expect("answer");
                        assert_eq!(r.status, 201, "{}", r.text);
                        r.body["id"].clone()
                    })
                })
                .collect();
            sent.into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert_eq!(ids[0], ids[1], "request {i} applied twice");
    }
    let list = a
        .get(
            &format!("/api/environments/{e}/variables/?page_size=100"),
            t,
        )
        .expect(200);
    assert_eq!(list["count"], 10);
}
