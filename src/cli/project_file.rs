//! `.keynest.toml`: which server, organization, project and environment a repository uses, by
//! name, so that `keynest run -- npm start` needs no flags there. Found by walking up from the
//! working directory; flags override each field. It never holds a token: the file is meant to be
//! committed, and the token stays in the user's config file (`config.rs`).
//!
//! A file found by walking up may not be the user's: anyone can leave `/tmp/.keynest.toml` above a
//! checkout in `/tmp`, and a cloned repository is written by its authors. So a file owned by
//! another user is ignored (git refuses such a repository for the same reason), and the `url` in
//! it never decides where the token goes: it must be the server the token is for (see
//! `commands::client_for`), else the command stops and says so.

use crate::cli::CliError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = ".keynest.toml";

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

/// The nearest `.keynest.toml` at or above the working directory, with its path; none if there is
/// no such file (or only files owned by someone else, which are skipped with a warning).
pub fn find() -> Result<Option<(PathBuf, ProjectFile)>, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::usage(format!("cannot read the working directory: {e}")))?;
    for dir in cwd.ancestors() {
        let path = dir.join(FILE_NAME);
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if !meta.is_file() {
            continue;
        }
        if !owned_by_me(&meta) {
            eprintln!(
                "warning: ignoring {}: it belongs to another user",
                path.display()
            );
            continue;
        }
        let file = read(&path)?;
        return Ok(Some((path, file)));
    }
    Ok(None)
}

fn read(path: &Path) -> Result<ProjectFile, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    toml::from_str(&text)
        .map_err(|e| CliError::usage(format!("{} is not valid: {e}", path.display())))
}

#[cfg(unix)]
fn owned_by_me(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == nix::unistd::getuid().as_raw()
}

#[cfg(not(unix))]
fn owned_by_me(_meta: &std::fs::Metadata) -> bool {
    true
}

/// Write `file` as `dir/.keynest.toml` (an ordinary file: it holds names, not secrets).
pub fn write(dir: &Path, file: &ProjectFile) -> Result<PathBuf, CliError> {
    let path = dir.join(FILE_NAME);
    let body = toml::to_string(file).map_err(|e| CliError::usage(e.to_string()))?;
    let text = format!(
        "# KeyNest: the environment `keynest run`, `vars` and `env` use here (names, no secrets).\n{body}"
    );
    std::fs::write(&path, text)
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::ProjectFile;

    #[test]
    fn a_written_file_reads_back_and_a_token_field_is_refused() {
        let file = ProjectFile {
            url: Some("http://127.0.0.1:8000".into()),
            organization: Some("Acme".into()),
            project: Some("web \"app\"".into()),
            environment: Some("production".into()),
        };
        let text = toml::to_string(&file).expect("serialize");
        assert_eq!(toml::from_str::<ProjectFile>(&text).ok(), Some(file));
        // A token has no place in a file meant to be committed: it is not read from one.
        assert!(toml::from_str::<ProjectFile>("token = \"abc\"\n").is_err());
        assert!(toml::from_str::<ProjectFile>("project = \"web\"\n").is_ok());
    }
}
