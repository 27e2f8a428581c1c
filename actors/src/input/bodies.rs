//! The bodies of everything an organization owns: organizations, projects, environments,
//! variables, members, service tokens, rollbacks and comparisons.

use super::*;
use crate::error::{DomainError, DomainResult, FieldErrors};
use serde_json::{Map, Value};

/// Name and description, shared by organizations and projects (and, with a type, environments).
#[derive(Debug, Default, Clone)]
pub struct NamePatch {
    pub name: Option<String>,
    pub description: Option<String>,
}

impl NamePatch {
    /// A partial update of an organization's name and description.
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NamePatch> {
        let mut b = Body::new(map);
        let p = NamePatch::read(&mut b, false);
        b.finish(Some(p))
    }

    fn read(b: &mut Body, creating: bool) -> NamePatch {
        NamePatch {
            name: b.name("name", creating, MAX_NAME),
            description: b.text("description", false, MAX_DESCRIPTION),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewOrg {
    pub name: String,
    pub description: String,
}

impl NewOrg {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewOrg> {
        let mut b = Body::new(map);
        let p = NamePatch::read(&mut b, true);
        let org = p.name.map(|name| NewOrg {
            name,
            description: p.description.unwrap_or_default(),
        });
        b.finish(org)
    }
}

#[derive(Debug, Clone)]
pub struct NewProject {
    pub org: OrgId,
    pub name: String,
    pub description: String,
}

impl NewProject {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewProject> {
        let mut b = Body::new(map);
        let p = NamePatch::read(&mut b, true);
        let org = b.id("organization", true);
        let project = (|| {
            Some(NewProject {
                org: OrgId(org?),
                name: p.name?,
                description: p.description.unwrap_or_default(),
            })
        })();
        b.finish(project)
    }
}

/// A partial update of a project; `org` is only there to refuse a move to another organization.
#[derive(Debug, Clone)]
pub struct ProjectPatch {
    pub fields: NamePatch,
    pub org: Option<OrgId>,
}

impl ProjectPatch {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<ProjectPatch> {
        let mut b = Body::new(map);
        let fields = NamePatch::read(&mut b, false);
        let org = b.id("organization", false).map(OrgId);
        b.finish(Some(ProjectPatch { fields, org }))
    }
}

#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub project: ProjectId,
    pub name: String,
    pub environment_type: EnvironmentType,
    pub description: String,
}

impl NewEnvironment {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewEnvironment> {
        let mut b = Body::new(map);
        let p = NamePatch::read(&mut b, true);
        let project = b.id("project", true);
        let t = env_type_field(&mut b, false);
        let env = (|| {
            Some(NewEnvironment {
                project: ProjectId(project?),
                name: p.name?,
                environment_type: t.unwrap_or(EnvironmentType::Development),
                description: p.description.unwrap_or_default(),
            })
        })();
        b.finish(env)
    }
}

#[derive(Debug, Clone)]
pub struct EnvironmentPatch {
    pub fields: NamePatch,
    pub environment_type: Option<EnvironmentType>,
    pub project: Option<ProjectId>,
}

impl EnvironmentPatch {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<EnvironmentPatch> {
        let mut b = Body::new(map);
        let fields = NamePatch::read(&mut b, false);
        let environment_type = env_type_field(&mut b, false);
        let project = b.id("project", false).map(ProjectId);
        b.finish(Some(EnvironmentPatch {
            fields,
            environment_type,
            project,
        }))
    }
}

#[derive(Debug, Clone)]
pub struct NewVariable {
    pub env: EnvId,
    pub key: VariableKey,
    pub value: SecretValue,
}

impl NewVariable {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewVariable> {
        let mut b = Body::new(map);
        let key = key_field(&mut b, true);
        let value = value_field(&mut b, true);
        let env = b.id("environment", true);
        let var = (|| {
            Some(NewVariable {
                env: EnvId(env?),
                key: key?,
                value: value?,
            })
        })();
        b.finish(var)
    }
}

#[derive(Debug, Clone)]
pub struct VariablePatch {
    pub key: Option<VariableKey>,
    pub value: Option<SecretValue>,
    pub env: Option<EnvId>,
}

impl VariablePatch {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<VariablePatch> {
        let mut b = Body::new(map);
        let key = key_field(&mut b, false);
        let value = value_field(&mut b, false);
        let env = b.id("environment", false).map(EnvId);
        b.finish(Some(VariablePatch { key, value, env }))
    }
}

/// `expires_in_days`: days above 0 and at most `max`, fractions allowed (0.5 is twelve hours);
/// absent or null is `default`; `"never"` is `None` where `never` allows it. `Err` once the
/// reason is recorded.
fn days_field(
    b: &mut Body,
    map: &Map<String, Value>,
    default: f64,
    max: u32,
    never: bool,
) -> Result<Option<f64>, ()> {
    match map.get("expires_in_days") {
        None | Some(Value::Null) => Ok(Some(default)),
        Some(Value::String(s)) if never && s == "never" => Ok(None),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|d| d > 0.0 && d <= f64::from(max)) => {
            Ok(n.as_f64())
        }
        Some(_) => {
            let or_never = if never { ", or \"never\"" } else { "" };
            b.errors.add(
                "expires_in_days",
                format!("Must be a number of days above 0 and at most {max}{or_never}."),
            );
            Err(())
        }
    }
}

/// How long an invitation can be accepted when the request does not say.
pub const INVITATION_DAYS: f64 = 7.0;
/// The longest an invitation can be made to wait.
pub const MAX_INVITATION_DAYS: u32 = 30;

/// `{"email", "role"?, "expires_in_days"?}`: invite an email to an organization (role defaults
/// to viewer; the invitation can be accepted for 7 days unless the request says otherwise, at most
/// 30, fractions allowed).
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub role: Role,
    pub expires_in_days: f64,
}

impl NewMember {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewMember> {
        let mut b = Body::new(map);
        let email = b
            .raw_str("email", true)
            .and_then(|e| Email::parse(&e).map_err(|m| b.errors.add("email", m)).ok());
        let role = role_field(&mut b, false);
        let days = days_field(&mut b, map, INVITATION_DAYS, MAX_INVITATION_DAYS, false);
        let member = (|| {
            Some(NewMember {
                email: email?,
                role: role.unwrap_or(Role::Viewer),
                expires_in_days: days.ok()??,
            })
        })();
        b.finish(member)
    }
}

/// `{"role"}`: change a member's role.
#[derive(Debug, Clone)]
pub struct RoleChange {
    pub role: Role,
}

impl RoleChange {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<RoleChange> {
        let mut b = Body::new(map);
        let role = role_field(&mut b, true);
        b.finish(role.map(|role| RoleChange { role }))
    }
}

/// The longest a service token can be made to live.
pub const MAX_EXPIRY_DAYS: u32 = 3650;
/// How long a service token lives when the request does not say: a forgotten CI token should
/// not work forever. `"expires_in_days": "never"` asks for a token without expiry.
pub const DEFAULT_EXPIRY_DAYS: f64 = 90.0;

/// `{"name", "access", "expires_in_days"?}` for a new service token.
#[derive(Debug, Clone)]
pub struct NewServiceToken {
    pub name: String,
    pub access: ServiceAccess,
    pub expires_in_days: Option<f64>,
}

impl NewServiceToken {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewServiceToken> {
        let mut b = Body::new(map);
        let name = b.text("name", true, MAX_NAME);
        let access = match b.raw_str("access", false) {
            None => Some(ServiceAccess::Read),
            Some(a) => ServiceAccess::parse(&a)
                .ok_or(())
                .map_err(|_| {
                    b.errors
                        .add("access", "Must be \"read\" or \"read_write\".")
                })
                .ok(),
        };
        let expires = days_field(&mut b, map, DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS, true);
        let token = (|| {
            Some(NewServiceToken {
                name: name?,
                access: access?,
                expires_in_days: expires.ok()?,
            })
        })();
        b.finish(token)
    }
}

/// `{"version"}`: which earlier value of a variable to restore.
#[derive(Debug, Clone)]
pub struct Rollback {
    pub version: u32,
}

impl Rollback {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<Rollback> {
        match map.get("version").and_then(Value::as_u64) {
            Some(v) if v >= 1 && v <= u64::from(u32::MAX) => Ok(Rollback { version: v as u32 }),
            _ => Err(DomainError::invalid(
                "version",
                "Must be a version number (1 or more).",
            )),
        }
    }
}

/// `?source=&target=`: the two environments of a project to compare.
#[derive(Debug)]
pub struct Comparison {
    pub source: EnvId,
    pub target: EnvId,
}

impl Comparison {
    /// From the query's values (absent or empty is `None`).
    pub fn parse(source: Option<&str>, target: Option<&str>) -> DomainResult<Comparison> {
        let mut errors = FieldErrors::default();
        let mut id = |name: &str, v: Option<&str>| match v.map(str::parse::<u64>) {
            Some(Ok(id)) => Some(EnvId(id)),
            Some(Err(_)) => {
                errors.add(name, "Must be a valid id (a positive integer).");
                None
            }
            None => {
                errors.add(name, "This field is required (an environment id).");
                None
            }
        };
        let (source, target) = (id("source", source), id("target", target));
        match (source, target) {
            (Some(source), Some(target)) if errors.is_empty() => Ok(Comparison { source, target }),
            _ => Err(DomainError::Invalid(errors)),
        }
    }
}
