//! `keynest login`, `logout` and `config`: the token and server URL kept in the config file. The
//! password is read from the terminal without echo, or from stdin for scripts, and never stored.

use super::client;
use crate::cli::args::ConfigCommand;
use crate::cli::client::Client;
use crate::cli::output::escape;
use crate::cli::{config, CliError, Exit};
use serde_json::json;
use std::io::{Read, Write};

fn prompt(label: &str) -> Result<String, CliError> {
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| CliError::usage(format!("cannot read {label}: {e}")))?;
    Ok(line.trim().to_string())
}

pub fn login(
    url: Option<String>,
    email: Option<String>,
    password_stdin: bool,
) -> Result<i32, CliError> {
    let resolved = config::resolve()?;
    let url = url.unwrap_or(resolved.url);
    let email = match email {
        Some(e) => e,
        None => prompt("Email: ")?,
    };
    let password = zeroize::Zeroizing::new(if password_stdin {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| CliError::usage(format!("cannot read the password: {e}")))?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password("Password: ").map_err(|e| {
            CliError::usage(format!(
                "cannot read the password (try --password-stdin): {e}"
            ))
        })?
    });
    let c = Client::new(&url, None);
    let body = json!({"email": email, "password": password.as_str()});
    let answer = c
        .json("POST", "/api/auth/login/", Some(&body), "login")
        .map_err(|e| match e.code {
            Exit::Auth => CliError::auth("invalid email or password"),
            _ => e,
        })?;
    let token = answer["token"]
        .as_str()
        .ok_or_else(|| CliError::server("the server sent no token"))?;
    let mut file = config::load()?;
    file.url = Some(c.base().to_string());
    file.token = Some(token.to_string());
    let path = config::save(&file)?;
    eprintln!(
        "Logged in to {} as {} (token saved in {})",
        escape(c.base()),
        escape(answer["user"]["email"].as_str().unwrap_or(&email)),
        path.display()
    );
    Ok(0)
}

pub fn logout() -> Result<i32, CliError> {
    let c = client()?;
    c.require_token()?;
    c.call("POST", "/api/auth/logout/", Some(&json!({})), "session")?;
    let mut file = config::load()?;
    file.token = None;
    config::save(&file)?;
    eprintln!("Logged out.");
    Ok(0)
}

pub fn configure(cmd: ConfigCommand) -> Result<i32, CliError> {
    let mut file = config::load()?;
    match cmd {
        ConfigCommand::SetToken { token } => {
            let token = match token {
                Some(t) => zeroize::Zeroizing::new(t),
                None => super::vars::read_secret("Token")?,
            };
            if token.trim().is_empty() {
                return Err(CliError::usage("no token given"));
            }
            file.token = Some(token.trim().to_string());
            config::save(&file)?;
        }
        ConfigCommand::SetUrl { url } => {
            file.url = Some(url.trim_end_matches('/').to_string());
            config::save(&file)?;
        }
        ConfigCommand::Show => {
            let r = config::resolve()?;
            println!("config file: {}", config::path()?.display());
            println!("url:   {}", r.url);
            println!(
                "token: {}",
                r.token
                    .as_deref()
                    .map_or("(none)".to_string(), config::mask)
            );
        }
    }
    Ok(0)
}
