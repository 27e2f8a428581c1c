//! `SecretValue`, the type a variable's plaintext travels in through the domain: from a request
//! body (`input.rs`) to sealing, and from `DataKey::open` to a view. Kept in its own file so the
//! one type whose `Debug` and drop matter most is easy to find and to audit.

use serde::Serialize;
use std::fmt;
use zeroize::Zeroizing;

/// A plaintext secret: zeroized on drop, redacted in `Debug`, written out only by `Serialize`
/// (the one place a value is meant to leave: the response body of an authorized read).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(Zeroizing<String>);

impl SecretValue {
    pub fn new(s: String) -> Self {
        SecretValue(Zeroizing::new(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

/// Read back from a sealed record (an idempotent answer kept to be replayed).
impl<'de> serde::Deserialize<'de> for SecretValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(SecretValue::new)
    }
}

/// In the OpenAPI document a value is a string, as `Serialize` writes it.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SecretValue {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        String::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SecretValue {}

impl Serialize for SecretValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
