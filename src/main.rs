//! The `keynest` command line: `keynest serve` runs the server; the other commands are a client
//! of a running server's HTTP API (see `keynest --help`).
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use keynest::config::{warn_unknown_vars, ServeArgs};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "keynest",
    version,
    about = "KeyNest: a self-hosted secrets manager in one small binary",
    after_help = "Exit codes: 0 ok, 1 refused by the server, 2 usage, 3 authentication or permission, 4 not found, 5 server or network."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (data under --data-dir, API on --bind).
    Serve(Box<ServeArgs>),
    /// Write a consistent backup of a running server (through its data dir's admin socket).
    Backup(keynest::operator::BackupArgs),
    /// Replace the master key of a running server (through its data dir's admin socket).
    RotateMasterKey(keynest::operator::RotateMasterKeyArgs),
    /// Rebuild a new data directory from a backup (no server running on it).
    Restore(keynest::operator::RestoreArgs),
    /// Copy a whole installation between stores (sled:DIR <-> etcd:ENDPOINTS), verified.
    Migrate(keynest::operator::MigrateArgs),
    #[command(flatten)]
    Client(keynest::cli::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Backup(args) => operator(keynest::operator::run_backup(args)),
        Command::RotateMasterKey(args) => operator(keynest::operator::run_rotate_master_key(args)),
        Command::Restore(args) => operator(keynest::operator::run_restore(args)),
        Command::Migrate(args) => operator(keynest::operator::run_migrate(args)),
        Command::Client(cmd) => match keynest::cli::execute(cmd) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("error: {}", e.message);
                ExitCode::from(e.code)
            }
        },
    }
}

fn operator(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[actix_web::main]
async fn serve(args: ServeArgs) -> ExitCode {
    let mut logger = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,sled=warn"),
    );
    if args.json_log() {
        logger.format(json_line);
    }
    logger.init();
    warn_unknown_vars();
    match keynest::server::serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `KEYNEST_LOG_FORMAT=json`: one object per line with `timestamp`, `level`, `target` and
/// `message`, plus the fields a line carries (the request line: `method`, `route`, `path`,
/// `status`, `duration_us`, `request_id`). Numbers stay numbers.
fn json_line(buf: &mut env_logger::fmt::Formatter, record: &log::Record) -> std::io::Result<()> {
    use serde_json::{Map, Value};
    use std::io::Write;

    struct Fields<'a>(&'a mut Map<String, Value>);
    impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
        fn visit_pair(
            &mut self,
            key: log::kv::Key<'kvs>,
            value: log::kv::Value<'kvs>,
        ) -> Result<(), log::kv::Error> {
            let value = match (value.to_u64(), value.to_i64(), value.to_bool()) {
                (Some(n), _, _) => Value::from(n),
                (None, Some(n), _) => Value::from(n),
                (None, None, Some(b)) => Value::from(b),
                _ => Value::from(value.to_string()),
            };
            // A field never replaces one of the four every line has.
            self.0.entry(key.as_str()).or_insert(value);
            Ok(())
        }
    }

    let mut line = Map::new();
    line.insert(
        "timestamp".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
            .into(),
    );
    line.insert("level".into(), record.level().as_str().into());
    line.insert("target".into(), record.target().into());
    line.insert("message".into(), record.args().to_string().into());
    let _ = record.key_values().visit(&mut Fields(&mut line));
    serde_json::to_writer(&mut *buf, &line)?;
    writeln!(buf)
}
