//! Where a result came from, for a reviewer: the tool and DuckDB versions, the SQL (its origin and
//! one hash over all of it) and every landing file with its size and SHA-256. The one place that
//! The SQL's origin and hash come from the catalogue's [`SqlFiles`](super::sql_source::SqlFiles).
use std::path::Path;

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
    /// `built-in`, or `folder <path>`: where the SQL was read from.
    pub origin: String,
    /// How many SQL files it holds (every folder, both modes).
    pub files: usize,
    /// SHA-256 over every SQL file: each one's relative path and text, in path order.
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
            sql: SqlOrigin {
                origin: self.catalog.sql.source.to_string(),
                files: self.catalog.sql.iter().count(),
                sha256: self.catalog.sql.hash().to_string(),
            },
            landing_files,
        })
    }
}
