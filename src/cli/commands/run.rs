//! `keynest run`: start a command with an environment's variables added to its environment,
//! pass stdin/stdout/stderr through, forward SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and exit
//! with its exit code (128 + the signal number when a signal ended it). Nothing is written to
//! disk and no value is printed.
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

use crate::cli::config::CLIENT_VARS;
use crate::cli::output::escape;
use crate::cli::CliError;
use std::collections::BTreeMap;
use std::process::Command;

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

pub fn run(
    vars: BTreeMap<String, String>,
    override_existing: bool,
    allowed: &[String],
    command: &[String],
) -> Result<i32, CliError> {
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
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        // Registered before the child starts, so a signal that arrives now is not lost; from here
        // on these signals no longer end this process: they are passed to the child instead.
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
            .map_err(|e| CliError::usage(format!("cannot watch signals: {e}")))?;
        let mut child = cmd
            .spawn()
            .map_err(|e| CliError::usage(format!("cannot run {program}: {e}")))?;
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let handle = signals.handle();
        let forwarder = std::thread::spawn(move || {
            for sig in signals.forever() {
                if let Ok(sig) = nix::sys::signal::Signal::try_from(sig) {
                    let _ = nix::sys::signal::kill(pid, sig);
                }
            }
        });
        let status = child
            .wait()
            .map_err(|e| CliError::usage(format!("waiting for {program} failed: {e}")))?;
        handle.close();
        let _ = forwarder.join();
        use std::os::unix::process::ExitStatusExt;
        Ok(status
            .code()
            .or(status.signal().map(|s| 128 + s))
            .unwrap_or(1))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| CliError::usage(format!("cannot run {program}: {e}")))?;
        Ok(status.code().unwrap_or(1))
    }
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
