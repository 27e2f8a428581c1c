//! `keynest setup`: write `.keynest.toml` in the working directory, naming the server,
//! organization, project and environment by name, after checking with the server that they exist
//! and the user can reach them. On a terminal it asks for what the flags leave out, offering the
//! user's own organizations, projects and environments; off one, the flags must say it all.

use super::resolve::{self, WantedProject};
use super::same_url;
use crate::cli::args::SetupArgs;
use crate::cli::client::Client;
use crate::cli::output::escape;
use crate::cli::project_file::{self, ProjectFile};
use crate::cli::{config, CliError};
use serde_json::Value;
use std::io::{IsTerminal, Write};

pub fn setup(args: SetupArgs) -> Result<i32, CliError> {
    let r = config::resolve()?;
    if let Some(url) = args.url.as_deref().filter(|u| !same_url(u, &r.url)) {
        return Err(CliError::usage(format!(
            "you are logged in to {}: run keynest login --url {url} first",
            r.url
        )));
    }
    let c = Client::new(&r.url, r.token);
    c.require_token()?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let t = &args.target;
    let (project, env) = match (&t.env, t.environment_id) {
        // An environment id says it all: its project follows from it.
        (Some(e), _) if e.bytes().all(|b| b.is_ascii_digit()) => by_env_id(&c, e)?,
        (None, Some(id)) => by_env_id(&c, &id.to_string())?,
        _ => {
            let project = match resolve::wanted_project(&project_target(&args), None) {
                Ok(w) => resolve::project(&c, &w)?,
                Err(e) if !interactive => return Err(e),
                Err(_) => choose_project(&c, t.org.as_deref())?,
            };
            let pid = project["id"].as_u64().unwrap_or(0);
            let env =
                match &t.env {
                    Some(e) => resolve::environment_in(&c, pid, e)?,
                    None if interactive => choose(
                        "environment",
                        c.list_all(
                            &format!("/api/projects/{pid}/environments/"),
                            &format!("project {pid}"),
                        )?,
                    )?,
                    None => return Err(CliError::usage(
                        "which environment? pass --env NAME (not on a terminal, nothing is asked)",
                    )),
                };
            (project, env)
        }
    };
    // A name made only of digits would read back as an id: write the id instead.
    let name = |v: &Value, id: &Value| {
        let n = v.as_str().unwrap_or_default();
        if n.bytes().all(|b| b.is_ascii_digit()) {
            id.to_string()
        } else {
            n.to_string()
        }
    };
    let file = ProjectFile {
        url: Some(c.base().to_string()),
        organization: Some(name(
            &project["organization_name"],
            &project["organization"],
        )),
        project: Some(name(&project["name"], &project["id"])),
        environment: Some(name(&env["name"], &env["id"])),
    };
    let dir = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the working directory: {e}")))?;
    let path = project_file::write(&dir, &file)?;
    eprintln!(
        "wrote {}: {} / {} / {} on {}",
        path.display(),
        escape(file.organization.as_deref().unwrap_or_default()),
        escape(file.project.as_deref().unwrap_or_default()),
        escape(file.environment.as_deref().unwrap_or_default()),
        c.base()
    );
    Ok(0)
}

fn project_target(args: &SetupArgs) -> crate::cli::args::ProjectTarget {
    crate::cli::args::ProjectTarget {
        org: args.target.org.clone(),
        project: args.target.project.clone(),
        project_id: args.target.project_id,
    }
}

fn by_env_id(c: &Client, id: &str) -> Result<(Value, Value), CliError> {
    let env = resolve::environment_in(c, 0, id)?;
    let pid = env["project"].as_u64().unwrap_or(0).to_string();
    let project = resolve::project(
        c,
        &WantedProject {
            org: None,
            project: pid,
        },
    )?;
    Ok((project, env))
}

fn choose_project(c: &Client, org: Option<&str>) -> Result<Value, CliError> {
    let org = match org {
        Some(o) => resolve::org(c, o)?,
        None => {
            let orgs = c.list_all("/api/organizations/", "organizations")?;
            if orgs.len() == 1 {
                orgs[0]["id"].as_u64().unwrap_or(0)
            } else {
                choose("organization", orgs)?["id"].as_u64().unwrap_or(0)
            }
        }
    };
    choose(
        "project",
        c.list_all(
            &format!("/api/projects/?organization={org}"),
            &format!("organization {org}"),
        )?,
    )
}

/// One of `items`, picked on the terminal by number or name.
fn choose(what: &str, items: Vec<Value>) -> Result<Value, CliError> {
    if items.is_empty() {
        return Err(CliError::not_found(format!(
            "no {what} to choose from: create one first (keynest {what}s create NAME)"
        )));
    }
    for (n, item) in items.iter().enumerate() {
        eprintln!(
            "  {}) {}",
            n + 1,
            escape(item["name"].as_str().unwrap_or("?"))
        );
    }
    loop {
        eprint!("{what} (number or name): ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        let read = std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| CliError::usage(format!("cannot read the answer: {e}")))?;
        if read == 0 {
            return Err(CliError::usage(format!("no {what} chosen")));
        }
        let answer = line.trim();
        let by_number = answer
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| items.get(n));
        let by_name = items.iter().find(|i| {
            i["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(answer))
        });
        if let Some(item) = by_number.or(by_name) {
            return Ok(item.clone());
        }
        eprintln!("no {what} {}; try again", escape(answer));
    }
}
