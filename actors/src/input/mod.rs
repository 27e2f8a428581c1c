//! Parse, don't validate: request bodies (JSON objects) become typed inputs here, once, with
//! every bad field reported under its own name. Everything after this trusts the types.
//! `values` holds the types that can only hold a valid value (Email, VariableKey, Password),
//! `accounts` the bodies of registration and login, `bodies` those of everything else.

use crate::error::{DomainError, DomainResult, FieldErrors};
use crate::model::*;
use serde_json::{Map, Value};

mod accounts;
mod bodies;
mod values;

pub use accounts::*;
pub use bodies::*;
pub use values::*;

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

    /// A name: trimmed, at most `max` characters, and never blank, also where it may be left
    /// out (a partial update renames only when asked, and never to nothing).
    pub fn name(&mut self, field: &str, required: bool, max: usize) -> Option<String> {
        let s = self.text(field, required, max)?;
        if s.is_empty() {
            self.errors.add(field, "This field may not be blank.");
            return None;
        }
        Some(s)
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

pub(crate) fn value_field(b: &mut Body, required: bool) -> Option<SecretValue> {
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

pub(crate) fn key_field(b: &mut Body, required: bool) -> Option<VariableKey> {
    let k = b.raw_str("key", required)?;
    VariableKey::parse(&k)
        .map_err(|e| b.errors.add("key", e))
        .ok()
}

pub(crate) fn env_type_field(b: &mut Body, required: bool) -> Option<EnvironmentType> {
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

pub(crate) fn role_field(b: &mut Body, required: bool) -> Option<Role> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fmt;

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
    fn a_rename_to_a_blank_name_is_refused() {
        for body in [json!({"name": ""}), json!({"name": "   "})] {
            assert_eq!(
                fields(NamePatch::parse(&obj(body.clone()))),
                vec!["name"],
                "{body}"
            );
            assert_eq!(
                fields(ProjectPatch::parse(&obj(body.clone()))),
                vec!["name"],
                "{body}"
            );
            assert_eq!(
                fields(EnvironmentPatch::parse(&obj(body.clone()))),
                vec!["name"],
                "{body}"
            );
        }
        // Leaving the name out, or blanking the description, is still a valid patch.
        assert!(NamePatch::parse(&obj(json!({"description": ""}))).is_ok());
        assert!(EnvironmentPatch::parse(&obj(json!({}))).is_ok());
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
