//! Browsing the engine's tables for the TUI: paging (by rowid, or LIMIT/OFFSET for views), a
//! query materialised once to be paged (refused unless it is one SELECT), search, and a column's
//! profile. The SQL lives here so the TUI's worker only dispatches requests.
use duckdb::Connection;

use super::error::Result;
use super::load::table_columns;
use super::rows::{count_rows, fetch_rows, RowSet};
use super::sql_text::{quote_ident, quote_literal};

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    pub column: String,
    pub data_type: String,
    pub rows: u64,
    pub nulls: u64,
    pub distinct: u64,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Counts in equal-width buckets from min to max (numbers only).
    pub histogram: Vec<u64>,
}

/// What the SQL prompt and the filter run must be one query: DuckDB parses it (without running it)
/// and anything else, e.g. `SELECT 1; DELETE FROM customer_trusted`, is refused: it could change
/// tables the cache reuses. (duckdb-rs runs every statement but the last while preparing.)
fn one_query(conn: &duckdb::Connection, sql: &str) -> super::Result<()> {
    let parsed: String = conn.query_row("SELECT json_serialize_sql(?::VARCHAR)", [sql], |r| r.get(0))?;
    let parsed: serde_json::Value = serde_json::from_str(&parsed).unwrap_or_default();
    let refused = || super::EngineError::Duck("one query at a time, and only a query (SELECT)".to_string());
    if parsed["error"] == serde_json::Value::Bool(true) {
        let why = parsed["error_message"].as_str().unwrap_or("not a query");
        // DuckDB serialises only SELECTs: anything else is refused as such, a typo as DuckDB says.
        return Err(if why.starts_with("Only SELECT") { refused() } else { super::EngineError::Duck(why.to_string()) });
    }
    match parsed["statements"].as_array().map(Vec::len) {
        Some(1) => Ok(()),
        _ => Err(refused()),
    }
}

/// What a browsing session remembers between requests: how many previews it materialised, and
/// which relations are tables (rowid paging) rather than views (LIMIT/OFFSET), asked once per
/// name rather than on every page.
/// A relation ready to page: its name, its rows, and its columns (name, type).
pub type Prepared = (String, u64, Vec<(String, String)>);

#[derive(Default)]
pub struct Browser {
    prepared: u64,
    base_tables: std::collections::HashMap<String, bool>,
}

impl Browser {
    /// Something to page through: `direct_table` as it is (a base table pages by rowid, a landing
    /// table, a view of the cache without rowid, by LIMIT/OFFSET, which DuckDB serves from the
    /// right row group), or else the query `sql` (a filter, a sort, the SQL prompt), refused
    /// unless it is one SELECT and materialised once, so every later page is a cheap rowid range,
    /// not a re-run. Returns the relation, its rows and its columns (name, type).
    pub fn prepare(&mut self, conn: &Connection, sql: &str, direct_table: Option<String>) -> Result<Prepared> {
        let table = match direct_table {
            Some(t) => t,
            None => {
                self.prepared += 1;
                let name = format!("preview_{}", self.prepared);
                one_query(conn, sql)?;
                conn.execute(&format!("CREATE OR REPLACE TEMP TABLE {} AS {sql}", quote_ident(&name)), [])?;
                if self.prepared > 1 {
                    let old = format!("preview_{}", self.prepared - 1);
                    conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote_ident(&old)))?;
                }
                name
            }
        };
        let total = count_rows(conn, &format!("SELECT * FROM {}", quote_ident(&table)))?;
        let columns = table_columns(conn, &table)?.into_iter().map(|c| (c.name, c.data_type)).collect();
        Ok((table, total, columns))
    }

    /// `limit` rows of `table` from `offset`.
    pub fn page(&mut self, conn: &Connection, table: &str, offset: u64, limit: u64) -> Result<RowSet> {
        let sql = if self.is_base_table(conn, table)? {
            format!("SELECT * FROM {} WHERE rowid >= {offset} AND rowid < {}", quote_ident(table), offset + limit)
        } else {
            format!("SELECT * FROM {} LIMIT {limit} OFFSET {offset}", quote_ident(table))
        };
        fetch_rows(conn, &sql, limit, 0)
    }

    /// The first row at or after `from` where any of `columns` holds `text` (case-insensitive).
    pub fn search(
        &mut self,
        conn: &Connection,
        table: &str,
        from: u64,
        text: &str,
        columns: &[String],
    ) -> Result<Option<u64>> {
        let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let any: Vec<String> = columns
            .iter()
            .map(|c| format!("CAST({} AS VARCHAR) ILIKE {} ESCAPE '\\'", quote_ident(c), quote_literal(&pattern)))
            .collect();
        // A view has no rowid: its rows are numbered in scan order, as LIMIT/OFFSET pages them.
        let source = if self.is_base_table(conn, table)? {
            quote_ident(table)
        } else {
            format!("(SELECT *, row_number() OVER () - 1 AS rowid FROM {})", quote_ident(table))
        };
        let sql = format!("SELECT min(rowid) FROM {source} WHERE rowid >= {from} AND ({})", any.join(" OR "));
        let row: Option<i64> = conn.query_row(&sql, [], |r| r.get(0))?;
        Ok(row.map(|r| r as u64))
    }
    fn is_base_table(&mut self, conn: &duckdb::Connection, name: &str) -> super::Result<bool> {
        if let Some(known) = self.base_tables.get(name) {
            return Ok(*known);
        }
        let known = is_base_table(conn, name)?;
        self.base_tables.insert(name.to_string(), known);
        Ok(known)
    }
}

/// Whether `name` is a table (temporary or of the main schema), which pages by rowid, rather than
/// a view (a landing table), which pages by LIMIT/OFFSET.
fn is_base_table(conn: &duckdb::Connection, name: &str) -> super::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

const BUCKETS: usize = 24;

/// A column's profile: counts, min and max, and a histogram of numbers.
pub fn profile_column(conn: &Connection, table: &str, column: &str) -> Result<ColumnProfile> {
    let (t, c) = (quote_ident(table), quote_ident(column));
    let data_type = table_columns(conn, table)?
        .into_iter()
        .find(|col| col.name == column)
        .map(|col| col.data_type)
        .unwrap_or_default();
    let (rows, nulls, distinct, min, max): (i64, i64, i64, Option<String>, Option<String>) = conn.query_row(
        &format!(
            "SELECT count(*), count(*) - count({c}), approx_count_distinct({c}), min({c})::VARCHAR, max({c})::VARCHAR FROM {t}"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let numeric = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "UBIGINT", "UINTEGER"]
        .iter()
        .any(|n| data_type.starts_with(n))
        || data_type.starts_with("DECIMAL");
    let mut histogram = vec![0u64; BUCKETS];
    if numeric && rows > nulls {
        let sql = format!(
            "WITH b AS (SELECT min({c})::DOUBLE AS lo, max({c})::DOUBLE AS hi FROM {t}) \
             SELECT least({n} - 1, CASE WHEN hi = lo THEN 0 ELSE floor(({c}::DOUBLE - lo) / (hi - lo) * {n}) END)::BIGINT AS bucket, count(*) \
             FROM {t}, b WHERE {c} IS NOT NULL GROUP BY bucket",
            n = BUCKETS
        );
        let mut stmt = conn.prepare(&sql)?;
        let buckets = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for b in buckets {
            let (bucket, n) = b?;
            histogram[bucket.clamp(0, BUCKETS as i64 - 1) as usize] = n as u64;
        }
    } else {
        histogram.clear();
    }
    Ok(ColumnProfile {
        column: column.to_string(),
        data_type,
        rows: rows as u64,
        nulls: nulls as u64,
        distinct: distinct as u64,
        min,
        max,
        histogram,
    })
}
