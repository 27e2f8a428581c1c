//! `TestServer`: the built binary on 127.0.0.1:0 with a fresh data dir, its log captured, and
//! small helpers to register users and create records.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;

/// How long a process the tests started may take to exit once told to. A server's graceful stop
/// waits at most its shutdown timeout (10 s) for requests in flight, then flushes; this is that
/// with a wide margin for a loaded machine. Past it the process is taken as hung.
pub const EXIT_LIMIT: Duration = Duration::from_secs(60);

/// Wait for `child` to exit, at most `limit`. A child still running then is hung: its threads'
/// stacks are taken (when gdb is installed), it is killed and reaped, and the test fails saying
/// so, with `context` (the server's log). A hang fails the test instead of stalling the run.
#[track_caller]
pub fn wait_bounded(
    child: &mut Child,
    limit: Duration,
    what: &str,
    context: &dyn Fn() -> String,
) -> ExitStatus {
    let end = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if std::time::Instant::now() >= end {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let stacks = Command::new("gdb")
        .args([
            "-p",
            &child.id().to_string(),
            "-batch",
            "-ex",
            "thread apply all bt",
        ])
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_else(|_| "(gdb not installed: no stacks)".into());
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "{what}: process {} still running {limit:?} later; killed.\n\
         --- its log ---\n{}\n--- its threads ---\n{stacks}",
        child.id(),
        context()
    );
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub text: String,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self.body
    }

    /// Assert the documented error envelope with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        for field in ["error", "details", "code", "timestamp"] {
            assert!(body.get(field).is_some(), "envelope lacks {field}: {body}");
        }
        assert_eq!(body["code"], code, "{body}");
        body
    }
}

pub struct TestServer {
    pub base: String,
    child: Child,
    dir: Option<TempDir>,
    log: Arc<Mutex<String>>,
    agent: ureq::Agent,
}

/// A registered user: token, id, and the personal organization made at registration.
#[derive(Clone, Debug)]
pub struct User {
    pub token: String,
    pub id: u64,
    pub email: String,
    pub org: u64,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_in(tempfile::tempdir().expect("temp dir"), &[])
    }

    /// A server on a data dir that already holds a store (a restored backup).
    pub fn start_on(dir: TempDir) -> TestServer {
        Self::start_in(dir, &[])
    }

    /// A server on a data dir that already holds a store, with `env`.
    pub fn start_on_with_env(dir: TempDir, env: &[(&str, &str)]) -> TestServer {
        Self::start_in(dir, env)
    }

    pub fn start_with_env(env: &[(&str, &str)]) -> TestServer {
        Self::start_in(tempfile::tempdir().expect("temp dir"), env)
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self.dir.as_ref().expect("dir").path().to_path_buf()
    }

    /// Where the records are on disk: the data dir on sled; on etcd the etcd's own data
    /// (its WAL and bolt file), which no secret may reach in plaintext either.
    pub fn store_dir(&self) -> std::path::PathBuf {
        match etcd::shared_at() {
            Some((_, root)) => root.clone(),
            None => self.data_dir(),
        }
    }

    /// Open this server's store directly (the server must be stopped on sled).
    pub fn open_store(&self) -> keynest_actors::store::Store {
        let dir = self.data_dir();
        match etcd::shared() {
            Some(endpoint) => keynest_actors::store::Store::open_etcd(
                &[endpoint.to_string()],
                &etcd::prefix_for(&dir),
            ),
            None => keynest_actors::store::Store::open(&dir),
        }
        .expect("open store")
    }

    fn start_in(dir: TempDir, env: &[(&str, &str)]) -> TestServer {
        match Self::spawn(dir.path(), env) {
            Ok((child, base, log)) => TestServer::from_parts(child, base, dir, log),
            Err(log) => panic!("server did not start; its log:\n{log}"),
        }
    }

    fn from_parts(child: Child, base: String, dir: TempDir, log: Arc<Mutex<String>>) -> Self {
        TestServer {
            base,
            child,
            dir: Some(dir),
            log,
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into(),
        }
    }

    /// Start the binary; Ok((child, base URL, log)) once it listens, Err(log) if it exits first.
    #[allow(clippy::type_complexity)]
    pub fn spawn(
        dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> Result<(Child, String, Arc<Mutex<String>>), String> {
        Self::spawn_limited(dir, env, None)
    }

    /// As `spawn`; with `file_blocks`, the server runs under a file-size limit of that many
    /// 512-byte blocks with SIGXFSZ ignored, so a write past it fails with EFBIG: a full disk,
    /// without root.
    #[allow(clippy::type_complexity)]
    pub fn spawn_limited(
        dir: &std::path::Path,
        env: &[(&str, &str)],
        file_blocks: Option<u64>,
    ) -> Result<(Child, String, Arc<Mutex<String>>), String> {
        let bin = env!("CARGO_BIN_EXE_keynest");
        let mut cmd = match file_blocks {
            None => Command::new(bin),
            Some(blocks) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!(
                        "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""
                    ))
                    .arg(bin);
                sh
            }
        };
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .env("RUST_LOG", "info")
            .env_remove("KEYNEST_MASTER_KEY")
            // Tests register many users from one address; the rate-limit tests turn it back on.
            .env("KEYNEST_RATE_LIMIT", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(endpoint) = etcd::shared() {
            // One etcd for the whole run; each data dir is its own installation under its own
            // prefix, so a restart on the same dir finds its records again.
            cmd.env("KEYNEST_STORE", "etcd")
                .env("KEYNEST_ETCD_ENDPOINTS", endpoint)
                .env("KEYNEST_ETCD_PREFIX", etcd::prefix_for(dir));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn keynest");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(url);
                }
                let mut l = sink.lock().expect("log lock");
                l.push_str(&line);
                l.push('\n');
            }
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => Ok((child, base, log)),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                let text = log.lock().expect("log lock").clone();
                Err(text)
            }
        }
    }

    /// The server process, for reading its memory use from `/proc/<pid>/status`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// SIGTERM, and the exit status once the server has stopped; a server that has not stopped
    /// within `EXIT_LIMIT` fails the test (see `wait_bounded`).
    #[track_caller]
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let log = self.log.clone();
        let log = move || log.lock().expect("log lock").clone();
        wait_bounded(&mut self.child, EXIT_LIMIT, "server after SIGTERM", &log)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }

    /// Stop (gracefully, or with SIGKILL) and start again on the same data dir.
    /// A server on a fresh data dir under a file-size limit (see `spawn_limited`).
    pub fn start_with_file_limit(blocks: u64) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        match Self::spawn_limited(dir.path(), &[], Some(blocks)) {
            Ok((child, base, log)) => TestServer::from_parts(child, base, dir, log),
            Err(log) => panic!("server did not start; its log:\n{log}"),
        }
    }

    /// Wait for the server to exit on its own, up to `limit`; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = std::time::Instant::now() + limit;
        while std::time::Instant::now() < end {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Start a new server, without limits, on this one's data dir (this one must have exited).
    pub fn start_again(mut self) -> TestServer {
        // Reap it first: a process killed from outside may not be gone yet, and sled's lock on
        // the data dir goes only with it.
        let log = self.log.clone();
        let log = move || log.lock().expect("log lock").clone();
        wait_bounded(&mut self.child, EXIT_LIMIT, "server before a restart", &log);
        let dir = self.dir.take().expect("dir");
        Self::start_in(dir, &[])
    }

    /// Start again, with `env`, on the data dir of a server that has stopped.
    pub fn start_again_with_env(mut self, env: &[(&str, &str)]) -> TestServer {
        let log = self.log.clone();
        let log = move || log.lock().expect("log lock").clone();
        wait_bounded(&mut self.child, EXIT_LIMIT, "server before a restart", &log);
        let dir = self.dir.take().expect("dir");
        Self::start_in(dir, env)
    }

    /// Stop gracefully and start again on the same data dir with `env`.
    pub fn restart_with_env(mut self, env: &[(&str, &str)]) -> TestServer {
        assert!(self.terminate().success(), "graceful stop exits 0");
        let dir = self.dir.take().expect("dir");
        Self::start_in(dir, env)
    }

    pub fn restart(mut self, graceful: bool) -> TestServer {
        if graceful {
            assert!(self.terminate().success(), "graceful stop exits 0");
        } else {
            self.kill9();
        }
        let dir = self.dir.take().expect("dir");
        Self::start_in(dir, &[])
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A JSON POST that may find the server gone: `None` when the connection fails.
    pub fn try_post(&self, path: &str, token: Option<&str>, body: Value) -> Option<Resp> {
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", "application/json");
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        let resp = req.send(body.to_string().as_bytes()).ok()?;
        Some(Self::finish(Ok(resp)))
    }

    /// Any write that may find the server gone: `None` when the connection fails.
    pub fn try_send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Option<Resp> {
        let url = self.url(path);
        let auth = token.map(|t| format!("Token {t}"));
        let resp = match method {
            "DELETE" => {
                let mut req = self.agent.delete(url);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            }
            _ => {
                let mut req = match method {
                    "POST" => self.agent.post(url),
                    "PATCH" => self.agent.patch(url),
                    other => panic!("no body for {other}"),
                };
                req = req.header("Content-Type", "application/json");
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                let body = body.unwrap_or(Value::Null).to_string();
                req.send(body.as_bytes())
            }
        };
        Some(Self::finish(Ok(resp.ok()?)))
    }

    /// As `try_post`, with an `Idempotency-Key`.
    pub fn try_post_keyed(
        &self,
        path: &str,
        token: Option<&str>,
        key: &str,
        body: Value,
    ) -> Option<Resp> {
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        let resp = req.send(body.to_string().as_bytes()).ok()?;
        Some(Self::finish(Ok(resp)))
    }

    /// A GET that may find the server gone.
    pub fn try_get(&self, path: &str) -> Option<Resp> {
        let resp = self.agent.get(self.url(path)).call().ok()?;
        Some(Self::finish(Ok(resp)))
    }

    fn finish(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Resp {
        let mut resp = resp.expect("request");
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            headers,
        }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.agent.get(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        Self::finish(req.call())
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::finish(req.call())
    }

    pub fn delete(&self, path: &str, token: Option<&str>) -> Resp {
        let mut req = self.agent.delete(self.url(path));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        Self::finish(req.call())
    }

    pub fn send(&self, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> Resp {
        self.send_as(method, path, token, "application/json", &[], body)
    }

    pub fn send_as(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Resp {
        let url = self.url(path);
        let mut req = match method {
            "POST" => self.agent.post(url),
            "PATCH" => self.agent.patch(url),
            "PUT" => self.agent.put(url),
            other => panic!("no body for {other}"),
        };
        req = req.header("Content-Type", content_type);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = token {
            req = req.header("Authorization", format!("Token {t}"));
        }
        Self::finish(req.send(body))
    }

    /// A multipart/form-data POST: (field name, file name, content) per part.
    pub fn multipart(
        &self,
        path: &str,
        token: Option<&str>,
        parts: &[(&str, Option<&str>, &[u8])],
    ) -> Resp {
        let boundary = "----keynest-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        for (name, file, content) in parts {
            body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            let disposition = match file {
                Some(f) => {
                    format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n")
                }
                None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n"),
            };
            body.extend_from_slice(disposition.as_bytes());
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(content);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.send_as("POST", path, token, &ct, &[], &body)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send("POST", path, token, body.to_string().as_bytes())
    }

    pub fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send("PATCH", path, token, body.to_string().as_bytes())
    }

    pub fn register(&self, name: &str) -> User {
        let email = format!("{name}@example.com");
        let body = self
            .post(
                "/api/auth/register/",
                None,
                json!({"username": name, "email": email, "password": "correct horse battery",
                       "confirm_password": "correct horse battery", "first_name": name}),
            )
            .expect(201);
        User {
            token: body["token"].as_str().expect("token").to_string(),
            id: body["user"]["id"].as_u64().expect("id"),
            email,
            org: body["organization"]["id"].as_u64().expect("org"),
        }
    }

    pub fn project(&self, user: &User, org: u64, name: &str) -> u64 {
        self.post(
            "/api/projects/",
            Some(&user.token),
            json!({"name": name, "organization": org, "description": format!("{name} project")}),
        )
        .expect(201)["id"]
            .as_u64()
            .expect("id")
    }

    pub fn env(&self, user: &User, project: u64, name: &str) -> u64 {
        self.post(
            "/api/environments/",
            Some(&user.token),
            json!({"name": name, "project": project, "environment_type": "development"}),
        )
        .expect(201)["id"]
            .as_u64()
            .expect("id")
    }

    pub fn var(&self, user: &User, env: u64, key: &str, value: &str) -> u64 {
        self.post(
            "/api/variables/",
            Some(&user.token),
            json!({"key": key, "value": value, "environment": env}),
        )
        .expect(201)["id"]
            .as_u64()
            .expect("id")
    }

    /// A user with a project and an environment in their personal organization.
    pub fn user_with_env(&self, name: &str) -> (User, u64, u64) {
        let user = self.register(name);
        let project = self.project(&user, user.org, "web");
        let env = self.env(&user, project, "production");
        (user, project, env)
    }

    /// Invite `email` to `org` with `role`, as `admin`: the invitation's id.
    pub fn invite(&self, admin: &User, org: u64, email: &str, role: &str) -> u64 {
        self.post(
            &format!("/api/organizations/{org}/members/"),
            Some(&admin.token),
            json!({"email": email, "role": role}),
        )
        .expect(201)["id"]
            .as_u64()
            .expect("invitation id")
    }

    /// Add `member` to `org` with `role`, as `admin`: invited, then accepted by `member`.
    pub fn add_member(&self, admin: &User, org: u64, member: &User, role: &str) {
        let id = self.invite(admin, org, &member.email, role);
        self.post(
            &format!("/api/invitations/{id}/accept/"),
            Some(&member.token),
            json!({}),
        )
        .expect(200);
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The etcd backend under test: with `KEYNEST_TEST_STORE=etcd` every `TestServer` runs on one
/// etcd started for the test run (random ports, a temp data dir, stopped when the run ends).
pub mod etcd {
    use std::process::{Command, Stdio};
    use std::sync::OnceLock;
    use std::time::Duration;

    /// Whether the suite runs against etcd.
    pub fn on() -> bool {
        std::env::var("KEYNEST_TEST_STORE").is_ok_and(|v| v == "etcd")
    }

    /// The shared etcd's client URL, started on first use; `None` on sled.
    pub fn shared() -> Option<&'static str> {
        shared_at().map(|(endpoint, _)| endpoint.as_str())
    }

    /// The shared etcd's client URL and the directory its data lives in.
    pub fn shared_at() -> Option<&'static (String, std::path::PathBuf)> {
        static SHARED: OnceLock<(String, std::path::PathBuf)> = OnceLock::new();
        on().then(|| {
            SHARED.get_or_init(|| {
                let (mut urls, root) = start_cluster(1);
                (urls.remove(0), root)
            })
        })
    }

    /// The key prefix of the installation in `dir`.
    pub fn prefix_for(dir: &std::path::Path) -> String {
        use std::hash::{BuildHasher, Hasher};
        let mut h =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
                .build_hasher();
        h.write(dir.as_os_str().as_encoded_bytes());
        format!("t{:016x}/", h.finish())
    }

    /// `n` distinct free TCP ports on 127.0.0.1: all held until all are found (a port bound
    /// and released at once may be handed out again by the next bind), then released for etcd.
    fn free_ports(n: usize) -> Vec<u16> {
        let held: Vec<std::net::TcpListener> = (0..n)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("free port"))
            .collect();
        held.iter()
            .map(|l| l.local_addr().expect("port").port())
            .collect()
    }

    /// A member of a loopback cluster: its name, client URL, and the command that starts it.
    pub struct Member {
        pub client: String,
        pub args: Vec<String>,
    }

    /// Members of an `n`-member cluster on 127.0.0.1 with data under `root` (not started).
    /// Limits raised as README asks of operators: a 5,000-key import is one transaction.
    pub fn members(n: usize, root: &std::path::Path) -> Vec<Member> {
        let free = free_ports(2 * n);
        let ports: Vec<(u16, u16)> = free.chunks(2).map(|p| (p[0], p[1])).collect();
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("e{i}=http://127.0.0.1:{peer}"))
            .collect();
        let token = root
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default();
        ports
            .iter()
            .enumerate()
            .map(|(i, (client, peer))| {
                let dir = root.join(format!("e{i}"));
                let client_url = format!("http://127.0.0.1:{client}");
                let peer_url = format!("http://127.0.0.1:{peer}");
                let args = vec![
                    "--name".into(),
                    format!("e{i}"),
                    "--data-dir".into(),
                    dir.display().to_string(),
                    "--listen-client-urls".into(),
                    client_url.clone(),
                    "--advertise-client-urls".into(),
                    client_url.clone(),
                    "--listen-peer-urls".into(),
                    peer_url.clone(),
                    "--initial-advertise-peer-urls".into(),
                    peer_url,
                    "--initial-cluster".into(),
                    initial.join(","),
                    "--initial-cluster-token".into(),
                    token.clone(),
                    "--max-txn-ops".into(),
                    "20000".into(),
                    "--max-request-bytes".into(),
                    "33554432".into(),
                    "--log-level".into(),
                    "warn".into(),
                ];
                Member {
                    client: client_url,
                    args,
                }
            })
            .collect()
    }

    /// Start `m` so that it stops when this test process does (a watcher shell kills it once
    /// our pid is gone: statics are never dropped, and removes its data). Returns the pid of
    /// etcd itself.
    pub fn launch(m: &Member) -> u32 {
        let me = std::process::id();
        let quoted: Vec<String> = m.args.iter().map(|a| format!("'{a}'")).collect();
        let data = m
            .args
            .windows(2)
            .find(|w| w[0] == "--data-dir")
            .map(|w| w[1].clone())
            .expect("a data dir");
        let script = format!(
            "etcd {} >/dev/null 2>&1 & E=$!; echo $E; \
             (while kill -0 {me} 2>/dev/null && kill -0 $E 2>/dev/null; do sleep 1; done; \
              kill -9 $E 2>/dev/null; sleep 1; rm -rf '{data}') >/dev/null 2>&1 &",
            quoted.join(" ")
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .expect("start etcd (is etcd-server installed?)");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("etcd pid")
    }

    /// Whether the etcd at `client` answers.
    pub fn healthy(client: &str) -> bool {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(1)))
            .build()
            .into();
        agent
            .get(format!("{client}/health"))
            .call()
            .is_ok_and(|mut r| {
                r.body_mut()
                    .read_to_string()
                    .is_ok_and(|b| b.contains("\"health\":\"true\""))
            })
    }

    /// Start an `n`-member cluster in a temp dir kept for the whole run; its client URLs and
    /// that dir.
    pub fn start_cluster(n: usize) -> (Vec<String>, std::path::PathBuf) {
        let root = tempfile::tempdir().expect("etcd dir").keep();
        let ms = members(n, &root);
        for m in &ms {
            launch(m);
        }
        let end = std::time::Instant::now() + Duration::from_secs(30);
        while !ms.iter().all(|m| healthy(&m.client)) {
            assert!(std::time::Instant::now() < end, "etcd did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        (ms.into_iter().map(|m| m.client).collect(), root)
    }
}
