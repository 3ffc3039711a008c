//! Fetching a window of rows from any query, as text, for reports and previews. Every value is cast
//! to VARCHAR by DuckDB itself (`COLUMNS(*)::VARCHAR`), so all of DuckDB's types display the way
//! DuckDB prints them and nothing is held beyond the window asked for.
use duckdb::Connection;

use super::error::Result;
use super::mask::display_value;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RowSet {
    pub columns: Vec<String>,
    /// `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
}

impl RowSet {
    /// Rows as display text: NULL shown as `NULL`, personal columns masked unless `show_pii`.
    pub fn display_rows(&self, show_pii: bool) -> Vec<Vec<String>> {
        self.rows
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&self.columns)
                    .map(|(v, c)| match v {
                        Some(v) => display_value(c, v, show_pii),
                        None => "NULL".to_string(),
                    })
                    .collect()
            })
            .collect()
    }
}

/// Run `sql` (a SELECT) and return at most `limit` rows starting at `offset`, all as text.
pub fn fetch_rows(conn: &Connection, sql: &str, limit: u64, offset: u64) -> Result<RowSet> {
    fetch(conn, &format!("SELECT COLUMNS(*)::VARCHAR FROM ({sql}) AS q LIMIT {limit} OFFSET {offset}"))
}

/// [`fetch_rows`] in one total order, so the same rows give the same window whatever order `sql`
/// produced them in: by every column as typed (the row as a struct), then, for values equal but
/// printed differently (`-0.0` and `0.0`), by the row as text. Rows that tie are identical as shown.
pub fn fetch_rows_in_order(conn: &Connection, sql: &str, limit: u64, offset: u64) -> Result<RowSet> {
    let row = "stedi_fetched_row";
    fetch(
        conn,
        &format!(
            "SELECT COLUMNS(*)::VARCHAR FROM ({sql}) AS {row} ORDER BY {row}, CAST({row} AS VARCHAR) \
             LIMIT {limit} OFFSET {offset}"
        ),
    )
}

fn fetch(conn: &Connection, wrapped: &str) -> Result<RowSet> {
    let mut stmt = conn.prepare(wrapped)?;
    let mut result = stmt.query([])?;
    let columns = result.as_ref().map(|s| s.column_names()).unwrap_or_default();
    let mut rows = Vec::new();
    while let Some(row) = result.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(row.get::<_, Option<String>>(i)?);
        }
        rows.push(values);
    }
    Ok(RowSet { columns, rows })
}

/// `SELECT count(*)` of any query.
pub fn count_rows(conn: &Connection, sql: &str) -> Result<u64> {
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM ({sql}) AS q"), [], |r| r.get(0))?;
    Ok(n as u64)
}
