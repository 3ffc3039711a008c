//! Landing: load the files of each landing table (see [`super::landing_files`]) into DuckDB
//! with the types declared in `queries/landing/`, parsing only what the cache lacks. Files are read by batches, several in one
//! `read_json` call so DuckDB parses them on every core (it parses one file on one thread), each
//! row tagged with its file so every row count is still attributed to its file; a batch DuckDB
//! refuses is loaded again file by file, so every error and reject is attributed to its file too.
mod fast_path;
mod validated;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use duckdb::Connection;

use super::cache;
use super::catalog::LandingTable;
use super::error::{EngineError, Result};
pub use super::landing_files::{find_landing_files, landing_dir};
use super::landing_files::{hash_file, now_ns, path_text, read_manifest, stat, Entry, Found, RACY_NS};
use super::sql_text::{quote_ident, quote_literal};
use fast_path::load_batches;
use validated::load_all_validated;

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

/// Where a landing table's rejected records go: `<table>_rejected`.
pub fn rejected_table(table: &str) -> String {
    format!("{table}_rejected")
}

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
/// DuckDB's typed reader by batches of [`fast_path::BATCH_BYTES`] (the fast path); a batch it refuses is
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
    // A name that is not UTF-8 is written with `\xE9` for its other bytes, which a UTF-8 name
    // could also spell: two files must never share one name in the cache.
    let mut names = std::collections::HashSet::new();
    if let Some(twin) = found.iter().find(|f| !names.insert(f.rel.as_str())) {
        return Err(EngineError::input(
            &twin.path,
            format!("two landing files are both named `{}` as text (one name is not UTF-8): rename one", twin.rel),
        ));
    }
    let Comparison { mut sources, to_load, stale, hashes, restat } =
        compare_with_manifest(&found, read_manifest(conn, &table.name)?)?;
    let changes = !stale.is_empty() || !to_load.is_empty();
    if changes {
        cache::set_state(conn, false)?;
    }
    forget_files(conn, table, &columns, &stale)?;
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
    let parse = Parse { conn, table, columns: &columns, found: &found, data_dir, read_at };
    let changed_while_loading =
        !to_load.is_empty() && parse.new_files(&mut sources, &to_load, hashes, hash_contents, &mut on_file)?;
    if changes {
        // The table's rows are its manifest's files again.
        cache::set_state(conn, true)?;
    }
    // Paths as this run spells the data folder (rejects name their file by it).
    for source in sources.iter().filter(|s| s.reused) {
        conn.execute(
            &format!("UPDATE {}.files SET path = ? WHERE file_id = ? AND path <> ?", cache::SCHEMA),
            duckdb::params![path_text(&source.path), source.file_id, path_text(&source.path)],
        )?;
    }
    Ok(Loaded { sources, views: views_of(table, &columns), changed_while_loading })
}

/// The files found in a landing folder, against what the cache's manifest recorded of them.
struct Comparison {
    /// Every file found, in folder order: the reused ones complete, the others still to parse.
    sources: Vec<SourceFile>,
    /// Which of `sources` are to be parsed (new or changed).
    to_load: Vec<usize>,
    /// The file ids whose rows go: files that changed or are gone.
    stale: Vec<u32>,
    /// Content hashes already taken (of files whose size matched but whose content differs).
    hashes: HashMap<usize, String>,
    /// Files whose times changed but whose content did not: (file id, index) to record anew.
    restat: Vec<(u32, usize)>,
}

/// Which files the cache holds unchanged: the same size and times (taken well after the file was
/// last written), or else the same SHA-256. Every other file is parsed again.
fn compare_with_manifest(found: &[Found], mut manifest: HashMap<String, Entry>) -> Result<Comparison> {
    let mut c = Comparison {
        sources: Vec::with_capacity(found.len()),
        to_load: Vec::new(),
        stale: Vec::new(),
        hashes: HashMap::new(),
        restat: Vec::new(),
    };
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
                    c.restat.push((e.file_id, index));
                } else {
                    c.hashes.insert(index, sha);
                }
                same
            }
            _ => false,
        };
        let mut source = SourceFile {
            path: file.path.clone(),
            bytes: file.size,
            rows: 0,
            rejected: 0,
            elapsed: Duration::ZERO,
            reused: false,
            file_id: 0,
            sha256: String::new(),
        };
        match (reused, entry) {
            (true, Some(e)) => {
                source = SourceFile {
                    rows: e.rows,
                    rejected: e.rejected,
                    reused: true,
                    file_id: e.file_id,
                    sha256: e.sha256,
                    ..source
                };
            }
            (_, entry) => {
                c.stale.extend(entry.map(|e| e.file_id));
                c.to_load.push(c.sources.len());
            }
        }
        c.sources.push(source);
    }
    // What is left in the manifest are files that are gone.
    c.stale.extend(manifest.values().map(|e| e.file_id));
    Ok(c)
}

/// Remove the rows, rejects and manifest entries of `file_ids` from the cache.
fn forget_files(conn: &Connection, table: &LandingTable, columns: &[Column], file_ids: &[u32]) -> Result<()> {
    if file_ids.is_empty() {
        return Ok(());
    }
    let ids = file_ids.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    conn.execute_batch(&format!(
        "DELETE FROM {store} WHERE {file} IN ({ids});
         DELETE FROM {rejects} WHERE file_id IN ({ids});
         DELETE FROM {schema}.files WHERE file_id IN ({ids});",
        store = cache::cached(&table.name),
        file = quote_ident(&file_column(columns)),
        rejects = cache::cached(&rejected_table(&table.name)),
        schema = cache::SCHEMA
    ))?;
    Ok(())
}

/// What parsing a table's new and changed files needs to know.
struct Parse<'a> {
    conn: &'a Connection,
    table: &'a LandingTable,
    columns: &'a [Column],
    found: &'a [Found],
    data_dir: &'a Path,
    read_at: i64,
}

impl Parse<'_> {
    /// Parse `sources[to_load]` (giving each a new file id) and record them in the manifest.
    /// Whether a file changed while it was loaded.
    fn new_files(
        &self,
        sources: &mut [SourceFile],
        to_load: &[usize],
        mut hashes: HashMap<usize, String>,
        hash_contents: bool,
        on_file: &mut impl FnMut(&Path, usize, usize),
    ) -> Result<bool> {
        let (conn, table, columns, found) = (self.conn, self.table, self.columns, self.found);
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
            for &i in to_load {
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
                load_all_validated(conn, table, columns, &mut loading, on_file)
            } else {
                load_batches(conn, table, columns, &mut loading, on_file)
            };
            let hashed = hasher.join().expect("hashing does not panic");
            loaded.and(hashed)
        })?;
        hashes.extend(hashed);
        // A file that changed while it was hashed and parsed (its size or times differ from the
        // stat taken before) may have rows that are not its recorded hash's content: record no
        // hash (the next run hashes it, finds a mismatch and parses it again) and tell the caller,
        // which makes the table's fingerprint this run's own, so nothing built from it is reused.
        let mut changed_while_loading = false;
        for &index in to_load {
            let f = &found[index];
            let same = stat(&f.path, self.data_dir)
                .is_ok_and(|again| (again.size, again.mtime_ns, again.ctime_ns) == (f.size, f.mtime_ns, f.ctime_ns));
            if !same {
                hashes.insert(index, String::new());
                changed_while_loading = true;
            }
        }
        let mut insert =
            conn.prepare(&format!("INSERT INTO {}.files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cache::SCHEMA))?;
        for (source, &index) in loading.into_iter().zip(to_load) {
            let f = &found[index];
            insert.execute(duckdb::params![
                source.file_id,
                table.name,
                f.rel,
                path_text(&source.path),
                f.size,
                f.mtime_ns,
                f.ctime_ns,
                hashes[&index],
                source.rows,
                source.rejected,
                source.elapsed.as_secs_f64(),
                self.read_at
            ])?;
            sources[index] = SourceFile { sha256: hashes[&index].clone(), ..source };
        }
        Ok(changed_while_loading)
    }
}

/// The DDL of a landing table's views in `main`: its rows without the file column, and its
/// rejects named by their file.
fn views_of(table: &LandingTable, columns: &[Column]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote_ident(&c.name)).collect();
    format!(
        "CREATE OR REPLACE VIEW main.{view} AS SELECT {cols} FROM {store};
         CREATE OR REPLACE VIEW main.{rejected} AS
             SELECT f.path AS source_file, r.line, r.raw_record, r.reason
             FROM {rejects} AS r JOIN {schema}.files AS f ON f.file_id = r.file_id
             ORDER BY f.path, r.line;",
        view = quote_ident(&table.name),
        cols = names.join(", "),
        store = cache::cached(&table.name),
        rejected = quote_ident(&rejected_table(&table.name)),
        rejects = cache::cached(&rejected_table(&table.name)),
        schema = cache::SCHEMA,
    )
}

/// A landing table brought up to date: its columns, its files, and the DDL of its views in `main`
/// (run by the caller with the other views, in one transaction: one commit, not one per view).
pub struct Loaded {
    pub sources: Vec<SourceFile>,
    pub views: String,
    /// A file changed while it was loaded (its hash is recorded empty): what the table holds is
    /// this run's alone, and its fingerprint must not match any other run's.
    pub changed_while_loading: bool,
}
