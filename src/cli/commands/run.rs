//! `keynest run`: start a command with an environment's variables added to its environment,
//! pass stdin/stdout/stderr through, forward SIGINT, SIGTERM, SIGHUP and SIGQUIT to it, and exit
//! with its exit code (128 + the signal number when a signal ended it). Nothing is written to
//! disk and no value is printed.

use crate::cli::CliError;
use std::collections::BTreeMap;
use std::process::Command;

pub fn run(
    vars: BTreeMap<String, String>,
    override_existing: bool,
    command: &[String],
) -> Result<i32, CliError> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| CliError::usage("give the command to run after --"))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, v) in &vars {
        if override_existing || std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
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
