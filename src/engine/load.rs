//! Landing: find the files of each landing table (walkdir, recursively) and load them into DuckDB
//! with the types declared in `queries/landing/`, one file at a time so every row count, time and
//! error is attributed to its file.
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::Connection;
use walkdir::WalkDir;

use super::catalog::LandingTable;
use super::error::{one_line, EngineError, Result};
use super::sql_text::{quote_ident, quote_literal};

/// The file name endings a landing folder may hold.
pub const LANDING_EXTENSIONS: [&str; 6] = [".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

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

/// Create the landing table from its DDL and load every file of its folder.
pub fn load_landing_table(
    conn: &Connection,
    table: &LandingTable,
    data_dir: &Path,
    mut on_file: impl FnMut(&Path, usize, usize),
) -> Result<(Vec<Column>, Vec<SourceFile>)> {
    conn.execute_batch(&table.ddl).map_err(|e| EngineError::sql(&table.path, e.to_string()))?;
    let columns = table_columns(conn, &table.name)?;
    let files = find_landing_files(&landing_dir(data_dir, &table.dataset))?;
    let insert = format!(
        "INSERT INTO {} SELECT * FROM read_json(?, format = 'auto', columns = {})",
        quote_ident(&table.name),
        columns_struct(&columns)
    );
    let mut stmt = conn.prepare(&insert)?;
    let mut sources = Vec::with_capacity(files.len());
    for (index, path) in files.iter().enumerate() {
        on_file(path, index, files.len());
        let bytes =
            fs::metadata(path).map(|m| m.len()).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        let started = Instant::now();
        // An empty file holds no records; DuckDB would reject it as malformed JSON.
        let rows = if bytes == 0 {
            0
        } else {
            let path_text = path.to_str().ok_or_else(|| EngineError::input(path, "file name is not valid UTF-8"))?;
            stmt.execute([path_text]).map_err(|e| explain_load_error(path, &columns, &e.to_string()))? as u64
        };
        sources.push(SourceFile { path: path.clone(), bytes, rows, elapsed: started.elapsed() });
    }
    Ok((columns, sources))
}

/// DuckDB names the file and line for malformed JSON and bad casts, but not for a missing
/// required field (a NOT NULL constraint); find that record ourselves so the user gets a line.
fn explain_load_error(path: &Path, columns: &[Column], message: &str) -> EngineError {
    let names_column =
        |c: &Column| message.contains(&format!(".{}", c.name)) || message.contains(&format!(".\"{}\"", c.name));
    if let Some(column) = columns.iter().find(|c| !c.nullable && names_column(c)) {
        if let Some(line) = first_record_without(path, &column.name) {
            return EngineError::input(
                path,
                format!("line {line}: required field {:?} is missing or null", column.name),
            );
        }
    }
    let message = one_line(message);
    // DuckDB already quotes the file name; keep its words after the file for readability.
    EngineError::input(path, message.replace(&format!("in file \"{}\", ", path.display()), ""))
}

/// The 1-based line of the first newline-delimited record lacking `field` (or holding null).
fn first_record_without(path: &Path, field: &str) -> Option<usize> {
    let file = fs::File::open(path).ok()?;
    let reader: Box<dyn Read> = if path.to_string_lossy().to_lowercase().ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.ok()?;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line.trim_start_matches('\u{feff}')) else {
            continue;
        };
        let records: Vec<&serde_json::Value> = match &value {
            serde_json::Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        if records.iter().any(|r| r.get(field).is_none_or(|v| v.is_null())) {
            return Some(index + 1);
        }
    }
    None
}
