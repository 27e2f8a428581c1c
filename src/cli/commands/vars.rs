//! `keynest vars`: list, get, set and delete an environment's variables by key. The API addresses
//! a variable by id, so every command here starts from a full listing of the environment and
//! finds keys in it.

use super::client;
use crate::cli::args::VarsCommand;
use crate::cli::client::Client;
use crate::cli::output::print_list;
use crate::cli::CliError;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

pub fn execute(cmd: VarsCommand) -> Result<i32, CliError> {
    let c = client()?;
    match cmd {
        VarsCommand::List {
            environment_id,
            values,
            out,
        } => {
            let items = fetch_vars(&c, environment_id)?;
            let mut cols = vec!["id", "key", "version", "updated_at"];
            if values {
                cols.push("decrypted_value");
            }
            print_list(&items, out.json, &cols)
        }
        VarsCommand::Get {
            key,
            environment_id,
        } => {
            let values = fetch_values(&c, environment_id)?;
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
        VarsCommand::Set {
            pairs,
            environment_id,
        } => {
            let existing: BTreeMap<String, u64> = fetch_vars(&c, environment_id)?
                .iter()
                .filter_map(|v| Some((v["key"].as_str()?.to_string(), v["id"].as_u64()?)))
                .collect();
            for pair in pairs {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| CliError::usage(format!("{pair:?} is not KEY=VALUE")))?;
                match existing.get(key) {
                    Some(id) => {
                        c.call(
                            "PATCH",
                            &format!("/api/variables/{id}/"),
                            Some(&json!({"value": value})),
                            &format!("variable {key}"),
                        )?;
                        eprintln!("updated {key}");
                    }
                    None => {
                        let body =
                            json!({"key": key, "value": value, "environment": environment_id});
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
        VarsCommand::Delete {
            key,
            environment_id,
        } => {
            let id = fetch_vars(&c, environment_id)?
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
