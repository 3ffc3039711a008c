//! One error type for the engine. Every variant renders as a single line that names the file or
//! folder at fault, because users (and CI logs) see it verbatim.
use std::fmt;
use std::path::{Path, PathBuf};

use super::printable::{printable, printable_path};

#[derive(Debug)]
pub enum EngineError {
    /// A folder or file the user pointed at is missing, empty or unreadable (exit 2).
    Input { path: PathBuf, message: String },
    /// A SQL file under queries/ is malformed or DuckDB rejected it (exit 2).
    Sql { path: PathBuf, message: String },
    /// Anything else DuckDB reports while the engine drives it.
    Duck(String),
    /// The user interrupted a running query.
    Cancelled,
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn input(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        EngineError::Input { path: path.as_ref().to_path_buf(), message: message.into() }
    }
    pub fn sql(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        EngineError::Sql { path: path.as_ref().to_path_buf(), message: message.into() }
    }

    /// DuckDB failed running the SQL of `path`: an error naming that file (`what` first, e.g.
    /// `check duplicate.customer_landing`), or [`EngineError::Cancelled`] when the user interrupted it.
    pub fn sql_failed(path: impl AsRef<Path>, what: Option<&str>, e: duckdb::Error) -> Self {
        match EngineError::from(e) {
            EngineError::Cancelled => EngineError::Cancelled,
            other => {
                let message = other.message().to_string();
                EngineError::sql(path, what.map_or(message.clone(), |w| format!("{w}: {message}")))
            }
        }
    }

    /// The message without the `duckdb: ` a DuckDB error is shown with.
    pub fn message(&self) -> std::borrow::Cow<'_, str> {
        match self {
            EngineError::Duck(message) => one_line(message).into(),
            other => other.to_string().into(),
        }
    }
}

/// DuckDB messages can span lines (hints, caret markers); the CLI promises one line, and one that
/// no control character in it (a path's newline or terminal escape) can break or forge.
pub fn one_line(message: &str) -> String {
    printable(&message.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Input { path, message } => {
                write!(f, "{}: {}", printable_path(path), one_line(message))
            }
            EngineError::Sql { path, message } => write!(f, "{}: {}", printable_path(path), one_line(message)),
            EngineError::Duck(message) => write!(f, "duckdb: {}", one_line(message)),
            EngineError::Cancelled => write!(f, "cancelled"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<duckdb::Error> for EngineError {
    fn from(e: duckdb::Error) -> Self {
        let text = e.to_string();
        if text.contains("INTERRUPT") || text.contains("Interrupted") {
            EngineError::Cancelled
        } else {
            EngineError::Duck(text)
        }
    }
}
