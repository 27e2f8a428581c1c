//! A thin blocking client of the HTTP API: every command goes through `Client::call`, which
//! turns transport failures and error envelopes into one `CliError` with the right exit code.

use crate::cli::CliError;
use serde_json::Value;
use std::time::Duration;

#[derive(Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// Largest answer read (an export of 5,000 values of 64 KiB, with room to spare).
const MAX_BODY: u64 = 512 * 1024 * 1024;

impl Client {
    pub fn new(base: &str, token: Option<String>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The token, or the error that tells the user to log in.
    pub fn require_token(&self) -> Result<&str, CliError> {
        self.token.as_deref().ok_or_else(|| {
            CliError::auth("not logged in, run keynest login (or set KEYNEST_TOKEN)")
        })
    }

    /// Send a request; `what` names the thing asked for in a 404 message ("environment 7").
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<String, CliError> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Token {t}"));
        let result = match (method, body) {
            ("GET", _) => with_auth(self.agent.get(&url), &auth).call(),
            ("DELETE", _) => with_auth(self.agent.delete(&url), &auth).call(),
            ("POST", b) => {
                with_auth(self.agent.post(&url), &auth).send_json(b.unwrap_or(&Value::Null))
            }
            ("PATCH", b) => {
                with_auth(self.agent.patch(&url), &auth).send_json(b.unwrap_or(&Value::Null))
            }
            (m, _) => return Err(CliError::usage(format!("unsupported method {m}"))),
        };
        let mut resp =
            result.map_err(|e| CliError::server(format!("cannot reach {}: {e}", self.base)))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| {
                CliError::server(format!("reading the answer from {} failed: {e}", self.base))
            })?;
        if status < 300 {
            return Ok(text);
        }
        let envelope: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let details = describe(&envelope["details"]);
        Err(match status {
            401 if self.token.is_none() => {
                CliError::auth("not logged in, run keynest login (or set KEYNEST_TOKEN)")
            }
            401 => CliError::auth(format!(
                "{details} (run keynest login, or check KEYNEST_TOKEN)"
            )),
            403 => CliError::auth(format!("permission denied: {details}")),
            404 => CliError::not_found(format!("{what} not found")),
            429 => CliError::server(format!("rate limited: {details}")),
            s if s >= 500 => CliError::server(format!("the server failed ({s}): {details}")),
            _ => CliError::refused(details),
        })
    }

    pub fn json(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Value, CliError> {
        let text = self.call(method, path, body, what)?;
        if text.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| {
            CliError::server(format!("the server sent something that is not JSON: {e}"))
        })
    }

    /// Every item of a paginated list, following `next` links.
    pub fn list_all(&self, path: &str, what: &str) -> Result<Vec<Value>, CliError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let body = self.json(
                "GET",
                &format!("{path}{sep}page_size=100&page={page}"),
                None,
                what,
            )?;
            if let Some(items) = body["results"].as_array() {
                out.extend(items.iter().cloned());
            }
            if body["next"].is_null() {
                return Ok(out);
            }
            page += 1;
        }
    }
}

fn with_auth<B>(req: ureq::RequestBuilder<B>, auth: &Option<String>) -> ureq::RequestBuilder<B> {
    match auth {
        Some(a) => req.header("Authorization", a),
        None => req,
    }
}

/// An envelope's `details` as one line: a sentence, or `field: message; ...`.
fn describe(details: &Value) -> String {
    match details {
        Value::String(s) => s.clone(),
        Value::Object(fields) => fields
            .iter()
            .map(|(k, v)| {
                let msgs: Vec<String> = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                format!("{k}: {}", msgs.join(" "))
            })
            .collect::<Vec<_>>()
            .join("; "),
        Value::Null => "no details".into(),
        other => other.to_string(),
    }
}
