//! The `keynest` command line: `keynest serve` runs the server.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use keynest::config::{warn_unknown_vars, ServeArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "keynest",
    version,
    about = "KeyNest: a self-hosted secrets manager in one small binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (data under --data-dir, API on --bind).
    Serve(ServeArgs),
}

#[actix_web::main]
async fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info,sled=warn"))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
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
    }
}
