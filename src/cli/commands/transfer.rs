//! `keynest env export` and `env import`: a whole environment to or from a file. The server does
//! the formats; the client only names one (from `--format`, or from the file's name on import, the
//! same mapping the server applies to an upload) and keeps the text in zeroizing buffers.

use super::{target_env, Ctx};
use crate::cli::args::EnvCommand;
use crate::cli::client::Client;
use crate::cli::output::{escape, with_progress};
use crate::cli::CliError;
use keynest_actors::crypto::{write_private, IfExists};
use keynest_actors::formats::Format;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn execute(ctx: &Ctx, cmd: EnvCommand) -> Result<i32, CliError> {
    let c = &ctx.client;
    c.require_token()?;
    match cmd {
        EnvCommand::Export {
            target,
            format,
            output,
        } => export(c, target_env(ctx, &target)?, &format, output),
        EnvCommand::Import {
            target,
            file,
            no_overwrite,
        } => import(c, target_env(ctx, &target)?, &file, !no_overwrite),
    }
}

/// To stdout, or to `output` created owner-only (it holds every value in clear).
fn export(
    c: &Client,
    environment_id: u64,
    format: &str,
    output: Option<PathBuf>,
) -> Result<i32, CliError> {
    let path = format!("/api/environments/{environment_id}/export/?format={format}");
    let text = zeroize::Zeroizing::new(with_progress("exporting", || {
        c.call("GET", &path, None, &format!("environment {environment_id}"))
    })?);
    match output {
        Some(file) => {
            write_private(&file, text.as_bytes(), IfExists::Replace)
                .map_err(|e| CliError::usage(format!("cannot write {}: {e}", file.display())))?;
            eprintln!("wrote {}", file.display());
        }
        None => {
            // Byte-exact like the file, not `output::escape`d: it is the values themselves, for a
            // redirect or a pipe, not display text.
            let _ = std::io::stdout().write_all(text.as_bytes());
        }
    }
    Ok(0)
}

/// The summary on stdout, each entry that failed (with its line or key) on stderr.
fn import(c: &Client, environment_id: u64, file: &Path, overwrite: bool) -> Result<i32, CliError> {
    let data = zeroize::Zeroizing::new(
        std::fs::read_to_string(file)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", file.display())))?,
    );
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let format = Format::from_file_name(&name).extension();
    let body = json!({"data": data.as_str(), "format": format, "overwrite": overwrite});
    let path = format!("/api/environments/{environment_id}/import/");
    let answer = with_progress("importing", || {
        c.json(
            "POST",
            &path,
            Some(&body),
            &format!("environment {environment_id}"),
        )
    })?;
    let s = &answer["summary"];
    let summary = format!(
        "imported {}, updated {}, skipped {}, failed {} (total {})",
        s["imported"], s["updated"], s["skipped"], s["failed"], s["total_variables"]
    );
    println!("{}", escape(&summary));
    for f in answer["failed_imports"].as_array().into_iter().flatten() {
        let at = f["line"]
            .as_u64()
            .map(|l| format!("line {l}"))
            .or(f["key"].as_str().map(|k| format!("key {k}")));
        // The key is the file's, echoed by the server: an ESC in a JSON key reaches here.
        let failure = format!(
            "  {}: {}",
            at.unwrap_or_default(),
            f["reason"].as_str().unwrap_or_default()
        );
        eprintln!("{}", escape(&failure));
    }
    Ok(0)
}
