//! The `keynest` command-line client: a thin client of the HTTP API, never touching the store.
//! Output is a table for people and JSON with `--json`; errors are one line on stderr and an exit
//! code (`Exit`): 1 refused by the server (bad input, conflict), 2 usage, 3 authentication or
//! permission, 4 not found, 5 server or network.
//!
//! `args.rs` is the command line as clap reads it, `commands/` runs it (one file per group of
//! commands), `client.rs` speaks HTTP, `config.rs` keeps the URL and token, `project_file.rs`
//! reads a repository's `.keynest.toml`, `fallback.rs` seals `run --fallback`'s offline copy,
//! `output.rs` prints and `error.rs` names the exit codes.

mod args;
mod client;
mod commands;
mod config;
mod error;
mod fallback;
mod output;
mod project_file;

pub use args::Command;
pub use commands::execute;
pub use error::{CliError, Exit};
