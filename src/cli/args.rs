//! The client's command line as clap reads it: the shape of every command and its flags, no
//! behaviour. `main.rs` flattens `Command` into the binary's own, next to `serve`, so the client
//! commands are top-level (`keynest vars list`). `commands/` runs what is parsed here.
//!
//! Organizations, projects and environments are named by name or by id (`--project web`,
//! `--project 12`): a value made only of digits is an id. `Target` is the one set of flags that
//! picks an environment, shared by every command that works on one, and each of its fields falls
//! back to the repository's `.keynest.toml` (see `project_file.rs`).

use clap::{Args, Subcommand, ValueEnum};
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
    /// Write .keynest.toml here: the server, organization, project and environment (by name,
    /// never a token) that `run`, `vars` and `env` use in this directory and below.
    Setup(SetupArgs),
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
    /// Run a command with an environment's variables set (nothing written to disk unless
    /// --fallback).
    Run(RunArgs),
    /// Print a shell completion script (`keynest completions bash > ~/.local/share/bash-completion/completions/keynest`).
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Which environment: by name (`--project web --env production`, `--org` when the project name
/// is in several organizations) or by id (`--env 7`, `--environment-id 7`). Unset fields come
/// from `.keynest.toml`.
#[derive(Debug, Clone, Default, Args)]
pub struct Target {
    /// Organization name or id (needed only when a project name is in several).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Project name or id.
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Project id.
    #[arg(long, value_name = "ID", conflicts_with = "project")]
    pub project_id: Option<u64>,
    /// Environment name (in --project) or id.
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,
    /// Environment id.
    #[arg(long, value_name = "ID", conflicts_with = "env")]
    pub environment_id: Option<u64>,
}

/// Which project, for commands about a project's environments.
#[derive(Debug, Clone, Default, Args)]
pub struct ProjectTarget {
    /// Organization name or id (needed only when the project name is in several).
    #[arg(long, value_name = "ORG")]
    pub org: Option<String>,
    /// Project name or id.
    #[arg(long, value_name = "PROJECT")]
    pub project: Option<String>,
    /// Project id.
    #[arg(long, value_name = "ID", conflicts_with = "project")]
    pub project_id: Option<u64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: Target,
    /// Keep variables the command already inherits instead of overriding them.
    #[arg(long)]
    pub no_override: bool,
    /// Also apply this variable from the server although its name could take over the
    /// command (PATH, LD_*, DYLD_*, BASH_ENV, PYTHONPATH, NODE_OPTIONS, KEYNEST_TOKEN, ...;
    /// withheld with a warning otherwise). Repeat it, or separate names with commas.
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub allow_unsafe_env: Vec<String>,
    /// Restart the command when the environment changes: SIGTERM, then SIGKILL after --grace.
    #[arg(long)]
    pub watch: bool,
    /// How long a restarted command may take to stop after SIGTERM before SIGKILL (10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub grace: std::time::Duration,
    /// Keep an encrypted copy of the variables here (key derived from the token) and use it,
    /// with a note on stderr, when the server cannot be reached.
    #[arg(long, value_name = "FILE")]
    pub fallback: Option<PathBuf>,
    /// Use the --fallback copy without asking the server.
    #[arg(long, requires = "fallback")]
    pub fallback_only: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `10s`, `500ms`, `2m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (10s, 500ms, 2m)"))?;
    let seconds = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        _ => return Err(format!("{text:?}: the unit is ms, s or m")),
    };
    std::time::Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Server URL (default: the one you are logged in to).
    #[arg(long)]
    pub url: Option<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Store a token (a user token or a service token), read from standard input or asked for
    /// without echo. Giving it as an argument still works but leaves it in the shell's history.
    SetToken { token: Option<String> },
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

#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum OrgsCommand {
    /// List your organizations.
    List(Json),
    /// Create an organization (you become its admin).
    Create {
        name: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename an organization (admins).
    Rename {
        /// Its name or id.
        org: String,
        new_name: String,
    },
    /// Delete an organization with everything in it (admins).
    Delete {
        /// Its name or id.
        org: String,
        #[command(flatten)]
        confirm: Confirm,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProjectsCommand {
    /// List projects.
    List {
        /// Organization name or id.
        #[arg(long, visible_alias = "organization", value_name = "ORG")]
        org: Option<String>,
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: Json,
    },
    /// Create a project in an organization (--org; optional when you have only one).
    Create {
        name: String,
        /// Organization name or id.
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename a project.
    Rename {
        /// Its name or id.
        project: String,
        new_name: String,
        /// Organization name or id (when the name is in several).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
    },
    /// Delete a project with its environments and variables (admins).
    Delete {
        /// Its name or id.
        project: String,
        /// Organization name or id (when the name is in several).
        #[arg(long, value_name = "ORG")]
        org: Option<String>,
        #[command(flatten)]
        confirm: Confirm,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum EnvType {
    Development,
    Staging,
    Production,
    Testing,
}

#[derive(Debug, Subcommand)]
pub enum EnvsCommand {
    /// List the environments of a project.
    List {
        #[command(flatten)]
        project: ProjectTarget,
        #[command(flatten)]
        out: Json,
    },
    /// Create an environment in a project.
    Create {
        name: String,
        #[command(flatten)]
        project: ProjectTarget,
        #[arg(long = "type", value_enum, default_value = "development")]
        env_type: EnvType,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename an environment.
    Rename {
        /// Its name (in --project) or id.
        env: String,
        new_name: String,
        #[command(flatten)]
        project: ProjectTarget,
    },
    /// Delete an environment with its variables (admins).
    Delete {
        /// Its name (in --project) or id.
        env: String,
        #[command(flatten)]
        project: ProjectTarget,
        #[command(flatten)]
        confirm: Confirm,
    },
}

#[derive(Debug, Subcommand)]
pub enum VarsCommand {
    /// List variables (values hidden unless --values).
    List {
        #[command(flatten)]
        target: Target,
        /// Show values in the table.
        #[arg(long)]
        values: bool,
        #[command(flatten)]
        out: Json,
    },
    /// Print one value, bare (for `$(keynest vars get ...)`).
    Get {
        key: String,
        #[command(flatten)]
        target: Target,
    },
    /// Create or update variables: KEY=VALUE pairs, or one bare KEY whose value is read from
    /// standard input (or asked for without echo on a terminal), which keeps it out of the
    /// process list and the shell's history.
    Set {
        /// KEY=VALUE pairs, or KEY alone.
        #[arg(required = true)]
        pairs: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Delete a variable.
    Delete {
        key: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// Export an environment (to stdout, or to a file created 0600).
    Export {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value = "env", value_parser = ["env", "json", "yaml"])]
        format: String,
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Import a .env, JSON or YAML file (format from the file name).
    Import {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        file: PathBuf,
        /// Leave keys that already exist alone.
        #[arg(long)]
        no_overwrite: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_take_ms_s_m_or_bare_seconds_and_refuse_other_units() {
        let cases = [
            ("10s", Some(Duration::from_secs(10))),
            ("500ms", Some(Duration::from_millis(500))),
            ("2m", Some(Duration::from_secs(120))),
            ("3", Some(Duration::from_secs(3))),
            ("0.5s", Some(Duration::from_millis(500))),
            ("10h", None),
            ("s", None),
            ("-1s", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_duration(text).ok(), want, "{text}");
        }
    }
}
