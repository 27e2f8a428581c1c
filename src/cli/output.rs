//! What the client prints for people and for scripts: a list as an aligned table (values on one
//! line each, so a row stays a row) or as pretty JSON with `--json`, and a spinner on stderr while
//! a long request runs. Data goes to stdout and messages to stderr, so output can be piped.

use crate::cli::CliError;
use serde_json::Value;
use std::io::{IsTerminal, Write};

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
        Value::String(s) => s.replace('\n', "\\n"),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// A table with the given columns, or the items as JSON.
pub fn print_list(items: &[Value], json: bool, cols: &[&str]) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    if json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(items).unwrap_or_default()
        );
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
