//! Parse, don't validate: request bodies (JSON objects) become typed inputs here, once, with
//! every bad field reported under its own name. Everything after this trusts the types.

use crate::error::{DomainError, DomainResult, FieldErrors};
use crate::model::*;
use serde_json::{Map, Value};
use std::fmt;
use zeroize::Zeroizing;

pub const MAX_NAME: usize = 100;
pub const MAX_DESCRIPTION: usize = 1000;
pub const MAX_KEY: usize = 255;
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
pub const MIN_PASSWORD: usize = 8;
pub const MAX_PASSWORD: usize = 128;

const REQUIRED: &str = "This field is required.";

/// A JSON object body and the errors found while reading it.
pub struct Body<'a> {
    map: &'a Map<String, Value>,
    pub errors: FieldErrors,
}

impl<'a> Body<'a> {
    pub fn new(map: &'a Map<String, Value>) -> Self {
        Body {
            map,
            errors: FieldErrors::default(),
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.map.contains_key(field)
    }

    /// A string field as sent (no trimming), or `None` (with an error when `required`).
    pub fn raw_str(&mut self, field: &str, required: bool) -> Option<String> {
        match self.map.get(field) {
            None | Some(Value::Null) if !required => None,
            None | Some(Value::Null) => {
                self.errors.add(field, REQUIRED);
                None
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.errors.add(field, "Must be a string.");
                None
            }
        }
    }

    /// A trimmed text field of at most `max` characters; `required` also means not blank.
    pub fn text(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        let s = self.raw_str(field, required)?.trim().to_string();
        if required && s.is_empty() {
            self.errors.add(field, "This field may not be blank.");
            return None;
        }
        if s.chars().count() > max {
            self.errors.add(
                field,
                format!("Ensure this field has no more than {max} characters."),
            );
            return None;
        }
        Some(s)
    }

    /// A positive integer id (a JSON number, or a string of digits as HTML forms send).
    pub fn id(&mut self, field: &str, required: bool) -> Option<u64> {
        let v = match self.map.get(field) {
            None | Some(Value::Null) => {
                if required {
                    self.errors.add(field, REQUIRED);
                }
                return None;
            }
            Some(v) => v,
        };
        let id = match v {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse::<u64>().ok(),
            _ => None,
        };
        match id {
            Some(id) if id > 0 => Some(id),
            _ => {
                self.errors
                    .add(field, "Must be a valid id (a positive integer).");
                None
            }
        }
    }

    /// The parsed value when every field was good, else every field error at once. Each reader
    /// that gives `None` for a required field has recorded why, so `value` is `None` only
    /// beside an error.
    pub fn finish<T>(self, value: Option<T>) -> DomainResult<T> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(DomainError::Invalid(self.errors)),
        }
    }
}

/// An email address: trimmed, one `@`, a dotted domain, no spaces, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, &'static str> {
        let s = s.trim();
        let ok = s.len() <= 254
            && !s.chars().any(char::is_whitespace)
            && matches!(s.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.contains('@') && domain.contains('.')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if ok {
            Ok(Email(s.to_string()))
        } else {
            Err("Enter a valid email address.")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked in: emails are unique case-insensitively.
    pub fn lower(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A variable key: `^[A-Za-z_][A-Za-z0-9_]*$`, at most 255 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VariableKey(String);

impl VariableKey {
    pub fn parse(s: &str) -> Result<VariableKey, String> {
        let mut chars = s.chars();
        let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(
                "Keys start with a letter or underscore and hold only letters, digits and underscores."
                    .into(),
            );
        }
        if s.len() > MAX_KEY {
            return Err(format!(
                "Ensure this field has no more than {MAX_KEY} characters."
            ));
        }
        Ok(VariableKey(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password being set or checked; zeroized on drop, never printed.
pub struct Password(pub Zeroizing<String>);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn value_field(b: &mut Body, required: bool) -> Option<SecretValue> {
    let v = b.raw_str("value", required)?;
    if v.len() > MAX_VALUE_BYTES {
        b.errors.add(
            "value",
            format!("Ensure this value is at most {MAX_VALUE_BYTES} bytes."),
        );
        return None;
    }
    Some(SecretValue::new(v))
}

fn key_field(b: &mut Body, required: bool) -> Option<VariableKey> {
    let k = b.raw_str("key", required)?;
    VariableKey::parse(&k)
        .map_err(|e| b.errors.add("key", e))
        .ok()
}

fn env_type_field(b: &mut Body, required: bool) -> Option<EnvironmentType> {
    let t = b.raw_str("environment_type", required)?;
    EnvironmentType::parse(&t)
        .ok_or(())
        .map_err(|_| {
            b.errors.add(
                "environment_type",
                format!("\"{t}\" is not a valid choice ({}).", EnvironmentType::ALL),
            )
        })
        .ok()
}

#[derive(Debug)]
pub struct NewUser {
    pub username: String,
    pub email: Email,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
}

impl NewUser {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewUser> {
        let mut b = Body::new(map);
        let username = b.text("username", true, 150);
        if let Some(u) = &username {
            if !u
                .chars()
                .all(|c| c.is_alphanumeric() || "@.+-_".contains(c))
            {
                b.errors.add(
                    "username",
                    "Enter a valid username: letters, digits and @/./+/-/_ only.",
                );
            }
        }
        let email = b
            .raw_str("email", true)
            .and_then(|e| Email::parse(&e).map_err(|m| b.errors.add("email", m)).ok());
        let password = b.raw_str("password", true).map(Zeroizing::new);
        let confirm = b.raw_str("confirm_password", true).map(Zeroizing::new);
        if let Some(p) = &password {
            let n = p.chars().count();
            if n < MIN_PASSWORD {
                b.errors.add(
                    "password",
                    format!("Ensure this field has at least {MIN_PASSWORD} characters."),
                );
            } else if n > MAX_PASSWORD {
                b.errors.add(
                    "password",
                    format!("Ensure this field has no more than {MAX_PASSWORD} characters."),
                );
            }
            if matches!(&confirm, Some(c) if c != p) {
                b.errors.add("confirm_password", "Passwords do not match.");
            }
        }
        let first_name = b.text("first_name", false, 150).unwrap_or_default();
        let last_name = b.text("last_name", false, 150).unwrap_or_default();
        let user = (|| {
            Some(NewUser {
                username: username?,
                email: email?,
                password: Password(password?),
                first_name,
                last_name,
            })
        })();
        b.finish(user)
    }
}

#[derive(Debug)]
pub struct Credentials {
    pub email: String,
    pub password: Password,
}

impl Credentials {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<Credentials> {
        let mut b = Body::new(map);
        let email = b.raw_str("email", true);
        let password = b.raw_str("password", true);
        let credentials = (|| {
            Some(Credentials {
                email: email?.trim().to_string(),
                password: Password(Zeroizing::new(password?)),
            })
        })();
        b.finish(credentials)
    }
}

/// Name and description, shared by organizations and projects (and, with a type, environments).
#[derive(Debug, Default)]
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
            name: b.text("name", creating, MAX_NAME),
            description: b.text("description", false, MAX_DESCRIPTION),
        }
    }
}

#[derive(Debug)]
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

#[derive(Debug)]
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
#[derive(Debug)]
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

#[derive(Debug)]
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

#[derive(Debug)]
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

#[derive(Debug)]
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

#[derive(Debug)]
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

fn role_field(b: &mut Body, required: bool) -> Option<Role> {
    let r = b.raw_str("role", required)?;
    Role::parse(&r)
        .ok_or(())
        .map_err(|_| {
            b.errors.add(
                "role",
                format!("\"{r}\" is not a valid choice (admin, editor, viewer)."),
            )
        })
        .ok()
}

/// `{"email", "role"}`: add an existing user to an organization (role defaults to viewer).
#[derive(Debug)]
pub struct NewMember {
    pub email: Email,
    pub role: Role,
}

impl NewMember {
    pub fn parse(map: &Map<String, Value>) -> DomainResult<NewMember> {
        let mut b = Body::new(map);
        let email = b
            .raw_str("email", true)
            .and_then(|e| Email::parse(&e).map_err(|m| b.errors.add("email", m)).ok());
        let role = role_field(&mut b, false);
        let member = email.map(|email| NewMember {
            email,
            role: role.unwrap_or(Role::Viewer),
        });
        b.finish(member)
    }
}

/// `{"role"}`: change a member's role.
#[derive(Debug)]
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

/// `{"name", "access", "expires_in_days"?}` for a new service token.
#[derive(Debug)]
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
        let max = MAX_EXPIRY_DAYS;
        // Days, possibly fractional (0.5 is twelve hours).
        let expires_in_days = match map.get("expires_in_days") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n))
                if n.as_f64().is_some_and(|d| d > 0.0 && d <= f64::from(max)) =>
            {
                n.as_f64()
            }
            Some(_) => {
                b.errors.add(
                    "expires_in_days",
                    format!("Must be a number of days above 0 and at most {max}."),
                );
                None
            }
        };
        let token = (|| {
            Some(NewServiceToken {
                name: name?,
                access: access?,
                expires_in_days,
            })
        })();
        b.finish(token)
    }
}

/// `{"version"}`: which earlier value of a variable to restore.
#[derive(Debug)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    fn fields(r: DomainResult<impl fmt::Debug>) -> Vec<String> {
        match r {
            Err(crate::error::DomainError::Invalid(e)) => e.0.keys().cloned().collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn variable_keys() {
        for ok in ["A", "_", "DATABASE_URL", "a1_b2", &"K".repeat(255)] {
            assert!(VariableKey::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A.B", &"K".repeat(256)] {
            assert!(VariableKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", " User@Example.COM "] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@b", "@b.co", "a@@b.co", "a b@c.de", "a@.co", "a@co.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn register_reports_each_bad_field_by_name() {
        let cases = [
            (
                json!({}),
                vec!["confirm_password", "email", "password", "username"],
            ),
            (
                json!({"username": "u", "email": "x", "password": "short", "confirm_password": "short"}),
                vec!["email", "password"],
            ),
            (
                json!({"username": "u", "email": "a@b.co", "password": "longenough", "confirm_password": "different"}),
                vec!["confirm_password"],
            ),
            (
                json!({"username": 5, "email": "a@b.co", "password": "longenough", "confirm_password": "longenough"}),
                vec!["username"],
            ),
        ];
        for (body, want) in cases {
            assert_eq!(fields(NewUser::parse(&obj(body.clone()))), want, "{body}");
        }
    }

    #[test]
    fn variables_keep_values_byte_exact_and_bound_their_size() {
        let v = NewVariable::parse(&obj(
            json!({"key": "K", "value": "  a\n b  ", "environment": 3}),
        ))
        .expect("valid");
        assert_eq!(v.value.expose(), "  a\n b  ");
        let big = "x".repeat(MAX_VALUE_BYTES + 1);
        assert_eq!(
            fields(NewVariable::parse(&obj(
                json!({"key": "K", "value": big, "environment": 3})
            ))),
            vec!["value"]
        );
        assert_eq!(
            fields(NewVariable::parse(&obj(
                json!({"key": "K", "value": 5, "environment": "x"})
            ))),
            vec!["environment", "value"]
        );
    }
}
