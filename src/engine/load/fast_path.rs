//! The fast path: DuckDB's typed reader loads whole batches of files with one `read_json` each,
//! every declared column read and checked so that only values that fit its declared type load
//! (anything else fails the statement, and the files go file by file, then record by record).
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use duckdb::Connection;

use super::validated::load_validated;
use super::{file_column, insert_into, Column, SourceFile};
use crate::engine::cache;
use crate::engine::catalog::LandingTable;
use crate::engine::error::{EngineError, Result};
use crate::engine::sql_text::{quote_ident, quote_literal};
use crate::engine::validate::integer_range;

/// How the fast path reads a file's declared columns ([`read_column`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// Numbers as numbers, checked: for a plain file in which the bytes `true` and `false` never
    /// occur, so it holds no boolean (which DuckDB would read as the number 1 or 0).
    Typed,
    /// Every value as its text, checked: for any file (a gzip file cannot be looked through
    /// before it is read; a plain one may hold a boolean).
    Text,
}

/// `read_json`'s `columns={...}` argument: the types the fast path reads the declared columns as,
/// so nothing is auto-detected and every data set gets the same schema.
fn columns_struct(columns: &[Column], form: Form) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|c| format!("{}: {}", quote_literal(&c.name), quote_literal(read_column(c, form).0)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

/// The fast path's `SELECT` list: every declared column through [`read_column`].
fn checked_select(columns: &[Column], form: Form) -> String {
    columns.iter().map(|c| read_column(c, form).1).collect::<Vec<_>>().join(", ")
}

/// How the fast path reads a declared column (the type `read_json` is given) and the expression
/// that loads its value only when it fits the declared type as the record validator takes it
/// (`fit` in [`super::validate`]). Anything else fails the statement (`error()`), so the file is
/// validated record by record and the value becomes a reject: the fast path is only ever
/// stricter than the validator. DuckDB's own casts would load `true` as 1 and round a fractional
/// time to a whole millisecond.
fn read_column(column: &Column, form: Form) -> (&str, String) {
    const EXACT: i64 = 1 << 53;
    let name = quote_ident(&column.name);
    let data_type = column.data_type.as_str();
    // Naming the column keeps the error from being raised before any row is read.
    let misfit =
        format!("error('a value does not fit ' || {} || length({name}::VARCHAR))", quote_literal(&column.name));
    // One test and one branch a value (8 million rows at F=100: every operation shows).
    let checked = |fits: String, value: String| {
        // `IS NOT TRUE`: a test that is NULL for a value (a text no cast takes) is a misfit.
        format!("CASE WHEN {name} IS NOT NULL AND ({fits}) IS NOT TRUE THEN {misfit} ELSE {value} END")
    };
    let cast = format!("TRY_CAST({name} AS {data_type})");
    // Starts with `[` or `{`: as comparisons, which cost a third of what `starts_with` does.
    let bracket = format!("{name} >= '[' AND {name} < '\\' OR {name} >= '{{' AND {name} < '|'");
    match (form, data_type) {
        // Text, or a number as its text; an array or an object is no text (a text that starts
        // with a bracket is left to the validator).
        (Form::Typed, "VARCHAR") => ("VARCHAR", checked(format!("NOT ({bracket})"), name.clone())),
        (Form::Text, "VARCHAR") => {
            ("VARCHAR", checked(format!("NOT ({name} IN ('true', 'false') OR {bracket})"), name.clone()))
        }
        // A whole number, read exactly as a DOUBLE up to 2^53 (larger ones are left to the validator).
        (Form::Typed, _) if integer_range(data_type).is_some() => {
            let (min, max) = integer_range(data_type).expect("an integer type");
            let fits = format!("{name} = trunc({name}) AND {name} BETWEEN {} AND {}", min.max(-EXACT), max.min(EXACT));
            ("DOUBLE", checked(fits, format!("CAST({name} AS {data_type})")))
        }
        // As text: what casts to the type and back to the same text (DuckDB writes a whole
        // number read as text in that form).
        (Form::Text, _) if integer_range(data_type).is_some() => {
            ("VARCHAR", checked(format!("{cast}::VARCHAR = {name}"), cast))
        }
        (Form::Typed, "DOUBLE" | "FLOAT") => (data_type, checked(format!("isfinite({name})"), name.clone())),
        // A number read as text is written in its shortest exact form, so it casts back to itself.
        (Form::Text, "DOUBLE" | "FLOAT") => ("VARCHAR", checked(format!("isfinite({cast})"), cast)),
        (_, "DATE") => (
            "VARCHAR",
            checked(
                format!(
                    "regexp_full_match({name}, '[0-9]{{1,4}}-[0-9]{{2}}-[0-9]{{2}}') \
                     AND NOT regexp_full_match({name}, '0+-.*') AND {cast} IS NOT NULL"
                ),
                cast,
            ),
        ),
        (_, "BOOLEAN") => {
            ("JSON", checked(format!("{name}::VARCHAR IN ('true', 'false')"), format!("{name}::VARCHAR = 'true'")))
        }
        // Any other type is cast by DuckDB, as the validator leaves it to DuckDB.
        _ => (data_type, name),
    }
}

/// What the fast path needs to know of a file before reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Gzip (by its first bytes) that decodes whole: every member's checksum and length agree.
    Gzip,
    /// A file DuckDB's reader is not given, validated record by record instead: gzip that does not
    /// decode whole (cut, corrupt, a checksum that disagrees: DuckDB's reader does not check the
    /// checksum, so a flipped bit that still decodes would load altered readings; the validator
    /// rejects the whole file with the decoder's reason), or a file whose name is not UTF-8
    /// (DuckDB takes paths as UTF-8 text; the validator opens it by its bytes).
    RecordByRecord,
    /// Plain text; `booleans`: the bytes `true` or `false` occur in it.
    Plain { booleans: bool },
}

impl Kind {
    fn of(path: &Path) -> Result<Kind> {
        if path.to_str().is_none() {
            return Ok(Kind::RecordByRecord);
        }
        let cannot = |e: std::io::Error| EngineError::input(path, format!("cannot read: {e}"));
        if crate::engine::validate::is_gzip(path).map_err(cannot)? {
            let (mut text, _) = crate::engine::validate::open_text(path).map_err(cannot)?;
            // Any failure to decode (a read error too) goes to the validator, which reads the file
            // again and says what is wrong with it.
            return Ok(if std::io::copy(&mut text, &mut std::io::sink()).is_ok() {
                Kind::Gzip
            } else {
                Kind::RecordByRecord
            });
        }
        let mut file = std::fs::File::open(path).map_err(cannot)?;
        let (truth, falsity) = (memchr::memmem::Finder::new(b"true"), memchr::memmem::Finder::new(b"false"));
        let mut buf = vec![0u8; 1 << 20];
        // The last bytes of a chunk are looked at again with the next one: a word may span two.
        let mut kept = 0;
        loop {
            let n = std::io::Read::read(&mut file, &mut buf[kept..]).map_err(cannot)?;
            if n == 0 {
                return Ok(Kind::Plain { booleans: false });
            }
            let chunk = &buf[..kept + n];
            if truth.find(chunk).is_some() || falsity.find(chunk).is_some() {
                return Ok(Kind::Plain { booleans: true });
            }
            kept = chunk.len().min(4);
            let from = chunk.len() - kept;
            buf.copy_within(from..from + kept, 0);
        }
    }

    fn form(self) -> Form {
        if self == (Kind::Plain { booleans: false }) {
            Form::Typed
        } else {
            Form::Text
        }
    }

    fn compression(self) -> &'static str {
        if self == Kind::Gzip {
            "gzip"
        } else {
            "none"
        }
    }
}

/// A batch of files read by one statement holds at least this many bytes (or the rest of the
/// folder): enough files that DuckDB keeps every core busy, few enough statements that progress
/// moves and a batch with a bad record costs only its own files a second, file-by-file pass.
pub const BATCH_BYTES: u64 = 256 << 20;

/// One statement that loads `files` (path, file id), all of one [`Kind`], into the cached table
/// with one `read_json`, which parses them on every core.
pub(super) fn insert_files(table: &LandingTable, columns: &[Column], files: &[(&str, u32)], kind: Kind) -> String {
    let list: Vec<String> = files.iter().map(|(path, _)| quote_literal(path)).collect();
    // DuckDB's `file_index` is the position in this call's list; turn it into the file's id.
    let ids: Vec<String> = files.iter().enumerate().map(|(k, (_, id))| format!("WHEN {k} THEN {id}")).collect();
    format!(
        "{} SELECT {}, CASE file_index {} END FROM read_json([{}], columns = {}, format = 'auto', compression = '{}')",
        insert_into(&table.name, columns),
        checked_select(columns, kind.form()),
        ids.join(" "),
        list.join(", "),
        columns_struct(columns, kind.form()),
        kind.compression()
    )
}

/// Load `sources` (each with its new file id) by batches of one [`Kind`] (plain files without
/// booleans first, then the others, each in folder order), then count each file's rows by its id.
/// A refused batch (nothing of it was inserted) goes file by file.
pub(super) fn load_batches(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
    on_file: &mut impl FnMut(&Path, usize, usize),
) -> Result<()> {
    let total = sources.len();
    let kinds = kinds_of(sources)?;
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| (kinds[i].form() != Form::Typed, kinds[i] == Kind::Gzip, kinds[i] == Kind::RecordByRecord));
    let mut start = 0;
    while start < total {
        let kind = kinds[order[start]];
        let mut end = start;
        let mut bytes = 0;
        while end < total && kinds[order[end]] == kind && (bytes < BATCH_BYTES || end == start) {
            bytes += sources[order[end]].bytes;
            end += 1;
        }
        on_file(&sources[order[start]].path, start, total);
        let started = Instant::now();
        if kind == Kind::RecordByRecord {
            for (index, &i) in order.iter().enumerate().take(end).skip(start) {
                if index > start {
                    on_file(&sources[i].path, index, total);
                }
                let started = Instant::now();
                load_validated(conn, table, columns, std::slice::from_mut(&mut sources[i]))?;
                sources[i].elapsed = started.elapsed();
            }
            start = end;
            continue;
        }
        // An empty file holds no records; DuckDB would reject it as malformed JSON.
        let batch: Vec<&SourceFile> = order[start..end].iter().map(|&i| &sources[i]).filter(|s| s.bytes > 0).collect();
        // Every path here is UTF-8: any other is read record by record (above).
        let files: Vec<(&str, u32)> =
            batch.iter().map(|s| (s.path.to_str().expect("checked UTF-8"), s.file_id)).collect();
        let insert = insert_files(table, columns, &files, kind);
        if batch.is_empty() || !refused(conn.execute_batch(&insert))? {
            let elapsed = started.elapsed();
            for &i in &order[start..end] {
                // One statement read the whole batch: each file gets its share of the time by size.
                sources[i].elapsed = elapsed.mul_f64(sources[i].bytes as f64 / bytes.max(1) as f64);
            }
        } else if end - start == 1 && kind.form() == Form::Text {
            // Refused as it would be on its own: validated record by record.
            let i = order[start];
            load_validated(conn, table, columns, std::slice::from_mut(&mut sources[i]))?;
            sources[i].elapsed = started.elapsed();
        } else {
            for (index, &i) in order.iter().enumerate().take(end).skip(start) {
                if index > start {
                    on_file(&sources[i].path, index, total);
                }
                load_one(conn, table, columns, &mut sources[i])?;
            }
        }
        start = end;
    }
    let Some(first) = sources.iter().map(|s| s.file_id).min() else { return Ok(()) };
    let count = format!(
        "SELECT {0}, count(*) FROM {1} WHERE {0} >= {first} GROUP BY {0}",
        quote_ident(&file_column(columns)),
        cache::cached(&table.name)
    );
    let mut stmt = conn.prepare(&count)?;
    let counts: BTreeMap<u32, u64> = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u64>(1)?)))?
        .collect::<std::result::Result<_, _>>()?;
    for source in sources.iter_mut() {
        source.rows = counts.get(&source.file_id).copied().unwrap_or(0);
    }
    Ok(())
}

/// Each file's [`Kind`], on every core: telling one means reading it through (looking for
/// booleans, or decoding the gzip to check it), which for a folder of gzip files is real work.
fn kinds_of(sources: &[SourceFile]) -> Result<Vec<Kind>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(sources.len()).max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut kinds: Vec<Option<Result<Kind>>> = (0..sources.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut told = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(source) = sources.get(i) else { break told };
                        told.push((i, Kind::of(&source.path)));
                    }
                })
            })
            .collect();
        for handle in handles {
            for (i, kind) in handle.join().expect("a file's kind is told without panicking") {
                kinds[i] = Some(kind);
            }
        }
    });
    kinds.into_iter().map(|k| k.expect("every file was told")).collect()
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

/// Load one file on its own through DuckDB's typed reader, every value read as text and checked
/// (gzip told by the file's first bytes, not its name), or record by record when it refuses it.
fn load_one(conn: &Connection, table: &LandingTable, columns: &[Column], source: &mut SourceFile) -> Result<()> {
    let started = Instant::now();
    let path = &source.path;
    // An empty file holds no records; DuckDB would reject it as malformed JSON.
    if source.bytes == 0 {
        (source.rows, source.rejected) = (0, 0);
    } else {
        let gzip = crate::engine::validate::is_gzip(path)
            .map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        let insert = format!(
            "{} SELECT {}, {} FROM read_json(?, format = 'auto', columns = {}, compression = '{}')",
            insert_into(&table.name, columns),
            checked_select(columns, Form::Text),
            source.file_id,
            columns_struct(columns, Form::Text),
            if gzip { "gzip" } else { "none" }
        );
        match conn.execute(&insert, [path.to_str().expect("checked UTF-8")]) {
            Ok(rows) => (source.rows, source.rejected) = (rows as u64, 0),
            // The statement failed as a whole, so nothing of the file was inserted.
            Err(e) => {
                refused::<()>(Err(e))?;
                load_validated(conn, table, columns, std::slice::from_mut(source))?;
            }
        }
    }
    source.elapsed = started.elapsed();
    Ok(())
}
