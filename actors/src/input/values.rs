//! Values that can only be valid once made: an email address, a variable key, a password that
//! never prints. Parsed once at the edge; everything after trusts the type.

use super::MAX_KEY;
use std::fmt;
use zeroize::Zeroizing;

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
