//! Every `--check` run's results, kept in the cache (`stedi_cache.history`): check id, status,
//! failing rows, the SHA-256 of its SQL and the time. Counts and hashes only, never a row, so a
//! cache rebuilt in place keeps its history; a cache deleted (`cache clear`, `forget`) loses it
//! with the rest.
use duckdb::Connection;

use super::SCHEMA;
use crate::engine::error::Result;
use crate::engine::{CheckOutcome, Engine};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS stedi_cache.history (
    run_at VARCHAR, run_ns BIGINT, mode VARCHAR, check_id VARCHAR, status VARCHAR,
    failing_rows UBIGINT, sql_sha256 VARCHAR)";

/// One check in one run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    /// UTC, ISO-8601.
    pub run_at: String,
    /// Nanoseconds since the epoch: one value per run.
    pub run_ns: i64,
    pub mode: String,
    pub check_id: String,
    /// `pass`, `warn` or `fail`.
    pub status: String,
    pub failing_rows: u64,
    pub sql_sha256: String,
}

/// Record this run's outcomes (nothing when the run has no cache file). `Err` says why not.
pub fn record(engine: &Engine, outcomes: &[CheckOutcome]) -> std::result::Result<(), String> {
    if engine.cache.file.is_none() {
        return Ok(());
    }
    let now = std::time::SystemTime::now();
    let ns = now.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as i64);
    let run_at = crate::engine::export::iso8601_utc(now);
    let write = || -> Result<()> {
        let conn = engine.connection();
        conn.execute_batch(CREATE)?;
        let mut insert = conn.prepare(&format!("INSERT INTO {SCHEMA}.history VALUES (?, ?, ?, ?, ?, ?, ?)"))?;
        for o in outcomes {
            insert.execute(duckdb::params![
                run_at,
                ns,
                engine.catalog.mode.as_str(),
                o.id,
                status(o),
                o.failing_rows as i64,
                o.sql_sha256
            ])?;
        }
        Ok(())
    };
    write().map_err(|e| e.to_string())
}

fn status(o: &CheckOutcome) -> &'static str {
    match (o.passed(), o.severity) {
        (true, _) => "pass",
        (false, crate::engine::Severity::Warn) => "warn",
        (false, _) => "fail",
    }
}

/// Every recorded entry (of `check`, when given), oldest first.
pub fn read(conn: &Connection, check: Option<&str>) -> Result<Vec<Entry>> {
    let exists: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'stedi_cache' AND table_name = 'history'",
        [],
        |r| r.get(0),
    )?;
    if exists == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT run_at, mode, check_id, status, failing_rows, sql_sha256, run_ns FROM {SCHEMA}.history
         WHERE ? IS NULL OR check_id = ? ORDER BY run_ns, check_id"
    ))?;
    let rows = stmt.query_map([check, check], |r| {
        Ok(Entry {
            run_at: r.get(0)?,
            mode: r.get(1)?,
            check_id: r.get(2)?,
            status: r.get(3)?,
            failing_rows: r.get::<_, i64>(4)? as u64,
            sql_sha256: r.get(5)?,
            run_ns: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// The history, read before a cache is emptied in place, to be written back after.
pub(super) fn save(conn: &Connection) -> Vec<(String, i64, String, String, String, i64, String)> {
    let Ok(mut stmt) = conn.prepare(&format!("SELECT * FROM {SCHEMA}.history")) else { return Vec::new() };
    let rows =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)));
    rows.map(|rows| rows.flatten().collect()).unwrap_or_default()
}

pub(super) fn restore(conn: &Connection, saved: &[(String, i64, String, String, String, i64, String)]) -> Result<()> {
    if saved.is_empty() {
        return Ok(());
    }
    conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {SCHEMA}; {CREATE}"))?;
    let mut insert = conn.prepare(&format!("INSERT INTO {SCHEMA}.history VALUES (?, ?, ?, ?, ?, ?, ?)"))?;
    for (a, b, c, d, e, f, g) in saved {
        insert.execute(duckdb::params![a, b, c, d, e, f, g])?;
    }
    Ok(())
}

/// The history kept in `data_dir`'s cache (`None`: no cache), opened read-only.
pub fn of(data_dir: &std::path::Path, choice: &super::CacheChoice, check: Option<&str>) -> Result<Option<Vec<Entry>>> {
    let Some(file) = super::existing(data_dir, choice) else { return Ok(None) };
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .map_err(crate::engine::EngineError::from)?;
    let conn = Connection::open_with_flags(&file, config).map_err(|e| {
        crate::engine::EngineError::input(&file, format!("cannot read the cache ({e}); is a stedi-tui holding it?"))
    })?;
    read(&conn, check).map(Some)
}
