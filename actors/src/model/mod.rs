//! The domain's data types, in four groups: `ids` (id newtypes, `Ts`), `access` (roles, service
//! grants, the `Caller`), `records` (what the store holds) and `views` (what the actors answer
//! with), plus `secret` (the type a plaintext lives in). Records hold ids, never names of other
//! records, so a rename shows everywhere at once; views resolve the names.
//!
//! Everything is re-exported here, so users write `crate::model::Project` (or `model::*`) and
//! never name the file a type lives in.

mod access;
mod ids;
mod records;
mod secret;
mod views;

pub use access::*;
pub use ids::*;
pub use records::*;
pub use secret::*;
pub use views::*;
