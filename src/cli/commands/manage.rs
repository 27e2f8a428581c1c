//! `keynest orgs|projects|envs create|rename|delete`: the writes on organizations, projects and
//! environments, each naming its subject by name or id (see `resolve.rs`). Deleting takes
//! everything below with it, so it asks on a terminal and, off one, refuses without `--yes`
//! rather than read a "y" from a pipe that was meant for something else.

use super::resolve::{self, WantedProject};
use super::{lists, Ctx};
use crate::cli::args::{EnvType, EnvsCommand, OrgsCommand, ProjectTarget, ProjectsCommand};
use crate::cli::output::escape;
use crate::cli::CliError;
use serde_json::{json, Value};
use std::io::{IsTerminal, Write};

fn id_of(v: &Value) -> u64 {
    v["id"].as_u64().unwrap_or(0)
}

fn name_of(v: &Value) -> String {
    escape(v["name"].as_str().unwrap_or("?")).into_owned()
}

/// Ok to delete `what`: `--yes`, or "y" typed on the terminal.
fn confirm(what: &str, yes: bool) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "not deleting {what} without --yes (standard input is not a terminal)"
        )));
    }
    eprint!("Delete {what} and everything in it? This cannot be undone. [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read the answer: {e}")))?;
    match line.trim().to_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(CliError::usage(format!("{what} not deleted"))),
    }
}

pub fn orgs(ctx: &Ctx, cmd: OrgsCommand) -> Result<i32, CliError> {
    let c = &ctx.client;
    c.require_token()?;
    match cmd {
        OrgsCommand::List(out) => return lists::organizations(c, out),
        OrgsCommand::Create { name, description } => {
            let body = json!({"name": name, "description": description.unwrap_or_default()});
            let o = c.json("POST", "/api/organizations/", Some(&body), "organizations")?;
            println!("created organization {} (id {})", name_of(&o), id_of(&o));
        }
        OrgsCommand::Rename { org, new_name } => {
            let id = resolve::org(c, &org)?;
            let o = c.json(
                "PATCH",
                &format!("/api/organizations/{id}/"),
                Some(&json!({"name": new_name})),
                &format!("organization {org}"),
            )?;
            println!("renamed organization {id} to {}", name_of(&o));
        }
        OrgsCommand::Delete { org, confirm: y } => {
            let id = resolve::org(c, &org)?;
            confirm(&format!("organization {org} (id {id})"), y.yes)?;
            c.call(
                "DELETE",
                &format!("/api/organizations/{id}/"),
                None,
                &format!("organization {org}"),
            )?;
            println!("deleted organization {org} (id {id})");
        }
    }
    Ok(0)
}

/// The organization for a new project: `--org`, else `.keynest.toml`'s, else your only one.
fn org_for_new_project(ctx: &Ctx, org: Option<String>) -> Result<u64, CliError> {
    let c = &ctx.client;
    if let Some(o) = org.or_else(|| ctx.file().and_then(|f| f.organization.clone())) {
        return resolve::org(c, &o);
    }
    let orgs = c.list_all("/api/organizations/", "organizations")?;
    match orgs.as_slice() {
        [only] => Ok(id_of(only)),
        _ => Err(CliError::usage(format!(
            "which organization? you are in {}: pass --org NAME",
            orgs.len()
        ))),
    }
}

pub fn projects(ctx: &Ctx, cmd: ProjectsCommand) -> Result<i32, CliError> {
    let c = &ctx.client;
    c.require_token()?;
    let named = |project: String, org: Option<String>| WantedProject { org, project };
    match cmd {
        ProjectsCommand::List { org, search, out } => {
            return lists::projects(c, org, search, out);
        }
        ProjectsCommand::Create {
            name,
            org,
            description,
        } => {
            let org = org_for_new_project(ctx, org)?;
            let body = json!({"name": name, "organization": org,
                              "description": description.unwrap_or_default()});
            let p = c.json(
                "POST",
                "/api/projects/",
                Some(&body),
                &format!("organization {org}"),
            )?;
            println!(
                "created project {} (id {}) in organization {org}",
                name_of(&p),
                id_of(&p)
            );
        }
        ProjectsCommand::Rename {
            project,
            new_name,
            org,
        } => {
            let id = resolve::project_id(c, &named(project.clone(), org))?;
            let p = c.json(
                "PATCH",
                &format!("/api/projects/{id}/"),
                Some(&json!({"name": new_name})),
                &format!("project {project}"),
            )?;
            println!("renamed project {id} to {}", name_of(&p));
        }
        ProjectsCommand::Delete {
            project,
            org,
            confirm: y,
        } => {
            let id = resolve::project_id(c, &named(project.clone(), org))?;
            confirm(&format!("project {project} (id {id})"), y.yes)?;
            c.call(
                "DELETE",
                &format!("/api/projects/{id}/"),
                None,
                &format!("project {project}"),
            )?;
            println!("deleted project {project} (id {id})");
        }
    }
    Ok(0)
}

fn env_type(t: EnvType) -> &'static str {
    match t {
        EnvType::Development => "development",
        EnvType::Staging => "staging",
        EnvType::Production => "production",
        EnvType::Testing => "testing",
    }
}

/// An environment named by id needs no project; by name, it is looked up in the project.
fn env_id(ctx: &Ctx, env: &str, project: &ProjectTarget) -> Result<u64, CliError> {
    let (org, project) = match resolve::wanted_project(project, ctx.file()) {
        Ok(p) => (p.org, Some(p.project)),
        Err(_) => (None, None),
    };
    let env = env.to_string();
    resolve::environment(&ctx.client, &resolve::Wanted { org, project, env })
}

pub fn envs(ctx: &Ctx, cmd: EnvsCommand) -> Result<i32, CliError> {
    let c = &ctx.client;
    c.require_token()?;
    match cmd {
        EnvsCommand::List { project, out } => {
            let p = resolve::project_id(c, &resolve::wanted_project(&project, ctx.file())?)?;
            return lists::environments(c, p, out);
        }
        EnvsCommand::Create {
            name,
            project,
            env_type: t,
            description,
        } => {
            let p = resolve::project_id(c, &resolve::wanted_project(&project, ctx.file())?)?;
            let body = json!({"name": name, "project": p, "environment_type": env_type(t),
                              "description": description.unwrap_or_default()});
            let e = c.json(
                "POST",
                "/api/environments/",
                Some(&body),
                &format!("project {p}"),
            )?;
            println!(
                "created environment {} (id {}) in project {p}",
                name_of(&e),
                id_of(&e)
            );
        }
        EnvsCommand::Rename {
            env,
            new_name,
            project,
        } => {
            let id = env_id(ctx, &env, &project)?;
            let e = c.json(
                "PATCH",
                &format!("/api/environments/{id}/"),
                Some(&json!({"name": new_name})),
                &format!("environment {env}"),
            )?;
            println!("renamed environment {id} to {}", name_of(&e));
        }
        EnvsCommand::Delete {
            env,
            project,
            confirm: y,
        } => {
            let id = env_id(ctx, &env, &project)?;
            confirm(&format!("environment {env} (id {id})"), y.yes)?;
            c.call(
                "DELETE",
                &format!("/api/environments/{id}/"),
                None,
                &format!("environment {env}"),
            )?;
            println!("deleted environment {env} (id {id})");
        }
    }
    Ok(0)
}
