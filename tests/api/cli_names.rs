//! The client by names: creating, renaming and deleting organizations, projects and environments,
//! `.keynest.toml` from `keynest setup`, `run --watch` (by polling, the server having no change
//! feed), `run --fallback`, completions and secrets read from stdin.

use crate::cli::{kn, kn_in, ok, Out};
use crate::helpers::{wait_bounded, TestServer, EXIT_LIMIT};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

fn as_user<'a>(s: &'a TestServer, token: &'a str) -> [(&'a str, &'a str); 2] {
    [("KEYNEST_URL", s.base.as_str()), ("KEYNEST_TOKEN", token)]
}

fn id_in(o: &Out) -> u64 {
    o.stdout
        .split("(id ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("an id in {:?}", o.stdout))
}

#[test]
fn orgs_projects_and_envs_are_created_renamed_and_deleted_by_name() {
    let s = TestServer::start();
    let u = s.register("names");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let v = as_user(&s, &u.token);
    let org = id_in(&ok(kn(h, &["orgs", "create", "Acme"], None, &v)));
    let project = id_in(&ok(kn(
        h,
        &["projects", "create", "web", "--org", "acme"],
        None,
        &v,
    )));
    assert_eq!(
        s.get(&format!("/api/projects/{project}/"), Some(&u.token))
            .expect(200)["organization"],
        org,
        "the org named case-insensitively"
    );
    let env = id_in(&ok(kn(
        h,
        &[
            "envs",
            "create",
            "Production",
            "--project",
            "Web",
            "--type",
            "production",
        ],
        None,
        &v,
    )));
    let e = s
        .get(&format!("/api/environments/{env}/"), Some(&u.token))
        .expect(200);
    assert_eq!(e["environment_type"], "production");

    ok(kn(
        h,
        &[
            "vars",
            "set",
            "A=1",
            "--project",
            "web",
            "--env",
            "production",
        ],
        None,
        &v,
    ));
    let got = ok(kn(
        h,
        &[
            "vars",
            "get",
            "A",
            "--project",
            "web",
            "--env",
            "production",
        ],
        None,
        &v,
    ));
    assert_eq!(got.stdout, "1");
    // Ids still work, with either spelling.
    let by_id = ok(kn(
        h,
        &["vars", "get", "A", "--env", &env.to_string()],
        None,
        &v,
    ));
    assert_eq!(by_id.stdout, "1");
    let p = project.to_string();
    ok(kn(h, &["envs", "list", "--project-id", &p], None, &v));

    ok(kn(h, &["projects", "rename", "web", "frontend"], None, &v));
    ok(kn(
        h,
        &[
            "envs",
            "rename",
            "production",
            "prod",
            "--project",
            "frontend",
        ],
        None,
        &v,
    ));
    ok(kn(h, &["orgs", "rename", "Acme", "Acme Inc"], None, &v));
    let renamed = s
        .get(&format!("/api/environments/{env}/"), Some(&u.token))
        .expect(200);
    assert_eq!(renamed["name"], "prod");
    assert_eq!(renamed["project_name"], "frontend");

    // Deleting off a terminal needs --yes; the refusal deletes nothing.
    let refused = kn(
        h,
        &["envs", "delete", "prod", "--project", "frontend"],
        None,
        &v,
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--yes"), "{}", refused.stderr);
    s.get(&format!("/api/environments/{env}/"), Some(&u.token))
        .expect(200);
    // Positive control: with --yes it goes.
    ok(kn(
        h,
        &["envs", "delete", "prod", "--project", "frontend", "--yes"],
        None,
        &v,
    ));
    s.get(&format!("/api/environments/{env}/"), Some(&u.token))
        .expect(404);
    ok(kn(
        h,
        &["projects", "delete", "frontend", "--yes"],
        None,
        &v,
    ));
    s.get(&format!("/api/projects/{project}/"), Some(&u.token))
        .expect(404);
    ok(kn(h, &["orgs", "delete", "acme inc", "-y"], None, &v));
    s.get(&format!("/api/organizations/{org}/"), Some(&u.token))
        .expect(404);
}

#[test]
fn an_ambiguous_project_name_lists_the_candidates_orgs_and_org_picks_one() {
    let s = TestServer::start();
    let u = s.register("ambig");
    let other = s
        .post(
            "/api/organizations/",
            Some(&u.token),
            json!({"name": "Second"}),
        )
        .expect(201)["id"]
        .as_u64()
        .expect("id");
    let p1 = s.project(&u, u.org, "web");
    let p2 = s.project(&u, other, "Web");
    let e1 = s.env(&u, p1, "production");
    let e2 = s.env(&u, p2, "production");
    s.var(&u, e1, "WHO", "first");
    s.var(&u, e2, "WHO", "second");
    let home = tempfile::tempdir().expect("home");
    let v = as_user(&s, &u.token);
    // "WEB" matches both case-insensitively, neither exactly: not guessed.
    let amb = kn(
        home.path(),
        &[
            "vars",
            "get",
            "WHO",
            "--project",
            "WEB",
            "--env",
            "production",
        ],
        None,
        &v,
    );
    assert_eq!(amb.code, 2, "{}", amb.stderr);
    assert!(
        amb.stderr.contains("Second")
            && amb.stderr.contains("--org")
            && amb.stderr.contains(&format!("organization {}", u.org)),
        "names the candidates' organizations: {}",
        amb.stderr
    );
    let picked = ok(kn(
        home.path(),
        &[
            "vars",
            "get",
            "WHO",
            "--project",
            "WEB",
            "--env",
            "production",
            "--org",
            "second",
        ],
        None,
        &v,
    ));
    assert_eq!(picked.stdout, "second");
    // An exact spelling wins over a case variant.
    let exact = ok(kn(
        home.path(),
        &[
            "vars",
            "get",
            "WHO",
            "--project",
            "Web",
            "--env",
            "PRODUCTION",
        ],
        None,
        &v,
    ));
    assert_eq!(exact.stdout, "second");
    let missing = kn(
        home.path(),
        &[
            "vars",
            "get",
            "WHO",
            "--project",
            "nope",
            "--env",
            "production",
        ],
        None,
        &v,
    );
    assert_eq!(missing.code, 4, "{}", missing.stderr);
}

#[test]
fn setup_writes_a_file_that_run_vars_and_export_use_from_a_subdirectory() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("setup");
    s.var(&u, env, "API_KEY", "from-setup");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let repo = h.join("repo");
    let sub = repo.join("src/deep");
    std::fs::create_dir_all(&sub).expect("dirs");
    let v = as_user(&s, &u.token);
    ok(kn_in(
        h,
        &repo,
        &["setup", "--project", "WEB", "--env", "production"],
        None,
        &v,
    ));
    let text = std::fs::read_to_string(repo.join(".keynest.toml")).expect("file");
    assert!(
        text.contains("project = \"web\"") && text.contains("environment = \"production\""),
        "{text}"
    );
    assert!(!text.contains(&u.token), "never a token: {text}");

    let run = ok(kn_in(
        h,
        &sub,
        &["run", "--", "sh", "-c", "printf %s \"$API_KEY\""],
        None,
        &v,
    ));
    assert_eq!(run.stdout, "from-setup");
    let listed = ok(kn_in(h, &sub, &["vars", "list"], None, &v));
    assert!(listed.stdout.contains("API_KEY"), "{}", listed.stdout);
    let export = ok(kn_in(h, &sub, &["env", "export"], None, &v));
    assert!(
        export.stdout.contains("API_KEY=from-setup"),
        "{}",
        export.stdout
    );
    // A flag overrides the file.
    let other = s.env(&u, s.project(&u, u.org, "api"), "staging");
    s.var(&u, other, "API_KEY", "from-flag");
    let flagged = ok(kn_in(
        h,
        &sub,
        &[
            "vars",
            "get",
            "API_KEY",
            "--project",
            "api",
            "--env",
            "staging",
        ],
        None,
        &v,
    ));
    assert_eq!(flagged.stdout, "from-flag");
    // Outside the repository there is no file: the command says what it needs.
    let outside = kn(h, &["vars", "list"], None, &v);
    assert_eq!(outside.code, 2, "{}", outside.stderr);
    assert!(
        outside.stderr.contains("keynest setup"),
        "{}",
        outside.stderr
    );

    // A file naming another server does not get the token sent there.
    std::fs::write(
        repo.join(".keynest.toml"),
        "url = \"http://attacker.invalid\"\nproject = \"web\"\nenvironment = \"production\"\n",
    )
    .expect("write");
    let hostile = kn_in(h, &sub, &["vars", "list"], None, &v);
    assert_eq!(hostile.code, 2, "{}", hostile.stderr);
    assert!(
        hostile.stderr.contains("attacker.invalid"),
        "{}",
        hostile.stderr
    );
}

fn wait_for(path: &Path, want: &str, limit: Duration) -> String {
    let end = Instant::now() + limit;
    loop {
        let got = std::fs::read_to_string(path).unwrap_or_default();
        if got.trim() == want || Instant::now() > end {
            return got.trim().to_string();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[cfg(unix)]
#[test]
fn run_watch_restarts_the_command_through_the_change_feed_when_a_value_changes() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("watch");
    let var = s.var(&u, env, "COLOR", "blue");
    let home = tempfile::tempdir().expect("home");
    let out = home.path().join("seen");
    let script = format!("printf %s \"$COLOR\" > '{}'; exec sleep 60", out.display());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_keynest"))
        .args([
            "run",
            "--watch",
            "--grace",
            "2s",
            "--env",
            &env.to_string(),
            "--",
            "sh",
            "-c",
            &script,
        ])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("xdg"))
        .env("KEYNEST_URL", &s.base)
        .env("KEYNEST_TOKEN", &u.token)
        .current_dir(home.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    assert_eq!(wait_for(&out, "blue", Duration::from_secs(10)), "blue");
    s.patch(
        &format!("/api/variables/{var}/"),
        Some(&u.token),
        json!({"value": "green"}),
    )
    .expect(200);
    let seen = wait_for(&out, "green", Duration::from_secs(20));
    // Stop it as a user would; the restarted child gets the signal and nothing restarts after.
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = wait_bounded(
        &mut child,
        EXIT_LIMIT,
        "keynest run --watch after SIGTERM",
        &String::new,
    );
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert_eq!(
        seen, "green",
        "restarted with the new value; stderr: {stderr}"
    );
    assert!(
        !stderr.contains("no change feed"),
        "the server's feed was used: {stderr}"
    );
    assert!(stderr.contains("restarting"), "{stderr}");
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "ended by the forwarded SIGTERM"
    );
}

#[test]
fn run_uses_the_encrypted_fallback_when_the_server_is_down_and_only_with_the_right_token() {
    let mut s = TestServer::start();
    let (u, _, env) = s.user_with_env("fallback");
    s.var(&u, env, "DATABASE_URL", "postgres://db");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let file = h.join("env.sealed");
    let f = file.to_str().expect("path");
    let e = env.to_string();
    let base = s.base.clone();
    let v = [
        ("KEYNEST_URL", base.as_str()),
        ("KEYNEST_TOKEN", u.token.as_str()),
    ];
    let args = [
        "run",
        "--env",
        &e,
        "--fallback",
        f,
        "--",
        "sh",
        "-c",
        "printf %s \"$DATABASE_URL\"",
    ];
    let first = ok(kn(h, &args, None, &v));
    assert_eq!(first.stdout, "postgres://db");
    assert!(
        !first.stderr.contains("fallback"),
        "the server answered: {}",
        first.stderr
    );
    let sealed = std::fs::read(&file).expect("copy");
    assert!(
        !String::from_utf8_lossy(&sealed).contains("postgres://db"),
        "nothing in clear"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    assert!(s.terminate().success());
    let down = ok(kn(h, &args, None, &v));
    assert_eq!(down.stdout, "postgres://db", "{}", down.stderr);
    assert!(
        down.stderr.contains("cannot reach") && down.stderr.contains("fallback copy"),
        "says so: {}",
        down.stderr
    );
    // Another token cannot open it; the right one (above, and here with --fallback-only) can.
    let other = [
        ("KEYNEST_URL", s.base.as_str()),
        ("KEYNEST_TOKEN", "0000000000000000000000000000000000000000"),
    ];
    let wrong = kn(h, &args, None, &other);
    assert_ne!(wrong.code, 0);
    assert!(
        wrong.stdout.is_empty(),
        "the command did not run: {}",
        wrong.stdout
    );
    assert!(wrong.stderr.contains("another token"), "{}", wrong.stderr);
    let only = ok(kn(
        h,
        &[
            "run",
            "--env",
            &e,
            "--fallback",
            f,
            "--fallback-only",
            "--",
            "sh",
            "-c",
            "printf %s \"$DATABASE_URL\"",
        ],
        None,
        &v,
    ));
    assert_eq!(only.stdout, "postgres://db");
}

#[test]
fn a_refusal_does_not_fall_back() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("revoked");
    s.var(&u, env, "K", "v");
    let home = tempfile::tempdir().expect("home");
    let file = home.path().join("copy");
    let f = file.to_str().expect("path");
    let e = env.to_string();
    let args = ["run", "--env", &e, "--fallback", f, "--", "true"];
    ok(kn(home.path(), &args, None, &as_user(&s, &u.token)));
    s.post("/api/auth/logout/", Some(&u.token), json!({}))
        .expect(200);
    let after = kn(home.path(), &args, None, &as_user(&s, &u.token));
    assert_eq!(
        after.code, 3,
        "a revoked token is an answer: {}",
        after.stderr
    );
}

#[test]
fn secrets_are_read_from_stdin_not_argv_and_completions_print() {
    let s = TestServer::start();
    let (u, _, env) = s.user_with_env("stdin");
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    let v = as_user(&s, &u.token);
    let e = env.to_string();
    ok(kn(
        h,
        &["vars", "set", "SECRET", "--env", &e],
        Some("s3cret value\n"),
        &v,
    ));
    let got = ok(kn(h, &["vars", "get", "SECRET", "--env", &e], None, &v));
    assert_eq!(got.stdout, "s3cret value", "one line end dropped");
    // No stdin given: the refusal comes before any is read, and a write could find it closed.
    let two = kn(h, &["vars", "set", "A", "B", "--env", &e], None, &v);
    assert_eq!(two.code, 2, "only one value from stdin: {}", two.stderr);

    let url = [("KEYNEST_URL", s.base.as_str())];
    ok(kn(
        h,
        &["config", "set-token"],
        Some(&format!("{}\n", u.token)),
        &url,
    ));
    let orgs: Value =
        serde_json::from_str(&ok(kn(h, &["orgs", "list", "--json"], None, &url)).stdout)
            .expect("json");
    assert_eq!(orgs[0]["id"], u.org, "the stored token works");

    for shell in ["bash", "zsh", "fish"] {
        let script = ok(kn(h, &["completions", shell], None, &[])).stdout;
        assert!(
            script.contains("keynest") && script.contains("setup"),
            "{shell}"
        );
    }
    assert_eq!(kn(h, &["completions", "tcsh"], None, &[]).code, 2);
}
