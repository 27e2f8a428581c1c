//! `keynest orgs list`, `projects list` and `envs list`: every page of a listing, printed as a
//! table of the columns worth a glance, or in full with `--json`.

use super::resolve;
use crate::cli::args::Json;
use crate::cli::client::Client;
use crate::cli::output::print_list;
use crate::cli::CliError;

pub fn organizations(c: &Client, out: Json) -> Result<i32, CliError> {
    let items = c.list_all("/api/organizations/", "organizations")?;
    print_list(
        &items,
        out.json,
        &["id", "name", "user_role", "project_count", "member_count"],
    )
}

pub fn projects(
    c: &Client,
    org: Option<String>,
    search: Option<String>,
    out: Json,
) -> Result<i32, CliError> {
    let mut query = Vec::new();
    let mut what = "projects".to_string();
    if let Some(o) = org {
        let id = resolve::org(c, &o)?;
        query.push(("organization".to_string(), id.to_string()));
        what = format!("organization {o}");
    }
    if let Some(s) = search {
        query.push(("search".to_string(), s));
    }
    let q = serde_urlencoded::to_string(&query).unwrap_or_default();
    let items = c.list_all(&format!("/api/projects/?{q}"), &what)?;
    print_list(
        &items,
        out.json,
        &["id", "name", "organization_name", "environment_count"],
    )
}

pub fn environments(c: &Client, project: u64, out: Json) -> Result<i32, CliError> {
    let items = c.list_all(
        &format!("/api/projects/{project}/environments/"),
        &format!("project {project}"),
    )?;
    print_list(
        &items,
        out.json,
        &["id", "name", "environment_type", "variable_count"],
    )
}
