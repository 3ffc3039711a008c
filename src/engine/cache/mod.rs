//! The warm-start cache: one DuckDB database file that keeps what a run built (the landing tables
//! and their rejects, each row tagged with its source file; the stage tables; the checks' failing
//! rows) with a manifest of the landing files (path, size, times, SHA-256) and a fingerprint of
//! everything each table or check was computed from. The next run parses only new or changed
//! files and reruns only the stages and checks whose SQL or inputs changed; the rest is reused.
//!
//! Without a cache (`--no-cache`, a cache another process holds) the same layout lives in an
//! in-memory database, so there is one code path. Layout:
//! - `stedi_cache.meta(key, value)`: format, stedi-tui build, DuckDB version, `state` (`dirty`
//!   while landing rows are being replaced: a run killed then is rebuilt, never trusted);
//! - `stedi_cache.files`: the manifest, one row per landing file;
//! - `stedi_cache."<landing table>"` (+ `stedi_file`) and `stedi_cache."<landing table>_rejected"`;
//!   `main` has views of the same names without the file column, which the stages read;
//! - `stedi_cache.built(name, kind, fingerprint, rows, seconds)`: stages and checks built, and from what.
//!
//! It holds personal data: its folder is created owner-only (0700), the files are made 0600,
//! `stedi-tui forget` and `stedi-tui cache clear` delete it.
use std::fs;
use std::path::{Path, PathBuf};

use duckdb::Connection;

pub mod history;
mod location;
mod records;
pub mod registry;

pub use location::{candidate_dirs, restrict_permissions};
use location::{database_files, remove_database, resolve_dir};
pub use records::*;

use super::error::{EngineError, Result};
use super::sql_text::quote_ident;

/// The cache's database file inside its folder.
pub const CACHE_FILE: &str = "cache.duckdb";
/// The folder inside the data folder that holds it by default.
pub const DATA_CACHE_DIR: &str = ".stedi";
/// Bump when the layout changes: an older cache is then rebuilt, never misread.
pub const FORMAT: &str = "1";
pub const SCHEMA: &str = "stedi_cache";
/// The environment variable that chooses the cache when no flag does: `off`, or a folder.
pub const CACHE_ENV: &str = "STEDI_TUI_CACHE";

/// Where the cache lives (`--cache DIR`, `--no-cache`, or the default).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CacheChoice {
    /// `DATA/.stedi/`, or the user's cache folder where the data folder is read-only.
    #[default]
    Auto,
    Dir(PathBuf),
    Off,
}

/// What this run took from the cache, for the report and the benchmark.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CacheStats {
    /// The database file, or none when the run had no cache.
    pub file: Option<PathBuf>,
    pub files_parsed: usize,
    pub files_reused: usize,
    pub stages_built: usize,
    pub stages_reused: usize,
    pub checks_run: usize,
    pub checks_reused: usize,
    /// One line each: why a cache was rebuilt or not used.
    pub notices: Vec<String>,
}

/// This build of stedi-tui: the version and a fingerprint of the source it was built from (see
/// build.rs), so a rebuilt binary (whose loading or SQL handling may differ) never trusts a cache
/// an older one wrote.
fn build_id() -> String {
    format!("{} (source {})", env!("CARGO_PKG_VERSION"), env!("STEDI_SOURCE_HASH"))
}

fn duckdb_version(conn: &Connection) -> Result<String> {
    Ok(conn.query_row("SELECT version()", [], |r| r.get(0))?)
}

/// Why DuckDB could not open a cache file, and so what the run does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenFailure {
    /// Another process (another stedi-tui, a TUI) holds it: leave it alone, run in memory.
    Locked,
    /// Not a DuckDB database, corrupt, or from a DuckDB that cannot read it: rebuild it.
    Invalid,
    /// Anything else (permission denied, a read-only file system, a folder in its place):
    /// leave it alone, run in memory.
    Other,
}

/// What DuckDB's message says about the file. The file's own path is taken out of the message
/// first, so a folder called `blocked` or `checksums` does not look like a lock or corruption.
pub fn classify_open_error(file: &Path, message: &str) -> OpenFailure {
    let message = message.replace(&*file.to_string_lossy(), "<file>");
    if message.contains("Could not set lock on file") || message.contains("Conflicting lock") {
        return OpenFailure::Locked;
    }
    let lower = message.to_lowercase();
    let invalid = [
        "not a valid duckdb database",
        "storage version number",
        "corrupt",
        "checksum",
        "serialization error",
        "wal does not match",
        "failed to read wal",
        "while replaying",
        "wal checkpoint",
    ];
    if invalid.iter().any(|m| lower.contains(m)) {
        OpenFailure::Invalid
    } else {
        OpenFailure::Other
    }
}

/// An in-memory database with the cache's layout, for a run without a cache file.
fn in_memory() -> Result<Connection> {
    let conn = Connection::open_in_memory()?;
    init(&conn)?;
    Ok(conn)
}

/// Open the run's database: the cache file (rebuilt when it is from another build, corrupt or
/// was left half-written), or an in-memory one when there is no cache, another process holds it,
/// or it cannot be opened or replaced (each with a notice; a cache file is never deleted then).
pub fn open(data_dir: &Path, choice: &CacheChoice) -> Result<(Connection, CacheStats)> {
    let mut stats = CacheStats::default();
    let Some(dir) = resolve_dir(data_dir, choice, &mut stats.notices)? else {
        return Ok((in_memory()?, stats));
    };
    if let Err(why) = registry::record_cache(data_dir, &dir) {
        stats.notices.push(format!("{why}; `stedi-tui forget` will not know of the cache in {}", dir.display()));
    }
    let file = dir.join(CACHE_FILE);
    let one_line = |e: &dyn std::fmt::Display| super::error::one_line(&e.to_string());
    let mut bypass = |notice: String| -> Result<(Connection, CacheStats)> {
        stats.notices.push(format!("{}: {notice}", file.display()));
        Ok((in_memory()?, std::mem::take(&mut stats)))
    };
    // Why the file must be rebuilt, and the connection when it is open (and locked) already.
    let (rebuild, conn) = match Connection::open(&file) {
        Ok(conn) => match verify(&conn) {
            Ok(true) => (None, Some(conn)),
            Ok(false) => {
                init(&conn)?;
                (None, Some(conn))
            }
            // Emptied in place while this process holds the file: closing, deleting and creating
            // it again would let another process in between. Deleted only if that fails.
            Err(why) => match wipe(&conn).and_then(|()| init(&conn)) {
                Ok(()) => (Some(why), Some(conn)),
                Err(_) => (Some(why), None),
            },
        },
        Err(e) => match classify_open_error(&file, &e.to_string()) {
            OpenFailure::Locked => {
                return bypass(format!("in use by another stedi-tui; running without the cache ({})", one_line(&e)));
            }
            OpenFailure::Other => {
                return bypass(format!("cannot open it ({}); running without the cache", one_line(&e)));
            }
            OpenFailure::Invalid => (Some(format!("unreadable ({})", one_line(&e))), None),
        },
    };
    let conn = match conn {
        Some(conn) => conn,
        None => match recreate(&file) {
            Ok(conn) => conn,
            Err(failed) => {
                return bypass(format!("{}; {failed}; running without the cache", rebuild.unwrap_or_default()));
            }
        },
    };
    if let Some(why) = rebuild {
        stats.notices.push(format!("{}: {why}; rebuilding it", file.display()));
    }
    restrict_permissions(&file);
    stats.file = Some(file);
    Ok((conn, stats))
}

/// Delete a cache file that cannot be used and make a new one; `Err` says why not (the run then
/// goes on without a cache).
fn recreate(file: &Path) -> std::result::Result<Connection, String> {
    remove_database(file).map_err(|e| format!("cannot remove the old cache ({e})"))?;
    let conn = Connection::open(file)
        .map_err(|e| format!("cannot create the cache ({})", super::error::one_line(&e.to_string())))?;
    init(&conn).map_err(|e| format!("cannot create the cache ({})", super::error::one_line(&e.to_string())))?;
    Ok(conn)
}

/// Drop everything a database holds (the cache's schema, every other schema, and `main`'s
/// views, tables, macros and sequences), in one transaction, keeping the file (and its lock).
fn wipe(conn: &Connection) -> Result<()> {
    // Counts and hashes only: the check history outlives a rebuild.
    let history = history::save(conn);
    wipe_all(conn)?;
    history::restore(conn, &history)
}

fn wipe_all(conn: &Connection) -> Result<()> {
    let names = |sql: &str| -> Result<Vec<String>> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.collect::<std::result::Result<_, _>>()?;
        Ok(rows)
    };
    let here = "database_name = current_database() AND NOT internal";
    let mut drops = Vec::new();
    for schema in names(&format!(
        "SELECT schema_name FROM duckdb_schemas() WHERE {here} AND schema_name NOT IN ('main', 'pg_catalog', 'information_schema')"
    ))? {
        drops.push(format!("DROP SCHEMA IF EXISTS {} CASCADE", quote_ident(&schema)));
    }
    let main = format!("{here} AND schema_name = 'main'");
    for view in names(&format!("SELECT view_name FROM duckdb_views() WHERE {main}"))? {
        drops.push(format!("DROP VIEW IF EXISTS main.{}", quote_ident(&view)));
    }
    for table in names(&format!("SELECT table_name FROM duckdb_tables() WHERE {main}"))? {
        drops.push(format!("DROP TABLE IF EXISTS main.{} CASCADE", quote_ident(&table)));
    }
    for (kind, sql) in [
        ("MACRO", format!("SELECT DISTINCT function_name FROM duckdb_functions() WHERE {main} AND function_type = 'macro'")),
        (
            "MACRO TABLE",
            format!("SELECT DISTINCT function_name FROM duckdb_functions() WHERE {main} AND function_type = 'table_macro'"),
        ),
        (
            "SEQUENCE",
            "SELECT sequence_name FROM duckdb_sequences() WHERE database_name = current_database() AND schema_name = 'main'"
                .to_string(),
        ),
    ] {
        for name in names(&sql)? {
            drops.push(format!("DROP {kind} IF EXISTS main.{}", quote_ident(&name)));
        }
    }
    conn.execute_batch("BEGIN TRANSACTION")?;
    let dropped = drops.iter().try_for_each(|sql| conn.execute_batch(sql));
    conn.execute_batch(if dropped.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    dropped?;
    Ok(())
}

/// Whether the database is a usable cache of this build (`Ok(false)`: empty, a new one); `Err`
/// says why it must be rebuilt.
fn verify(conn: &Connection) -> std::result::Result<bool, String> {
    let objects: i64 = conn
        .query_row("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()", [], |r| r.get(0))
        .map_err(|e| format!("unreadable ({})", super::error::one_line(&e.to_string())))?;
    if objects == 0 {
        return Ok(false);
    }
    let meta = |key: &str| -> Option<String> {
        conn.query_row(&format!("SELECT value FROM {SCHEMA}.meta WHERE key = ?"), [key], |r| r.get(0)).ok()
    };
    let Some(format) = meta("format") else { return Err("not a stedi-tui cache".to_string()) };
    let build = meta("build").unwrap_or_default();
    let duckdb = meta("duckdb").unwrap_or_default();
    if format != FORMAT {
        return Err(format!("cache format {format}, this build reads {FORMAT}"));
    }
    if build != build_id() {
        return Err(format!("made by another stedi-tui build ({build})"));
    }
    if duckdb_version(conn).ok().as_deref() != Some(duckdb.as_str()) {
        return Err(format!("made by DuckDB {duckdb}"));
    }
    if meta("state").as_deref() != Some("clean") {
        return Err("left half-written by a run that was interrupted or failed while loading".to_string());
    }
    Ok(true)
}

/// Create the cache's own tables in a new (file or in-memory) database.
fn init(conn: &Connection) -> Result<()> {
    conn.execute_batch(&format!(
        "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
         CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key VARCHAR, value VARCHAR);
         CREATE TABLE IF NOT EXISTS {SCHEMA}.files (
             file_id UINTEGER, table_name VARCHAR, rel_path VARCHAR, path VARCHAR, size UBIGINT,
             mtime_ns BIGINT, ctime_ns BIGINT, sha256 VARCHAR, rows UBIGINT, rejected UBIGINT,
             seconds DOUBLE, recorded_ns BIGINT);
         CREATE TABLE IF NOT EXISTS {SCHEMA}.built (
             name VARCHAR, kind VARCHAR, fingerprint VARCHAR, rows UBIGINT, seconds DOUBLE);"
    ))?;
    conn.execute_batch(&format!("DELETE FROM {SCHEMA}.meta"))?;
    let mut insert = conn.prepare(&format!("INSERT INTO {SCHEMA}.meta VALUES (?, ?)"))?;
    for (key, value) in [
        ("format", FORMAT.to_string()),
        ("build", build_id()),
        ("duckdb", duckdb_version(conn)?),
        ("state", "clean".into()),
    ] {
        insert.execute([key, value.as_str()])?;
    }
    Ok(())
}

/// Mark the cache half-written (before landing rows are replaced) or consistent again (after the
/// manifest says what they are). A run that dies in between leaves `dirty`: the next one rebuilds.
pub fn set_state(conn: &Connection, clean: bool) -> Result<()> {
    let state = if clean { "clean" } else { "dirty" };
    conn.execute(&format!("UPDATE {SCHEMA}.meta SET value = ? WHERE key = 'state'"), [state])?;
    Ok(())
}

/// Remove a data folder's cache wherever it may be: the database files (and, for the default
/// folders, the folder when nothing else is left in it). Returns the files removed.
pub fn clear(data_dir: &Path, choice: &CacheChoice) -> Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for dir in candidate_dirs(data_dir, choice) {
        let file = dir.join(CACHE_FILE);
        for f in database_files(&file) {
            if f.exists() {
                fs::remove_file(&f).map_err(|e| EngineError::input(&f, format!("cannot remove: {e}")))?;
                removed.push(f);
            }
        }
        if *choice != CacheChoice::Dir(dir.clone()) {
            let _ = fs::remove_file(dir.join(".gitignore"));
            let _ = fs::remove_dir(&dir);
        }
    }
    Ok(removed)
}

/// `cache clear`: like [`clear`], but a cache a running stedi-tui holds stays (deleting it under
/// the TUI would only hide it: the TUI goes on writing to it), and the clear is refused.
pub fn clear_unless_held(data_dir: &Path, choice: &CacheChoice) -> Result<Vec<PathBuf>> {
    for dir in candidate_dirs(data_dir, choice) {
        let file = dir.join(CACHE_FILE);
        if held_by_another(&file) {
            return Err(EngineError::input(&file, "in use by another stedi-tui; close it and clear again"));
        }
    }
    clear(data_dir, choice)
}

/// Whether another process (a TUI, another run) holds a cache file open: opening it for writing
/// then fails on DuckDB's lock. A file that is not there or cannot be opened for another reason
/// is not held.
pub fn held_by_another(file: &Path) -> bool {
    file.is_file()
        && matches!(Connection::open(file), Err(e) if classify_open_error(file, &e.to_string()) == OpenFailure::Locked)
}

/// The cache file of a data folder if there is one (for `cache info`).
pub fn existing(data_dir: &Path, choice: &CacheChoice) -> Option<PathBuf> {
    candidate_dirs(data_dir, choice).into_iter().map(|d| d.join(CACHE_FILE)).find(|f| f.is_file())
}

/// What a cache holds, for `cache info`: counts only, never rows.
#[derive(Debug, Clone, Default)]
pub struct Contents {
    pub file: PathBuf,
    /// Bytes of the database file and its write-ahead log.
    pub size: u64,
    /// Why the contents could not be read (another process holds the cache, say).
    pub unreadable: Option<String>,
    /// format, build, duckdb, state.
    pub meta: Vec<(String, String)>,
    /// Per landing table: files, rows, rejected records, bytes of its files.
    pub landing: Vec<LandingContents>,
    /// How many stages, checks and dropped-row counts are recorded, by kind.
    pub built: Vec<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct LandingContents {
    pub table: String,
    pub files: u64,
    pub rows: u64,
    pub rejected: u64,
    pub bytes: u64,
}

/// Read what the cache at `file` holds (read-only; a cache another process holds is `unreadable`).
pub fn contents(file: &Path) -> Result<Contents> {
    let size = database_files(file).iter().filter_map(|f| fs::metadata(f).ok()).map(|m| m.len()).sum();
    let mut out = Contents { file: file.to_path_buf(), size, ..Contents::default() };
    let config = duckdb::Config::default().access_mode(duckdb::AccessMode::ReadOnly)?;
    let conn = match Connection::open_with_flags(file, config) {
        Ok(conn) => conn,
        Err(e) => {
            out.unreadable = Some(super::error::one_line(&e.to_string()));
            return Ok(out);
        }
    };
    for key in ["format", "build", "duckdb", "state", "sql"] {
        out.meta.push((key.to_string(), meta(&conn, key).unwrap_or_else(|| "?".into())));
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT table_name, count(*), sum(rows), sum(rejected), sum(size) FROM {SCHEMA}.files GROUP BY ALL ORDER BY 1"
    ))?;
    out.landing = stmt
        .query_map([], |r| {
            Ok(LandingContents {
                table: r.get(0)?,
                files: r.get(1)?,
                rows: r.get(2)?,
                rejected: r.get(3)?,
                bytes: r.get(4)?,
            })
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut stmt = conn.prepare(&format!("SELECT kind, count(*) FROM {SCHEMA}.built GROUP BY ALL ORDER BY 1 DESC"))?;
    out.built = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<std::result::Result<_, _>>()?;
    Ok(out)
}
