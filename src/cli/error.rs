//! How a client command fails: one line for stderr and the process exit code. The codes are part
//! of the interface (`keynest --help` lists them, scripts and CI test them), so they are named
//! once, in `Exit`, and every failure picks one by name.
//!
//! A message often carries the server's words (an error envelope's details, a name), so `new`
//! escapes its control characters once, here, for every error the client prints.

use crate::cli::output::escape;
use std::process::ExitCode;

/// The exit code of a failed command (0 is success; `keynest run` passes its child's code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The server refused the request: bad input, a conflict.
    Refused = 1,
    /// Bad arguments, or a local file, terminal or program that cannot be used.
    Usage = 2,
    /// Not logged in, a token the server does not accept, or a role that may not do this.
    Auth = 3,
    /// The server has no such organization, project, environment or variable.
    NotFound = 4,
    /// The server failed, rate limited us, sent something unreadable, or could not be reached.
    Server = 5,
}

impl From<Exit> for ExitCode {
    fn from(code: Exit) -> ExitCode {
        ExitCode::from(code as u8)
    }
}

#[derive(Debug)]
pub struct CliError {
    pub code: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(code: Exit, message: impl Into<String>) -> Self {
        let message = message.into();
        CliError {
            code,
            message: escape(&message).into_owned(),
        }
    }
    pub fn refused(m: impl Into<String>) -> Self {
        Self::new(Exit::Refused, m)
    }
    pub fn usage(m: impl Into<String>) -> Self {
        Self::new(Exit::Usage, m)
    }
    pub fn auth(m: impl Into<String>) -> Self {
        Self::new(Exit::Auth, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(Exit::NotFound, m)
    }
    pub fn server(m: impl Into<String>) -> Self {
        Self::new(Exit::Server, m)
    }
}

#[cfg(test)]
mod tests {
    use super::CliError;

    #[test]
    fn a_message_with_the_servers_escape_is_shown_escaped() {
        let e = CliError::refused("name: \u{1b}]52;c;ZXZpbA==\u{7} is taken");
        assert_eq!(e.message, "name: \\u{1b}]52;c;ZXZpbA==\\u{7} is taken");
        // Positive control: an ordinary message is kept as written.
        assert_eq!(CliError::refused("key: bad").message, "key: bad");
    }
}
