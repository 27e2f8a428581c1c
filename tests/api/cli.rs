use crate::helpers::{wait_bounded, TestServer, EXIT_LIMIT};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the built `keynest` binary as a client, with its config under `home`, in `home`.
pub fn kn(home: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Out {
    kn_in(home, home, args, stdin, env)
}

/// As `kn`, in the working directory `cwd` (where `.keynest.toml` is looked for).
pub fn kn_in(
    home: &Path,
    cwd: &Path,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keynest"));
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("xdg"))
        .env_remove("KEYNEST_URL")
        .env_remove("KEYNEST_TOKEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn client");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("client output");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
pub fn ok(o: Out) -> Out {
    assert_eq!(o.code, 0, "stdout: {}\nstderr: {}", o.stdout, o.stderr);
    o
}

#[test]
fn login_set_list_get_export_import_and_run() {
    let s = TestServer::start();
    let (u, project, env) = s.user_with_env("cli");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let env_id = env.to_string();
    let e = env_id.as_str();
    ok(kn(
        h,
        &[
            "login",
            "--url",
            &s.base,
            "--email",
            &u.email,
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
        &[],
    ));
    let config = h.join("xdg/keynest/config.toml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&config)
                .expect("config")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let saved = std::fs::read_to_string(&config).expect("config");
    let token = saved
        .split('"')
        .nth(3)
        .expect("token in the config file")
        .to_string();
    assert_eq!(token.len(), 40, "{saved}");
    let shown = ok(kn(h, &["config", "show"], None, &[])).stdout;
    assert!(
        shown.contains("****") && !shown.contains(&token),
        "masked: {shown}"
    );

    ok(kn(
        h,
        &[
            "vars",
            "set",
            "API_KEY=sk live=1",
            "EMPTY=",
            "--environment-id",
            e,
        ],
        None,
        &[],
    ));
    ok(kn(
        h,
        &[
            "vars",
            "set",
            "API_KEY=rotated value",
            "--environment-id",
            e,
        ],
        None,
        &[],
    ));
    let got = ok(kn(
        h,
        &["vars", "get", "API_KEY", "--environment-id", e],
        None,
        &[],
    ))
    .stdout;
    assert_eq!(got, "rotated value", "bare value, no newline when piped");
    let table = ok(kn(h, &["vars", "list", "--environment-id", e], None, &[])).stdout;
    assert!(
        table.contains("API_KEY") && !table.contains("rotated"),
        "values hidden by default: {table}"
    );
    let listed: Value = serde_json::from_str(
        &ok(kn(
            h,
            &["vars", "list", "--environment-id", e, "--json"],
            None,
            &[],
        ))
        .stdout,
    )
    .expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let orgs: Value =
        serde_json::from_str(&ok(kn(h, &["orgs", "list", "--json"], None, &[])).stdout)
            .expect("json");
    assert_eq!(orgs[0]["id"], u.org);
    assert!(
        ok(kn(h, &["projects", "list", "--search", "web"], None, &[]))
            .stdout
            .contains("web")
    );
    assert!(ok(kn(
        h,
        &["envs", "list", "--project", &project.to_string()],
        None,
        &[]
    ))
    .stdout
    .contains("production"));

    let file = h.join("out.env");
    ok(kn(
        h,
        &[
            "env",
            "export",
            "--environment-id",
            e,
            "--output",
            file.to_str().expect("path"),
        ],
        None,
        &[],
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file)
                .expect("export")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let copy = s.env(&u, project, "copy").to_string();
    let summary = ok(kn(
        h,
        &[
            "env",
            "import",
            "--environment-id",
            &copy,
            "--file",
            file.to_str().expect("path"),
        ],
        None,
        &[],
    ))
    .stdout;
    assert!(summary.contains("imported 2"), "{summary}");
    let back = s
        .get(
            &format!("/api/environments/{copy}/export/?format=json"),
            Some(&u.token),
        )
        .expect(200);
    assert_eq!(back, json!({"API_KEY": "rotated value", "EMPTY": ""}));

    let run = ok(kn(
        h,
        &[
            "run",
            "--environment-id",
            e,
            "--",
            "sh",
            "-c",
            "printf '%s' \"$API_KEY\"",
        ],
        None,
        &[],
    ));
    assert_eq!(run.stdout, "rotated value");
    let kept = ok(kn(
        h,
        &[
            "run",
            "--environment-id",
            e,
            "--no-override",
            "--",
            "sh",
            "-c",
            "printf '%s' \"$API_KEY\"",
        ],
        None,
        &[("API_KEY", "mine")],
    ));
    assert_eq!(kept.stdout, "mine");
    let code = kn(
        h,
        &["run", "--environment-id", e, "--", "sh", "-c", "exit 7"],
        None,
        &[],
    );
    assert_eq!(code.code, 7, "the child's exit code passes through");
    let piped = ok(kn(
        h,
        &["run", "--environment-id", e, "--", "cat"],
        Some("through stdin"),
        &[],
    ));
    assert_eq!(piped.stdout, "through stdin");

    ok(kn(
        h,
        &["vars", "delete", "EMPTY", "--environment-id", e],
        None,
        &[],
    ));
    ok(kn(h, &["logout"], None, &[]));
    s.get("/api/auth/profile/", Some(&u.token)).expect(200);
    let after = kn(h, &["vars", "list", "--environment-id", e], None, &[]);
    assert_eq!(after.code, 3, "{}", after.stderr);
    assert_eq!(
        after.stderr.trim(),
        "error: not logged in, run keynest login (or set KEYNEST_TOKEN)"
    );
}

#[test]
fn a_service_token_works_through_the_environment() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("svc");
    s.var(&u, env, "DATABASE_URL", "postgres://db");
    let tok = s
        .post(
            &format!("/api/environments/{env}/service-tokens/"),
            Some(&u.token),
            json!({"name": "ci"}),
        )
        .expect(201)["token"]
        .as_str()
        .expect("token")
        .to_string();
    let home = tempfile::tempdir().expect("home");
    let vars = [
        ("KEYNEST_URL", s.base.as_str()),
        ("KEYNEST_TOKEN", tok.as_str()),
    ];
    let e = env.to_string();
    let out = ok(kn(
        home.path(),
        &[
            "run",
            "--environment-id",
            &e,
            "--",
            "sh",
            "-c",
            "printf '%s' \"$DATABASE_URL\"",
        ],
        None,
        &vars,
    ));
    assert_eq!(out.stdout, "postgres://db");
    let denied = kn(
        home.path(),
        &["vars", "set", "X=1", "--environment-id", &e],
        None,
        &vars,
    );
    assert_eq!(denied.code, 3, "read-only token: {}", denied.stderr);
    assert!(
        denied.stderr.starts_with("error: permission denied"),
        "{}",
        denied.stderr
    );
}

#[test]
fn errors_are_one_line_with_distinct_exit_codes() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("errs");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let with_token = [
        ("KEYNEST_URL", s.base.as_str()),
        ("KEYNEST_TOKEN", u.token.as_str()),
    ];
    let e = env.to_string();
    // (what, arguments, environment, exit code, start of stderr)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>, i32, &'a str);
    let cases: Vec<Case> = vec![
        ("usage", vec!["vars", "get"], vec![], 2, ""),
        (
            "not logged in",
            vec!["vars", "list", "--environment-id", "1"],
            vec![("KEYNEST_URL", s.base.as_str())],
            3,
            "error: not logged in, run keynest login",
        ),
        (
            "bad token",
            vec!["orgs", "list"],
            vec![
                ("KEYNEST_URL", s.base.as_str()),
                ("KEYNEST_TOKEN", "0000000000000000000000000000000000000000"),
            ],
            3,
            "error: Invalid token.",
        ),
        (
            "unknown environment",
            vec!["vars", "list", "--environment-id", "999"],
            with_token.to_vec(),
            4,
            "error: environment 999 not found",
        ),
        (
            "unknown key",
            vec!["vars", "get", "NOPE", "--environment-id", &e],
            with_token.to_vec(),
            4,
            "error: variable NOPE not found",
        ),
        (
            "bad key",
            vec!["vars", "set", "1BAD=x", "--environment-id", &e],
            with_token.to_vec(),
            1,
            "error: key:",
        ),
        (
            "unreachable",
            vec!["orgs", "list"],
            vec![
                ("KEYNEST_URL", "http://127.0.0.1:9"),
                ("KEYNEST_TOKEN", u.token.as_str()),
            ],
            5,
            "error: cannot reach http://127.0.0.1:9",
        ),
    ];
    for (what, args, env, code, start) in cases {
        let o = kn(h, &args, None, &env);
        assert_eq!(o.code, code, "{what}: {}", o.stderr);
        assert!(o.stderr.starts_with(start), "{what}: {}", o.stderr);
        assert!(
            !o.stderr.contains("panicked") && !o.stderr.contains("RUST_BACKTRACE"),
            "{what}"
        );
        if code != 2 {
            assert_eq!(
                o.stderr.trim_end().lines().count(),
                1,
                "{what}: one line: {}",
                o.stderr
            );
        }
    }
    let bad_login = kn(
        h,
        &[
            "login",
            "--url",
            &s.base,
            "--email",
            &u.email,
            "--password-stdin",
        ],
        Some("wrong\n"),
        &[],
    );
    assert_eq!(bad_login.code, 3);
    assert_eq!(bad_login.stderr.trim(), "error: invalid email or password");
}

#[test]
fn every_command_has_help() {
    let home = tempfile::tempdir().expect("home");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["login", "--help"],
        vec!["config", "--help"],
        vec!["vars", "set", "--help"],
        vec!["env", "export", "--help"],
        vec!["env", "import", "--help"],
        vec!["run", "--help"],
    ] {
        let o = ok(kn(home.path(), &args, None, &[]));
        assert!(o.stdout.contains("Usage:"), "{args:?}: {}", o.stdout);
    }
}

#[cfg(unix)]
#[test]
fn run_forwards_sigterm_to_the_child() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("sig");
    let home = tempfile::tempdir().expect("home");
    let e = env.to_string();
    let script = "trap 'echo got-term; kill $!; exit 3' TERM; echo ready; sleep 30 & wait";
    let mut child = Command::new(env!("CARGO_BIN_EXE_keynest"))
        .args(["run", "--environment-id", &e, "--", "sh", "-c", script])
        .env("HOME", home.path())
        .env("KEYNEST_URL", &s.base)
        .env("KEYNEST_TOKEN", &u.token)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("ready line");
    assert_eq!(line.trim(), "ready");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = wait_bounded(
        &mut child,
        EXIT_LIMIT,
        "keynest run after SIGTERM",
        &String::new,
    );
    // One line, not to the end: a process started meanwhile by another test may hold the pipe.
    let mut rest = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut rest).expect("rest");
    assert_eq!(rest.trim(), "got-term", "the child got SIGTERM");
    assert_eq!(status.code(), Some(3), "and its exit code is ours");
}

/// The command's environment as `env` prints it, one `NAME=value` a line.
fn child_env(o: &Out) -> std::collections::BTreeMap<String, String> {
    o.stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn run_keeps_the_clients_token_and_takeover_variables_from_the_command() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("runenv");
    let own_path = std::env::var("PATH").unwrap_or_default();
    let own_preload = std::env::var("LD_PRELOAD").ok();
    let server_path = format!("/keynest-server-path:{own_path}");
    s.var(&u, env, "PATH", &server_path);
    s.var(&u, env, "LD_PRELOAD", "");
    s.var(&u, env, "KEYNEST_URL", "http://attacker.invalid");
    s.var(&u, env, "API_KEY", "ordinary");
    let home = tempfile::tempdir().expect("home");
    let vars = [
        ("KEYNEST_URL", s.base.as_str()),
        ("KEYNEST_TOKEN", u.token.as_str()),
    ];
    let e = env.to_string();
    let run = |allow: &[&str]| {
        let mut args = vec!["run", "--environment-id", &e];
        for a in allow {
            args.extend(["--allow-unsafe-env", *a]);
        }
        args.extend(["--", "env"]);
        ok(kn(home.path(), &args, None, &vars))
    };

    let plain = run(&[]);
    let got = child_env(&plain);
    assert!(
        !plain.stdout.contains(&u.token) && !got.contains_key("KEYNEST_TOKEN"),
        "the client's token stays with the client: {}",
        plain.stdout
    );
    assert!(
        !got.contains_key("KEYNEST_URL"),
        "neither the client's URL nor the server's: {}",
        plain.stdout
    );
    assert_eq!(got.get("PATH"), Some(&own_path), "the client's own PATH");
    assert_eq!(
        got.get("LD_PRELOAD"),
        own_preload.as_ref(),
        "LD_PRELOAD withheld"
    );
    assert_eq!(got.get("API_KEY").map(String::as_str), Some("ordinary"));
    let warning = plain.stderr.trim_end();
    assert_eq!(warning.lines().count(), 1, "one warning line: {warning}");
    assert!(
        warning.starts_with("warning:")
            && ["KEYNEST_URL", "LD_PRELOAD", "PATH", "--allow-unsafe-env"]
                .iter()
                .all(|w| warning.contains(w)),
        "names what it withheld and how to pass it: {warning}"
    );
    assert!(
        !warning.contains("keynest-server-path") && !warning.contains("attacker.invalid"),
        "names, never values: {warning}"
    );

    // Positive control: a name the flag gives is applied, and only that one.
    let one = run(&["PATH"]);
    let got = child_env(&one);
    assert_eq!(
        got.get("PATH"),
        Some(&server_path),
        "PATH applied when asked"
    );
    assert_eq!(got.get("LD_PRELOAD"), own_preload.as_ref());
    assert!(
        one.stderr.contains("LD_PRELOAD") && !one.stderr.contains("PATH"),
        "{}",
        one.stderr
    );
    let all = run(&["PATH,LD_PRELOAD", "KEYNEST_URL"]);
    let got = child_env(&all);
    assert_eq!(got.get("PATH"), Some(&server_path));
    assert_eq!(got.get("LD_PRELOAD").map(String::as_str), Some(""));
    assert_eq!(
        got.get("KEYNEST_URL").map(String::as_str),
        Some("http://attacker.invalid")
    );
    assert!(
        !got.contains_key("KEYNEST_TOKEN"),
        "the client's own token is never passed"
    );
    assert_eq!(all.stderr, "", "nothing withheld, no warning");
}

/// Everything in server text a terminal could act on, as the CLI test's idea of "raw": C0 controls
/// (a table pads with spaces, so only the line ends are allowed), DEL, C1 (U+0080-U+009F, which
/// UTF-8 writes as C2 80..C2 9F) and U+2028/U+2029. On valid UTF-8 this is the byte check.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c < ' ' && c != '\n')
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(c, '\u{2028}' | '\u{2029}')
        })
        .collect()
}

/// OSC 52 (write the clipboard), then CR, a line separator, an 8-bit CSI, NEL and DEL.
const EVIL: &str = "\u{1b}]52;c;ZXZpbA==\u{7}\r\u{2028}\u{9b}2J\u{85}\u{7f}";
const EVIL_SHOWN: &str = "\\u{1b}]52;c;ZXZpbA==\\u{7}\\r\\u{2028}\\u{9b}2J\\u{85}\\u{7f}";

#[test]
fn server_text_is_printed_with_control_characters_escaped() {
    let s = TestServer::start();
    let u = s.register("ctl");
    let created = |path: &str, body: Value| {
        s.post(path, Some(&u.token), body).expect(201)["id"]
            .as_u64()
            .expect("id")
    };
    let org = created(
        "/api/organizations/",
        json!({"name": format!("org{EVIL}"), "description": format!("about{EVIL}")}),
    );
    created(
        "/api/organizations/",
        json!({"name": "Café Ops — plain", "description": "nothing odd"}),
    );
    let project = created(
        "/api/projects/",
        json!({"name": format!("proj{EVIL}"), "organization": org, "description": EVIL}),
    );
    let env = created(
        "/api/environments/",
        json!({"name": format!("env{EVIL}"), "project": project, "environment_type": "development"}),
    );
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let vars = [
        ("KEYNEST_URL", s.base.as_str()),
        ("KEYNEST_TOKEN", u.token.as_str()),
    ];
    let (o, p) = (org.to_string(), project.to_string());
    // (what, arguments, the escaped name that must show)
    let tables = [
        (
            "orgs list",
            vec!["orgs", "list"],
            format!("org{EVIL_SHOWN}"),
        ),
        (
            "projects list",
            vec!["projects", "list", "--organization", &o],
            format!("proj{EVIL_SHOWN}"),
        ),
        (
            "projects list, organization column",
            vec!["projects", "list", "--organization", &o],
            format!("org{EVIL_SHOWN}"),
        ),
        (
            "envs list",
            vec!["envs", "list", "--project", &p],
            format!("env{EVIL_SHOWN}"),
        ),
    ];
    for (what, args, shown) in tables {
        let out = ok(kn(h, &args, None, &vars));
        assert_eq!(raw_controls(&out.stdout), [], "{what}: {:?}", out.stdout);
        assert!(
            out.stdout.lines().any(|row| row.contains(&shown)),
            "{what}: shown escaped, on one row: {}",
            out.stdout
        );
    }
    // Positive control: a name with nothing to escape prints as it is.
    let orgs = ok(kn(h, &["orgs", "list"], None, &vars)).stdout;
    assert!(orgs.contains("Café Ops — plain"), "{orgs}");

    // --json: still JSON (every control written as a JSON escape), and it reads back exactly.
    for (what, args, field, name) in [
        (
            "orgs",
            vec!["orgs", "list", "--json"],
            "description",
            format!("about{EVIL}"),
        ),
        (
            "projects",
            vec!["projects", "list", "--organization", &o, "--json"],
            "description",
            EVIL.to_string(),
        ),
        (
            "envs",
            vec!["envs", "list", "--project", &p, "--json"],
            "name",
            format!("env{EVIL}"),
        ),
    ] {
        let out = ok(kn(h, &args, None, &vars)).stdout;
        assert_eq!(raw_controls(&out), [], "{what} --json: {out:?}");
        let items: Value = serde_json::from_str(&out).expect("json");
        assert!(
            items
                .as_array()
                .into_iter()
                .flatten()
                .any(|i| i[field] == name.as_str()),
            "{what} --json keeps the exact text: {out}"
        );
    }

    // stderr too: an import failure names the file's key as the server echoes it.
    let file = h.join("bad.json");
    let data = json!({format!("BAD{EVIL}"): "x", "GOOD": "y"}).to_string();
    std::fs::write(&file, data).expect("write");
    let e = env.to_string();
    let import = ok(kn(
        h,
        &[
            "env",
            "import",
            "--environment-id",
            &e,
            "--file",
            file.to_str().expect("path"),
        ],
        None,
        &vars,
    ));
    assert!(import.stdout.contains("imported 1"), "{}", import.stdout);
    assert_eq!(raw_controls(&import.stderr), [], "{:?}", import.stderr);
    assert!(
        import.stderr.contains(&format!("BAD{EVIL_SHOWN}")),
        "{}",
        import.stderr
    );

    // A value is the user's own, not display text: `vars get` hands it over byte for byte.
    s.var(&u, env, "RAW", &format!("line1\nline2{EVIL}"));
    let got = ok(kn(
        h,
        &["vars", "get", "RAW", "--environment-id", &e],
        None,
        &vars,
    ))
    .stdout;
    assert_eq!(got, format!("line1\nline2{EVIL}"));
}
