//! Where a result came from, for a reviewer: the tool and DuckDB versions, the SQL (its origin and
//! one hash over all of it) and every landing file with its size and SHA-256. The one place that
//! says where the SQL came from, so another origin (built-in SQL) is added here only.
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::{EngineError, Result};
use super::{Engine, Zone};

#[derive(Debug, Clone, serde::Serialize)]
pub struct LandingFile {
    pub table: String,
    /// Relative to the data folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SqlOrigin {
    /// The queries folder the SQL was read from.
    pub origin: PathBuf,
    /// How many SQL files it holds (every folder, both modes).
    pub files: usize,
    /// SHA-256 over every SQL file: each one's relative path and contents, in path order.
    pub sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Provenance {
    pub tool: &'static str,
    pub version: &'static str,
    pub duckdb_version: String,
    pub sql: SqlOrigin,
    pub landing_files: Vec<LandingFile>,
}

/// `/`-separated path of `path` relative to `root`.
pub fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// The SQL's origin and hash: every `*.sql` under `root`, by sorted relative path; the hash reads,
/// per file, its path, a NUL, its length, a NUL and its bytes, so no two trees hash alike.
pub fn sql_origin(root: &Path) -> Result<SqlOrigin> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.map_err(|e| EngineError::input(root, format!("cannot read: {e}")))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|x| x == "sql") {
            files.push((relative(entry.path(), root), entry.path().to_path_buf()));
        }
    }
    files.sort();
    let mut hasher = Sha256::new();
    for (name, path) in &files {
        let bytes = std::fs::read(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(bytes.len().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
    }
    let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(SqlOrigin { origin: root.to_path_buf(), files: files.len(), sha256 })
}

impl Engine {
    /// The run's provenance (the landing files as loaded: hashed now when the load did not hash them).
    pub fn provenance(&self) -> Result<Provenance> {
        let mut landing_files = Vec::new();
        for table in self.tables.iter().filter(|t| t.zone == Zone::Landing) {
            for file in &table.sources {
                let (bytes, sha256) = if file.sha256.is_empty() {
                    super::cache::sha256_file(&file.path)
                        .map_err(|e| EngineError::input(&file.path, format!("cannot read: {e}")))?
                } else {
                    (file.bytes, file.sha256.clone())
                };
                landing_files.push(LandingFile {
                    table: table.name.clone(),
                    path: relative(&file.path, &self.options.data_dir),
                    bytes,
                    sha256,
                });
            }
        }
        let duckdb_version: String = self.conn.query_row("SELECT version()", [], |r| r.get(0))?;
        Ok(Provenance {
            tool: "stedi-tui",
            version: env!("CARGO_PKG_VERSION"),
            duckdb_version,
            sql: sql_origin(&self.options.queries_dir)?,
            landing_files,
        })
    }
}
