//! `.env` files, both ways. The only one of the three formats with no specification, so it is
//! defined by what the common parsers do, and the renderer writes only what they all agree on.
//!
//! Parsing follows the common dotenv parsers (python-dotenv, the `dotenvy` crate, Node's
//! `dotenv`): blank lines and `#` comments are skipped; `export ` is allowed before a key; single
//! quotes are literal and may span lines; double quotes decode `\n \r \t \" \\ \'` and may span
//! lines; unquoted values are trimmed and cut at ` #`; `A=b=c` gives `b=c`. A line that is not an
//! assignment, or whose key is invalid, is reported with its line number, never dropped, and
//! counts against the key limit as it is read: a file of millions of bad lines is refused at the
//! first one past the limit, not after millions of failure records.
//!
//! Rendering picks, per value, the plainest form those three parsers all read back exactly:
//! unquoted when nothing in it is special, single quotes when it has no `'` and no backslash
//! sequence a parser could decode, else double quotes with `\\ \" \n \r` escaped.

use super::{Failure, Parsed, Refusal};
use crate::input::VariableKey;
use std::fmt::Write;

fn fail(line: usize, reason: &str) -> Failure {
    Failure {
        line: Some(line),
        key: None,
        reason: reason.to_string(),
    }
}

/// Parse `.env` text. One pass over the text: a quoted value is read up to its closing quote
/// across lines; one that never closes ends the parse with a failure at its line. Refused once it
/// holds more than `MAX_IMPORT_KEYS` entries and failures together.
pub fn parse_env(data: &str) -> Result<Parsed, Refusal> {
    let mut out = Parsed::default();
    let mut pos = 0;
    let mut line_no = 0;
    while pos < data.len() {
        line_no += 1;
        let line_end = data[pos..].find('\n').map_or(data.len(), |n| pos + n);
        let raw = &data[pos..line_end];
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line_start = pos;
        pos = line_end + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export")
            .filter(|rest| rest.starts_with([' ', '\t']))
            .map(str::trim_start)
            .unwrap_or(trimmed);
        let Some((key, rest)) = body.split_once('=') else {
            out.push(Err(fail(line_no, "Not an assignment (KEY=value).")))?;
            continue;
        };
        let key = match VariableKey::parse(key.trim()) {
            Ok(k) => k,
            Err(e) => {
                out.push(Err(fail(line_no, &format!("Invalid key: {e}"))))?;
                continue;
            }
        };
        let rest = rest.trim_start_matches([' ', '\t']);
        let value = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => {
                // Offset of the text after the opening quote, in `data`.
                let from = line_start + (line.len() - rest.len()) + 1;
                match close_quote(&data[from..], q) {
                    None => {
                        out.push(Err(fail(
                            line_no,
                            "Unterminated quoted value: the rest of the file was not read.",
                        )))?;
                        break;
                    }
                    Some((value, used)) => {
                        let after_end = data[from + used..]
                            .find('\n')
                            .map_or(data.len(), |n| from + used + n);
                        let after = data[from + used..after_end].trim();
                        line_no += data[from..from + used].matches('\n').count();
                        pos = after_end + 1;
                        if after.is_empty() || after.starts_with('#') {
                            Ok(value)
                        } else {
                            Err("Unexpected text after the closing quote.")
                        }
                    }
                }
            }
            _ => Ok(unquoted(rest)),
        };
        out.push(
            value
                .map(|v| (key, v))
                .map_err(|reason| fail(line_no, reason)),
        )?;
    }
    Ok(out)
}

/// The value inside quotes `q` at the start of `text` (just past the opening quote), and how many
/// bytes of `text` it used, closing quote included; `None` when the quote never closes.
/// CRLF line ends inside a value read as LF, as text-mode readers see them.
fn close_quote(text: &str, q: char) -> Option<(String, usize)> {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((idx, c)) = chars.next() {
        if c == q {
            return Some((value, idx + 1));
        }
        if c == '\r' && matches!(chars.peek(), Some((_, '\n'))) {
            continue;
        }
        if c == '\\' && q == '"' {
            match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 'r')) => value.push('\r'),
                Some((_, 't')) => value.push('\t'),
                Some((_, e @ ('"' | '\\' | '\''))) => value.push(e),
                Some((_, other)) => {
                    value.push('\\');
                    value.push(other);
                }
                None => value.push('\\'),
            }
            continue;
        }
        value.push(c);
    }
    None
}

fn unquoted(rest: &str) -> String {
    let mut cut = rest.len();
    let bytes = rest.as_bytes();
    for (idx, b) in bytes.iter().enumerate() {
        if *b == b'#' && idx > 0 && matches!(bytes[idx - 1], b' ' | b'\t') {
            cut = idx;
            break;
        }
    }
    rest[..cut].trim().to_string()
}

/// Where an export comes from, for the `.env` header.
pub struct ExportHeader<'a> {
    pub environment: &'a str,
    pub project: &'a str,
    pub organization: &'a str,
    /// `YYYY-MM-DD HH:MM:SS UTC`
    pub generated_on: &'a str,
}

/// `KEY=value` with the value quoted only as much as the common parsers need.
pub fn env_line(key: &str, value: &str) -> String {
    format!("{key}={}", quote(value))
}

fn quote(value: &str) -> String {
    let special = |c: char| {
        matches!(c, '#' | '"' | '\'' | '`' | '\\' | '$') || c.is_whitespace() || c.is_control()
    };
    if value.is_empty() || !value.chars().any(special) {
        return value.to_string();
    }
    // python-dotenv reads a backslash just before a closing quote as an escaped quote (in either
    // kind of quotes) and then mis-reads the following lines, so a value ending in `\` is written
    // unquoted whenever that reads back (python-dotenv and Node read it exactly; dotenvy does not).
    let unquoted_ok = value.ends_with('\\')
        && value.trim() == value
        && !value.starts_with(['\'', '"', '`'])
        && !value.chars().any(|c| c == '#' || c.is_control());
    if unquoted_ok {
        return value.to_string();
    }
    // Single quotes are literal in all three parsers, but python-dotenv decodes \\ and \' inside
    // them, so they are only safe without those sequences.
    let single_ok = !value.contains('\'')
        && !value.contains("\\\\")
        && !value.ends_with('\\')
        && !value.contains('\r');
    if single_ok {
        return format!("'{value}'");
    }
    // Double quotes: exact for python-dotenv and dotenvy; Node's dotenv decodes only \n and \r,
    // so a value holding both ' and one of " or \ cannot be written exactly for Node.
    let mut out = String::with_capacity(value.len() + 8);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The documented `.env` export: four header comments, a blank line, one `KEY=value` per line.
pub fn render_env(header: &ExportHeader, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Generated by KeyNest - Environment: {}",
        one_line(header.environment)
    );
    let _ = writeln!(out, "# Project: {}", one_line(header.project));
    let _ = writeln!(out, "# Organization: {}", one_line(header.organization));
    let _ = writeln!(out, "# Generated on: {}", header.generated_on);
    out.push('\n');
    for (k, v) in vars {
        out.push_str(&env_line(k, v));
        out.push('\n');
    }
    out
}

/// Names go into comment lines: nothing in one may end the comment. Besides CR and LF, some
/// parsers end a line at U+2028, U+2029 or U+0085 (Node's dotenv read an injected
/// `NODE_OPTIONS=` from a project name that way), so every control character and both
/// separators become a space.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::pairs;

    #[test]
    fn env_syntax_as_the_common_parsers_read_it() {
        let text = "# comment\n\nA=1\nexport B = two words  # note\nC='lit $X \\n'\nD=\"esc\\n\\\"q\\\" \\\\\"\nE=b=c\nF=\nG=#not-comment\nH='multi\nline'\nI=\"x\" # trailing\r\nJ=a#b\n";
        let p = parse_env(text).expect("parses");
        assert!(p.failures.is_empty(), "{:?}", p.failures);
        let want = [
            ("A", "1"),
            ("B", "two words"),
            ("C", "lit $X \\n"),
            ("D", "esc\n\"q\" \\"),
            ("E", "b=c"),
            ("F", ""),
            ("G", "#not-comment"),
            ("H", "multi\nline"),
            ("I", "x"),
            ("J", "a#b"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(pairs(&p), want);
    }

    #[test]
    fn bad_lines_are_reported_with_their_numbers() {
        let p = parse_env("GOOD=1\njust text\n1BAD=2\nexport\nM='two\nlines'\nQ='open\nOK=2")
            .expect("parses");
        assert_eq!(
            pairs(&p),
            vec![
                ("GOOD".into(), "1".into()),
                ("M".into(), "two\nlines".into())
            ]
        );
        let lines: Vec<usize> = p.failures.iter().filter_map(|f| f.line).collect();
        assert_eq!(
            lines,
            vec![2, 3, 4, 7],
            "an unclosed quote ends the parse at its line"
        );
    }

    #[test]
    fn plain_values_stay_unquoted() {
        assert_eq!(
            env_line("DATABASE_URL", "postgresql://user:pass@host/db"),
            "DATABASE_URL=postgresql://user:pass@host/db"
        );
        assert_eq!(env_line("E", ""), "E=");
        assert_eq!(env_line("S", "a b"), "S='a b'");
        assert_eq!(env_line("Q", "it's"), "Q=\"it's\"");
    }
}
