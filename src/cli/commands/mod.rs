//! Runs the parsed command line, one file per group of commands: `session.rs` (login, logout,
//! config), `lists.rs` (organizations, projects, environments), `manage.rs` (creating, renaming
//! and deleting them), `resolve.rs` (names to ids), `setup.rs` (`.keynest.toml`), `vars.rs`,
//! `transfer.rs` (export and import), `run.rs` (a program with an environment's variables) and
//! `watch.rs` (restarting it when they change). Each command returns the process exit code on
//! success and a `CliError` (message and `Exit` code) otherwise.

mod lists;
mod manage;
mod resolve;
pub use resolve::Wanted;
mod run;
mod session;
mod setup;
mod transfer;
mod vars;
mod watch;

use crate::cli::args::{Command, Shell};
use crate::cli::client::Client;
use crate::cli::project_file::{self, ProjectFile};
use crate::cli::{config, CliError};
use std::path::PathBuf;

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
        Command::Setup(args) => setup::setup(args),
        Command::Orgs(c) => manage::orgs(&context()?, c),
        Command::Projects(c) => manage::projects(&context()?, c),
        Command::Envs(c) => manage::envs(&context()?, c),
        Command::Vars(v) => vars::execute(&context()?, v),
        Command::Env(e) => transfer::execute(&context()?, e),
        Command::Run(args) => run::execute(&context()?, args),
        Command::Completions { shell } => completions(shell),
    }
}

/// What a command works with: the server and token in effect, and this directory's
/// `.keynest.toml` if there is one.
pub struct Ctx {
    pub client: Client,
    pub file: Option<(PathBuf, ProjectFile)>,
}

impl Ctx {
    pub fn file(&self) -> Option<&ProjectFile> {
        self.file.as_ref().map(|(_, f)| f)
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/')
        .eq_ignore_ascii_case(b.trim_end_matches('/'))
}

/// The client for the token's own server. A `.keynest.toml` comes from a repository, which is
/// not the user's to trust with their token: if it names another server the command stops rather
/// than send the token there (or quietly ignore what the repository asked for).
pub fn context() -> Result<Ctx, CliError> {
    let r = config::resolve()?;
    let file = project_file::find()?;
    if let Some((path, f)) = &file {
        if let Some(url) = f.url.as_deref().filter(|u| !same_url(u, &r.url)) {
            return Err(CliError::usage(format!(
                "{} is for {url}, but you are using {}: run keynest login --url {url} (or set \
                 KEYNEST_URL) to use it; a token is only sent to the server it is for",
                path.display(),
                r.url
            )));
        }
    }
    Ok(Ctx {
        client: Client::new(&r.url, r.token),
        file,
    })
}

/// A client for the server and token in effect, for the commands that need no project file.
fn client() -> Result<Client, CliError> {
    let r = config::resolve()?;
    Ok(Client::new(&r.url, r.token))
}

/// The completion script for the whole binary. Built from the client's commands plus the
/// operator commands `main.rs` adds (`serve`, `backup`, `restore`), so it completes all of them.
fn completions(shell: Shell) -> Result<i32, CliError> {
    use clap::{Args, Subcommand};
    let mut cmd = Command::augment_subcommands(clap::Command::new("keynest"))
        .subcommand(crate::config::ServeArgs::augment_args(clap::Command::new(
            "serve",
        )))
        .subcommand(crate::operator::BackupArgs::augment_args(
            clap::Command::new("backup"),
        ))
        .subcommand(crate::operator::RestoreArgs::augment_args(
            clap::Command::new("restore"),
        ));
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    // Into memory first: clap_complete panics on a write error, and `| head` closes the pipe.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "keynest", &mut script);
    use std::io::Write;
    let _ = std::io::stdout().write_all(&script);
    Ok(0)
}

/// The id of the environment the flags and `.keynest.toml` name.
fn target_env(ctx: &Ctx, target: &crate::cli::args::Target) -> Result<u64, CliError> {
    resolve::environment(&ctx.client, &resolve::wanted(target, ctx.file())?)
}
