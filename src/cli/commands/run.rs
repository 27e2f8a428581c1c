//! `keynest run`: start a command with an environment's variables added to its environment,
//! pass stdin/stdout/stderr through, forward SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and exit
//! with its exit code (128 + the signal number when a signal ended it). Nothing is written to
//! disk (but the sealed `--fallback` copy) and no value is printed.
//!
//! The command gets the environment's variables, not the client's: the client's own credential
//! and settings (`config::CLIENT_VARS`, `KEYNEST_TOKEN` above all) are removed from what it
//! inherits, since a build script or a dependency it runs has no business with the user's token.
//! And whoever may write an environment's variables must not thereby choose the code the user
//! runs: a variable from the server named in `UNSAFE_ENV` (`PATH`, `LD_PRELOAD`, ...) is withheld
//! unless `--allow-unsafe-env NAME` asks for it, with one warning line naming what was withheld.
//! That list is a guard against the well-known takeovers, not a sandbox: the command still runs
//! with the values it asked for, and tools' own command variables (`GIT_SSH_COMMAND`, `PAGER`,
//! `EDITOR`) are left to the program that reads them.
//!
//! `--watch` restarts the command when the environment changes (`watch.rs` says how a change is
//! noticed): SIGTERM, up to `--grace` for it to stop, then SIGKILL, then the command again with
//! the new variables. Only the command itself is signalled, as a terminal's Ctrl-C would not be:
//! a program that starts others is expected to stop them when it stops. If the command ends on
//! its own, `keynest run --watch` ends with its exit code; a signal to `keynest` is passed on and
//! nothing is restarted after it. `--fallback` (see `fallback.rs`) keeps an encrypted copy of
//! what was fetched for when the server cannot be reached.

use super::resolve::{self, Wanted};
use super::{vars, watch, Ctx};
use crate::cli::args::RunArgs;
use crate::cli::config::CLIENT_VARS;
use crate::cli::fallback;
use crate::cli::output::escape;
use crate::cli::{CliError, Exit};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Names of server variables that could take over the command rather than configure it; a `*`
/// ends a prefix. Matched ignoring ASCII case: Windows names are case-insensitive, and a variable
/// named `ld_preload` is no one's legitimate configuration on Unix either.
pub const UNSAFE_ENV: &[&str] = &[
    // Which program runs: `sh` in `keynest run -- sh -c ...` is looked up in the new PATH, and so
    // is every program the command starts.
    "PATH",
    // The dynamic loaders: LD_PRELOAD, LD_AUDIT and LD_LIBRARY_PATH (glibc, musl) and their
    // DYLD_ twins (macOS) load a library of the value's choosing into every program; GCONV_PATH
    // makes glibc load iconv modules from a directory of its choosing.
    "LD_*",
    "DYLD_*",
    "GCONV_PATH",
    // Shells: bash sources $BASH_ENV (after running any `$(...)` in it) before every script, sh
    // does the same with $ENV in interactive shells; BASH_FUNC_* are exported functions that
    // replace commands by name; SHELLOPTS/BASHOPTS can turn on xtrace, which expands $PS4, `$(...)`
    // included, before each line; PROMPT_COMMAND runs before each prompt of `keynest run -- bash`.
    "BASH_ENV",
    "ENV",
    "BASH_FUNC_*",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    // Interpreters that load code named by the value before the program's own: modules from a
    // chosen directory (PYTHONPATH, PYTHONHOME, PERL5LIB, PERLLIB, RUBYLIB, NODE_PATH), startup
    // files and switches (PYTHONSTARTUP, PERL5OPT with PERL5DB, RUBYOPT's -r), `--require` or
    // `--import data:...` (NODE_OPTIONS), `-javaagent:` (the JVM's three option variables).
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PERL5LIB",
    "PERLLIB",
    "PERL5OPT",
    "PERL5DB",
    "RUBYLIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
];

/// Whether a variable of this name from the server is withheld unless allowed: a name in
/// `UNSAFE_ENV`, or one of the client's own settings (see `config::CLIENT_VARS`).
fn is_unsafe(name: &str) -> bool {
    let listed = |pattern: &&str| match pattern.strip_suffix('*') {
        Some(prefix) => name
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => name.eq_ignore_ascii_case(pattern),
    };
    UNSAFE_ENV.iter().chain(CLIENT_VARS.iter()).any(listed)
}

/// `keynest run`: fetch (or take from the fallback copy), start, and with `--watch` restart.
pub fn execute(ctx: &Ctx, args: RunArgs) -> Result<i32, CliError> {
    if args.command.is_empty() {
        return Err(CliError::usage("give the command to run after --"));
    }
    let wanted = resolve::wanted(&args.target, ctx.file())?;
    let source = Source {
        ctx,
        wanted,
        fallback: args.fallback.clone(),
        fallback_only: args.fallback_only,
    };
    let (env, vars) = source.load()?;
    let prepare = |vars: BTreeMap<String, String>| {
        prepare(
            vars,
            !args.no_override,
            &args.allow_unsafe_env,
            &args.command,
        )
    };
    let cmd = prepare(vars)?;
    if !args.watch {
        return supervise(cmd, None, |_| None);
    }
    let changes = watch::start(&ctx.client, env)?;
    supervise(cmd, Some((changes, args.grace)), |program| {
        eprintln!(
            "keynest: environment {env} changed, restarting {}",
            escape(program)
        );
        match source.load() {
            Ok((_, vars)) => prepare(vars).ok(),
            Err(e) => {
                eprintln!(
                    "warning: {}; starting {} again with the variables it had",
                    e.message,
                    escape(program)
                );
                None
            }
        }
    })
}

/// Where the variables come from: the server, the fallback copy, or the server with the copy
/// as a stand-in when it cannot be reached.
struct Source<'a> {
    ctx: &'a Ctx,
    wanted: Wanted,
    fallback: Option<PathBuf>,
    fallback_only: bool,
}

impl Source<'_> {
    fn load(&self) -> Result<(u64, BTreeMap<String, String>), CliError> {
        let c = &self.ctx.client;
        let token = c.require_token()?;
        let Some(path) = &self.fallback else {
            let env = resolve::environment(c, &self.wanted)?;
            return Ok((env, vars::fetch_values(c, env)?));
        };
        if self.fallback_only {
            return self.open_copy(path, token, None);
        }
        let fetched = resolve::environment(c, &self.wanted)
            .and_then(|env| Ok((env, vars::fetch_values(c, env)?)));
        match fetched {
            Ok((env, vars)) => {
                let copy = fallback::Copy {
                    url: c.base().to_string(),
                    wanted: self.wanted.clone(),
                    environment: env,
                    saved_at: now(),
                    variables: vars,
                };
                if let Err(e) = fallback::save(path, token, &copy) {
                    eprintln!("warning: the fallback copy was not updated: {}", e.message);
                }
                Ok((env, copy.variables.clone()))
            }
            // Only a server that cannot answer falls back; a refusal is an answer.
            Err(e) if e.code == Exit::Server => self.open_copy(path, token, Some(e)),
            Err(e) => Err(e),
        }
    }

    fn open_copy(
        &self,
        path: &Path,
        token: &str,
        why: Option<CliError>,
    ) -> Result<(u64, BTreeMap<String, String>), CliError> {
        let copy = fallback::open(path, token).map_err(|e| match &why {
            Some(server) => CliError::new(
                server.code,
                format!("{}; and the fallback copy: {}", server.message, e.message),
            ),
            None => e,
        })?;
        let same_env =
            copy.wanted == self.wanted || self.wanted.env == copy.environment.to_string();
        if copy.url != self.ctx.client.base() || !same_env {
            return Err(CliError::usage(format!(
                "{} holds environment {} of {}, not the one asked for",
                path.display(),
                copy.environment,
                copy.url
            )));
        }
        let age = now().saturating_sub(copy.saved_at);
        match why {
            Some(e) => eprintln!(
                "warning: {}; using the fallback copy in {} (saved {age}s ago)",
                e.message,
                path.display()
            ),
            None => eprintln!(
                "keynest: using the fallback copy in {} (saved {age}s ago), not the server",
                path.display()
            ),
        }
        Ok((copy.environment, copy.variables.clone()))
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The command with `vars` added to what it inherits, less the client's settings and the
/// takeover variables not allowed.
fn prepare(
    vars: BTreeMap<String, String>,
    override_existing: bool,
    allowed: &[String],
    command: &[String],
) -> Result<Command, CliError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError::usage("give the command to run after --"))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    for name in CLIENT_VARS {
        cmd.env_remove(name);
    }
    // What the command inherits is this process's environment less the client's settings, so
    // with --no-override a server KEYNEST_TOKEN does not give way to the one just removed.
    let inherited = |k: &str| !CLIENT_VARS.contains(&k) && std::env::var_os(k).is_some();
    let mut withheld = Vec::new();
    for (k, v) in &vars {
        if !override_existing && inherited(k) {
            continue;
        }
        if is_unsafe(k) && !allowed.iter().any(|a| a == k) {
            withheld.push(k.as_str());
            continue;
        }
        cmd.env(k, v);
    }
    if !withheld.is_empty() {
        // Names only: a value is a secret even when it is not applied.
        eprintln!(
            "warning: not passing {} from the server: a variable of that name could take over \
             the command (--allow-unsafe-env NAME passes one)",
            escape(&withheld.join(", "))
        );
    }
    drop(vars);
    Ok(cmd)
}

/// Start `cmd` and wait for it, forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT to it. With
/// `watch`, a message on the channel stops it (SIGTERM, then SIGKILL after the grace period) and
/// starts what `restart` gives (or the same command again, if it gives nothing). A signal to us
/// means the user wants it to stop, so after one the command is not started again.
#[cfg(unix)]
fn supervise(
    mut cmd: Command,
    watch: Option<(std::sync::mpsc::Receiver<()>, Duration)>,
    mut restart: impl FnMut(&str) -> Option<Command>,
) -> Result<i32, CliError> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    use std::os::unix::process::ExitStatusExt;
    use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
    use std::sync::mpsc::RecvTimeoutError;
    use std::sync::Arc;

    let program = cmd.get_program().to_string_lossy().into_owned();
    // Registered before the child starts, so a signal that arrives now is not lost; from here
    // on these signals no longer end this process: they are passed to the child instead.
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| CliError::usage(format!("cannot watch signals: {e}")))?;
    let current = Arc::new(AtomicI32::new(0));
    let stopping = Arc::new(AtomicBool::new(false));
    let handle = signals.handle();
    let forwarder = {
        let (current, stopping) = (current.clone(), stopping.clone());
        std::thread::spawn(move || {
            for sig in signals.forever() {
                stopping.store(true, Ordering::SeqCst);
                let pid = current.load(Ordering::SeqCst);
                if let (true, Ok(sig)) = (pid > 0, Signal::try_from(sig)) {
                    let _ = kill(Pid::from_raw(pid), sig);
                }
            }
        })
    };
    let status = loop {
        let mut child = cmd
            .spawn()
            .map_err(|e| CliError::usage(format!("cannot run {program}: {e}")))?;
        let pid = Pid::from_raw(child.id() as i32);
        current.store(pid.as_raw(), Ordering::SeqCst);
        let wait_err =
            |e: std::io::Error| CliError::usage(format!("waiting for {program} failed: {e}"));
        let Some((changes, grace)) = &watch else {
            break child.wait().map_err(wait_err)?;
        };
        let changed = loop {
            if let Some(status) = child.try_wait().map_err(wait_err)? {
                break Err(status);
            }
            match changes.recv_timeout(Duration::from_millis(100)) {
                Ok(()) => break Ok(()),
                Err(RecvTimeoutError::Timeout) => {}
                // The watcher is gone (it cannot be, short of a panic): just run to the end.
                Err(RecvTimeoutError::Disconnected) => {
                    break Err(child.wait().map_err(wait_err)?)
                }
            }
        };
        if let Err(status) = changed {
            break status;
        }
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = std::time::Instant::now() + *grace;
        let mut status = None;
        while status.is_none() && std::time::Instant::now() < deadline {
            status = child.try_wait().map_err(wait_err)?;
            if status.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let status = match status {
            Some(s) => s,
            None => {
                eprintln!(
                    "keynest: {} did not stop within {grace:?} of SIGTERM; sending SIGKILL",
                    escape(&program)
                );
                let _ = child.kill();
                child.wait().map_err(wait_err)?
            }
        };
        if stopping.load(Ordering::SeqCst) {
            break status;
        }
        if let Some(next) = restart(&program) {
            cmd = next;
        }
    };
    current.store(0, Ordering::SeqCst);
    handle.close();
    let _ = forwarder.join();
    Ok(status
        .code()
        .or(status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}

#[cfg(not(unix))]
fn supervise(
    mut cmd: Command,
    watch: Option<(std::sync::mpsc::Receiver<()>, Duration)>,
    _restart: impl FnMut(&str) -> Option<Command>,
) -> Result<i32, CliError> {
    if watch.is_some() {
        return Err(CliError::usage("--watch needs a Unix system"));
    }
    let status = cmd
        .status()
        .map_err(|e| CliError::usage(format!("cannot run the command: {e}")))?;
    Ok(status.code().unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::is_unsafe;

    #[test]
    fn loader_shell_interpreter_and_client_names_are_unsafe_and_look_alikes_are_not() {
        // (name, withheld?)
        let cases = [
            ("PATH", true),
            ("path", true),
            ("LD_PRELOAD", true),
            ("LD_LIBRARY_PATH", true),
            ("DYLD_INSERT_LIBRARIES", true),
            ("BASH_ENV", true),
            ("BASH_FUNC_ls%%", true),
            ("NODE_OPTIONS", true),
            ("KEYNEST_TOKEN", true),
            ("KEYNEST_URL", true),
            ("LDAP_URL", false),
            ("LD", false),
            ("MY_PATH", false),
            ("PATH_PREFIX", false),
            ("ENVIRONMENT", false),
            ("KEYNEST_MASTER_KEY", false),
            ("DATABASE_URL", false),
        ];
        for (name, unsafe_) in cases {
            assert_eq!(is_unsafe(name), unsafe_, "{name}");
        }
    }
}
