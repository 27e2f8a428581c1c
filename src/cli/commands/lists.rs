//! `keynest orgs list`, `projects list` and `envs list`: every page of a listing, printed as a
//! table of the columns worth a glance, or in full with `--json`.

use super::client;
use crate::cli::args::Json;
use crate::cli::output::print_list;
use crate::cli::CliError;

pub fn organizations(out: Json) -> Result<i32, CliError> {
    let items = client()?.list_all("/api/organizations/", "organizations")?;
    print_list(
        &items,
        out.json,
        &["id", "name", "user_role", "project_count", "member_count"],
    )
}

pub fn projects(
    organization: Option<u64>,
    search: Option<String>,
    out: Json,
) -> Result<i32, CliError> {
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

pub fn environments(project: u64, out: Json) -> Result<i32, CliError> {
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
