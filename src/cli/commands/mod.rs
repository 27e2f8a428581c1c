//! Runs the parsed command line, one file per group of commands: `session.rs` (login, logout,
//! config), `lists.rs` (organizations, projects, environments), `vars.rs`, `transfer.rs` (export
//! and import) and `run.rs` (a program with an environment's variables). Each command returns
//! the process exit code on success and a `CliError` (message and `Exit` code) otherwise.

mod lists;
mod run;
mod session;
mod transfer;
mod vars;

use crate::cli::args::{Command, EnvsCommand, OrgsCommand, ProjectsCommand};
use crate::cli::client::Client;
use crate::cli::{config, CliError};

/// Run a client command; the exit code on success.
pub fn execute(cmd: Command) -> Result<i32, CliError> {
    match cmd {
        Command::Login {
            url,
            email,
            password_stdin,
        } => session::login(url, email, password_stdin),
        Command::Logout => session::logout(),
        Command::Config(c) => session::configure(c),
        Command::Orgs(OrgsCommand::List(out)) => lists::organizations(out),
        Command::Projects(ProjectsCommand::List {
            organization,
            search,
            out,
        }) => lists::projects(organization, search, out),
        Command::Envs(EnvsCommand::List { project, out }) => lists::environments(project, out),
        Command::Vars(v) => vars::execute(v),
        Command::Env(e) => transfer::execute(e),
        Command::Run {
            environment_id,
            no_override,
            allow_unsafe_env,
            command,
        } => {
            let vars = vars::fetch_values(&client()?, environment_id)?;
            run::run(vars, !no_override, &allow_unsafe_env, &command)
        }
    }
}

/// A client for the server and token in effect (flags aside: see `config::resolve`).
fn client() -> Result<Client, CliError> {
    let r = config::resolve()?;
    Ok(Client::new(&r.url, r.token))
}
