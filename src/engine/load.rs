//! Landing: find the files of each landing table (walkdir, recursively) and load them into DuckDB
//! with the types declared in `queries/landing/`, one file at a time so every row count, time and
//! error is attributed to its file.
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::Connection;
use walkdir::WalkDir;

use super::catalog::LandingTable;
use super::error::{EngineError, Result};
use super::sql_text::{quote_ident, quote_literal};
use super::validate::validate_file;

/// The file name endings a landing folder may hold.
pub const LANDING_EXTENSIONS: [&str; 6] = [".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    /// Records that did not fit the declared columns (see `<table>_rejected`).
    pub rejected: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

pub use super::validate::Column;

/// Where a dataset's landing files live: `DATA/<dataset>/landing/`, as in the original S3 bucket.
pub fn landing_dir(data_dir: &Path, dataset: &str) -> PathBuf {
    data_dir.join(dataset).join("landing")
}

fn is_landing_file(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_lowercase()) else {
        return false;
    };
    !name.starts_with('.') && LANDING_EXTENSIONS.iter().any(|ext| name.ends_with(ext))
}

/// Every landing file under `dir`, recursively, in a stable (sorted) order. Symlinks are followed;
/// a loop or an unreadable entry is an error naming the path rather than a silent skip.
pub fn find_landing_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.is_dir() {
        return Err(EngineError::input(dir, "landing folder not found"));
    }
    let mut files = Vec::new();
    for entry in WalkDir::new(dir).follow_links(true).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().map(Path::to_path_buf).unwrap_or_else(|| dir.to_path_buf());
            let why = if e.loop_ancestor().is_some() { "symlink loop".to_string() } else { e.to_string() };
            EngineError::input(path, format!("cannot read: {why}"))
        })?;
        if entry.file_type().is_file() && is_landing_file(entry.path()) {
            files.push(entry.into_path());
        }
    }
    if files.is_empty() {
        return Err(EngineError::input(dir, "no landing files (*.json, *.jsonl, *.ndjson, optionally .gz)"));
    }
    Ok(files)
}

/// The declared columns of a table, as DuckDB holds them after running the landing DDL.
pub fn table_columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    let mut stmt = conn.prepare(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() \
         WHERE table_name = ? AND NOT internal ORDER BY column_index",
    )?;
    let columns = stmt
        .query_map([table], |r| Ok(Column { name: r.get(0)?, data_type: r.get(1)?, nullable: r.get(2)? }))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(columns)
}

/// `read_json`'s `columns={...}` argument: the declared types, so nothing is auto-detected and every
/// data set gets the same schema.
fn columns_struct(columns: &[Column]) -> String {
    let fields: Vec<String> =
        columns.iter().map(|c| format!("{}: {}", quote_literal(&c.name), quote_literal(&c.data_type))).collect();
    format!("{{{}}}", fields.join(", "))
}

/// Where a landing table's rejected records go: `<table>_rejected`.
pub fn rejected_table(table: &str) -> String {
    format!("{table}_rejected")
}

/// Create the landing table from its DDL (and its `_rejected` table) and load every file of its
/// folder. Each file goes through DuckDB's typed reader in one statement when it can (the fast
/// path); a file it refuses, or every file of a table whose DDL says `-- validate: every record`,
/// is validated record by record instead, so a bad record becomes a reject, not a failed run.
pub fn load_landing_table(
    conn: &Connection,
    table: &LandingTable,
    data_dir: &Path,
    mut on_file: impl FnMut(&Path, usize, usize),
) -> Result<(Vec<Column>, Vec<SourceFile>)> {
    conn.execute_batch(&table.ddl).map_err(|e| EngineError::sql(&table.path, e.to_string()))?;
    conn.execute_batch(&format!(
        "CREATE TABLE {} (source_file VARCHAR, line BIGINT, raw_record VARCHAR, reason VARCHAR)",
        quote_ident(&rejected_table(&table.name))
    ))?;
    let columns = table_columns(conn, &table.name)?;
    let files = find_landing_files(&landing_dir(data_dir, &table.dataset))?;
    let insert = format!(
        "INSERT INTO {} SELECT * FROM read_json(?, format = 'auto', columns = {})",
        quote_ident(&table.name),
        columns_struct(&columns)
    );
    let mut fast = conn.prepare(&insert)?;
    let mut sources = Vec::with_capacity(files.len());
    for (index, path) in files.iter().enumerate() {
        on_file(path, index, files.len());
        let bytes =
            fs::metadata(path).map(|m| m.len()).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        let started = Instant::now();
        let path_text = path.to_str().ok_or_else(|| EngineError::input(path, "file name is not valid UTF-8"))?;
        // An empty file holds no records; DuckDB would reject it as malformed JSON.
        let (rows, rejected) = if bytes == 0 {
            (0, 0)
        } else if table.validate_all {
            load_validated(conn, table, &columns, path)?
        } else {
            match fast.execute([path_text]) {
                Ok(rows) => (rows as u64, 0),
                // The statement failed as a whole, so nothing of the file was inserted.
                Err(_) => load_validated(conn, table, &columns, path)?,
            }
        };
        sources.push(SourceFile { path: path.clone(), bytes, rows, rejected, elapsed: started.elapsed() });
    }
    Ok((columns, sources))
}

static SCRATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Validate a file record by record: clean records are loaded through a scratch NDJSON file (so
/// DuckDB still does the typing), rejects go to `<table>_rejected` with file, line, raw text, reason.
fn load_validated(conn: &Connection, table: &LandingTable, columns: &[Column], path: &Path) -> Result<(u64, u64)> {
    let validated = validate_file(path, columns).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
    let mut rows = 0;
    if !validated.records.is_empty() {
        let n = SCRATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let scratch = std::env::temp_dir().join(format!("stedi-tui-{}-{n}.ndjson", std::process::id()));
        let longest = validated.records.iter().map(String::len).max().unwrap_or(0);
        let written = fs::write(&scratch, validated.records.join("\n") + "\n");
        let result = written.map_err(|e| EngineError::input(&scratch, format!("cannot write: {e}"))).and_then(|_| {
            let sql = format!(
                "INSERT INTO {} SELECT * FROM read_json(?, format = 'newline_delimited', columns = {}, maximum_object_size = {})",
                quote_ident(&table.name),
                columns_struct(columns),
                (longest + 1024).max(16 << 20)
            );
            conn.execute(&sql, [scratch.to_string_lossy().as_ref()])
                .map_err(|e| EngineError::input(path, format!("validated records failed to load: {e}")))
        });
        let _ = fs::remove_file(&scratch);
        rows = result? as u64;
    }
    let source = path.display().to_string();
    let mut appender = conn.appender(&rejected_table(&table.name))?;
    for r in &validated.rejects {
        appender.append_row(duckdb::params![source, r.line as i64, r.raw, r.reason])?;
    }
    appender.flush()?;
    Ok((rows, validated.rejects.len() as u64))
}
