//! Running the checks: each check file is a SELECT of the rows that break a rule; it passes when it
//! returns none. Results are kept in temporary tables so the report and the TUI can page through
//! the failing rows without running the check again.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::catalog::{CheckDef, ForEach, Severity};
use super::error::{EngineError, Result};
use super::rows::{count_rows, fetch_rows, RowSet};
use super::sql_text::quote_ident;
use super::{Engine, Progress};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Every warn counts as an error.
    pub strict: bool,
    /// `--expect FILE`: table -> expected rows, and the file it came from (for error messages).
    pub expect: Option<(std::path::PathBuf, BTreeMap<String, u64>)>,
}

impl CheckOptions {
    /// Read an `--expect` file: a JSON object `{"table": rows}`.
    pub fn read_expect(path: &Path) -> Result<BTreeMap<String, u64>> {
        let text = std::fs::read_to_string(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))?;
        serde_json::from_str(&text)
            .map_err(|e| EngineError::input(path, format!("expected a JSON object of table -> row count: {e}")))
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckOutcome {
    pub id: String,
    /// The severity that decides the exit code (`--strict` raises warn to error).
    pub severity: Severity,
    pub declared_severity: Severity,
    pub description: String,
    pub file: std::path::PathBuf,
    pub failing_rows: u64,
    #[serde(serialize_with = "super::serialize_seconds")]
    pub elapsed: Duration,
    /// The temporary table holding the failing rows.
    #[serde(skip)]
    pub result_table: String,
    /// The SQL as run, `{table}` filled in.
    #[serde(skip)]
    pub sql: String,
}

impl CheckOutcome {
    pub fn passed(&self) -> bool {
        self.failing_rows == 0
    }
    /// Failed with error severity: this is what makes `--check` exit 1.
    pub fn is_error(&self) -> bool {
        !self.passed() && self.severity == Severity::Error
    }
}

/// One runnable check: a definition with its `{table}` (and `{columns}`) filled in.
struct CheckInstance<'a> {
    def: &'a CheckDef,
    id: String,
    sql: String,
    description: String,
}

/// The tables a generic check runs over: all of them, the landing ones, the `--expect` ones; and
/// each table's columns as `{columns}` spells them.
struct Targets {
    tables: Vec<String>,
    landing: Vec<String>,
    expected: Vec<String>,
    columns: BTreeMap<String, String>,
}

/// `{columns}`: every column of a table, backquoted and comma-separated, the one spelling DuckDB
/// and Spark SQL both read (`hash({columns})` hashes a whole row in both; `hash(*)` is DuckDB-only
/// and Spark refuses it in a WHERE).
pub fn column_list(names: &[String]) -> String {
    names.iter().map(|n| format!("`{}`", n.replace('`', "``"))).collect::<Vec<_>>().join(", ")
}

fn instantiate<'a>(def: &'a CheckDef, targets: &Targets) -> Vec<CheckInstance<'a>> {
    let fill = |table: &str| CheckInstance {
        def,
        id: def.id.replace("{table}", table),
        sql: def.sql.replace("{table}", table).replace("{columns}", targets.columns.get(table).map_or("", String::as_str)),
        description: def.description.replace("{table}", table),
    };
    match &def.for_each {
        None => {
            vec![CheckInstance { def, id: def.id.clone(), sql: def.sql.clone(), description: def.description.clone() }]
        }
        Some(ForEach::Tables) => targets.tables.iter().map(|t| fill(t)).collect(),
        Some(ForEach::Landing) => targets.landing.iter().map(|t| fill(t)).collect(),
        Some(ForEach::Expected) => targets.expected.iter().map(|t| fill(t)).collect(),
        Some(ForEach::List(list)) => list.iter().map(|t| fill(t)).collect(),
    }
}

impl Engine {
    /// Run every check in `queries/checks/` (after the stages). A check whose SQL fails is an error
    /// naming its file, never a silent pass.
    pub fn run_checks(
        &mut self,
        options: &CheckOptions,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<Vec<CheckOutcome>> {
        let started = Instant::now();
        let tables: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        let mut expected_tables = Vec::new();
        if let Some((path, expect)) = &options.expect {
            self.conn.execute_batch(
                "CREATE OR REPLACE TEMP TABLE expected_row_counts (table_name VARCHAR, expected_rows BIGINT)",
            )?;
            for (table, rows) in expect {
                if !tables.contains(table) {
                    return Err(EngineError::input(path, format!("names unknown table {table:?}")));
                }
                self.conn
                    .execute("INSERT INTO expected_row_counts VALUES (?, ?)", duckdb::params![table, *rows as i64])?;
                expected_tables.push(table.clone());
            }
        }
        let instances: Vec<CheckInstance> = {
            let landing =
                self.tables.iter().filter(|t| t.zone == super::Zone::Landing).map(|t| t.name.clone()).collect();
            let mut columns = BTreeMap::new();
            for table in &tables {
                let names: Vec<String> = super::load::table_columns(&self.conn, table)?.into_iter().map(|c| c.name).collect();
                columns.insert(table.clone(), column_list(&names));
            }
            let targets = Targets { tables: tables.clone(), landing, expected: expected_tables, columns };
            self.catalog.checks.iter().flat_map(|def| instantiate(def, &targets)).collect::<Vec<_>>()
        };
        let mut outcomes = Vec::with_capacity(instances.len());
        for (index, check) in instances.iter().enumerate() {
            progress(Progress::Check { id: check.id.clone(), index, total: instances.len() });
            let check_started = Instant::now();
            let result_table = format!("check_result_{index}");
            let create = format!("CREATE OR REPLACE TEMP TABLE {} AS {}", quote_ident(&result_table), check.sql);
            self.conn.execute_batch(&create).map_err(|e| match EngineError::from(e) {
                EngineError::Cancelled => EngineError::Cancelled,
                other => EngineError::sql(
                    &check.def.path,
                    format!("check {}: {}", check.id, other.to_string().trim_start_matches("duckdb: ")),
                ),
            })?;
            let failing_rows = count_rows(&self.conn, &format!("SELECT * FROM {}", quote_ident(&result_table)))?;
            // Strict mode implies --strict: every check is an error.
            let strict = options.strict || self.catalog.mode == super::Mode::Strict;
            let severity = if strict { Severity::Error } else { check.def.severity };
            outcomes.push(CheckOutcome {
                id: check.id.clone(),
                severity,
                declared_severity: check.def.severity,
                description: check.description.clone(),
                file: check.def.path.clone(),
                failing_rows,
                elapsed: check_started.elapsed(),
                result_table,
                sql: check.sql.clone(),
            });
        }
        self.timings.checks = started.elapsed();
        Ok(outcomes)
    }

    /// A window of a check's failing rows (unmasked: the caller masks for display).
    pub fn check_rows(&self, outcome: &CheckOutcome, limit: u64, offset: u64) -> Result<RowSet> {
        fetch_rows(&self.conn, &format!("SELECT * FROM {}", quote_ident(&outcome.result_table)), limit, offset)
    }
}
