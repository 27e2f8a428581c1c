//! Names to ids: an organization, project or environment given by name (`--project web --env
//! production`) is looked up in the list endpoints the API already has, case-insensitively, an
//! exact match winning over one that differs only in case. A value made only of digits is an id
//! and is used as it is. Two candidates with the same name are never guessed between: the error
//! lists them (with their organizations, for projects) so the user can add `--org`.
//!
//! `Wanted` is what the command line and `.keynest.toml` together ask for, before any request:
//! `keynest run --fallback` compares it with the one saved in its copy when the server is down.

use crate::cli::args::{ProjectTarget, Target};
use crate::cli::client::Client;
use crate::cli::project_file::ProjectFile;
use crate::cli::CliError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An environment as asked for; each field a name or an id in digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wanted {
    pub org: Option<String>,
    pub project: Option<String>,
    pub env: String,
}

/// A project as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedProject {
    pub org: Option<String>,
    pub project: String,
}

fn as_id(spec: &str) -> Option<u64> {
    if spec.is_empty() || !spec.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    spec.parse().ok()
}

/// A flag wins over the file; the file's organization only qualifies the file's own project.
fn project_of(
    org: &Option<String>,
    project: &Option<String>,
    project_id: Option<u64>,
    file: Option<&ProjectFile>,
) -> (Option<String>, Option<String>) {
    match (project, project_id) {
        (Some(p), _) => (org.clone(), Some(p.clone())),
        (None, Some(id)) => (org.clone(), Some(id.to_string())),
        (None, None) => (
            org.clone()
                .or_else(|| file.and_then(|f| f.organization.clone())),
            file.and_then(|f| f.project.clone()),
        ),
    }
}

const HOW: &str = "pass --project NAME --env NAME (or --environment-id ID), or run keynest setup in this directory";

pub fn wanted(t: &Target, file: Option<&ProjectFile>) -> Result<Wanted, CliError> {
    let env = match (&t.env, t.environment_id) {
        (Some(e), _) => e.clone(),
        (None, Some(id)) => id.to_string(),
        (None, None) => file
            .and_then(|f| f.environment.clone())
            .ok_or_else(|| CliError::usage(format!("which environment? {HOW}")))?,
    };
    let (org, project) = project_of(&t.org, &t.project, t.project_id, file);
    Ok(Wanted { org, project, env })
}

pub fn wanted_project(
    t: &ProjectTarget,
    file: Option<&ProjectFile>,
) -> Result<WantedProject, CliError> {
    let (org, project) = project_of(&t.org, &t.project, t.project_id, file);
    let project = project.ok_or_else(|| {
        CliError::usage("which project? pass --project NAME or ID, or run keynest setup here")
    })?;
    Ok(WantedProject { org, project })
}

enum Pick<'a> {
    One(&'a Value),
    None,
    Many(Vec<&'a Value>),
}

/// The item named `name`: the one spelled exactly so, else the one equal ignoring case.
fn pick<'a>(items: &'a [Value], name: &str) -> Pick<'a> {
    let named = |exact: bool| -> Vec<&'a Value> {
        items
            .iter()
            .filter(|i| {
                i["name"].as_str().is_some_and(|n| {
                    if exact {
                        n == name
                    } else {
                        n.to_lowercase() == name.to_lowercase()
                    }
                })
            })
            .collect()
    };
    let exact = named(true);
    if exact.len() == 1 {
        return Pick::One(exact[0]);
    }
    if exact.len() > 1 {
        return Pick::Many(exact);
    }
    let folded = named(false);
    match folded.len() {
        0 => Pick::None,
        1 => Pick::One(folded[0]),
        _ => Pick::Many(folded),
    }
}

fn id_of(item: &Value) -> Result<u64, CliError> {
    item["id"]
        .as_u64()
        .ok_or_else(|| CliError::server("the server sent an item without an id"))
}

fn label(item: &Value) -> String {
    format!(
        "{} (id {})",
        item["name"].as_str().unwrap_or("?"),
        item["id"].as_u64().unwrap_or(0)
    )
}

/// An organization by name or id: its id.
pub fn org(c: &Client, spec: &str) -> Result<u64, CliError> {
    if let Some(id) = as_id(spec) {
        return Ok(id);
    }
    c.require_token()?;
    let items = c.list_all("/api/organizations/", "organizations")?;
    match pick(&items, spec) {
        Pick::One(o) => id_of(o),
        Pick::None => Err(CliError::not_found(format!(
            "organization {spec} not found"
        ))),
        Pick::Many(found) => Err(CliError::usage(format!(
            "{} organizations are named {spec}: {}; give the id",
            found.len(),
            found
                .iter()
                .map(|o| label(o))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// A project by name (in `org`, when given) or id: the project as the API shows it.
pub fn project(c: &Client, w: &WantedProject) -> Result<Value, CliError> {
    c.require_token()?;
    if let Some(id) = as_id(&w.project) {
        return c.json(
            "GET",
            &format!("/api/projects/{id}/"),
            None,
            &format!("project {id}"),
        );
    }
    let mut query = vec![("search".to_string(), w.project.clone())];
    if let Some(o) = &w.org {
        query.push(("organization".to_string(), org(c, o)?.to_string()));
    }
    let q = serde_urlencoded::to_string(&query).unwrap_or_default();
    let items = c.list_all(&format!("/api/projects/?{q}"), "projects")?;
    let name = &w.project;
    match pick(&items, name) {
        Pick::One(p) => Ok(p.clone()),
        Pick::None => Err(CliError::not_found(match &w.org {
            Some(o) => format!("project {name} not found in organization {o}"),
            None => format!("project {name} not found"),
        })),
        Pick::Many(found) => {
            let orgs: Vec<String> = found
                .iter()
                .map(|p| {
                    format!(
                        "{} (organization {}, project id {})",
                        p["organization_name"].as_str().unwrap_or("?"),
                        p["organization"].as_u64().unwrap_or(0),
                        p["id"].as_u64().unwrap_or(0)
                    )
                })
                .collect();
            Err(CliError::usage(format!(
                "project {name} is in {} places: {}; name one with --org",
                found.len(),
                orgs.join(", ")
            )))
        }
    }
}

/// An environment of `project_id` by name or id: the environment as the API lists it.
pub fn environment_in(c: &Client, project_id: u64, spec: &str) -> Result<Value, CliError> {
    c.require_token()?;
    if let Some(id) = as_id(spec) {
        return c.json(
            "GET",
            &format!("/api/environments/{id}/"),
            None,
            &format!("environment {id}"),
        );
    }
    let items = c.list_all(
        &format!("/api/projects/{project_id}/environments/"),
        &format!("project {project_id}"),
    )?;
    match pick(&items, spec) {
        Pick::One(e) => Ok(e.clone()),
        Pick::None => Err(CliError::not_found(format!(
            "environment {spec} not found in project {project_id}"
        ))),
        Pick::Many(found) => Err(CliError::usage(format!(
            "{} environments are named {spec}: {}; give the id",
            found.len(),
            found
                .iter()
                .map(|e| label(e))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// The environment's id. An id needs no request; a name needs its project.
pub fn environment(c: &Client, w: &Wanted) -> Result<u64, CliError> {
    if let Some(id) = as_id(&w.env) {
        return Ok(id);
    }
    let project = w
        .project
        .clone()
        .ok_or_else(|| CliError::usage(format!("environment {} in which project? {HOW}", w.env)))?;
    let p = self::project(
        c,
        &WantedProject {
            org: w.org.clone(),
            project,
        },
    )?;
    id_of(&environment_in(c, id_of(&p)?, &w.env)?)
}

pub fn project_id(c: &Client, w: &WantedProject) -> Result<u64, CliError> {
    match as_id(&w.project) {
        Some(id) => Ok(id),
        None => id_of(&project(c, w)?),
    }
}

#[cfg(test)]
mod tests {
    use super::{as_id, pick, Pick};
    use serde_json::json;

    #[test]
    fn exact_spelling_wins_then_case_insensitive_and_two_matches_are_never_guessed() {
        let items = vec![
            json!({"id": 1, "name": "Web"}),
            json!({"id": 2, "name": "web"}),
            json!({"id": 3, "name": "API"}),
            json!({"id": 4, "name": "Ops"}),
            json!({"id": 5, "name": "OPS"}),
        ];
        let got = |name: &str| match pick(&items, name) {
            Pick::One(v) => format!("one {}", v["id"]),
            Pick::None => "none".into(),
            Pick::Many(v) => format!("many {}", v.len()),
        };
        // (asked, found, why)
        let cases = [
            ("web", "one 2", "exact spelling wins over a case variant"),
            ("Web", "one 1", "exact spelling wins over a case variant"),
            ("api", "one 3", "case-insensitive when only one"),
            ("ops", "many 2", "two case variants: ambiguous"),
            ("nope", "none", "no match"),
            ("we", "none", "a prefix is not a name"),
        ];
        for (asked, found, why) in cases {
            assert_eq!(got(asked), found, "{asked}: {why}");
        }
    }

    #[test]
    fn only_digits_are_an_id() {
        assert_eq!(as_id("12"), Some(12));
        assert_eq!(as_id("web"), None);
        assert_eq!(as_id("12a"), None);
        assert_eq!(as_id("+12"), None);
        assert_eq!(as_id(""), None);
    }
}
