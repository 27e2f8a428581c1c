//! The `keynest` command-line client: a thin client of the HTTP API, never touching the store.
//! Output is a table for people and JSON with `--json`; errors are one line on stderr and an exit
//! code: 1 refused by the server (bad input, conflict), 2 usage, 3 authentication or permission,
//! 4 not found, 5 server or network.

mod client;
mod config;
mod run;

use clap::{Args, Subcommand};
use client::Client;
use keynest_actors::crypto::{write_private, IfExists};
use keynest_actors::formats::Format;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
    pub fn refused(m: impl Into<String>) -> Self {
        Self::new(1, m)
    }
    pub fn usage(m: impl Into<String>) -> Self {
        Self::new(2, m)
    }
    pub fn auth(m: impl Into<String>) -> Self {
        Self::new(3, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(4, m)
    }
    pub fn network(m: impl Into<String>) -> Self {
        Self::new(5, m)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and keep the token in the config file.
    Login {
        /// Server URL (default: KEYNEST_URL, the config file, or http://127.0.0.1:8000).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke the token on the server and remove it from the config file.
    Logout,
    /// Show or change the client's settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Organizations you belong to.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Projects.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Environments.
    #[command(subcommand)]
    Envs(EnvsCommand),
    /// Variables of an environment.
    #[command(subcommand)]
    Vars(VarsCommand),
    /// Export or import a whole environment.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Run a command with an environment's variables set (nothing written to disk).
    Run {
        #[arg(long)]
        environment_id: u64,
        /// Keep variables the command already inherits instead of overriding them.
        #[arg(long)]
        no_override: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Store a token (a user token or a service token).
    SetToken { token: String },
    /// Store the server URL.
    SetUrl { url: String },
    /// Show the settings in effect (the token masked).
    Show,
}

#[derive(Debug, Args)]
pub struct Json {
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List your organizations.
    List(Json),
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List projects.
    List {
        #[arg(long)]
        organization: Option<u64>,
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: Json,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// List the environments of a project.
    List {
        #[arg(long)]
        project: u64,
        #[command(flatten)]
        out: Json,
    },
}

#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// List variables (values hidden unless --values).
    List {
        #[arg(long)]
        environment_id: u64,
        /// Show values in the table.
        #[arg(long)]
        values: bool,
        #[command(flatten)]
        out: Json,
    },
    /// Print one value, bare (for `$(keynest vars get ...)`).
    Get {
        key: String,
        #[arg(long)]
        environment_id: u64,
    },
    /// Create or update variables.
    Set {
        /// KEY=VALUE pairs.
        #[arg(required = true)]
        pairs: Vec<String>,
        #[arg(long)]
        environment_id: u64,
    },
    /// Delete a variable.
    Delete {
        key: String,
        #[arg(long)]
        environment_id: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Export an environment (to stdout, or to a file created 0600).
    Export {
        #[arg(long)]
        environment_id: u64,
        #[arg(long, default_value = "env", value_parser = ["env", "json", "yaml"])]
        format: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import a .env, JSON or YAML file (format from the file name).
    Import {
        #[arg(long)]
        environment_id: u64,
        #[arg(long)]
        file: PathBuf,
        /// Leave keys that already exist alone.
        #[arg(long)]
        no_overwrite: bool,
    },
}

/// Run a client command; the exit code on success.
pub fn execute(cmd: Command) -> Result<i32, CliError> {
    match cmd {
        Command::Login {
            url,
            email,
            password_stdin,
        } => login(url, email, password_stdin),
        Command::Logout => logout(),
        Command::Config(c) => configure(c),
        Command::Orgs(OrgsCommand::List(out)) => {
            let items = client()?.list_all("/api/organizations/", "organizations")?;
            print_list(
                &items,
                out.json,
                &["id", "name", "user_role", "project_count", "member_count"],
            )
        }
        Command::Projects(ProjectsCommand::List {
            organization,
            search,
            out,
        }) => {
            let mut query = Vec::new();
            if let Some(o) = organization {
                query.push(("organization".to_string(), o.to_string()));
            }
            if let Some(s) = search {
                query.push(("search".to_string(), s));
            }
            let q = serde_urlencoded::to_string(&query).unwrap_or_default();
            let what = organization.map_or("projects".to_string(), |o| format!("organization {o}"));
            let items = client()?.list_all(&format!("/api/projects/?{q}"), &what)?;
            print_list(
                &items,
                out.json,
                &["id", "name", "organization_name", "environment_count"],
            )
        }
        Command::Envs(EnvsCommand::List { project, out }) => {
            let items = client()?.list_all(
                &format!("/api/projects/{project}/environments/"),
                &format!("project {project}"),
            )?;
            print_list(
                &items,
                out.json,
                &["id", "name", "environment_type", "variable_count"],
            )
        }
        Command::Vars(v) => vars(v),
        Command::Env(e) => env(e),
        Command::Run {
            environment_id,
            no_override,
            command,
        } => {
            let vars = fetch_values(&client()?, environment_id)?;
            run::run(vars, !no_override, &command)
        }
    }
}

fn client() -> Result<Client, CliError> {
    let r = config::resolve()?;
    Ok(Client::new(&r.url, r.token))
}

fn prompt(label: &str) -> Result<String, CliError> {
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read {label}: {e}")))?;
    Ok(line.trim().to_string())
}

fn login(
    url: Option<String>,
    email: Option<String>,
    password_stdin: bool,
) -> Result<i32, CliError> {
    let resolved = config::resolve()?;
    let url = url.unwrap_or(resolved.url);
    let email = match email {
        Some(e) => e,
        None => prompt("Email: ")?,
    };
    let password = zeroize::Zeroizing::new(if password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password("Password: ").map_err(|e| {
            CliError::usage(format!(
                "cannot read the password (try --password-stdin): {e}"
            ))
        })?
    });
    let c = Client::new(&url, None);
    let body = json!({"email": email, "password": password.as_str()});
    let answer = c
        .json("POST", "/api/auth/login/", Some(&body), "login")
        .map_err(|e| match e.code {
            3 => CliError::auth("invalid email or password"),
            _ => e,
        })?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| CliError::network("the server sent no token"))?;
    let mut file = config::load()?;
    file.url = Some(c.base().to_string());
    file.token = Some(token.to_string());
    let path = config::save(&file)?;
    eprintln!(
        "Logged in to {} as {} (token saved in {})",
        c.base(),
        answer["user"]["email"].as_str().unwrap_or(&email),
        path.display()
    );
    Ok(0)
}

fn logout() -> Result<i32, CliError> {
    let c = client()?;
    c.require_token()?;
    c.call("POST", "/api/auth/logout/", Some(&json!({})), "session")?;
    let mut file = config::load()?;
    file.token = None;
    config::save(&file)?;
    eprintln!("Logged out.");
    Ok(0)
}

fn configure(cmd: ConfigCommand) -> Result<i32, CliError> {
    let mut file = config::load()?;
    match cmd {
        ConfigCommand::SetToken { token } => {
            file.token = Some(token.trim().to_string());
            config::save(&file)?;
        }
        ConfigCommand::SetUrl { url } => {
            file.url = Some(url.trim_end_matches('/').to_string());
            config::save(&file)?;
        }
        ConfigCommand::Show => {
            let r = config::resolve()?;
            println!("config file: {}", config::path()?.display());
            println!("url:   {}", r.url);
            println!(
                "token: {}",
                r.token
                    .as_deref()
                    .map_or("(none)".to_string(), config::mask)
            );
        }
    }
    Ok(0)
}

/// The environment's variables as key -> value (every page).
fn fetch_vars(c: &Client, env: u64) -> Result<Vec<Value>, CliError> {
    c.require_token()?;
    c.list_all(
        &format!("/api/environments/{env}/variables/"),
        &format!("environment {env}"),
    )
}

fn fetch_values(c: &Client, env: u64) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for v in fetch_vars(c, env)? {
        let (Some(k), Some(val)) = (v["key"].as_str(), v["decrypted_value"].as_str()) else {
            return Err(CliError::auth(format!(
                "your role in environment {env} cannot read values"
            )));
        };
        out.insert(k.to_string(), val.to_string());
    }
    Ok(out)
}

fn vars(cmd: VarsCommand) -> Result<i32, CliError> {
    let c = client()?;
    match cmd {
        VarsCommand::List {
            environment_id,
            values,
            out,
        } => {
            let items = fetch_vars(&c, environment_id)?;
            let mut cols = vec!["id", "key", "version", "updated_at"];
            if values {
                cols.push("decrypted_value");
            }
            print_list(&items, out.json, &cols)
        }
        VarsCommand::Get {
            key,
            environment_id,
        } => {
            let values = fetch_values(&c, environment_id)?;
            let value = values.get(&key).ok_or_else(|| {
                CliError::not_found(format!(
                    "variable {key} not found in environment {environment_id}"
                ))
            })?;
            let mut out = std::io::stdout();
            let _ = out.write_all(value.as_bytes());
            if out.is_terminal() {
                let _ = out.write_all(b"\n");
            }
            Ok(0)
        }
        VarsCommand::Set {
            pairs,
            environment_id,
        } => {
            let existing: BTreeMap<String, u64> = fetch_vars(&c, environment_id)?
                .iter()
                .filter_map(|v| Some((v["key"].as_str()?.to_string(), v["id"].as_u64()?)))
                .collect();
            for pair in pairs {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| CliError::usage(format!("{pair:?} is not KEY=VALUE")))?;
                match existing.get(key) {
                    Some(id) => {
                        c.call(
                            "PATCH",
                            &format!("/api/variables/{id}/"),
                            Some(&json!({"value": value})),
                            &format!("variable {key}"),
                        )?;
                        eprintln!("updated {key}");
                    }
                    None => {
                        let body =
                            json!({"key": key, "value": value, "environment": environment_id});
                        c.call(
                            "POST",
                            "/api/variables/",
                            Some(&body),
                            &format!("environment {environment_id}"),
                        )?;
                        eprintln!("created {key}");
                    }
                }
            }
            Ok(0)
        }
        VarsCommand::Delete {
            key,
            environment_id,
        } => {
            let id = fetch_vars(&c, environment_id)?
                .iter()
                .find(|v| v["key"] == key.as_str())
                .and_then(|v| v["id"].as_u64())
                .ok_or_else(|| {
                    CliError::not_found(format!(
                        "variable {key} not found in environment {environment_id}"
                    ))
                })?;
            c.call(
                "DELETE",
                &format!("/api/variables/{id}/"),
                None,
                &format!("variable {key}"),
            )?;
            eprintln!("deleted {key}");
            Ok(0)
        }
    }
}

/// A spinner on a terminal while a long request runs; nothing when stderr is piped.
fn with_progress<T>(label: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(label.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let out = f();
    bar.finish_and_clear();
    out
}

fn env(cmd: EnvCommand) -> Result<i32, CliError> {
    let c = client()?;
    c.require_token()?;
    match cmd {
        EnvCommand::Export {
            environment_id,
            format,
            output,
        } => {
            let path = format!("/api/environments/{environment_id}/export/?format={format}");
            let text = zeroize::Zeroizing::new(with_progress("exporting", || {
                c.call("GET", &path, None, &format!("environment {environment_id}"))
            })?);
            match output {
                Some(file) => {
                    write_private(&file, text.as_bytes(), IfExists::Replace).map_err(|e| {
                        CliError::usage(format!("cannot write {}: {e}", file.display()))
                    })?;
                    eprintln!("wrote {}", file.display());
                }
                None => {
                    let _ = std::io::stdout().write_all(text.as_bytes());
                }
            }
            Ok(0)
        }
        EnvCommand::Import {
            environment_id,
            file,
            no_overwrite,
        } => {
            let data =
                zeroize::Zeroizing::new(std::fs::read_to_string(&file).map_err(|e| {
                    CliError::usage(format!("cannot read {}: {e}", file.display()))
                })?);
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let format = Format::from_file_name(&name).extension();
            let body = json!({"data": data.as_str(), "format": format, "overwrite": !no_overwrite});
            let path = format!("/api/environments/{environment_id}/import/");
            let answer = with_progress("importing", || {
                c.json(
                    "POST",
                    &path,
                    Some(&body),
                    &format!("environment {environment_id}"),
                )
            })?;
            let s = &answer["summary"];
            println!(
                "imported {}, updated {}, skipped {}, failed {} (total {})",
                s["imported"], s["updated"], s["skipped"], s["failed"], s["total_variables"]
            );
            for f in answer["failed_imports"].as_array().into_iter().flatten() {
                let at = f["line"]
                    .as_u64()
                    .map(|l| format!("line {l}"))
                    .or(f["key"].as_str().map(|k| format!("key {k}")));
                eprintln!(
                    "  {}: {}",
                    at.unwrap_or_default(),
                    f["reason"].as_str().unwrap_or_default()
                );
            }
            Ok(0)
        }
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace('\n', "\\n"),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A table with the given columns, or the items as JSON.
fn print_list(items: &[Value], json: bool, cols: &[&str]) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        );
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| cols.iter().map(|c| cell(&i[*c])).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(n, c)| {
            rows.iter()
                .map(|r| r[n].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(cols.iter().map(|c| c.to_uppercase()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
    Ok(0)
}
