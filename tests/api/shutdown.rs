//! SIGTERM stops the server, whatever is open at the time: it answers or drops what is in
//! flight, flushes, and exits 0. `TestServer::terminate` waits a bounded time (`EXIT_LIMIT`), so
//! a server that does not exit fails these tests instead of hanging the run.

use crate::helpers::TestServer;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Open a connection to the API and send `head` (a request, or the start of one), leaving it open.
fn open(s: &TestServer, head: &str) -> TcpStream {
    let addr = s.base.trim_start_matches("http://");
    let mut c = TcpStream::connect(addr).expect("connect");
    c.write_all(head.as_bytes()).expect("send");
    c
}

#[test]
fn sigterm_with_requests_watches_and_admin_connections_open_exits_0() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("stopper");
    let var = s.var(&u, env, "KEPT", "kept value");
    let auth = format!("Authorization: Token {}\r\n", u.token);
    let mut held = Vec::new();
    // Long polls that would wait a minute for a change.
    for _ in 0..3 {
        held.push(open(
            &s,
            &format!(
                "GET /api/environments/{env}/watch/?revision=999999&timeout=60 HTTP/1.1\r\n\
                 Host: t\r\n{auth}\r\n"
            ),
        ));
    }
    // A request whose body never comes, and a connection that never sends anything.
    held.push(open(
        &s,
        &format!(
            "POST /api/variables/ HTTP/1.1\r\nHost: t\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"key\":"
        ),
    ));
    held.push(open(&s, ""));
    // The same on the operator's socket: an idle connection and a half-sent request.
    #[cfg(unix)]
    let _admin = {
        use std::os::unix::net::UnixStream;
        let path = s.data_dir().join("admin.sock");
        let idle = UnixStream::connect(&path).expect("admin socket");
        let mut half = UnixStream::connect(&path).expect("admin socket");
        half.write_all(b"POST /backup HTTP/1.1\r\nHost: t\r\nContent-Length: 50\r\n\r\n{")
            .expect("send");
        (idle, half)
    };
    // Writes keep coming until the server goes away (their answers do not matter here).
    let writer = {
        let base = s.base.clone();
        let token = u.token.clone();
        std::thread::spawn(move || {
            let agent = ureq::Agent::new_with_defaults();
            for i in 0..10_000 {
                let sent = agent
                    .post(&format!("{base}/api/variables/"))
                    .header("Authorization", &format!("Token {token}"))
                    .send_json(serde_json::json!({
                        "key": format!("W{i}"), "value": "v", "environment": env
                    }));
                // Refusals are answers; anything else means the server has gone.
                if sent.is_err_and(|e| !matches!(e, ureq::Error::StatusCode(_))) {
                    break;
                }
            }
        })
    };
    // Let the watches and writes be under way.
    std::thread::sleep(Duration::from_millis(300));
    let mut s = s;
    let status = s.terminate();
    assert!(status.success(), "exit status {status}; log:\n{}", s.log());
    // The log's last lines may still be in the pipe when the process is gone: read on a while.
    let flushed = "shutting down: flushing the store";
    let end = Instant::now() + Duration::from_secs(10);
    while !s.log().contains(flushed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = s.log();
    assert!(
        log.contains(flushed),
        "stopped through the graceful path:\n{log}"
    );
    writer.join().expect("writer");
    drop(held);
    // What was acknowledged before the signal is there after a restart.
    let s = s.start_again();
    let back = s
        .get(&format!("/api/variables/{var}/"), Some(&u.token))
        .expect(200);
    assert_eq!(back["decrypted_value"], "kept value", "{back}");
}

/// The harness's side: a process that does not exit is a failed test, not a stalled run.
#[cfg(unix)]
#[test]
#[should_panic(expected = "still running")]
fn a_process_that_does_not_exit_fails_the_wait_instead_of_hanging() {
    let mut child = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("spawn sleep");
    crate::helpers::wait_bounded(
        &mut child,
        Duration::from_millis(200),
        "sleep",
        &String::new,
    );
}
