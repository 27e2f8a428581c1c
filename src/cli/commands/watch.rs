//! How `keynest run --watch` notices that an environment changed. The server's change feed,
//! `GET /api/environments/{id}/watch/?revision=N`, answers `{"revision", "changed"}` as soon as
//! the environment's revision passes N, or with `changed: false` after about 30 s: one request
//! held open at a time, and a change seen within a moment. The first call, with `revision=0`, is
//! made before the first fetch, so a change between the fetch and the watch is not missed.
//!
//! A server without the feed (404) is said so once and polled instead: the variables listing
//! every `POLL` and a SHA-256 of its keys and values compared with the last one. The listing,
//! not the export, because each export is audited and a poll every 10 s would fill the audit
//! log with noise. Only the hash is kept between polls, not the values.

use super::vars::fetch_values;
use crate::cli::client::Client;
use crate::cli::{CliError, Exit};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

const POLL: Duration = Duration::from_secs(10);

enum Feed {
    /// The server's change feed, at this revision.
    Revision(u64),
    /// Polling, with the hash of the variables last seen.
    Polling([u8; 32]),
}

fn fingerprint(vars: &BTreeMap<String, String>) -> [u8; 32] {
    let mut h = Sha256::new();
    for (k, v) in vars {
        // Lengths first, so ("AB", "C") and ("A", "BC") differ.
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().into()
}

fn ask(c: &Client, env: u64, revision: u64) -> Result<(u64, bool), CliError> {
    let v = c.json(
        "GET",
        &format!("/api/environments/{env}/watch/?revision={revision}"),
        None,
        &format!("change feed of environment {env}"),
    )?;
    let m = v["revision"]
        .as_u64()
        .ok_or_else(|| CliError::server("the change feed sent no revision"))?;
    Ok((m, v["changed"].as_bool().unwrap_or(false) && m > revision))
}

fn polling(c: &Client, env: u64) -> Feed {
    eprintln!(
        "keynest: the server has no change feed (an older server): checking environment {env} \
         for changes every {}s instead",
        POLL.as_secs()
    );
    Feed::Polling(fetch_values(c, env).map_or([0; 32], |v| fingerprint(&v)))
}

/// Start watching `env`: a message on the channel for each change, from a thread of its own.
pub fn start(c: &Client, env: u64) -> Result<Receiver<()>, CliError> {
    let mut feed = match ask(c, env, 0) {
        Ok((revision, _)) => Feed::Revision(revision),
        Err(e) if e.code == Exit::NotFound => polling(c, env),
        // Down (the command may be running from the --fallback copy): watch from revision 0,
        // so the first answer once the server is back restarts it with fresh values.
        Err(e) if e.code == Exit::Server => {
            eprintln!("warning: watching environment {env}: {}", e.message);
            Feed::Revision(0)
        }
        Err(e) => return Err(e),
    };
    let (tx, rx) = channel();
    let c = c.clone();
    std::thread::spawn(move || {
        let mut failing = false;
        loop {
            let changed = match &mut feed {
                Feed::Revision(r) => match ask(&c, env, *r) {
                    Ok((m, changed)) => {
                        *r = m.max(*r);
                        Ok(changed)
                    }
                    Err(e) if e.code == Exit::NotFound => {
                        feed = polling(&c, env);
                        Ok(false)
                    }
                    Err(e) => Err(e),
                },
                Feed::Polling(last) => {
                    std::thread::sleep(POLL);
                    fetch_values(&c, env).map(|vars| {
                        let now = fingerprint(&vars);
                        std::mem::replace(last, now) != now
                    })
                }
            };
            match changed {
                Ok(true) => {
                    failing = false;
                    if tx.send(()).is_err() {
                        return;
                    }
                }
                Ok(false) => failing = false,
                Err(e) => {
                    if !failing {
                        eprintln!(
                            "warning: watching environment {env}: {}; the command keeps running",
                            e.message
                        );
                    }
                    failing = true;
                    std::thread::sleep(POLL);
                }
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_fingerprint_changes_with_any_key_or_value_and_not_otherwise() {
        let a = [("AB".to_string(), "C".to_string())].into();
        let b = [("A".to_string(), "BC".to_string())].into();
        let a2 = [("AB".to_string(), "C".to_string())].into();
        assert_ne!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a), fingerprint(&a2));
    }
}
