//! Settings from flags and `KEYNEST_*` environment variables, read once at start. The master key
//! is read here but never through clap (clap would print an env value in `--help`).

use crate::http::ratelimit::{Rate, RateSettings};
use clap::Args;
use keynest_actors::crypto::MasterKey;
use keynest_actors::model::SessionPolicy;
use keynest_actors::org::Quotas;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
use zeroize::Zeroizing;

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "KEYNEST_BIND", default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// Where the store and the generated master key live.
    #[arg(long, env = "KEYNEST_DATA_DIR", default_value = "./keynest-data")]
    pub data_dir: PathBuf,
    /// Where clients reach the server (e.g. https://keynest.example.com), for the absolute links
    /// in paged lists; without it they name the address the connection arrived on.
    #[arg(long, env = "KEYNEST_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Browser origins allowed to call the API from other sites (comma-separated, e.g.
    /// `https://app.example.com`; `*` for any). None by default: same-origin use needs none.
    #[arg(long, env = "KEYNEST_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Peers whose X-Forwarded-For header is believed (comma-separated IPs).
    #[arg(long, env = "KEYNEST_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// HTTP workers and organization arbiters (default: one per core).
    #[arg(long, env = "KEYNEST_WORKERS")]
    pub workers: Option<usize>,
    /// Authenticated requests per user (N/second|minute|hour|day).
    #[arg(long, env = "KEYNEST_RATE_USER", default_value = "1000/hour")]
    pub rate_user: Rate,
    /// Unauthenticated requests per client address.
    #[arg(long, env = "KEYNEST_RATE_ANON", default_value = "100/hour")]
    pub rate_anon: Rate,
    /// Burst limit per caller (user, or address when unauthenticated).
    #[arg(long, env = "KEYNEST_RATE_BURST", default_value = "50/minute")]
    pub rate_burst: Rate,
    /// Register and login attempts per client address.
    #[arg(long, env = "KEYNEST_RATE_AUTH", default_value = "5/minute")]
    pub rate_auth: Rate,
    /// Failed logins per target account, from any address.
    #[arg(long, env = "KEYNEST_RATE_LOGIN_ACCOUNT", default_value = "10/hour")]
    pub rate_login_account: Rate,
    /// Seconds a client has to send a request's head once connected.
    #[arg(long, env = "KEYNEST_HEADER_TIMEOUT", default_value_t = 10)]
    pub header_timeout: u64,
    /// Seconds a client has to send a request's whole body once its head has arrived.
    #[arg(long, env = "KEYNEST_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Requests one client address may have in progress at once (each holds a connection).
    #[arg(long, env = "KEYNEST_MAX_REQUESTS_PER_CLIENT", default_value_t = 64)]
    pub max_requests_per_client: u32,
    /// Variables one environment may hold.
    #[arg(
        long,
        env = "KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT",
        default_value_t = 10_000
    )]
    pub max_variables_per_environment: u64,
    /// Environments one project may hold.
    #[arg(
        long,
        env = "KEYNEST_MAX_ENVIRONMENTS_PER_PROJECT",
        default_value_t = 100
    )]
    pub max_environments_per_project: u64,
    /// Organizations one user may belong to (their own included).
    #[arg(
        long,
        env = "KEYNEST_MAX_ORGANIZATIONS_PER_USER",
        default_value_t = 100
    )]
    pub max_organizations_per_user: u64,
    /// MiB of sealed values, history included, one organization may keep.
    #[arg(long, env = "KEYNEST_MAX_MIB_PER_ORGANIZATION", default_value_t = 256)]
    pub max_mib_per_organization: u64,
    /// `off` switches every rate limit off (for benchmarks).
    #[arg(long, env = "KEYNEST_RATE_LIMIT", default_value = "on", value_parser = ["on", "off"])]
    pub rate_limit: String,
    /// End a login session unused for this long (`30m`, `12h`, `30d`, `45s`; `off`: never).
    #[arg(long, env = "KEYNEST_SESSION_IDLE_TIMEOUT", default_value = "off")]
    pub session_idle_timeout: Lifetime,
    /// End a login session this long after it began, however much it is used (`off`: never).
    #[arg(long, env = "KEYNEST_SESSION_MAX_AGE", default_value = "off")]
    pub session_max_age: Lifetime,
    /// Address of the operator's listener serving Prometheus metrics at GET /metrics (e.g.
    /// 127.0.0.1:9100); off when unset. The API's address never serves them.
    #[arg(long, env = "KEYNEST_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// `text` (a line per event) or `json` (one JSON object per line).
    #[arg(long, env = "KEYNEST_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// A file holding the master key as 64 hex characters (else KEYNEST_MASTER_KEY, else
    /// <data-dir>/master.key, created on first start).
    #[arg(long, env = "KEYNEST_MASTER_KEY_FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Where the records live: `sled` (embedded, under the data dir; one node) or `etcd`
    /// (several stateless nodes sharing an etcd cluster: see "Running several nodes").
    #[arg(long, env = "KEYNEST_STORE", default_value = "sled", value_parser = ["sled", "etcd"])]
    pub store: String,
    #[command(flatten)]
    pub etcd: EtcdArgs,
}

/// Where an etcd installation is: `serve`, `restore` and `rotate-master-key` take the same two
/// settings.
#[derive(Debug, Clone, Args)]
pub struct EtcdArgs {
    /// etcd client URLs, comma-separated (with `--store etcd`).
    #[arg(
        long = "etcd-endpoints",
        env = "KEYNEST_ETCD_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    pub endpoints: Vec<String>,
    /// The etcd key prefix this installation's records live under (several installations may
    /// share one etcd cluster under different prefixes).
    #[arg(
        long = "etcd-prefix",
        env = "KEYNEST_ETCD_PREFIX",
        default_value = "keynest/"
    )]
    pub prefix: String,
}

impl EtcdArgs {
    pub fn open(&self) -> Result<keynest_actors::store::Store, String> {
        keynest_actors::store::Store::open_etcd(&self.endpoints, &self.prefix)
            .map_err(|e| e.to_string())
    }
}

const MASTER_KEY_VAR: &str = "KEYNEST_MASTER_KEY";

/// Every `KEYNEST_*` variable the server or the client reads; others are warned about.
pub const KNOWN_VARS: &[&str] = &[
    "KEYNEST_BIND",
    "KEYNEST_DATA_DIR",
    "KEYNEST_TRUSTED_PROXIES",
    "KEYNEST_PUBLIC_URL",
    "KEYNEST_CORS_ORIGINS",
    "KEYNEST_WORKERS",
    "KEYNEST_MASTER_KEY",
    "KEYNEST_MASTER_KEY_FILE",
    "KEYNEST_STORE",
    "KEYNEST_ETCD_ENDPOINTS",
    "KEYNEST_ETCD_PREFIX",
    "KEYNEST_RATE_USER",
    "KEYNEST_RATE_ANON",
    "KEYNEST_RATE_BURST",
    "KEYNEST_RATE_AUTH",
    "KEYNEST_RATE_LOGIN_ACCOUNT",
    "KEYNEST_RATE_LIMIT",
    "KEYNEST_MAX_VARIABLES_PER_ENVIRONMENT",
    "KEYNEST_MAX_ENVIRONMENTS_PER_PROJECT",
    "KEYNEST_MAX_ORGANIZATIONS_PER_USER",
    "KEYNEST_MAX_MIB_PER_ORGANIZATION",
    "KEYNEST_HEADER_TIMEOUT",
    "KEYNEST_BODY_TIMEOUT",
    "KEYNEST_MAX_REQUESTS_PER_CLIENT",
    "KEYNEST_SESSION_IDLE_TIMEOUT",
    "KEYNEST_SESSION_MAX_AGE",
    "KEYNEST_METRICS_BIND",
    "KEYNEST_LOG_FORMAT",
    "KEYNEST_URL",
    "KEYNEST_TOKEN",
    // Read by debug builds only, by the master-key rotation's crash tests.
    "KEYNEST_TEST_FAILPOINT",
];

pub fn warn_unknown_vars() {
    for (name, value) in std::env::vars_os() {
        // `vars_os` copies every value, the master key's too: zeroize each copy.
        drop(Zeroizing::new(value.into_encoded_bytes()));
        let name = name.to_string_lossy();
        if name.starts_with("KEYNEST_") && !KNOWN_VARS.contains(&name.as_ref()) {
            log::warn!("ignoring unknown setting {name}");
        }
    }
}

impl ServeArgs {
    /// The limits, or `None` when switched off.
    pub fn rate_settings(&self) -> Option<RateSettings> {
        (self.rate_limit != "off").then_some(RateSettings {
            user: self.rate_user,
            anon: self.rate_anon,
            burst: self.rate_burst,
            auth: self.rate_auth,
            login_account: self.rate_login_account,
        })
    }

    pub fn quotas(&self) -> Quotas {
        Quotas {
            variables_per_environment: self.max_variables_per_environment,
            environments_per_project: self.max_environments_per_project,
            organizations_per_user: self.max_organizations_per_user,
            bytes_per_organization: self.max_mib_per_organization.saturating_mul(1024 * 1024),
        }
    }

    /// The lifetimes login sessions are held to (none by default: tokens live until revoked).
    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            idle_timeout: self.session_idle_timeout.0,
            max_age: self.session_max_age.0,
        }
    }

    /// Where metrics are served, or `None` when they are off (unset or empty).
    pub fn metrics_bind(&self) -> Option<&str> {
        self.metrics_bind
            .as_deref()
            .filter(|b| !b.trim().is_empty())
    }

    pub fn json_log(&self) -> bool {
        self.log_format == "json"
    }

    pub fn workers(&self) -> usize {
        self.workers
            .filter(|&w| w > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// The store these settings name.
    pub fn store_location(&self) -> keynest_actors::store::Location {
        match self.store.as_str() {
            "etcd" => keynest_actors::store::Location::Etcd {
                endpoints: self.etcd.endpoints.clone(),
                prefix: self.etcd.prefix.clone(),
            },
            _ => keynest_actors::store::Location::Sled,
        }
    }

    /// The master key: `KEYNEST_MASTER_KEY`, else the key file, else `<data-dir>/master.key`,
    /// created (0600) on the first start of an empty data dir. A data dir that already holds a
    /// store but no key is refused rather than given a new key that could not open it.
    ///
    /// `KEYNEST_MASTER_KEY` is taken out of the environment as it is read (see `forget_env`),
    /// and every copy of its text is zeroized. A key file that others may read is warned about.
    pub fn master_key(&self) -> Result<MasterKey, String> {
        if let Some(raw) = std::env::var_os(MASTER_KEY_VAR) {
            forget_env(MASTER_KEY_VAR);
            let raw = Zeroizing::new(raw.into_encoded_bytes());
            // Not UTF-8 is refused like any other malformed key, not skipped for the key file.
            return std::str::from_utf8(&raw)
                .map_err(|_| "the master key must be 64 hex characters".to_string())
                .and_then(MasterKey::from_hex)
                .map_err(|e| format!("{MASTER_KEY_VAR}: {e}"));
        }
        if let Some(path) = &self.master_key_file {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?,
            );
            warn_if_exposed(path);
            return MasterKey::from_hex(&text).map_err(|e| format!("{}: {e}", path.display()));
        }
        let path = self.data_dir.join("master.key");
        if !path.exists() && self.data_dir.join("db").exists() {
            return Err(format!(
                "{} holds a store but no master.key; give the key it was created with \
                 (KEYNEST_MASTER_KEY or KEYNEST_MASTER_KEY_FILE)",
                self.data_dir.display()
            ));
        }
        let (key, created) = MasterKey::load_or_create(&path)?;
        if created {
            log::warn!(
                "created a new master key in {} (mode 0600); back it up, without it the data cannot be read",
                path.display()
            );
        } else {
            warn_if_exposed(&path);
        }
        Ok(key)
    }
}

/// A session lifetime: a whole number and a unit, `s`, `m`, `h` or `d` (`90s`, `30m`, `12h`,
/// `30d`), or `off` for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime(pub Option<Duration>);

impl FromStr for Lifetime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}`: use a number and a unit (45s, 30m, 12h, 30d), or off");
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(Lifetime(None));
        }
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (n, unit) = s.split_at(split);
        let n: u64 = n.parse().map_err(|_| bad())?;
        let secs = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            _ => return Err(bad()),
        };
        match n.checked_mul(secs) {
            Some(0) => Err(format!(
                "`{s}`: a lifetime must be longer than zero (or off)"
            )),
            Some(total) => Ok(Lifetime(Some(Duration::from_secs(total)))),
            None => Err(bad()),
        }
    }
}

/// Create the data dir, readable by its owner only.
pub fn prepare_data_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Warn when the master key file may be read or written by its group or others: anyone who can
/// read it can decrypt the store. A warning, not a refusal, so that a server does not stay down
/// over a mode; the fix is named, the key never is.
fn warn_if_exposed(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => log::warn!(
                "the master key file {} can be read or written by group or others (mode {:03o}); \
                 restrict it to its owner: chmod 600 {}",
                path.display(),
                meta.permissions().mode() & 0o777,
                path.display()
            ),
            Ok(_) => {}
            Err(e) => log::warn!("cannot check the mode of {}: {e}", path.display()),
        }
    }
}

/// Take `name` out of the process's environment, so that no child process, crash report or
/// later `std::env::vars` sees it.
///
/// `remove_var` is a safe function in edition 2021 (2024 makes it `unsafe` because C code in
/// another thread may be reading the environment at the same moment); this runs at start, before
/// the store, the workers or any other thread exist, so nothing reads it concurrently.
///
/// `remove_var` only unlinks the entry from libc's `environ`: its text stays in the block the
/// kernel wrote at exec, and that block is what `/proc/<pid>/environ` and a core dump show. On
/// Linux that text is overwritten too (`scrub_exec_environ`).
fn forget_env(name: &str) {
    std::env::remove_var(name);
    #[cfg(target_os = "linux")]
    if let Err(e) = scrub_exec_environ(name) {
        log::warn!(
            "{name} was removed from the environment, but its text could not be cleared from \
             the process's original environment block ({e}): /proc/<pid>/environ still shows it \
             to this user and root. Prefer KEYNEST_MASTER_KEY_FILE."
        );
    }
}

/// Overwrite every `name=...` entry of the environment block the kernel placed in this process
/// at exec (`env_start`..`env_end` in `/proc/self/stat`) with zero bytes, through
/// `/proc/self/mem`.
///
/// This needs no `unsafe`, but a write through `/proc/self/mem` is outside what the compiler
/// checks, so here is why it is sound: no Rust value points into that block (`std::env` copies
/// what it reads), libc's `environ` no longer points at these entries once `remove_var` has run,
/// and no other thread exists yet; the bytes written are memory that nothing in the process
/// reads again. The rest of the block (other variables, their order) is left as it is.
#[cfg(target_os = "linux")]
fn scrub_exec_environ(name: &str) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind, Read, Seek, SeekFrom, Write};
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses and may hold spaces: the first one
    // there is field 3 (proc(5)), so env_start (50) and env_end (51) are the 48th and 49th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| -> std::io::Result<u64> {
        fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidData,
                "no env_start/env_end in /proc/self/stat",
            )
        })
    };
    let (start, end) = (field(47)?, field(48)?);
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| Error::new(ErrorKind::InvalidData, "environment block too large"))?;
    let mut mem = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/proc/self/mem")?;
    let mut block = Zeroizing::new(vec![0u8; len]);
    mem.seek(SeekFrom::Start(start))?;
    mem.read_exact(&mut block)?;
    let prefix = [name.as_bytes(), b"="].concat();
    let mut offset = 0;
    for entry in block.split(|&b| b == 0) {
        if entry.starts_with(&prefix) {
            mem.seek(SeekFrom::Start(start + offset as u64))?;
            mem.write_all(&vec![0u8; entry.len()])?;
        }
        offset += entry.len() + 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_a_number_and_a_unit_or_off() {
        let ok = [
            ("off", None),
            ("OFF", None),
            ("45s", Some(45)),
            ("30m", Some(1_800)),
            ("12h", Some(43_200)),
            ("30d", Some(2_592_000)),
        ];
        for (text, secs) in ok {
            let want = Lifetime(secs.map(Duration::from_secs));
            assert_eq!(text.parse::<Lifetime>(), Ok(want), "{text}");
        }
        for text in [
            "",
            "30",
            "m",
            "-5m",
            "1.5h",
            "30 m",
            "30min",
            "0s",
            "99999999999999999d",
        ] {
            assert!(
                text.parse::<Lifetime>().is_err(),
                "{text:?} should be refused"
            );
        }
    }
}
