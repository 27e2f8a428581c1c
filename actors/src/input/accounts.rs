//! The bodies of registration and login.

use super::{Body, Email, Password, MAX_PASSWORD, MIN_PASSWORD};
use crate::error::DomainResult;
use serde_json::{Map, Value};
use zeroize::Zeroizing;

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
