//! `keynest vars`: list, get, set and delete an environment's variables by key. The API addresses
//! a variable by id, so every command here starts from a full listing of the environment and
//! finds keys in it.
//!
//! `vars set KEY` without `=VALUE` reads the value from standard input, or asks for it without
//! echo on a terminal: a value in the arguments is visible to every user in the process list and
//! stays in the shell's history.

use super::{target_env, Ctx};
use crate::cli::args::VarsCommand;
use crate::cli::client::Client;
use crate::cli::output::print_list;
use crate::cli::CliError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use zeroize::Zeroizing;

pub fn execute(ctx: &Ctx, cmd: VarsCommand) -> Result<i32, CliError> {
    let c = &ctx.client;
    c.require_token()?;
    match cmd {
        VarsCommand::List {
            target,
            values,
            out,
        } => {
            let items = fetch_vars(c, target_env(ctx, &target)?)?;
            let mut cols = vec!["id", "key", "version", "updated_at"];
            if values {
                cols.push("decrypted_value");
            }
            print_list(&items, out.json, &cols)
        }
        VarsCommand::Get { key, target } => {
            let environment_id = target_env(ctx, &target)?;
            let values = fetch_values(c, environment_id)?;
            let value = values.get(&key).ok_or_else(|| {
                CliError::not_found(format!(
                    "variable {key} not found in environment {environment_id}"
                ))
            })?;
            // Byte-exact, not `output::escape`d: this is the user's own value for
            // `$(keynest vars get KEY)`, and an escaped value would be a different value.
            let mut out = std::io::stdout();
            let _ = out.write_all(value.as_bytes());
            if out.is_terminal() {
                let _ = out.write_all(b"\n");
            }
            Ok(0)
        }
        VarsCommand::Set { pairs, target } => {
            let pairs = with_values(pairs)?;
            let environment_id = target_env(ctx, &target)?;
            let existing: BTreeMap<String, u64> = fetch_vars(c, environment_id)?
                .iter()
                .filter_map(|v| Some((v["key"].as_str()?.to_string(), v["id"].as_u64()?)))
                .collect();
            for (key, value) in &pairs {
                match existing.get(key) {
                    Some(id) => {
                        c.call(
                            "PATCH",
                            &format!("/api/variables/{id}/"),
                            Some(&json!({"value": value.as_str()})),
                            &format!("variable {key}"),
                        )?;
                        eprintln!("updated {key}");
                    }
                    None => {
                        let body = json!({"key": key, "value": value.as_str(),
                                          "environment": environment_id});
                        c.call(
                            "POST",
                            "/api/variables/",
                            Some(&body),
                            &format!("environment {environment_id}"),
                        )?;
                        eprintln!("created {key}");
                    }
                }
            }
            Ok(0)
        }
        VarsCommand::Delete { key, target } => {
            let environment_id = target_env(ctx, &target)?;
            let id = fetch_vars(c, environment_id)?
                .iter()
                .find(|v| v["key"] == key.as_str())
                .and_then(|v| v["id"].as_u64())
                .ok_or_else(|| {
                    CliError::not_found(format!(
                        "variable {key} not found in environment {environment_id}"
                    ))
                })?;
            c.call(
                "DELETE",
                &format!("/api/variables/{id}/"),
                None,
                &format!("variable {key}"),
            )?;
            eprintln!("deleted {key}");
            Ok(0)
        }
    }
}

/// `KEY=VALUE` split at the first `=`; one bare `KEY` gets its value from stdin or a prompt.
fn with_values(pairs: Vec<String>) -> Result<Vec<(String, Zeroizing<String>)>, CliError> {
    let bare = pairs.iter().filter(|p| !p.contains('=')).count();
    if bare > 1 {
        return Err(CliError::usage(
            "only one KEY without =VALUE: its value is read from standard input",
        ));
    }
    let mut out = Vec::new();
    for pair in pairs {
        let pair = Zeroizing::new(pair);
        match pair.split_once('=') {
            Some((k, v)) => out.push((k.to_string(), Zeroizing::new(v.to_string()))),
            None => out.push((
                pair.to_string(),
                read_secret(&format!("Value for {}", *pair))?,
            )),
        }
    }
    Ok(out)
}

/// A secret from the terminal without echo, else all of stdin less one final line end (so
/// `echo "$X" | keynest vars set KEY` stores what `printf %s "$X"` would).
pub fn read_secret(what: &str) -> Result<Zeroizing<String>, CliError> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("{what}: "))
            .map(Zeroizing::new)
            .map_err(|e| CliError::usage(format!("cannot read {what}: {e}")));
    }
    let mut text = Zeroizing::new(String::new());
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::usage(format!("cannot read {what} from stdin: {e}")))?;
    let end = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .map_or(text.len(), str::len);
    text.truncate(end);
    Ok(text)
}

/// The environment's variables as the API lists them (every page).
fn fetch_vars(c: &Client, env: u64) -> Result<Vec<Value>, CliError> {
    c.require_token()?;
    c.list_all(
        &format!("/api/environments/{env}/variables/"),
        &format!("environment {env}"),
    )
}

/// The environment's variables as key -> value; an error when the caller may not read values.
pub fn fetch_values(c: &Client, env: u64) -> Result<BTreeMap<String, String>, CliError> {
    let mut out = BTreeMap::new();
    for v in fetch_vars(c, env)? {
        let (Some(k), Some(val)) = (v["key"].as_str(), v["decrypted_value"].as_str()) else {
            return Err(CliError::auth(format!(
                "your role in environment {env} cannot read values"
            )));
        };
        out.insert(k.to_string(), val.to_string());
    }
    Ok(out)
}
