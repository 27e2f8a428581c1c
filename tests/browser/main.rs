//! The dashboard in a real browser: headless Chromium driven over WebDriver (`chromedriver`)
//! against the real server, started as the black-box tests start it. Screenshots of the main
//! pages go to `<target>/tmp/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver`; without them the test fails saying so, unless
//! `KEYNEST_SKIP_BROWSER_TESTS=1` asks to skip it.

#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
mod webdriver;

use helpers::TestServer;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use webdriver::Driver;

/// A browser, or None when the run asked to skip browser tests.
fn browser() -> Option<Driver> {
    if std::env::var("KEYNEST_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        eprintln!("KEYNEST_SKIP_BROWSER_TESTS=1: browser tests skipped");
        return None;
    }
    assert!(
        webdriver::chromedriver().is_some() && std::path::Path::new(webdriver::CHROMIUM).exists(),
        "the browser tests need Chromium and chromedriver: apt-get install chromium \
         chromium-driver (or set KEYNEST_SKIP_BROWSER_TESTS=1 to skip them)"
    );
    Some(Driver::start())
}

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

struct Ui<'a> {
    d: &'a Driver,
    base: String,
}

impl Ui<'_> {
    fn go(&self, path: &str) {
        self.d.goto(&format!("{}{path}", self.base));
    }

    fn path(&self) -> String {
        self.d.url().trim_start_matches(&self.base).to_string()
    }

    /// Fill a form's fields (by name) and press its submit button; `form` is a CSS selector.
    fn submit(&self, form: &str, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            self.d.fill(&format!("{form} [name={name}]"), value);
        }
        self.d
            .click(&self.d.find(&format!("{form} button[type=submit]")));
    }

    /// The notice the last form left ("" while there is none).
    fn flash(&self) -> String {
        self.d.text_of(".flash").unwrap_or_default()
    }

    fn shot(&self, name: &str) {
        self.d.screenshot(&shots().join(format!("{name}.png")));
    }

    fn row(&self, key: &str) -> String {
        format!("#vars tr[data-key={}]", key.to_lowercase())
    }

    fn wait_path(&self, prefix: &str) {
        self.d.wait_for(&format!("a page under {prefix}"), |_| {
            self.path().starts_with(prefix)
        });
    }

    /// The id in a path such as `/envs/3/`.
    fn id_in_path(&self) -> u64 {
        self.path()
            .split('/')
            .filter_map(|s| s.parse().ok())
            .next()
            .expect("an id in the path")
    }

    /// The status of a request the page's own script could make.
    fn fetch_status(&self, url: &str, init: Value) -> u64 {
        self.d
            .exec_async(
                "const done = arguments[arguments.length - 1];
                 const init = arguments[1];
                 if (init.form) { init.body = new URLSearchParams(init.form); delete init.form; }
                 if (init.csrf) { init.headers = {'X-CSRF-Token': document.querySelector('meta[name=csrf-token]').content}; delete init.csrf; }
                 fetch(arguments[0], init).then(r => done(r.status), e => done(String(e)));",
                json!([url, init]),
            )
            .as_u64()
            .expect("a status")
    }

    fn register(&self, name: &str) {
        self.go("/register/");
        self.submit(
            "form[action='/register/']",
            &[
                ("username", name),
                ("email", &format!("{name}@example.com")),
                ("first_name", name),
                ("password", "correct horse battery"),
                ("confirm_password", "correct horse battery"),
            ],
        );
        self.wait_path("/orgs/");
    }

    fn sign_out(&self) {
        self.d.click(&self.d.find("form[action='/logout/'] button"));
        self.wait_path("/login/");
    }
}

fn wait_download(dir: &std::path::Path, ext: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == ext));
        if let Some(p) = found {
            if let Ok(text) = std::fs::read_to_string(&p) {
                if !text.is_empty() {
                    return text;
                }
            }
        }
        assert!(Instant::now() < deadline, "no .{ext} download in {dir:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

const HTML_VALUE: &str = "<img src=x onerror=\"window.pwned=1\"><script>window.pwned=2</script>";
const DB_URL: &str = "postgresql://user:pass@host/db";

#[test]
fn a_team_manages_its_secrets_in_the_browser() {
    let Some(d) = browser() else { return };
    let server = TestServer::start();
    let ui = Ui {
        d: &d,
        base: server.base.clone(),
    };

    // Signed out, `/` is the sign-in page.
    ui.go("/");
    ui.wait_path("/login/");
    ui.shot("login");
    ui.register("ann");
    ui.shot("organizations");

    // An organization, a project, an environment.
    ui.submit("form[action='/orgs/']", &[("name", "Acme")]);
    ui.wait_path("/orgs/2/");
    d.wait_for("the notice", |_| ui.flash() == "Organization created.");
    ui.shot("organization");
    ui.submit("form[action$='/projects/']", &[("name", "web")]);
    ui.wait_path("/projects/");
    ui.shot("project");
    ui.d.click(
        &ui.d
            .find("form[action$='/environments/'] select option[value=production]"),
    );
    ui.submit("form[action$='/environments/']", &[("name", "production")]);
    ui.wait_path("/envs/");
    let env = ui.id_in_path();

    // Variables, one of them HTML.
    for (key, value) in [("DATABASE_URL", DB_URL), ("HTML_VALUE", HTML_VALUE)] {
        ui.submit(
            "form[action$='/variables/']",
            &[("key", key), ("value", value)],
        );
        ui.d.wait_for("the new variable", |d| !d.find_all(&ui.row(key)).is_empty());
    }
    assert!(!d.source().contains(DB_URL), "values are not in the page");

    // Search by key.
    d.fill("#filter", "data");
    let shown = || {
        d.exec(
            "return document.querySelectorAll('#vars tbody tr:not([hidden])').length",
            json!([]),
        )
    };
    assert_eq!(shown(), json!(1));

    // Reveal: the HTML value is shown as text and nothing in it runs.
    ui.go(&format!("/envs/{env}/"));
    d.click(&d.find(&format!("{} button[data-reveal]", ui.row("HTML_VALUE"))));
    let cell = format!("{} [data-value]", ui.row("HTML_VALUE"));
    d.wait_for("the revealed value", |d| {
        d.text_of(&cell).as_deref() == Some(HTML_VALUE)
    });
    let injected = d.exec(
        "return [document.querySelectorAll('#vars img, #vars td script').length, window.pwned === undefined]",
        json!([]),
    );
    assert_eq!(
        injected,
        json!([0, true]),
        "the value's HTML was not interpreted"
    );
    ui.shot("environment");

    // The keyboard alone: "/" jumps to the search, Tab reaches the one row left, Enter reveals.
    ui.go(&format!("/envs/{env}/"));
    d.keys("/database\u{E004}\u{E007}");
    let db_cell = format!("{} [data-value]", ui.row("DATABASE_URL"));
    d.wait_for("the value revealed from the keyboard", |d| {
        d.text_of(&db_cell).as_deref() == Some(DB_URL)
    });

    // Edit, then roll back to the first version.
    d.click(&d.find(&format!("{} a[href^='/vars/']", ui.row("DATABASE_URL"))));
    ui.wait_path("/vars/");
    ui.submit(
        "form.stack:not([action$='/rename/'])",
        &[("value", "postgresql://changed")],
    );
    d.wait_for("the save notice", |_| ui.flash().contains("version 2"));
    d.click(&d.find("#history form[action$='/rollback/'] button"));
    d.accept_alert();
    d.wait_for("the rollback notice", |_| {
        ui.flash().contains("now version 3")
    });
    d.click(&d.find("button[data-reveal]"));
    d.wait_for("the rolled-back value", |d| {
        d.text_of("p [data-value]").as_deref() == Some(DB_URL)
    });
    ui.shot("history");

    // Export: a real download of the .env file.
    ui.go(&format!("/envs/{env}/"));
    d.click(&d.find("a[href$='format=env']"));
    let exported = wait_download(d.downloads.path(), "env");
    assert!(
        exported.contains(&format!("DATABASE_URL={DB_URL}")),
        "{exported}"
    );

    // Import: upload a file through the form.
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("import.env");
    std::fs::write(&file, "IMPORTED_KEY=from-file\nDEBUG=true\nnot a line\n").expect("file");
    d.type_into(&d.find("input[type=file]"), &file.display().to_string());
    d.click(&d.find("form[enctype='multipart/form-data'] button[type=submit]"));
    d.wait_for("the import notice", |_| ui.flash().contains("2 added"));
    assert!(ui.flash().contains("1 failed"), "{}", ui.flash());
    assert!(!d.find_all(&ui.row("IMPORTED_KEY")).is_empty());

    // Bulk edit: several keys at once.
    ui.submit(
        "form[action$='/bulk/']",
        &[("data", "DEBUG=false\nNEW_ONE=1\n")],
    );
    d.wait_for("the bulk notice", |_| {
        ui.flash().starts_with("1 added, 1 updated")
    });

    // A request without the CSRF token is refused, and changes nothing; with it, it works.
    let evil = json!({"method": "POST", "form": {"key": "EVIL", "value": "1"}});
    assert_eq!(
        ui.fetch_status(&format!("/envs/{env}/variables/"), evil),
        403
    );
    ui.go(&format!("/envs/{env}/"));
    assert!(d.find_all(&ui.row("EVIL")).is_empty());
    let csp = d.exec_async(
        "const done = arguments[0]; fetch(location.href).then(r => done(r.headers.get('content-security-policy')));",
        json!([]),
    );
    assert!(
        csp.as_str()
            .is_some_and(|c| c.contains("script-src 'self'") && !c.contains("unsafe-inline")),
        "{csp}"
    );

    // A service token: shown once, with a copy button.
    ui.go(&format!("/envs/{env}/tokens/"));
    ui.submit("form[action$='/tokens/new/']", &[("name", "ci")]);
    d.find("#new-token");
    let token = d.text_of("#new-token").unwrap_or_default();
    assert!(token.starts_with("kns_"), "{token}");
    assert!(!d.find_all("button[data-copy-from=new-token]").is_empty());
    ui.shot("tokens");
    ui.go(&format!("/envs/{env}/tokens/"));
    assert!(!d.source().contains(&token), "shown only once");

    // Compare two environments.
    ui.go(&format!("/envs/{env}/"));
    d.click(&d.find("nav.crumbs a[href^='/projects/']"));
    ui.submit("form[action$='/environments/']", &[("name", "staging")]);
    ui.wait_path("/envs/");
    d.click(&d.find("nav.crumbs a[href^='/projects/']"));
    d.click(&d.find("form[action$='/compare/'] button"));
    d.wait_for("the comparison", |_| ui.path().contains("/compare/"));
    assert!(d.source().contains("Only in production"));
    ui.shot("compare");

    // The audit log with a filter, and the sessions.
    ui.go("/audit/");
    ui.shot("audit");
    ui.submit("form.filters", &[("action", "variable_updated")]);
    d.wait_for("filtered entries", |d| {
        let actions = d.texts_of("#audit tbody td code");
        !actions.is_empty() && actions.iter().all(|a| a == "variable_updated")
    });
    ui.go("/sessions/");
    assert!(d.source().contains("this browser"));
    ui.shot("sessions");

    // Invite Bob as a viewer.
    ui.go("/orgs/2/members/");
    ui.submit("form[action$='/members/']", &[("email", "bob@example.com")]);
    d.wait_for("the invitation notice", |_| {
        ui.flash().contains("Invitation sent")
    });
    ui.shot("members");

    // Readable at 375 px: nothing wider than the window.
    d.set_size(375, 812);
    ui.go(&format!("/envs/{env}/"));
    let overflow = d.exec(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        json!([]),
    );
    assert!(
        overflow.as_i64().is_some_and(|o| o <= 0),
        "page overflows by {overflow}"
    );
    ui.shot("environment-narrow");
    d.set_size(1280, 900);

    // Bob registers, accepts, and as a viewer sees keys but no values.
    ui.sign_out();
    ui.register("bob");
    d.click(&d.find("form[action$='/accept/'] button"));
    d.wait_for("joining", |_| ui.flash().contains("You joined Acme"));
    ui.go(&format!("/envs/{env}/"));
    assert!(
        !d.find_all(&ui.row("DATABASE_URL")).is_empty(),
        "keys are listed"
    );
    assert!(d
        .find_all("button[data-reveal], button[data-copy]")
        .is_empty());
    assert!(d.source().contains("you see the keys, not the values"));
    let var: u64 = d
        .exec(
            "return document.querySelector('#vars tr[data-key=database_url] a[href^=\"/vars/\"]').getAttribute('href').split('/')[2]",
            json!([]),
        )
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("variable id");
    let status = ui.fetch_status(
        &format!("/vars/{var}/reveal/"),
        json!({"method": "POST", "csrf": true}),
    );
    assert_eq!(status, 403, "the server refuses a viewer's reveal");
}
