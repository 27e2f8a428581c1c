//! No request holds a connection forever: a body that stalls is cut off, and one client address
//! can hold only its share of connections while everyone else is still served.

use crate::helpers::TestServer;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://")).expect("connect")
}

/// A login request's head, announcing `len` body bytes, from `client` via the trusted proxy.
fn login_head(len: usize, client: Option<&str>) -> String {
    let forwarded = client.map_or(String::new(), |c| format!("X-Forwarded-For: {c}\r\n"));
    format!(
        "POST /api/auth/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         {forwarded}Content-Length: {len}\r\n\r\n"
    )
}

/// The status of the response waiting on `conn`, or `None` if none came within `wait`.
fn status(conn: &mut TcpStream, wait: Duration) -> Option<u16> {
    conn.set_read_timeout(Some(wait)).expect("timeout");
    let mut buf = [0u8; 1024];
    match conn.read(&mut buf) {
        Ok(0) => None,
        Ok(n) => String::from_utf8_lossy(&buf[..n])
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => panic!("read: {e}"),
    }
}

#[test]
fn a_body_that_stalls_is_answered_408_and_a_whole_one_is_served() {
    let s = TestServer::start_with_env(&[("KEYNEST_BODY_TIMEOUT", "1")]);
    let body = r#"{"email": "no@example.com", "password": "wrong password"}"#;
    // Positive control: the whole body, sent at once, reaches login.
    let mut whole = connect(&s);
    whole
        .write_all(format!("{}{body}", login_head(body.len(), None)).as_bytes())
        .expect("send");
    assert_eq!(status(&mut whole, Duration::from_secs(10)), Some(401));

    let mut stalled = connect(&s);
    stalled
        .write_all(login_head(body.len(), None).as_bytes())
        .expect("head");
    stalled.write_all(&body.as_bytes()[..10]).expect("a little");
    assert_eq!(status(&mut stalled, Duration::from_secs(10)), Some(408));
}

#[test]
fn one_address_holds_only_its_share_of_connections_and_others_are_still_served() {
    let s = TestServer::start_with_env(&[
        ("KEYNEST_MAX_REQUESTS_PER_CLIENT", "8"),
        ("KEYNEST_BODY_TIMEOUT", "60"),
        ("KEYNEST_TRUSTED_PROXIES", "127.0.0.1"),
    ]);
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut c = connect(&s);
        c.write_all(login_head(50, Some("203.0.113.66")).as_bytes())
            .expect("head");
        held.push(c);
    }
    // Collect refusals until 32 have come (a loaded machine may take a while), then the rest
    // must still be waiting.
    let mut answered = vec![false; held.len()];
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while refused < 32 && std::time::Instant::now() < deadline {
        for (i, c) in held.iter_mut().enumerate() {
            if answered[i] {
                continue;
            }
            match status(c, Duration::from_millis(20)) {
                Some(429) => {
                    answered[i] = true;
                    refused += 1;
                }
                None => {}
                Some(other) => panic!("unexpected {other}"),
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = 0;
    for (c, done) in held.iter_mut().zip(&answered) {
        if !done && status(c, Duration::from_millis(50)).is_none() {
            waiting += 1;
        }
    }
    assert_eq!(
        (waiting, refused),
        (8, 32),
        "8 held, the rest refused at once"
    );

    // While the 8 are held, another client logs in and health answers.
    let body = r#"{"email": "no@example.com", "password": "wrong password"}"#;
    let mut other = connect(&s);
    other
        .write_all(format!("{}{body}", login_head(body.len(), Some("203.0.113.1"))).as_bytes())
        .expect("send");
    assert_eq!(status(&mut other, Duration::from_secs(10)), Some(401));
    assert_eq!(s.get("/health/", None).status, 200);

    // Closing the held connections gives the address its share back.
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let mut again = connect(&s);
    again
        .write_all(format!("{}{body}", login_head(body.len(), Some("203.0.113.66"))).as_bytes())
        .expect("send");
    assert_eq!(status(&mut again, Duration::from_secs(10)), Some(401));
}
