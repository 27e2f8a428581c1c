//! The client's command line as clap reads it: the shape of every command and its flags, no
//! behaviour. `main.rs` flattens `Command` into the binary's own, next to `serve`, so the client
//! commands are top-level (`keynest vars list`). `commands/` runs what is parsed here.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and keep the token in the config file.
    Login {
        /// Server URL (default: KEYNEST_URL, the config file, or http://127.0.0.1:8000).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        email: Option<String>,
        /// Read the password from standard input instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Revoke the token on the server and remove it from the config file.
    Logout,
    /// Show or change the client's settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Organizations you belong to.
    #[command(subcommand)]
    Orgs(OrgsCommand),
    /// Projects.
    #[command(subcommand)]
    Projects(ProjectsCommand),
    /// Environments.
    #[command(subcommand)]
    Envs(EnvsCommand),
    /// Variables of an environment.
    #[command(subcommand)]
    Vars(VarsCommand),
    /// Export or import a whole environment.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Run a command with an environment's variables set (nothing written to disk).
    Run {
        #[arg(long)]
        environment_id: u64,
        /// Keep variables the command already inherits instead of overriding them.
        #[arg(long)]
        no_override: bool,
        /// Also apply this variable from the server although its name could take over the
        /// command (PATH, LD_*, DYLD_*, BASH_ENV, PYTHONPATH, NODE_OPTIONS, KEYNEST_TOKEN, ...;
        /// withheld with a warning otherwise). Repeat it, or separate names with commas.
        #[arg(long, value_name = "NAME", value_delimiter = ',')]
        allow_unsafe_env: Vec<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Store a token (a user token or a service token).
    SetToken { token: String },
    /// Store the server URL.
    SetUrl { url: String },
    /// Show the settings in effect (the token masked).
    Show,
}

#[derive(Debug, Args)]
pub struct Json {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List your organizations.
    List(Json),
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List projects.
    List {
        #[arg(long)]
        organization: Option<u64>,
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: Json,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// List the environments of a project.
    List {
        #[arg(long)]
        project: u64,
        #[command(flatten)]
        out: Json,
    },
}

#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// List variables (values hidden unless --values).
    List {
        #[arg(long)]
        environment_id: u64,
        /// Show values in the table.
        #[arg(long)]
        values: bool,
        #[command(flatten)]
        out: Json,
    },
    /// Print one value, bare (for `$(keynest vars get ...)`).
    Get {
        key: String,
        #[arg(long)]
        environment_id: u64,
    },
    /// Create or update variables.
    Set {
        /// KEY=VALUE pairs.
        #[arg(required = true)]
        pairs: Vec<String>,
        #[arg(long)]
        environment_id: u64,
    },
    /// Delete a variable.
    Delete {
        key: String,
        #[arg(long)]
        environment_id: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Export an environment (to stdout, or to a file created 0600).
    Export {
        #[arg(long)]
        environment_id: u64,
        #[arg(long, default_value = "env", value_parser = ["env", "json", "yaml"])]
        format: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import a .env, JSON or YAML file (format from the file name).
    Import {
        #[arg(long)]
        environment_id: u64,
        #[arg(long)]
        file: PathBuf,
        /// Leave keys that already exist alone.
        #[arg(long)]
        no_overwrite: bool,
    },
}
