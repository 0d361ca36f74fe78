//! Rendering: human text on stdout, or one JSON document with `--json`; errors on stderr.

use serde::Serialize;
use std::io::Write;

/// Where results go, and in which shape.
pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Self {
        Output { json }
    }

    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print `value` as JSON with `--json`, else the human text.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce() -> String) {
        let text = if self.json {
            serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        } else {
            human()
        };
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        let _ = writeln!(stdout, "{text}");
    }

    /// Report an error: its chain once on stderr, and a JSON object on stdout with `--json`.
    pub fn error(&self, err: &anyhow::Error) {
        let chain = yinzheng_crypto::error_chain(err.as_ref());
        if self.json {
            let v = serde_json::json!({ "error": chain });
            let _ = writeln!(std::io::stdout().lock(), "{v}");
        }
        let _ = writeln!(std::io::stderr().lock(), "error: {chain}");
    }
}
