//! What the cache records and how: fingerprints (SHA-256 of length-prefixed parts), files'
//! content hashes, what was built from what (`stedi_cache.built`), its meta values, and the main
//! schema as one catalogue query sees it.
use std::fs;
use std::path::Path;

use duckdb::Connection;
use sha2::{Digest, Sha256};

use super::SCHEMA;
use crate::engine::error::Result;
use crate::engine::sql_text::{quote_ident, quote_literal};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's bytes, hex, and how many bytes it read (the cache's manifest and the
/// export's manifest both hash files with it).
pub fn sha256_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut fs::File::open(path)?, &mut hasher)?;
    Ok((bytes, hex(&hasher.finalize())))
}

/// A fingerprint: SHA-256 over the parts, each length-prefixed so no two part lists collide.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex(&hasher.finalize())
}

/// Everything built so far: name -> (fingerprint, rows, seconds), read once per phase.
pub fn all_built(conn: &Connection) -> Result<std::collections::HashMap<String, (String, u64, f64)>> {
    let mut stmt = conn.prepare(&format!("SELECT name, fingerprint, rows, seconds FROM {SCHEMA}.built"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
        .collect::<std::result::Result<_, _>>()?;
    Ok(rows)
}

/// What [`all_built`] read: name -> (fingerprint, rows, seconds).
pub type Built = std::collections::HashMap<String, (String, u64, f64)>;

/// The one rule for reusing what a run built: `table` is reused when the cache recorded `key`
/// with the fingerprint `fp` (the SQL and everything it read) and the table still exists;
/// otherwise it is made again from `sql` (`on_error` says which file failed). Returns its rows
/// and whether it was reused. Recording what was built is the caller's, so a phase can record
/// all of it in one commit; until then a crash only means building it again.
#[allow(clippy::too_many_arguments)]
pub fn build_or_reuse(
    conn: &Connection,
    built: &Built,
    tables: &std::collections::BTreeSet<String>,
    key: &str,
    table: &str,
    fp: &str,
    sql: &str,
    on_error: impl FnOnce(duckdb::Error) -> crate::engine::EngineError,
) -> Result<(u64, bool)> {
    if let Some((recorded, rows, _)) = built.get(key) {
        if recorded == fp && tables.contains(table) {
            return Ok((*rows, true));
        }
        // Forgotten before the table is replaced: a run that dies after replacing it must not
        // leave the old record naming the new table.
        unrecord(conn, key)?;
    }
    conn.execute_batch(&format!("CREATE OR REPLACE TABLE {} AS {sql}", quote_ident(table))).map_err(on_error)?;
    let rows: i64 = conn.query_row(&format!("SELECT count(*) FROM {}", quote_ident(table)), [], |r| r.get(0))?;
    Ok((rows as u64, false))
}

/// Record many built things at once, in one transaction (one commit, not one per check).
pub fn record_all(conn: &Connection, kind: &str, built: &[(String, String, u64, f64)]) -> Result<()> {
    if built.is_empty() {
        return Ok(());
    }
    in_transaction(conn, || {
        let mut delete = conn.prepare(&format!("DELETE FROM {SCHEMA}.built WHERE name = ?"))?;
        let mut insert = conn.prepare(&format!("INSERT INTO {SCHEMA}.built VALUES (?, ?, ?, ?, ?)"))?;
        for (name, fp, rows, seconds) in built {
            delete.execute([name])?;
            insert.execute(duckdb::params![name, kind, fp, rows, seconds])?;
        }
        Ok(())
    })
}

/// Run `work` in one transaction: committed when it succeeds, rolled back (and its error
/// returned) when it fails.
pub fn in_transaction<T>(conn: &Connection, work: impl FnOnce() -> Result<T>) -> Result<T> {
    conn.execute_batch("BEGIN TRANSACTION")?;
    let done = work();
    match &done {
        Ok(_) => conn.execute_batch("COMMIT")?,
        // The failure is what the caller needs to hear, not a failed rollback after it.
        Err(_) => {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
    done
}

/// The main schema's relations as one catalogue query sees them: every table's and view's
/// columns in order, and which of them are tables (a landing table is a view of the cache).
#[derive(Debug, Default)]
pub struct MainSchema {
    pub columns: std::collections::BTreeMap<String, Vec<String>>,
    pub tables: std::collections::BTreeSet<String>,
}

pub fn main_schema(conn: &Connection) -> Result<MainSchema> {
    let mut stmt = conn.prepare(
        "SELECT c.table_name, c.column_name, t.table_name IS NOT NULL \
         FROM duckdb_columns() AS c LEFT JOIN duckdb_tables() AS t \
           ON t.database_name = c.database_name AND t.schema_name = c.schema_name AND t.table_name = c.table_name \
         WHERE c.database_name = current_database() AND c.schema_name = 'main' AND NOT c.internal \
         ORDER BY c.table_name, c.column_index",
    )?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))?
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut schema = MainSchema::default();
    for (table, column, is_table) in rows {
        if is_table {
            schema.tables.insert(table.clone());
        }
        schema.columns.entry(table).or_default().push(column);
    }
    Ok(schema)
}

/// Forget what `name` was built from (before rebuilding it), so a run killed meanwhile rebuilds it.
pub fn unrecord(conn: &Connection, name: &str) -> Result<()> {
    conn.execute(&format!("DELETE FROM {SCHEMA}.built WHERE name = ?"), [name])?;
    Ok(())
}

/// Record what `name` was built from, once it is built.
pub fn record(conn: &Connection, name: &str, kind: &str, fingerprint: &str, rows: u64, seconds: f64) -> Result<()> {
    unrecord(conn, name)?;
    conn.execute(
        &format!("INSERT INTO {SCHEMA}.built VALUES (?, ?, ?, ?, ?)"),
        duckdb::params![name, kind, fingerprint, rows, seconds],
    )?;
    Ok(())
}

/// `stedi_cache."<name>"`, quoted.
pub fn cached(name: &str) -> String {
    format!("{SCHEMA}.{}", quote_ident(name))
}

/// A meta value of the cache (e.g. a landing table's DDL fingerprint), or none.
pub fn meta(conn: &Connection, key: &str) -> Option<String> {
    conn.query_row(&format!("SELECT value FROM {SCHEMA}.meta WHERE key = ?"), [key], |r| r.get(0)).ok()
}

pub fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(&format!("DELETE FROM {SCHEMA}.meta WHERE key = ?"), [key])?;
    conn.execute(&format!("INSERT INTO {SCHEMA}.meta VALUES (?, ?)"), [key, value])?;
    Ok(())
}

/// `'a', 'b'` for an `IN (...)` list of names.
pub fn literal_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names.into_iter().map(quote_literal).collect::<Vec<_>>().join(", ")
}
