//! Landing: load the files of each landing table (see [`super::landing_files`]) into DuckDB
//! with the types declared in `queries/landing/`, parsing only what the cache lacks. Files are read by batches, several in one
//! `read_json` call so DuckDB parses them on every core (it parses one file on one thread), each
//! row tagged with its file so every row count is still attributed to its file; a batch DuckDB
//! refuses is loaded again file by file, so every error and reject is attributed to its file too.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use duckdb::types::ToSqlOutput;
use duckdb::Connection;
use serde_json::value::RawValue;

use super::cache;
use super::catalog::LandingTable;
use super::error::{EngineError, Result};
pub use super::landing_files::{find_landing_files, landing_dir, LANDING_EXTENSIONS};
use super::landing_files::{hash_file, now_ns, read_manifest, stat, RACY_NS};
use super::sql_text::{quote_ident, quote_literal};
use super::validate::{integer_range, validate_file, FileEnd, Validated};

#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceFile {
    pub path: PathBuf,
    pub bytes: u64,
    pub rows: u64,
    /// Records that did not fit the declared columns (see `<table>_rejected`).
    pub rejected: u64,
    #[serde(skip)]
    pub elapsed: Duration,
    /// Taken from the cache unchanged rather than parsed in this run.
    pub reused: bool,
    /// The file's number in the cache's manifest (`stedi_cache.files.file_id`).
    #[serde(skip)]
    pub file_id: u32,
    /// SHA-256 of the file's bytes, hex.
    #[serde(skip)]
    pub sha256: String,
}

pub use super::validate::Column;

/// The declared columns of a table, as DuckDB holds them after running the landing DDL.
pub fn table_columns(conn: &Connection, table: &str) -> Result<Vec<Column>> {
    relation_columns(conn, "main", table)
}

/// The columns of a table or view in `schema`, in order, with their types and NOT NULLs (a
/// view's are all nullable). `pragma_table_info` looks up the one relation, where
/// `duckdb_columns()` would list every column of the catalogue on each call.
pub fn relation_columns(conn: &Connection, schema: &str, name: &str) -> Result<Vec<Column>> {
    let mut stmt = conn.prepare_cached("SELECT name, type, \"notnull\" FROM pragma_table_info(?) ORDER BY cid")?;
    let qualified = format!("{}.{}", quote_ident(schema), quote_ident(name));
    let columns = stmt
        .query_map([qualified], |r| {
            Ok(Column { name: r.get(0)?, data_type: r.get(1)?, nullable: !r.get::<_, bool>(2)? })
        })?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(columns)
}

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
    let checked = |fits: String, value: String| {
        format!("CASE WHEN {name} IS NULL THEN NULL WHEN {fits} THEN {value} ELSE {misfit} END")
    };
    let cast = format!("TRY_CAST({name} AS {data_type})");
    let bracket = format!("starts_with({name}, '[') OR starts_with({name}, '{{')");
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
enum Kind {
    /// Gzip (by its first bytes).
    Gzip,
    /// Plain text; `booleans`: the bytes `true` or `false` occur in it.
    Plain { booleans: bool },
}

impl Kind {
    fn of(path: &Path) -> Result<Kind> {
        let cannot = |e: std::io::Error| EngineError::input(path, format!("cannot read: {e}"));
        if super::validate::is_gzip(path).map_err(cannot)? {
            return Ok(Kind::Gzip);
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

/// Where a landing table's rejected records go: `<table>_rejected`.
pub fn rejected_table(table: &str) -> String {
    format!("{table}_rejected")
}

/// A batch of files read by one statement holds at least this many bytes (or the rest of the
/// folder): enough files that DuckDB keeps every core busy, few enough statements that progress
/// moves and a batch with a bad record costs only its own files a second, file-by-file pass.
pub const BATCH_BYTES: u64 = 256 << 20;

/// The column of a cached landing table that says which file (`stedi_cache.files.file_id`) a row
/// came from; `main.<table>` is a view without it.
fn file_column(columns: &[Column]) -> String {
    let mut name = "stedi_file".to_string();
    while columns.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
        name.push('_');
    }
    name
}

/// `INSERT INTO stedi_cache."table" ("a", "b", ..., stedi_file)`: the declared columns by name.
fn insert_into(table: &str, columns: &[Column]) -> String {
    let mut names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    names.push(quote_ident(&file_column(columns)));
    format!("INSERT INTO {} ({})", cache::cached(table), names.join(", "))
}

/// One statement that loads `files` (path, file id), all of one [`Kind`], into the cached table
/// with one `read_json`, which parses them on every core.
fn insert_files(table: &LandingTable, columns: &[Column], files: &[(&str, u32)], kind: Kind) -> String {
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

/// The cached table of a landing table: made from its DDL (in the cache's schema) plus the file
/// column, with its `_rejected` table. Made again, empty, when the DDL changed since it was cached.
fn prepare_store(conn: &Connection, table: &LandingTable) -> Result<Vec<Column>> {
    let fingerprint = cache::fingerprint([table.ddl.as_str(), if table.validate_all { "validate" } else { "" }]);
    let key = format!("ddl:{}", table.name);
    // A cached table that is not there (or cannot be read) is made again.
    let cached = relation_columns(conn, cache::SCHEMA, &table.name).ok().filter(|c| !c.is_empty());
    let mut columns = match cached {
        Some(columns) if cache::meta(conn, &key).as_deref() == Some(fingerprint.as_str()) => columns,
        _ => {
            cache::set_state(conn, false)?;
            conn.execute_batch(&format!(
                "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
                cache::cached(&table.name),
                cache::cached(&rejected_table(&table.name))
            ))?;
            conn.execute(&format!("DELETE FROM {}.files WHERE table_name = ?", cache::SCHEMA), [&table.name])?;
            // The DDL names the table unqualified: run it with the cache's schema as the default.
            conn.execute_batch(&format!("SET schema = {}", quote_literal(cache::SCHEMA)))?;
            let created = conn.execute_batch(&table.ddl);
            conn.execute_batch("SET schema = 'main'")?;
            created.map_err(|e| EngineError::sql(&table.path, e.to_string()))?;
            let mut columns = relation_columns(conn, cache::SCHEMA, &table.name)?;
            let file = file_column(&columns);
            conn.execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {} UINTEGER;
                 CREATE TABLE {} (file_id UINTEGER, line BIGINT, raw_record VARCHAR, reason VARCHAR)",
                cache::cached(&table.name),
                quote_ident(&file),
                cache::cached(&rejected_table(&table.name))
            ))?;
            cache::set_meta(conn, &key, &fingerprint)?;
            cache::set_state(conn, true)?;
            columns.push(Column { name: file, data_type: "UINTEGER".to_string(), nullable: true });
            columns
        }
    };
    let file = file_column(&columns[..columns.len().saturating_sub(1)]);
    columns.retain(|c| c.name != file);
    Ok(columns)
}

/// Bring a landing table up to date with its folder and return its columns and files: files the
/// cache holds unchanged (same size and times, or else the same SHA-256) are reused; the rows of
/// changed and deleted files are removed; new and changed files are parsed. Parsing goes through
/// DuckDB's typed reader by batches of [`BATCH_BYTES`] (the fast path); a batch it refuses is
/// loaded again file by file, and a file it refuses then, or every file of a table whose DDL says
/// `-- validate: every record`, is validated record by record instead, so a bad record becomes a
/// reject, not a failed run. `main.<table>` and `main.<table>_rejected` are views of the cache
/// ([`Loaded::views`]).
/// `hash_contents`: record each new file's SHA-256 (for a cache file; an in-memory run skips it).
/// `on_file(path, index, total)` is called before each batch (with its first file) and before
/// each file loaded on its own; total counts the files to parse.
pub fn load_landing_table(
    conn: &Connection,
    table: &LandingTable,
    data_dir: &Path,
    hash_contents: bool,
    mut on_file: impl FnMut(&Path, usize, usize),
) -> Result<Loaded> {
    let columns = prepare_store(conn, table)?;
    let files = find_landing_files(&landing_dir(data_dir, &table.dataset))?;
    let read_at = now_ns();
    let found = files.iter().map(|p| stat(p, data_dir)).collect::<Result<Vec<_>>>()?;
    let mut manifest = read_manifest(conn, &table.name)?;
    let mut sources = Vec::with_capacity(found.len());
    let mut stale = Vec::new();
    let mut to_load = Vec::new();
    let mut hashes = HashMap::new();
    let mut restat = Vec::new();
    for (index, file) in found.iter().enumerate() {
        let entry = manifest.remove(&file.rel);
        let reused = match &entry {
            // An empty hash: the file changed while it was loaded, so its rows are not known to
            // be its content; the content decides (and differs from an empty hash).
            Some(e)
                if e.size == file.size
                    && e.mtime_ns == file.mtime_ns
                    && e.ctime_ns == file.ctime_ns
                    && e.mtime_ns < e.recorded_ns.saturating_sub(RACY_NS)
                    && e.ctime_ns < e.recorded_ns.saturating_sub(RACY_NS)
                    && !e.sha256.is_empty() =>
            {
                true
            }
            // Touched, copied or just written: the content decides.
            Some(e) if e.size == file.size => {
                let sha = hash_file(&file.path)?;
                let same = sha == e.sha256;
                if same {
                    restat.push((e.file_id, index));
                } else {
                    hashes.insert(index, sha);
                }
                same
            }
            _ => false,
        };
        match (reused, entry) {
            (true, Some(e)) => sources.push(SourceFile {
                path: file.path.clone(),
                bytes: file.size,
                rows: e.rows,
                rejected: e.rejected,
                elapsed: Duration::ZERO,
                reused: true,
                file_id: e.file_id,
                sha256: e.sha256.clone(),
            }),
            (_, entry) => {
                stale.extend(entry.map(|e| e.file_id));
                to_load.push(sources.len());
                sources.push(SourceFile {
                    path: file.path.clone(),
                    bytes: file.size,
                    rows: 0,
                    rejected: 0,
                    elapsed: Duration::ZERO,
                    reused: false,
                    file_id: 0,
                    sha256: String::new(),
                });
            }
        }
    }
    // What is left in the manifest are files that are gone.
    stale.extend(manifest.values().map(|e| e.file_id));
    let store = cache::cached(&table.name);
    let rejects = cache::cached(&rejected_table(&table.name));
    let mut changed_while_loading = false;
    if !stale.is_empty() || !to_load.is_empty() {
        cache::set_state(conn, false)?;
    }
    if !stale.is_empty() {
        let ids = stale.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let file = quote_ident(&file_column(&columns));
        conn.execute_batch(&format!(
            "DELETE FROM {store} WHERE {file} IN ({ids});
             DELETE FROM {rejects} WHERE file_id IN ({ids});
             DELETE FROM {schema}.files WHERE file_id IN ({ids});",
            schema = cache::SCHEMA
        ))?;
    }
    for (file_id, index) in restat {
        let f = &found[index];
        conn.execute(
            &format!(
                "UPDATE {}.files SET mtime_ns = ?, ctime_ns = ?, recorded_ns = ? WHERE file_id = ?",
                cache::SCHEMA
            ),
            duckdb::params![f.mtime_ns, f.ctime_ns, read_at, file_id],
        )?;
    }
    if !to_load.is_empty() {
        let next: u32 =
            conn.query_row(&format!("SELECT coalesce(max(file_id) + 1, 0) FROM {}.files", cache::SCHEMA), [], |r| {
                r.get(0)
            })?;
        for (k, &index) in to_load.iter().enumerate() {
            sources[index].file_id = next + k as u32;
        }
        let mut loading: Vec<SourceFile> = to_load.iter().map(|&i| sources[i].clone()).collect();
        // The content hashes of new files, on another thread while DuckDB parses; without a cache
        // file nothing outlives the run, so a file is named by its path, size and times instead.
        let unhashed: Vec<(usize, PathBuf)> = if hash_contents {
            to_load.iter().filter(|i| !hashes.contains_key(i)).map(|&i| (i, sources[i].path.clone())).collect()
        } else {
            for &i in &to_load {
                let f = &found[i];
                let (size, mtime, ctime) = (f.size.to_string(), f.mtime_ns.to_string(), f.ctime_ns.to_string());
                hashes.insert(i, cache::fingerprint(["stat", f.rel.as_str(), &size, &mtime, &ctime]));
            }
            Vec::new()
        };
        let hashed = std::thread::scope(|scope| {
            let hasher = scope.spawn(move || {
                unhashed.into_iter().map(|(i, p)| hash_file(&p).map(|h| (i, h))).collect::<Result<Vec<_>>>()
            });
            let loaded = if table.validate_all {
                load_all_validated(conn, table, &columns, &mut loading, &mut on_file)
            } else {
                load_batches(conn, table, &columns, &mut loading, &mut on_file)
            };
            let hashed = hasher.join().expect("hashing does not panic");
            loaded.and(hashed)
        })?;
        hashes.extend(hashed);
        // A file that changed while it was hashed and parsed (its size or times differ from the
        // stat taken before) may have rows that are not its recorded hash's content: record no
        // hash (the next run hashes it, finds a mismatch and parses it again) and tell the caller,
        // which makes the table's fingerprint this run's own, so nothing built from it is reused.
        for &index in &to_load {
            let f = &found[index];
            let same = stat(&f.path, data_dir)
                .is_ok_and(|again| (again.size, again.mtime_ns, again.ctime_ns) == (f.size, f.mtime_ns, f.ctime_ns));
            if !same {
                hashes.insert(index, String::new());
                changed_while_loading = true;
            }
        }
        let mut insert =
            conn.prepare(&format!("INSERT INTO {}.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cache::SCHEMA))?;
        for (source, &index) in loading.into_iter().zip(&to_load) {
            let f = &found[index];
            insert.execute(duckdb::params![
                source.file_id,
                table.name,
                f.rel,
                source.path.to_string_lossy(),
                f.size,
                f.mtime_ns,
                f.ctime_ns,
                hashes[&index],
                source.rows,
                source.rejected,
                source.elapsed.as_secs_f64(),
                read_at
            ])?;
            sources[index] = SourceFile { sha256: hashes[&index].clone(), ..source };
        }
    }
    if !stale.is_empty() || !to_load.is_empty() {
        // The table's rows are its manifest's files again.
        cache::set_state(conn, true)?;
    }
    // Paths as this run spells the data folder (rejects name their file by it).
    for source in sources.iter().filter(|s| s.reused) {
        conn.execute(
            &format!("UPDATE {}.files SET path = ? WHERE file_id = ? AND path <> ?", cache::SCHEMA),
            duckdb::params![source.path.to_string_lossy(), source.file_id, source.path.to_string_lossy()],
        )?;
    }
    let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    let views = format!(
        "CREATE OR REPLACE VIEW main.{view} AS SELECT {cols} FROM {store};
         CREATE OR REPLACE VIEW main.{rejected} AS
             SELECT f.path AS source_file, r.line, r.raw_record, r.reason
             FROM {rejects} AS r JOIN {schema}.files AS f ON f.file_id = r.file_id
             ORDER BY f.path, r.line;",
        view = quote_ident(&table.name),
        cols = names.join(", "),
        rejected = quote_ident(&rejected_table(&table.name)),
        schema = cache::SCHEMA,
    );
    Ok(Loaded { columns, sources, views, changed_while_loading })
}

/// A landing table brought up to date: its columns, its files, and the DDL of its views in `main`
/// (run by the caller with the other views, in one transaction: one commit, not one per view).
pub struct Loaded {
    pub columns: Vec<Column>,
    pub sources: Vec<SourceFile>,
    pub views: String,
    /// A file changed while it was loaded (its hash is recorded empty): what the table holds is
    /// this run's alone, and its fingerprint must not match any other run's.
    pub changed_while_loading: bool,
}

/// Load `sources` (each with its new file id) by batches of one [`Kind`] (plain files without
/// booleans first, then the others, each in folder order), then count each file's rows by its id.
/// A refused batch (nothing of it was inserted) goes file by file.
fn load_batches(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
    on_file: &mut impl FnMut(&Path, usize, usize),
) -> Result<()> {
    let total = sources.len();
    let kinds = sources.iter().map(|s| Kind::of(&s.path)).collect::<Result<Vec<_>>>()?;
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| (kinds[i].form() != Form::Typed, kinds[i] == Kind::Gzip));
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
        // An empty file holds no records; DuckDB would reject it as malformed JSON.
        let batch: Vec<&SourceFile> = order[start..end].iter().map(|&i| &sources[i]).filter(|s| s.bytes > 0).collect();
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

/// Validate every file record by record (a table whose DDL says `-- validate: every record`), a
/// wave of as many files as there are cores at a time (see [`load_validated`]).
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
        load_validated(conn, table, columns, chunk)?;
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

/// Load one file on its own through DuckDB's typed reader, every value read as text and checked
/// (gzip told by the file's first bytes, not its name), or record by record when it refuses it.
fn load_one(conn: &Connection, table: &LandingTable, columns: &[Column], source: &mut SourceFile) -> Result<()> {
    let started = Instant::now();
    let path = &source.path;
    // An empty file holds no records; DuckDB would reject it as malformed JSON.
    if source.bytes == 0 {
        (source.rows, source.rejected) = (0, 0);
    } else {
        let gzip = super::validate::is_gzip(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
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

/// What a validating thread hands on: the next batch of a file's records, or how the file ended.
enum Piece {
    Batch(Validated),
    End(std::io::Result<FileEnd>),
}

/// Validate `sources` record by record and load them: each file is read and validated on a
/// thread of its own, which hands its clean records and rejects on in batches through a short
/// queue, while this thread appends them in folder order, each file in one transaction of its
/// own, so a table's rows are in the same order on every run (the TUI pages by that order).
/// Memory holds a few batches a file, whatever its size or compression ratio. The clean records go
/// through DuckDB's appender straight from memory: they are personal data, so no file ever holds
/// them on the way. A file that cannot be decoded (corrupt gzip) is one reject of the whole file.
fn load_validated(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    sources: &mut [SourceFile],
) -> Result<()> {
    let cells = Cells::new(columns);
    std::thread::scope(|scope| {
        let queues: Vec<_> = sources
            .iter()
            .map(|source| {
                let (queue, pieces) = std::sync::mpsc::sync_channel(2);
                let path = source.path.clone();
                scope.spawn(move || {
                    let end = validate_file(&path, columns, |batch| queue.send(Piece::Batch(batch)).is_ok());
                    let _ = queue.send(Piece::End(end));
                });
                pieces
            })
            .collect();
        for (source, pieces) in sources.iter_mut().zip(queues) {
            let started = Instant::now();
            (source.rows, source.rejected) = append_validated(conn, table, &cells, source, &pieces)?;
            source.elapsed = started.elapsed();
        }
        Ok(())
    })
}

/// One file's validated records, as its thread hands them on, appended in one transaction: the
/// clean records to the cached table (the declared columns in table order, then the file column),
/// the rejects to its `_rejected` table; then the table must hold exactly as many rows of the file
/// as were validated. A record that does not go in is an error naming its file (it should not
/// happen: the validator only lets through what fits its column). (rows loaded, records rejected).
fn append_validated(
    conn: &Connection,
    table: &LandingTable,
    cells: &Cells,
    source: &SourceFile,
    pieces: &std::sync::mpsc::Receiver<Piece>,
) -> Result<(u64, u64)> {
    let (path, file_id) = (&source.path, source.file_id);
    let fail = |e: &dyn std::fmt::Display| EngineError::input(path, format!("validated records failed to load: {e}"));
    cache::in_transaction(conn, || {
        let mut rows = conn.appender_to_db(&table.name, cache::SCHEMA)?;
        let mut rejects = conn.appender_to_db(&rejected_table(&table.name), cache::SCHEMA)?;
        let (mut count, mut rejected) = (0, 0);
        let end = loop {
            match pieces.recv() {
                Ok(Piece::Batch(batch)) => {
                    let mut row = Row::default();
                    for line in batch.lines() {
                        cells.row(line, &mut row).map_err(|e| fail(&e))?;
                        row.values.push(ToSqlOutput::Borrowed(duckdb::types::ValueRef::UInt(file_id)));
                        rows.append_row(duckdb::appender_params_from_iter(&row.values)).map_err(|e| fail(&e))?;
                    }
                    for r in &batch.rejects {
                        rejects.append_row(duckdb::params![file_id, r.line as i64, r.raw, r.reason])?;
                    }
                    count += batch.count;
                    rejected += batch.rejects.len() as u64;
                }
                Ok(Piece::End(end)) => break end,
                Err(_) => break Err(std::io::Error::other("the validator stopped")),
            }
        };
        rows.flush().map_err(|e| fail(&e))?;
        rejects.flush()?;
        drop((rows, rejects));
        let store = cache::cached(&table.name);
        let file = quote_ident(&file_column(cells.columns));
        match end.map_err(|e| EngineError::input(path, format!("cannot read: {e}")))? {
            FileEnd::Read => {
                let loaded: u64 =
                    conn.query_row(&format!("SELECT count(*) FROM {store} WHERE {file} = ?"), [file_id], |r| r.get(0))?;
                if loaded != count {
                    return Err(EngineError::input(path, format!("{count} validated records, but {loaded} loaded")));
                }
                Ok((count, rejected))
            }
            // Its records are not known: none of them loads, and the file is one reject.
            FileEnd::Undecodable(reason) => {
                conn.execute(&format!("DELETE FROM {store} WHERE {file} = ?"), [file_id])?;
                let rejects = cache::cached(&rejected_table(&table.name));
                conn.execute(&format!("DELETE FROM {rejects} WHERE file_id = ?"), [file_id])?;
                conn.execute(
                    &format!("INSERT INTO {rejects} VALUES (?, 0, NULL, ?)"),
                    duckdb::params![file_id, reason],
                )?;
                Ok((0, 1))
            }
        }
    })
}

/// How a clean record's JSON values become the appender's values, column by column: null,
/// booleans and text as they are, numbers as the column's own type (parsed from the number as
/// written, as DuckDB's JSON reader does), anything else as its JSON text for DuckDB to cast
/// (a DATE, a DECIMAL, a list). DuckDB's appender casts text to the column's type.
struct Cells<'c> {
    columns: &'c [Column],
    numbers: Vec<NumberType>,
}

#[derive(Clone, Copy)]
enum NumberType {
    Integer,
    Double,
    Float,
    /// Any other type: the number's text, cast by DuckDB.
    Text,
}

impl<'c> Cells<'c> {
    fn new(columns: &'c [Column]) -> Self {
        let numbers = columns
            .iter()
            .map(|c| match c.data_type.as_str() {
                "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" => NumberType::Integer,
                "DOUBLE" => NumberType::Double,
                "FLOAT" => NumberType::Float,
                _ => NumberType::Text,
            })
            .collect();
        Cells { columns, numbers }
    }

    /// One clean record's values in column order (a field is found by its name, whatever its
    /// place in the record; a missing one is null), with room for the file column.
    fn row<'a>(&self, line: &'a str, row: &mut Row<'a>) -> std::result::Result<(), String> {
        row.fields.clear();
        row.fields.resize(self.columns.len(), None);
        let mut record = serde_json::Deserializer::from_str(line);
        serde::de::DeserializeSeed::deserialize(Fields { columns: self.columns, fields: &mut row.fields }, &mut record)
            .and_then(|()| record.end())
            .map_err(|e| format!("not a clean record ({e})"))?;
        row.values.clear();
        for ((field, number), column) in row.fields.iter().zip(&self.numbers).zip(self.columns) {
            let value = cell(field.map_or("null", RawValue::get), *number);
            row.values.push(value.map_err(|e| format!("{:?}: {e}", column.name))?);
        }
        Ok(())
    }
}

/// One record's fields and values, kept from record to record (no allocation per record).
#[derive(Default)]
struct Row<'a> {
    fields: Vec<Option<&'a RawValue>>,
    values: Vec<ToSqlOutput<'a>>,
}

/// One JSON value as the appender takes it for a column whose numbers are `number`.
fn cell(raw: &str, number: NumberType) -> std::result::Result<ToSqlOutput<'_>, String> {
    use duckdb::types::{Value, ValueRef};
    let bad = |e: &dyn std::fmt::Display| format!("{raw} ({e})");
    Ok(match raw.as_bytes().first() {
        Some(b'n') => ToSqlOutput::Borrowed(ValueRef::Null),
        Some(b't') => ToSqlOutput::Borrowed(ValueRef::Boolean(true)),
        Some(b'f') => ToSqlOutput::Borrowed(ValueRef::Boolean(false)),
        // Borrowed unless it holds escapes.
        Some(b'"') => match serde_json::from_str::<&str>(raw) {
            Ok(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Err(_) => ToSqlOutput::Owned(Value::Text(serde_json::from_str(raw).map_err(|e| bad(&e))?)),
        },
        Some(b'-' | b'0'..=b'9') => match number {
            NumberType::Integer => ToSqlOutput::Owned(Value::BigInt(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Double => ToSqlOutput::Owned(Value::Double(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Float => ToSqlOutput::Owned(Value::Float(raw.parse().map_err(|e| bad(&e))?)),
            NumberType::Text => ToSqlOutput::Borrowed(ValueRef::Text(raw.as_bytes())),
        },
        // A list or an object: its JSON text.
        _ => ToSqlOutput::Borrowed(ValueRef::Text(raw.as_bytes())),
    })
}

/// Reads a clean record's fields into their columns' places, as JSON text not yet parsed.
struct Fields<'c, 's, 'a> {
    columns: &'c [Column],
    fields: &'s mut [Option<&'a RawValue>],
}

impl<'a> serde::de::DeserializeSeed<'a> for Fields<'_, '_, 'a> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'a>>(self, deserializer: D) -> std::result::Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'a> serde::de::Visitor<'a> for Fields<'_, '_, 'a> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object of the declared columns")
    }
    fn visit_map<M: serde::de::MapAccess<'a>>(self, mut map: M) -> std::result::Result<(), M::Error> {
        while let Some(index) = map.next_key_seed(ColumnName(self.columns))? {
            let value: &'a RawValue = map.next_value()?;
            match index {
                Some(i) => self.fields[i] = Some(value),
                None => return Err(serde::de::Error::custom("a field that is no declared column")),
            }
        }
        Ok(())
    }
}

/// A field name as the place of its column, if it is one.
struct ColumnName<'c>(&'c [Column]);

impl<'a> serde::de::DeserializeSeed<'a> for ColumnName<'_> {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'a>>(self, deserializer: D) -> std::result::Result<Option<usize>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for ColumnName<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, name: &str) -> std::result::Result<Option<usize>, E> {
        Ok(self.0.iter().position(|c| c.name == name))
    }
}

/// Append whole validated files as their threads would hand them on (tests).
#[cfg(test)]
fn load_records(
    conn: &Connection,
    table: &LandingTable,
    columns: &[Column],
    files: Vec<(&Path, u32, Validated)>,
) -> Result<Vec<(u64, u64)>> {
    let cells = Cells::new(columns);
    files
        .into_iter()
        .map(|(path, file_id, validated)| {
            let (queue, pieces) = std::sync::mpsc::sync_channel(2);
            queue.send(Piece::Batch(validated)).expect("queued");
            queue.send(Piece::End(Ok(FileEnd::Read))).expect("queued");
            let source = SourceFile {
                path: path.to_path_buf(),
                bytes: 0,
                rows: 0,
                rejected: 0,
                elapsed: Duration::ZERO,
                reused: false,
                file_id,
                sha256: String::new(),
            };
            append_validated(conn, table, &cells, &source, &pieces)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rows::fetch_rows;
    use crate::engine::validate::validate_text;
    use std::fs;

    /// Clean records loaded by the appender hold exactly what DuckDB's JSON reader (the old way:
    /// a scratch NDJSON file) made of the same records, type by type.
    #[test]
    fn appended_records_equal_what_the_json_reader_loads() {
        let ddl = "CREATE TABLE t (k BIGINT NOT NULL, d DATE, x DOUBLE, f FLOAT, i INTEGER, s VARCHAR, \
                   b BOOLEAN, m DECIMAL(10,2), l VARCHAR[], \"odd \"\"name\" VARCHAR)";
        let table = LandingTable {
            name: "t".into(),
            dataset: "t".into(),
            path: "t.sql".into(),
            ddl: ddl.into(),
            validate_all: true,
        };
        let (conn, _) = cache::open(Path::new("."), &cache::CacheChoice::Off).unwrap();
        let columns = prepare_store(&conn, &table).unwrap();
        let records = [
            r#"{"k": 9007199254740993, "d": "0967-01-01", "x": 0.1, "f": 0.1, "i": 2147483647, "s": "plain", "b": true, "m": 12.35, "l": ["a", "b c"], "odd \"name": "q"}"#,
            r#"{"d": "967-01-01", "k": -9223372036854775808, "x": 1e-300, "f": 3.4e38, "i": -2147483648, "s": "a\"b\\c\u00e9\n", "b": false, "m": "-0.5", "l": [], "odd \"name": null}"#,
            r#"{"k": 3, "d": "2024-02-29", "x": 123456789.123456789, "f": 16777217, "i": 0, "s": "", "b": null, "m": 1, "l": null}"#,
            r#"{"k": 4, "d": null, "x": 5, "f": -0.0, "i": null, "s": "12", "m": null}"#,
            r#"{"k": 5, "x": 2.2250738585072011e-308, "f": 1.17549435e-38, "s": 7}"#,
            r#"{"k": 6, "x": "0.30000000000000004", "i": "12"}"#,
        ];
        let text = records.join("\n") + "\n";
        let validated = validate_text(&text, &columns);
        assert!(validated.rejects.is_empty(), "{:?}", validated.rejects);
        let clean = validated.records.clone();
        assert_eq!(load_records(&conn, &table, &columns, vec![(Path::new("t.json"), 1, validated)]).unwrap(), [(6, 0)]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clean.json");
        fs::write(&file, clean).unwrap();
        conn.execute_batch(&insert_files(
            &table,
            &columns,
            &[(file.to_str().unwrap(), 2)],
            Kind::Plain { booleans: true },
        ))
        .unwrap();
        let rows = |id: u32| {
            fetch_rows(
                &conn,
                &format!("SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = {id} ORDER BY k"),
                100,
                0,
            )
            .unwrap()
            .rows
        };
        assert_eq!(rows(1), rows(2), "the appender and the JSON reader load the same values");
        let same = "SELECT count(*) FROM (SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = 1
             INTERSECT ALL SELECT * EXCLUDE (stedi_file) FROM stedi_cache.t WHERE stedi_file = 2)";
        assert_eq!(conn.query_row(same, [], |r| r.get::<_, i64>(0)).unwrap(), 6, "to the bit");
        let first = &rows(1);
        let by_k = |k: &str| first.iter().find(|r| r[0].as_deref() == Some(k)).unwrap().clone();
        let year_967 = by_k("9007199254740993");
        assert_eq!(year_967[1].as_deref(), Some("0967-01-01"));
        assert_eq!(year_967[2].as_deref(), Some("0.1"));
        assert_eq!(year_967[8].as_deref(), Some("[a, b c]"));
        assert_eq!(by_k("-9223372036854775808")[1].as_deref(), Some("0967-01-01"));
        assert_eq!(by_k("-9223372036854775808")[5].as_deref(), Some("a\"b\\cé\n"));
        assert_eq!(by_k("3")[2].as_deref(), Some("123456789.12345679"));
    }

    #[test]
    fn a_record_that_does_not_fit_its_column_is_an_error_naming_its_file() {
        let table = LandingTable {
            name: "t".into(),
            dataset: "t".into(),
            path: "t.sql".into(),
            ddl: "CREATE TABLE t (d DATE, k BIGINT)".into(),
            validate_all: true,
        };
        let (conn, _) = cache::open(Path::new("."), &cache::CacheChoice::Off).unwrap();
        let columns = prepare_store(&conn, &table).unwrap();
        // Past the validator, as no clean record would be.
        let validated = Validated {
            records: "{\"d\": \"2024-01-01\", \"k\": 1}\n{\"d\": \"not a date\", \"k\": 2}\n".into(),
            count: 2,
            ..Validated::default()
        };
        let good = validate_text("{\"d\": \"2024-01-02\", \"k\": 3}\n", &columns);
        let files = vec![(Path::new("good.json"), 1, good), (Path::new("bad.json"), 2, validated)];
        let e = load_records(&conn, &table, &columns, files).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("validated records failed to load"), "{e}");
        let n: i64 =
            conn.query_row("SELECT count(*) FROM stedi_cache.t WHERE stedi_file = 2", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0, "the bad file's transaction left nothing behind");
    }
}
