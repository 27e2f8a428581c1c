//! What the client prints for people and for scripts: a list as an aligned table (values on one
//! line each, so a row stays a row) or as pretty JSON with `--json`, and a spinner on stderr while
//! a long request runs. Data goes to stdout and messages to stderr, so output can be piped.
//!
//! Text from the server is not the server's to put on the user's terminal as anything but text:
//! an organization named `ESC ] 52 ; c ; ... BEL` would otherwise write the clipboard, and other
//! escapes retitle the window, move the cursor over earlier lines or hide what follows. So one
//! rule, `is_control`, decides what may not be printed raw, and every printer applies it: server
//! text goes through `escape` (table cells, error messages by way of `CliError::new`, the notes of
//! login, import and run), which shows each such character as a visible escape, and `--json`
//! through `to_json`, which writes it as a JSON escape. Two outputs are left byte-exact on purpose: `vars get` (a bare value for
//! `$(keynest vars get KEY)`) and `env export` (a file, or stdout for a redirect). Those are the
//! user's own secrets handed to a program or a file, not display text, and an escaped value would
//! be a different, wrong value.

use crate::cli::CliError;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

/// A character a terminal may act on instead of showing: the C0 controls (ESC, BEL, CR, ...,
/// and TAB, which would break a table's columns), DEL, the C1 controls U+0080-U+009F (U+009B is
/// an 8-bit CSI to some terminals, U+0085 a line break) and the line and paragraph separators
/// U+2028 and U+2029, which some terminals and most viewers take as a line break.
fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}')
}

/// Server text as it may be shown: every control character written out (`\n`, `\r`, `\t`,
/// else `\u{1b}` with its code point in hex), everything else unchanged. Idempotent, since its
/// output holds no control character, so text escaped twice (a server message inside a
/// `CliError`) reads the same. A backslash is not doubled: a name that spells `\u{1b}` then looks
/// like one holding an ESC, which may mislead a reader but gives the terminal nothing to act on.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Pretty JSON that is safe to show and parses to the same value. serde_json already writes the
/// C0 controls in strings as `\u001b`, `\n`, ... but passes DEL, C1 and U+2028/U+2029 through;
/// outside strings it writes only ASCII punctuation, spaces and newlines, so every such character
/// left in its output is inside a string, where the JSON escape `\u0085` means the same thing.
fn to_json(items: &[Value]) -> String {
    let text = serde_json::to_string_pretty(items).unwrap_or_default();
    if !text.chars().any(|c| is_control(c) && c > '\u{1f}') {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) && c > '\u{1f}' {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A spinner on a terminal while a long request runs; nothing when stderr is piped.
pub fn with_progress<T>(label: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(label.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    let out = f();
    bar.finish_and_clear();
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => escape(s).into_owned(),
        Value::Null => "-".into(),
        other => escape(&other.to_string()).into_owned(),
    }
}

/// A table with the given columns, or the items as JSON.
pub fn print_list(items: &[Value], json: bool, cols: &[&str]) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(out, "{}", to_json(items));
        return Ok(0);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| cols.iter().map(|c| cell(&i[*c])).collect())
        .collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(n, c)| {
            rows.iter()
                .map(|r| r[n].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(
        out,
        "{}",
        line(cols.iter().map(|c| c.to_uppercase()).collect())
    );
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::{escape, is_control, to_json};
    use serde_json::{json, Value};

    #[test]
    fn control_characters_are_written_out_and_other_text_is_unchanged() {
        // (what, input, shown)
        let cases = [
            (
                "OSC 52",
                "\u{1b}]52;c;ZXZpbA==\u{7}",
                "\\u{1b}]52;c;ZXZpbA==\\u{7}",
            ),
            ("CR and LF", "a\r\nb", "a\\r\\nb"),
            ("tab", "a\tb", "a\\tb"),
            ("DEL", "a\u{7f}", "a\\u{7f}"),
            ("C1 CSI and NEL", "\u{9b}31m\u{85}", "\\u{9b}31m\\u{85}"),
            ("separators", "a\u{2028}b\u{2029}", "a\\u{2028}b\\u{2029}"),
            ("plain", "acme-prod", "acme-prod"),
            ("non-ASCII text", "Über 東京 ✓ é", "Über 東京 ✓ é"),
        ];
        for (what, input, shown) in cases {
            assert_eq!(escape(input), shown, "{what}");
            assert_eq!(
                escape(shown),
                shown,
                "{what}: escaping twice changes nothing"
            );
        }
    }

    #[test]
    fn every_character_is_shown_safely_and_json_keeps_its_value() {
        let all: String = (0..=0x10ffff_u32).filter_map(char::from_u32).collect();
        assert!(!escape(&all).chars().any(is_control));
        let items = vec![json!({ "name": all })];
        let text = to_json(&items);
        assert!(
            !text.chars().any(|c| is_control(c) && c != '\n'),
            "only the layout's newlines"
        );
        let back: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, Value::Array(items));
    }
}
