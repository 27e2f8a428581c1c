//! The `keynest` binary's library: settings, the HTTP face, and start-up. The domain lives in the
//! `keynest-actors` crate.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod http;
pub mod server;
