//! KeyNest's domain: the organization actors, accounts, audit, the store and the keyring.
//! This crate knows nothing of HTTP. It reads bottom-up, each layer using only those before it:
//! `model`, `error`, `page` -> `crypto`, `store`, `formats` -> `input` -> `audit`, `idempotency`, `backup` -> `org` (one
//! actor per organization) -> `registry` -> `accounts` -> `keynest` (the facade the server holds).
//! `tests/layers.rs` fails the build's tests on an import against that order.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod crypto;
pub mod error;
pub mod formats;
pub mod idempotency;
pub mod input;
pub mod keynest;
pub mod migrate;
pub mod model;
pub mod org;
pub mod page;
pub mod registry;
pub mod store;

pub use keynest::Keynest;
