//! Operator commands: what only whoever can reach the data directory may do. A running server
//! listens on `<data-dir>/admin.sock` (a Unix socket, mode 0600, never a TCP port), and
//! `keynest backup` asks it there for a consistent backup without stopping it; `keynest
//! rotate-master-key` replaces the master key of the running server; `keynest restore` rebuilds
//! a data directory from a backup file while no server runs on it.

use crate::http::error::ApiError;
use actix_web::{web, HttpResponse, ResponseError};
use clap::Args;
use keynest_actors::crypto::{KeyFiles, Keyring, MasterKey};
use keynest_actors::error::DomainError;
use keynest_actors::Keynest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The admin socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.sock")
}

/// The admin channel's routes (served only on the Unix socket).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/backup", web::post().to(backup))
        .route("/rotate-master-key", web::post().to(rotate_master_key));
}

/// Where the running server's master key came from (as `ServeArgs::master_key` reads it), which
/// decides where a new one goes.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `KEYNEST_MASTER_KEY`: only the operator can change it.
    Env,
    /// `--master-key-file`: the operator's file (often a mounted secret), not ours to rewrite.
    File(PathBuf),
    /// `<data-dir>/master.key`, which the server owns.
    DataDir(KeyFiles),
}

impl KeySource {
    pub fn of(args: &crate::config::ServeArgs) -> KeySource {
        if std::env::var_os("KEYNEST_MASTER_KEY").is_some() {
            KeySource::Env
        } else if let Some(path) = &args.master_key_file {
            KeySource::File(path.clone())
        } else {
            KeySource::DataDir(KeyFiles::in_dir(&args.data_dir))
        }
    }
}

/// Test builds only: `KEYNEST_TEST_FAILPOINT=rotate:<point>` aborts the process at that point of
/// a master-key rotation, so the tests can prove a crash there loses nothing.
fn failpoint(point: &str) {
    if cfg!(debug_assertions)
        && std::env::var("KEYNEST_TEST_FAILPOINT").is_ok_and(|v| v == format!("rotate:{point}"))
    {
        log::error!("failpoint rotate:{point}: aborting");
        std::process::abort();
    }
}

#[derive(serde::Deserialize)]
struct RotateMasterKeyRequest {
    /// A file holding the new key (64 hex characters); else a new random key.
    new_key_file: Option<PathBuf>,
}

/// One master-key rotation at a time (a second one would overwrite the first's pending key).
static ROTATING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

async fn rotate_master_key(
    kn: web::Data<Keynest>,
    source: web::Data<KeySource>,
    req: web::Json<RotateMasterKeyRequest>,
) -> HttpResponse {
    use std::sync::atomic::Ordering;
    if ROTATING.swap(true, Ordering::SeqCst) {
        let busy = DomainError::Conflict(keynest_actors::error::Details::Text(
            "A master-key rotation is already running.".into(),
        ));
        return ApiError::from(busy).error_response();
    }
    let result = rotate(&kn, &source, req.into_inner()).await;
    ROTATING.store(false, Ordering::SeqCst);
    match result {
        Ok(answer) => HttpResponse::Ok().json(answer),
        Err(e) => ApiError::from(e).error_response(),
    }
}

/// The order is what makes a crash at any point safe: the new key is on disk (synced) before
/// the store is re-sealed, and put in place of the old one only once the re-sealed store is
/// durable; `Keynest::open` settles whichever state a crash left (see `crypto::KeyFiles`).
async fn rotate(
    kn: &Keynest,
    source: &KeySource,
    req: RotateMasterKeyRequest,
) -> Result<serde_json::Value, DomainError> {
    let new = match (&req.new_key_file, source) {
        (Some(path), _) => {
            let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                DomainError::invalid("new_key_file", format!("{}: {e}", path.display()))
            })?);
            MasterKey::from_hex(&text).map_err(|e| {
                DomainError::invalid("new_key_file", format!("{}: {e}", path.display()))
            })?
        }
        (None, KeySource::DataDir(_)) => MasterKey::generate()?,
        (None, KeySource::Env | KeySource::File(_)) => {
            return Err(DomainError::invalid(
                "new_key_file",
                "This server's master key comes from KEYNEST_MASTER_KEY or --master-key-file, \
                 which it cannot change: give the new key with --new-key-file, then update your \
                 secret store with it.",
            ))
        }
    };
    let files = match source {
        KeySource::DataDir(files) => Some(files.clone()),
        _ => None,
    };
    if let Some(files) = &files {
        files
            .write_pending(&new)
            .map_err(|e| DomainError::internal("cannot write the new master key", e))?;
    }
    failpoint("after-new-key-file");
    let data_keys = kn.rotate_master_key(new).await?;
    failpoint("after-batch");
    log::warn!(
        "master key rotated: {data_keys} data keys re-sealed; the old key opens nothing here"
    );
    let (key_file, next) = match (&files, source) {
        (Some(files), _) => {
            // Should this fail, the next start finds the pending key and puts it in place.
            files.promote().map_err(|e| {
                DomainError::internal("the store is re-sealed but master.key.new stays pending", e)
            })?;
            failpoint("after-rename");
            (
                Some(files.current.clone()),
                "The new key is in place; back it up. Backups made before keep needing the old key.",
            )
        }
        (None, KeySource::Env) => (
            None,
            "Set KEYNEST_MASTER_KEY to the new key before the next start (the old one is refused now).",
        ),
        (None, _) => (
            None,
            "Replace the --master-key-file with the new key before the next start (the old one is refused now).",
        ),
    };
    Ok(serde_json::json!({ "data_keys": data_keys, "key_file": key_file, "next": next }))
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
pub struct RotateMasterKeyArgs {
    /// The data directory of the running server (its admin socket is there).
    #[arg(long, env = "KEYNEST_DATA_DIR", default_value = "./keynest-data")]
    pub data_dir: PathBuf,
    /// A file holding the new master key (64 hex characters). Required when the server's key
    /// comes from KEYNEST_MASTER_KEY or --master-key-file; without it, a new random key replaces
    /// <data-dir>/master.key.
    #[arg(long)]
    pub new_key_file: Option<PathBuf>,
    /// `etcd`: rotate the key of an etcd installation directly in etcd, with every node stopped
    /// (a running node refuses the rotation); needs --new-key-file and the old key
    /// (--master-key-file or KEYNEST_MASTER_KEY). `sled` (default): ask the running server.
    /// Only this flag chooses it (not KEYNEST_STORE, which a node's environment may hold).
    #[arg(long, default_value = "sled", value_parser = ["sled", "etcd"])]
    pub store: String,
    /// With `--store etcd`: the current master key, as a file of 64 hex characters (else
    /// KEYNEST_MASTER_KEY).
    #[arg(long)]
    pub master_key_file: Option<PathBuf>,
    #[command(flatten)]
    pub etcd: crate::config::EtcdArgs,
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
    /// `etcd` restores into an etcd prefix no installation uses yet (the data dir then only
    /// receives master.key); `sled` (default) into the data dir.
    #[arg(long, env = "KEYNEST_STORE", default_value = "sled", value_parser = ["sled", "etcd"])]
    pub store: String,
    #[command(flatten)]
    pub etcd: crate::config::EtcdArgs,
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The installation to copy: `sled:DIR` (a data dir no server runs on) or
    /// `etcd:URL[,URL...]` (stop its nodes first).
    #[arg(long)]
    pub from: String,
    /// Where to copy it (an empty store): `etcd:URL[,URL...]` or `sled:DIR`.
    #[arg(long)]
    pub to: String,
    /// The etcd key prefix of the etcd side.
    #[arg(long, env = "KEYNEST_ETCD_PREFIX", default_value = "keynest/")]
    pub etcd_prefix: String,
}

/// `keynest migrate`: copy every record (values stay sealed), then compare counts and a
/// SHA-256 per organization and per kind of record on both sides.
pub fn run_migrate(args: MigrateArgs) -> Result<(), String> {
    let open = |spec: &str, target: bool| -> Result<keynest_actors::store::Store, String> {
        let opened = match spec.split_once(':') {
            Some(("sled", dir)) => {
                let dir = PathBuf::from(dir);
                if !target && !dir.join("db").exists() {
                    return Err(format!("{}: no store here", dir.display()));
                }
                if target {
                    crate::config::prepare_data_dir(&dir)?;
                }
                keynest_actors::store::Store::open(&dir)
            }
            Some(("etcd", urls)) => {
                let endpoints: Vec<String> = urls.split(',').map(str::to_string).collect();
                keynest_actors::store::Store::open_etcd(&endpoints, &args.etcd_prefix)
            }
            _ => return Err(format!("{spec}: expected sled:DIR or etcd:URL[,URL...]")),
        };
        opened.map_err(|e| format!("{spec}: {e}"))
    };
    let (from, to) = (open(&args.from, false)?, open(&args.to, true)?);
    let started = std::time::Instant::now();
    let done = keynest_actors::migrate::migrate(&from, &to).map_err(operator_message)?;
    for (group, t) in &done.tallies {
        println!(
            "{group:<16} {:>10} records  sha256 {}",
            t.records,
            hex::encode(t.sha256)
        );
    }
    println!(
        "migrated {} records from {} to {} in {:.1} s; verified: every count and checksum above matches on both sides. Start the servers on the new store with the same master key.",
        done.records,
        args.from,
        args.to,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A refusal for the operator's terminal: a validation error's messages, else the error.
fn operator_message(e: DomainError) -> String {
    match e {
        DomainError::Invalid(f) => {
            f.0.values()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        }
        other => other.to_string(),
    }
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

/// `keynest rotate-master-key`.
pub fn run_rotate_master_key(args: RotateMasterKeyArgs) -> Result<(), String> {
    if args.store == "etcd" {
        return rotate_etcd_offline(&args);
    }
    #[cfg(not(unix))]
    return Err("the admin socket needs a Unix system".into());
    #[cfg(unix)]
    {
        let new_key_file = args
            .new_key_file
            .as_deref()
            .map(std::path::absolute)
            .transpose()
            .map_err(|e| e.to_string())?;
        let body = serde_json::json!({ "new_key_file": new_key_file }).to_string();
        let (status, answer) = admin_request(&args.data_dir, "POST", "/rotate-master-key", &body)?;
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
        if status != 200 {
            return Err(format!("rotation refused ({status}): {}", v["details"]));
        }
        println!("master key rotated: {} data keys re-sealed", v["data_keys"]);
        if let Some(path) = v["key_file"].as_str() {
            println!("the new key is in {path}");
        }
        println!("{}", v["next"].as_str().unwrap_or_default());
        Ok(())
    }
}

/// `keynest rotate-master-key --store etcd`: every node is stopped (each holds the key in
/// memory); the data keys, check value and records key are sealed again in etcd in one
/// transaction, which applies only if none of them changed since they were read.
fn rotate_etcd_offline(args: &RotateMasterKeyArgs) -> Result<(), String> {
    let old = read_master_key(args.master_key_file.as_deref())?;
    let Some(path) = &args.new_key_file else {
        return Err(
            "--store etcd needs --new-key-file (the key every node will start with)".into(),
        );
    };
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
    );
    let new = MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let store = args.etcd.open()?;
    let data_keys = Keynest::rotate_master_key_offline(&store, &old, &new)?;
    println!("master key rotated: {data_keys} data keys re-sealed");
    println!(
        "Start every node with the new key ({}); the old one is refused now.",
        path.display()
    );
    Ok(())
}

/// The master key in `file`, else in KEYNEST_MASTER_KEY.
fn read_master_key(file: Option<&Path>) -> Result<MasterKey, String> {
    match (file, std::env::var("KEYNEST_MASTER_KEY")) {
        (Some(path), _) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?,
            );
            MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()))
        }
        (None, Ok(hex)) => {
            let hex = zeroize::Zeroizing::new(hex);
            MasterKey::from_hex(&hex).map_err(|e| format!("KEYNEST_MASTER_KEY: {e}"))
        }
        (None, Err(_)) => {
            Err("give the current master key (--master-key-file or KEYNEST_MASTER_KEY)".into())
        }
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
    let input = std::io::BufReader::new(file);
    let restored = match args.store.as_str() {
        "etcd" => keynest_actors::backup::restore_to(input, &keyring, || {
            keynest_actors::store::Store::open_etcd(&args.etcd.endpoints, &args.etcd.prefix)
        }),
        _ => keynest_actors::backup::restore(input, &keyring, &args.data_dir),
    };
    let summary = restored.map_err(operator_message)?;
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
