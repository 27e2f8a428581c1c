//! Operator commands: what only whoever can reach the data directory may do. A running server
//! listens on `<data-dir>/admin.sock` (a Unix socket, mode 0600, never a TCP port), and
//! `keynest backup` asks it there for a consistent backup without stopping it; `keynest
//! restore` rebuilds a data directory from a backup file while no server runs on it.

use crate::http::error::ApiError;
use actix_web::{web, HttpResponse, ResponseError};
use clap::Args;
use keynest_actors::crypto::{Keyring, MasterKey};
use keynest_actors::Keynest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The admin socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// The admin channel's routes (served only on the Unix socket).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup", web::post().to(backup));
}

#[derive(serde::Deserialize)]
struct BackupRequest {
    output: PathBuf,
}

async fn backup(kn: web::Data<Keynest>, req: web::Json<BackupRequest>) -> HttpResponse {
    let started = std::time::Instant::now();
    match kn.backup_to(req.into_inner().output).await {
        Ok(s) => {
            let seconds = started.elapsed().as_secs_f64();
            log::info!(
                "backup written: {} records, {} bytes, {seconds:.2} s",
                s.records,
                s.bytes
            );
            HttpResponse::Ok().json(serde_json::json!({
                "records": s.records, "bytes": s.bytes, "seconds": seconds
            }))
        }
        Err(e) => ApiError::from(e).error_response(),
    }
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The data directory of the running server (its admin socket is there).
    #[arg(long, env = "KEYNEST_DATA_DIR", default_value = "./keynest-data")]
    pub data_dir: PathBuf,
    /// The backup file to create (it must not exist).
    #[arg(long)]
    pub output: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// The backup file.
    #[arg(long)]
    pub input: PathBuf,
    /// A new data directory to rebuild (no store in it yet); start the server on it afterwards.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The master key the backup was made under, as a file of 64 hex characters (else
    /// KEYNEST_MASTER_KEY). It is copied into the new data directory as master.key.
    #[arg(long, env = "KEYNEST_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
}

/// One request over the admin socket; the answer's status and body.
#[cfg(unix)]
fn admin_request(
    data_dir: &Path,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let socket = socket_path(data_dir);
    let mut conn = std::os::unix::net::UnixStream::connect(&socket).map_err(|e| {
        format!(
            "cannot reach the server's admin socket {} ({e}); is `keynest serve` running on this data directory?",
            socket.display()
        )
    })?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: admin\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    conn.read_to_string(&mut answer)
        .map_err(|e| e.to_string())?;
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the admin socket gave no HTTP answer")?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// `keynest backup`.
pub fn run_backup(args: BackupArgs) -> Result<(), String> {
    #[cfg(not(unix))]
    return Err("backups need the admin socket, which needs a Unix system".into());
    #[cfg(unix)]
    {
        let output = std::path::absolute(&args.output).map_err(|e| e.to_string())?;
        let body = serde_json::json!({ "output": output }).to_string();
        let (status, answer) = admin_request(&args.data_dir, "POST", "/backup", &body)?;
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        if status != 200 {
            return Err(format!("backup refused ({status}): {}", v["details"]));
        }
        println!(
            "backup written to {}: {} records, {} bytes, {:.2} s",
            output.display(),
            v["records"],
            v["bytes"],
            v["seconds"].as_f64().unwrap_or_default()
        );
        Ok(())
    }
}

/// `keynest restore`.
pub fn run_restore(args: RestoreArgs) -> Result<(), String> {
    let (master, key_file) = match (&args.master_key_file, std::env::var("KEYNEST_MASTER_KEY")) {
        (Some(path), _) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            let key = MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            (key, Some(text))
        }
        (None, Ok(hex)) => {
            let hex = zeroize::Zeroizing::new(hex);
            let key = MasterKey::from_hex(&hex).map_err(|e| format!("KEYNEST_MASTER_KEY: {e}"))?;
            (key, None)
        }
        (None, Err(_)) => {
            return Err("give the master key the backup was made under (--master-key-file or KEYNEST_MASTER_KEY)".into())
        }
    };
    let keyring = Keyring::new(&master);
    crate::config::prepare_data_dir(&args.data_dir)?;
    let file =
        std::fs::File::open(&args.input).map_err(|e| format!("{}: {e}", args.input.display()))?;
    let summary =
        keynest_actors::backup::restore(std::io::BufReader::new(file), &keyring, &args.data_dir)
            .map_err(|e| match e {
                keynest_actors::error::DomainError::Invalid(f) => {
                    f.0.values()
                        .flatten()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(" ")
                }
                other => other.to_string(),
            })?;
    if let Some(text) = key_file {
        let path = args.data_dir.join("master.key");
        keynest_actors::crypto::write_private(
            &path,
            text.trim().as_bytes(),
            keynest_actors::crypto::IfExists::Fail,
        )
        .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!(
        "restored {} records into {}; start the server on it with --data-dir",
        summary.records,
        args.data_dir.display()
    );
    Ok(())
}
