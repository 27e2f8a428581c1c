//! The `keynest` command line: `keynest serve` runs the server; the other commands are a client
//! of a running server's HTTP API (see `keynest --help`).
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use keynest::config::{warn_unknown_vars, ServeArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "keynest",
    version,
    about = "KeyNest: a self-hosted secrets manager in one small binary",
    after_help = "Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 authentication or permission, 4 not found, 5 server or network."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (data under --data-dir, API on --bind).
    Serve(Box<ServeArgs>),
    /// Write a consistent backup of a running server (through its data dir's admin socket).
    Backup(keynest::operator::BackupArgs),
    /// Rebuild a new data directory from a backup (no server running on it).
    Restore(keynest::operator::RestoreArgs),
    #[command(flatten)]
    Client(keynest::cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Backup(args) => operator(keynest::operator::run_backup(args)),
        Command::Restore(args) => operator(keynest::operator::run_restore(args)),
        Command::Client(cmd) => match keynest::cli::execute(cmd) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("error: {}", e.message);
                ExitCode::from(e.code)
            }
        },
    }
}

fn operator(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[actix_web::main]
async fn serve(args: ServeArgs) -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,sled=warn"))
        .init();
    warn_unknown_vars();
    match keynest::server::serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
