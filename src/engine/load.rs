//! Landing: find the files of each landing table (walkdir, recursively) and load them into DuckDB
//! with the types declared in `queries/landing/`. Files are read by batches, several in one
//! `read_json` call so DuckDB parses them on every core (it parses one file on one thread), each
//! row tagged with its file so every row count is still attributed to its file; a batch DuckDB
//! refuses is loaded again file by file, so every error and reject is attributed to its file too.
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::Connection;
use walkdir::WalkDir;

use super::catalog::LandingTable;
use super::error::{EngineError, Result};
use super::sql_text::{quote_ident, quote_literal};
use super::validate::{validate_file, Validated};

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

/// A batch of files read by one statement holds at least this many bytes (or the rest of the
/// folder): enough files that DuckDB keeps every core busy, few enough statements that progress
/// moves and a batch with a bad record costs only its own files a second, file-by-file pass.
pub const BATCH_BYTES: u64 = 256 << 20;

/// `INSERT INTO "table" ("a", "b", ...)`: the declared columns by name, so an insert never depends
/// on the temporary file-number column a batched load adds.
fn insert_into(table: &str, columns: &[Column]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!("INSERT INTO {} ({})", quote_ident(table), names.join(", "))
}

/// Create the landing table from its DDL (and its `_rejected` table) and load every file of its
/// folder. Files go through DuckDB's typed reader by batches of [`BATCH_BYTES`] (the fast path);
/// a batch it refuses is loaded again file by file, and a file it refuses then, or every file of a
/// table whose DDL says `-- validate: every record`, is validated record by record instead, so a
/// bad record becomes a reject, not a failed run. `on_file(path, index, total)` is called before
/// each batch (with its first file) and before each file loaded on its own.
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
    let mut sources = Vec::with_capacity(files.len());
    for path in &files {
        let bytes =
            fs::metadata(path).map(|m| m.len()).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        path.to_str().ok_or_else(|| EngineError::input(path, "file name is not valid UTF-8"))?;
        sources.push(SourceFile { path: path.clone(), bytes, rows: 0, rejected: 0, elapsed: Duration::ZERO });
    }
    if table.validate_all {
        load_all_validated(conn, table, &columns, &mut sources, &mut on_file)?;
        return Ok((columns, sources));
    }
    // Each batched row carries its file's number in a temporary column, dropped once all are in.
    let mut file_column = "stedi_tui_file".to_string();
    while columns.iter().any(|c| c.name.eq_ignore_ascii_case(&file_column)) {
        file_column.push('_');
    }
    let alter = format!("ALTER TABLE {} ADD COLUMN {} UBIGINT", quote_ident(&table.name), quote_ident(&file_column));
    conn.execute_batch(&alter)?;
    let loaded = load_batches(conn, table, &columns, &file_column, &mut sources, &mut on_file);
    let drop = format!("ALTER TABLE {} DROP COLUMN {}", quote_ident(&table.name), quote_ident(&file_column));
    let dropped = conn.execute_batch(&drop);
    loaded?;
    dropped?;
    Ok((columns, sources))
}

/// Load `sources` by batches into a table that has the extra `file_column`, then count each
/// batched file's rows by it. A refused batch (nothing of it was inserted) goes file by file.
fn load_batches(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    file_column: &str,
    sources: &mut [SourceFile],
    on_file: &mut impl FnMut(&Path, usize, usize),
) -> Result<()> {
    let total = sources.len();
    let mut start = 0;
    while start < total {
        let mut end = start;
        let mut bytes = 0;
        while end < total && (bytes < BATCH_BYTES || end == start) {
            bytes += sources[end].bytes;
            end += 1;
        }
        on_file(&sources[start].path, start, total);
        let started = Instant::now();
        // An empty file holds no records; DuckDB would reject it as malformed JSON.
        let batch: Vec<usize> = (start..end).filter(|&i| sources[i].bytes > 0).collect();
        let list: Vec<String> =
            batch.iter().map(|&i| quote_literal(sources[i].path.to_str().expect("checked UTF-8"))).collect();
        // DuckDB's `file_index` is the position in this call's list; turn it into the folder's.
        let number = if batch.len() == end - start {
            format!("file_index + {start}")
        } else {
            let cases: Vec<String> = batch.iter().enumerate().map(|(k, &i)| format!("WHEN {k} THEN {i}")).collect();
            format!("CASE file_index {} END", cases.join(" "))
        };
        let insert = format!(
            "INSERT INTO {} SELECT *, {number} FROM read_json([{}], format = 'auto', columns = {})",
            quote_ident(&table.name),
            list.join(", "),
            columns_struct(columns)
        );
        if batch.is_empty() || !refused(conn.execute_batch(&insert))? {
            let elapsed = started.elapsed();
            for source in &mut sources[start..end] {
                // One statement read the whole batch: each file gets its share of the time by size.
                source.elapsed = elapsed.mul_f64(source.bytes as f64 / bytes.max(1) as f64);
            }
        } else {
            for (index, source) in sources.iter_mut().enumerate().take(end).skip(start) {
                if index > start {
                    on_file(&source.path, index, total);
                }
                load_one(conn, table, columns, source)?;
            }
        }
        start = end;
    }
    let count = format!(
        "SELECT {0}, count(*) FROM {1} WHERE {0} IS NOT NULL GROUP BY {0}",
        quote_ident(file_column),
        quote_ident(&table.name)
    );
    let mut stmt = conn.prepare(&count)?;
    let counts: BTreeMap<u64, u64> = stmt
        .query_map([], |r| Ok((r.get::<_, u64>(0)?, r.get::<_, u64>(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    for (index, rows) in counts {
        sources[index as usize].rows = rows;
    }
    Ok(())
}

/// Validate every file record by record (a table whose DDL says `-- validate: every record`):
/// the validator is single-threaded Rust, so as many files as there are cores are validated at
/// once, each wave then loaded in folder order (memory holds one wave's records).
fn load_all_validated(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
    on_file: &mut impl FnMut(&Path, usize, usize),
) -> Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let total = sources.len();
    for (wave, chunk) in sources.chunks_mut(threads).enumerate() {
        on_file(&chunk[0].path, wave * threads, total);
        let started = Instant::now();
        let validated: Vec<std::io::Result<Validated>> = std::thread::scope(|scope| {
            let handles: Vec<_> =
                chunk.iter().map(|source| scope.spawn(move || validate_file(&source.path, columns))).collect();
            handles.into_iter().map(|h| h.join().expect("the validator does not panic")).collect()
        });
        let validating = started.elapsed() / chunk.len() as u32;
        for (source, validated) in chunk.iter_mut().zip(validated) {
            let started = Instant::now();
            let validated = validated.map_err(|e| EngineError::input(&source.path, format!("cannot read: {e}")))?;
            // An empty file holds no records (and the validator finds none).
            (source.rows, source.rejected) = load_records(conn, table, columns, &source.path, validated)?;
            source.elapsed = validating + started.elapsed();
        }
    }
    Ok(())
}

/// Whether DuckDB refused a load statement (nothing of it was inserted): any error but a
/// cancellation (Esc in the TUI), which stops the load rather than trying the files another way.
fn refused<T>(outcome: std::result::Result<T, duckdb::Error>) -> Result<bool> {
    match outcome.map_err(EngineError::from) {
        Ok(_) => Ok(false),
        Err(EngineError::Cancelled) => Err(EngineError::Cancelled),
        Err(_) => Ok(true),
    }
}

/// Load one file on its own through DuckDB's typed reader, or record by record when it refuses it.
fn load_one(conn: &Connection, table: &LandingTable, columns: &[Column], source: &mut SourceFile) -> Result<()> {
    let started = Instant::now();
    let path = &source.path;
    // An empty file holds no records; DuckDB would reject it as malformed JSON.
    let (rows, rejected) = if source.bytes == 0 {
        (0, 0)
    } else {
        let insert = format!(
            "{} SELECT * FROM read_json(?, format = 'auto', columns = {})",
            insert_into(&table.name, columns),
            columns_struct(columns)
        );
        match conn.execute(&insert, [path.to_str().expect("checked UTF-8")]) {
            Ok(rows) => (rows as u64, 0),
            // The statement failed as a whole, so nothing of the file was inserted.
            Err(e) => {
                refused::<()>(Err(e))?;
                load_validated(conn, table, columns, path)?
            }
        }
    };
    source.rows = rows;
    source.rejected = rejected;
    source.elapsed = started.elapsed();
    Ok(())
}

static SCRATCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Validate a file record by record: clean records are loaded through a scratch NDJSON file (so
/// DuckDB still does the typing), rejects go to `<table>_rejected` with file, line, raw text, reason.
fn load_validated(conn: &Connection, table: &LandingTable, columns: &[Column], path: &Path) -> Result<(u64, u64)> {
    let validated = validate_file(path, columns).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
    load_records(conn, table, columns, path, validated)
}

/// Load a validated file's clean records and its rejects: (rows loaded, records rejected).
fn load_records(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    path: &Path,
    validated: Validated,
) -> Result<(u64, u64)> {
    let mut rows = 0;
    if !validated.records.is_empty() {
        let n = SCRATCH.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let scratch = std::env::temp_dir().join(format!("stedi-tui-{}-{n}.ndjson", std::process::id()));
        let longest = validated.records.iter().map(String::len).max().unwrap_or(0);
        let written = fs::write(&scratch, validated.records.join("\n") + "\n");
        let result = written.map_err(|e| EngineError::input(&scratch, format!("cannot write: {e}"))).and_then(|_| {
            let sql = format!(
                "{} SELECT * FROM read_json(?, format = 'newline_delimited', columns = {}, maximum_object_size = {})",
                insert_into(&table.name, columns),
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
