//! One SQL dialect for DuckDB and Spark SQL: the stage, reference and check files run unchanged in
//! stedi-tui and in the Spark / AWS Glue jobs `stedi-tui emit glue` writes (see [`super::emit`]).
//! Where the two engines differ, both sides provide the same names:
//!
//! - `sha2(x, 256)` is Spark's function; for DuckDB it is a macro over `sha256(x)` ([`install`]).
//! - `getvariable('pseudonym_key')` is DuckDB's; the Spark jobs register a function of that name
//!   that returns their own key argument.
//! - `zone_columns(table_name, column_name, data_type)`: every pipeline table's columns, with
//!   DuckDB's type names (Spark has no `information_schema`).
//! - `<table>_with_keys`: each pipeline table plus, as NULL strings, whichever of the customer key
//!   columns [`KEY_COLUMNS`] it lacks, so a check can name `user` or `customer_pseudonym` whichever
//!   mode made the table (DuckDB's `COLUMNS(...)` and `* EXCLUDE` have no Spark equivalent).
//!
//! [`lint`] finds the constructs only one engine accepts, so `emit` can refuse them with advice.
use duckdb::Connection;

use super::error::Result;
use super::load::table_columns;
use super::sql_text::{quote_ident, quote_literal};

/// The columns that name a customer in some table: the email (`email`, accelerometer `user`), a
/// Step Trainer's `serialNumber`, the strict ML table's `customer_pseudonym` and `device_pseudonym`.
pub const KEY_COLUMNS: [&str; 5] = ["email", "user", "serialNumber", "customer_pseudonym", "device_pseudonym"];

/// The helper view of `table` with every key column (see the module documentation).
pub fn with_keys_view(table: &str) -> String {
    format!("{table}_with_keys")
}

/// The helper view of every pipeline table's columns.
pub const ZONE_COLUMNS: &str = "zone_columns";

/// Define the Spark spellings DuckDB lacks on a fresh connection: `sha2(value, bits)`.
pub fn install(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE OR REPLACE TEMP MACRO sha2(value, bits) AS \
         CASE WHEN bits = 256 THEN sha256(value) ELSE error('sha2: only 256 bits are supported') END",
    )?;
    Ok(())
}

/// The select-list tail that adds, as NULL strings, the [`KEY_COLUMNS`] a table with columns `have`
/// lacks: `SELECT *{padding} FROM t` has every key column.
pub fn key_padding(have: &[String]) -> String {
    KEY_COLUMNS
        .iter()
        .filter(|key| !have.iter().any(|c| c.eq_ignore_ascii_case(key)))
        .map(|key| format!(", CAST(NULL AS VARCHAR) AS {}", quote_ident(key)))
        .collect()
}

/// Create (or refresh) `zone_columns` and every `<table>_with_keys` over `tables`, as temporary views.
pub fn create_check_views(conn: &Connection, tables: &[String]) -> Result<()> {
    for table in tables {
        let have: Vec<String> = table_columns(conn, table)?.into_iter().map(|c| c.name).collect();
        let padding = key_padding(&have);
        conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP VIEW {} AS SELECT *{padding} FROM {}",
            quote_ident(&with_keys_view(table)),
            quote_ident(table)
        ))?;
    }
    let names: Vec<String> = tables.iter().map(|t| quote_literal(t)).collect();
    let filter = if names.is_empty() { "false".to_string() } else { format!("table_name IN ({})", names.join(", ")) };
    conn.execute_batch(&format!(
        "CREATE OR REPLACE TEMP VIEW {ZONE_COLUMNS} AS SELECT table_name, column_name, data_type FROM duckdb_columns() \
         WHERE database_name = current_database() AND schema_name = current_schema() AND NOT internal AND {filter} \
         ORDER BY table_name, column_index"
    ))?;
    Ok(())
}

/// A construct of one SQL file that only DuckDB (or only Spark) accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectProblem {
    /// What was found, e.g. `QUALIFY`.
    pub construct: &'static str,
    /// What to write instead.
    pub advice: &'static str,
}

/// `(token sequence, construct, advice)`: tokens are lower-case words or single punctuation
/// characters of the SQL with comments and string literals removed; `(` must follow directly.
const RULES: &[(&[&str], &str, &str)] = &[
    (&["\""], "double quotes", "Spark reads \"x\" as a string: quote identifiers with backticks, `user`"),
    (&["qualify"], "QUALIFY", "Spark has no QUALIFY: rank in a subquery and filter on the rank outside"),
    (&["exclude"], "SELECT * EXCLUDE", "DuckDB only: name the columns, or read <table>_with_keys"),
    (&["columns", "("], "COLUMNS(...)", "DuckDB only: name the columns, or read <table>_with_keys"),
    (
        &["information_schema"],
        "information_schema",
        "Spark has none: read zone_columns(table_name, column_name, data_type)",
    ),
    (&["sha256", "("], "sha256(x)", "write Spark's sha2(x, 256) (stedi-tui defines it for DuckDB)"),
    (&["list", "("], "list(...)", "DuckDB only: use IN (SELECT ...) or EXISTS"),
    (&["list_has_any", "("], "list_has_any(...)", "DuckDB only: use IN (SELECT ...) per column"),
    (&["list_contains", "("], "list_contains(...)", "DuckDB only: use IN (SELECT ...)"),
    (&["struct_pack", "("], "struct_pack(...)", "DuckDB only: use named_struct(...) in a view both define, or avoid"),
    (&["string_agg", "("], "string_agg(...)", "not in Spark 3.5: aggregate in the report instead"),
    (&["epoch_ms", "("], "epoch_ms(...)", "DuckDB only: compare epoch-ms BIGINTs directly"),
    (&["strftime", "("], "strftime(...)", "DuckDB only: Spark's is date_format"),
    (&["read_json", "("], "read_json(...)", "DuckDB table function: stages read tables, never files"),
    (&["read_parquet", "("], "read_parquet(...)", "DuckDB table function: stages read tables, never files"),
    (&[":", ":"], "x::TYPE", "DuckDB/PostgreSQL cast: write CAST(x AS TYPE)"),
    (&["["], "[...] list", "DuckDB list literal or index: not portable, avoid"),
    (&["using", "sample"], "USING SAMPLE", "DuckDB only: Spark writes TABLESAMPLE"),
];

/// Lower-cased words and punctuation of `sql`, with comments and string literals removed.
fn tokens(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '-' && next == Some('-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '`' {
            // a string literal, or a backtick-quoted identifier: one opaque token
            i += 1;
            while i < chars.len() {
                if chars[i] == c && chars.get(i + 1) == Some(&c) {
                    i += 2;
                } else if chars[i] == c {
                    break;
                } else {
                    i += 1;
                }
            }
            i += 1;
            out.push(c.to_string());
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect::<String>().to_lowercase());
        } else {
            if !c.is_whitespace() {
                out.push(c.to_string());
            }
            i += 1;
        }
    }
    out
}

/// Every construct of `sql` that DuckDB and Spark SQL do not both accept, each once, in rule order.
/// Found lexically (comments and string literals are ignored), so it catches the common cases;
/// running the SQL in both engines (`tests/glue.rs`) catches the rest.
pub fn lint(sql: &str) -> Vec<DialectProblem> {
    let tokens = tokens(sql);
    let mut problems = Vec::new();
    for (pattern, construct, advice) in RULES {
        if tokens.windows(pattern.len()).any(|w| w.iter().zip(pattern.iter()).all(|(t, p)| t == p)) {
            problems.push(DialectProblem { construct, advice });
        }
    }
    // DuckDB's FROM-first `FROM t` without SELECT.
    if tokens.first().is_some_and(|t| t == "from") {
        problems
            .push(DialectProblem { construct: "FROM-first query", advice: "DuckDB only: start with SELECT ... FROM" });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(sql: &str) -> Vec<&'static str> {
        lint(sql).into_iter().map(|p| p.construct).collect()
    }

    #[test]
    fn lint_finds_duckdb_only_constructs_outside_comments_and_strings() {
        assert_eq!(found("SELECT a.\"user\" FROM a"), ["double quotes"]);
        assert_eq!(found("SELECT a.`user`, 'it''s \"quoted\"' FROM a -- \"user\" QUALIFY"), Vec::<&str>::new());
        assert_eq!(
            found("SELECT * EXCLUDE (x) FROM t QUALIFY row_number() OVER () = 1"),
            ["QUALIFY", "SELECT * EXCLUDE"]
        );
        assert_eq!(
            found("SELECT sha256(x), x::BIGINT, [1, 2] FROM information_schema.columns"),
            ["information_schema", "sha256(x)", "x::TYPE", "[...] list"]
        );
        assert_eq!(found("FROM t"), ["FROM-first query"]);
        assert_eq!(found("SELECT sha2(x, 256), count(*) FROM t GROUP BY ALL"), Vec::<&str>::new());
        // a column named `columns` or `list` is fine; only the function call is DuckDB's
        assert_eq!(found("SELECT columns, list FROM t"), Vec::<&str>::new());
    }
}
