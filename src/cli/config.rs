//! The client's settings: `$XDG_CONFIG_HOME/keynest/config.toml` (else
//! `~/.config/keynest/config.toml`), written 0600, with `KEYNEST_URL` and `KEYNEST_TOKEN`
//! taking precedence (CI sets a service token that way). The names of those variables live here,
//! in `CLIENT_VARS`, because `keynest run` must know every one of them to keep them from the
//! program it starts.

use crate::cli::CliError;
use keynest_actors::crypto::{write_private, IfExists};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";

const URL_VAR: &str = "KEYNEST_URL";
const TOKEN_VAR: &str = "KEYNEST_TOKEN";

/// Every environment variable the client reads for its own credential and settings. They are the
/// client's, not the program's: `keynest run` removes them from the command's environment, and a
/// variable from the server with one of these names is withheld like `PATH` (a command that runs
/// `keynest` again would otherwise send the user's token to a URL chosen by whoever wrote the
/// environment). A new `KEYNEST_*` setting read in `resolve` belongs in this list.
pub const CLIENT_VARS: [&str; 2] = [URL_VAR, TOKEN_VAR];

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ClientConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

pub fn path() -> Result<PathBuf, CliError> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .map(|h| PathBuf::from(h).join(".config"))
            .ok_or_else(|| CliError::usage("neither XDG_CONFIG_HOME nor HOME is set"))?,
    };
    Ok(base.join("keynest").join("config.toml"))
}

pub fn load() -> Result<ClientConfig, CliError> {
    let path = path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| CliError::usage(format!("{} is not valid: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ClientConfig::default()),
        Err(e) => Err(CliError::usage(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

pub fn save(config: &ClientConfig) -> Result<PathBuf, CliError> {
    let path = path()?;
    let text = toml::to_string(config).map_err(|e| CliError::usage(e.to_string()))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::usage(format!("cannot create {}: {e}", dir.display())))?;
    }
    write_private(&path, text.as_bytes(), IfExists::Replace)
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Where to send requests and with what token, after the environment overrides.
pub struct Resolved {
    pub url: String,
    pub token: Option<String>,
}

pub fn resolve() -> Result<Resolved, CliError> {
    let file = load()?;
    let env = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    Ok(Resolved {
        url: env(URL_VAR)
            .or(file.url)
            .unwrap_or_else(|| DEFAULT_URL.to_string()),
        token: env(TOKEN_VAR).or(file.token),
    })
}

/// A token shown without giving it away: its kind and last four characters.
pub fn mask(token: &str) -> String {
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let kind = if token.starts_with("kns_") {
        "kns_"
    } else {
        ""
    };
    format!("{kind}****{tail}")
}
