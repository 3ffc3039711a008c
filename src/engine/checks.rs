//! Running the checks: each check file is a SELECT of the rows that break a rule; it passes when it
//! returns none. Results are kept in temporary tables so the report and the TUI can page through
//! the failing rows without running the check again.
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use super::cache;
use super::catalog::{CheckDef, ForEach, Severity};
use super::error::{EngineError, Result};
use super::gate::{self, Baseline, BaselineCheck, BaselineVerdict, Selection};
use super::rows::{fetch_rows_in_order, RowSet};
use super::sql_text::quote_ident;
use super::{Engine, Progress};

#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Every warn counts as an error.
    pub strict: bool,
    /// `--expect FILE`: table -> expected rows, and the file it came from (for error messages).
    pub expect: Option<(std::path::PathBuf, BTreeMap<String, u64>)>,
    /// `--select` / `--exclude`: which checks run (every stage still runs).
    pub selection: Selection,
    /// `--baseline FILE`: known failing rows; only new ones fail a check (not in strict mode).
    pub baseline: Option<Baseline>,
}

impl CheckOptions {
    /// The one rule: strict mode (`--mode strict`) implies `--strict`, and either makes every
    /// failing check an error, thresholds and baselines aside.
    pub fn is_strict(&self, mode: super::Mode) -> bool {
        self.strict || mode == super::Mode::Strict
    }

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
    /// Taken from the cache: the same SQL over the same inputs already found these rows.
    pub reused: bool,
    /// The table the check is about: the one it was made for (`{table}`), else the one its id
    /// names after the first dot, when that is a table.
    pub table: Option<String>,
    /// Whether it failed: it has failing rows (new ones, with a baseline) and no threshold lets
    /// them through. Strict mode: any failing row.
    pub failed: bool,
    /// Why failing rows did not fail it (a threshold, the baseline), for the reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub let_through: Option<String>,
    /// How the baseline judged its rows, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineVerdict>,
    /// SHA-256 of the SQL as run (the baseline and the history record it).
    pub sql_sha256: String,
    /// The line of its `-- id:` in `file`.
    pub line: usize,
    /// The table holding the failing rows (`check_result_<fingerprint>`).
    #[serde(skip)]
    pub result_table: String,
    /// The SQL as run, `{table}` filled in.
    #[serde(skip)]
    pub sql: String,
}

impl CheckOutcome {
    pub fn passed(&self) -> bool {
        !self.failed
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
    /// The `{table}` it was made for.
    table: Option<String>,
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
        sql: def
            .sql
            .replace("{table}", table)
            .replace("{columns}", targets.columns.get(table).map_or("", String::as_str)),
        description: def.description.replace("{table}", table),
        table: Some(table.to_string()),
    };
    match &def.for_each {
        None => vec![CheckInstance {
            def,
            id: def.id.clone(),
            sql: def.sql.clone(),
            description: def.description.clone(),
            table: None,
        }],
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
        let mut schema = cache::main_schema(&self.conn)?;
        let built = cache::all_built(&self.conn)?;
        let mut records = Vec::new();
        let instances: Vec<CheckInstance> = {
            let landing =
                self.tables.iter().filter(|t| t.zone == super::Zone::Landing).map(|t| t.name.clone()).collect();
            let columns = schema.columns.iter().map(|(t, names)| (t.clone(), column_list(names))).collect();
            let targets = Targets { tables: tables.clone(), landing, expected: expected_tables, columns };
            let mut instances: Vec<CheckInstance> =
                self.catalog.checks.iter().flat_map(|def| instantiate(def, &targets)).collect();
            for check in &mut instances {
                if check.table.is_none() {
                    check.table = check.id.split_once('.').map(|(_, t)| t.to_string()).filter(|t| tables.contains(t));
                }
            }
            instances.retain(|c| options.selection.includes(&c.id, c.table.as_deref()));
            instances
        };
        if options.expect.is_some() {
            let expect = serde_json::to_string(&options.expect.as_ref().map(|(_, e)| e)).unwrap_or_default();
            self.lineage.set("expected_row_counts", super::cache::fingerprint([expect.as_str()]));
        }
        let mut outcomes = Vec::with_capacity(instances.len());
        for (index, check) in instances.iter().enumerate() {
            progress(Progress::Check { id: check.id.clone(), index, total: instances.len() });
            let check_started = Instant::now();
            // Named by what it was computed from: a result is reused only for the same SQL and inputs.
            let fp = self.lineage.of_sql("check", &check.sql);
            let result_table = format!("check_result_{}", &fp[..16]);
            let key = format!("check:{}", check.id);
            let what = format!("check {}", check.id);
            let (failing_rows, reused) =
                cache::build_or_reuse(&self.conn, &built, &schema.tables, &key, &result_table, &fp, &check.sql, |e| {
                    EngineError::sql_failed(&check.def.path, Some(&what), e)
                })?;
            if reused {
                self.cache.checks_reused += 1;
            } else {
                self.cache.checks_run += 1;
                schema.tables.insert(result_table.clone());
            }
            let reused = reused.then_some(failing_rows);
            if reused.is_none() {
                records.push((key, fp.clone(), failing_rows, check_started.elapsed().as_secs_f64()));
            }
            // Strict mode implies --strict: every check is an error.
            let strict = options.is_strict(self.catalog.mode);
            let sql_sha256 = gate::sql_sha256(&check.sql);
            let baseline = match &options.baseline {
                Some(base) if !strict => {
                    let rows = row_fingerprints(&self.conn, &result_table)?;
                    Some(gate::compare(&rows, &sql_sha256, base.checks.get(&check.id)))
                }
                _ => None,
            };
            let table_rows =
                check.table.as_ref().and_then(|t| self.tables.iter().find(|s| &s.name == t)).map(|s| s.rows);
            let (failed, severity, let_through) = judge(check, failing_rows, baseline.as_ref(), table_rows, strict)?;
            outcomes.push(CheckOutcome {
                id: check.id.clone(),
                severity,
                declared_severity: check.def.severity,
                description: check.description.clone(),
                file: check.def.path.clone(),
                failing_rows,
                elapsed: check_started.elapsed(),
                reused: reused.is_some(),
                table: check.table.clone(),
                failed,
                let_through,
                baseline,
                sql_sha256,
                line: check.def.id_line,
                result_table,
                sql: check.sql.clone(),
            });
        }
        cache::record_all(&self.conn, "check", &records)?;
        self.drop_unused_results(&outcomes, &schema)?;
        self.secure_cache();
        self.timings.checks = started.elapsed();
        Ok(outcomes)
    }

    /// Drop the result tables (and their records) of checks that are not in this run, so a
    /// cache holds one result per check, not one per version of it.
    fn drop_unused_results(&self, outcomes: &[CheckOutcome], schema: &cache::MainSchema) -> Result<()> {
        let keep: Vec<&str> = outcomes.iter().map(|o| o.result_table.as_str()).collect();
        let stale = schema.tables.iter().filter(|t| t.starts_with("check_result_") && !keep.contains(&t.as_str()));
        for table in stale {
            self.conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote_ident(table)))?;
        }
        let ids: Vec<String> = outcomes.iter().map(|o| format!("check:{}", o.id)).collect();
        self.conn.execute(
            &format!(
                "DELETE FROM {}.built WHERE kind = 'check' AND name NOT IN ({})",
                cache::SCHEMA,
                if ids.is_empty() { "NULL".to_string() } else { cache::literal_list(ids.iter().map(String::as_str)) }
            ),
            [],
        )?;
        Ok(())
    }

    /// A window of a check's failing rows (unmasked: the caller masks for display), in one total
    /// order ([`fetch_rows_in_order`]): the report's sample rows are the same run after run,
    /// whatever order the parallel check wrote them in and whether its result came from the cache.
    pub fn check_rows(&self, outcome: &CheckOutcome, limit: u64, offset: u64) -> Result<RowSet> {
        let sql = format!("SELECT * FROM {}", quote_ident(&outcome.result_table));
        fetch_rows_in_order(&self.conn, &sql, limit, offset)
    }

    /// The baseline these outcomes make: each check's SQL hash and failing-row fingerprints.
    pub fn baseline_of(&self, outcomes: &[CheckOutcome]) -> Result<Baseline> {
        let mut checks = BTreeMap::new();
        for o in outcomes {
            let rows = row_fingerprints(&self.conn, &o.result_table)?;
            checks.insert(o.id.clone(), BaselineCheck { sql_sha256: o.sql_sha256.clone(), rows });
        }
        Ok(Baseline { format: gate::BASELINE_FORMAT.to_string(), checks })
    }
}

/// A fingerprint of each failing row (the first 20 hex digits of the SHA-256 of the row as JSON)
/// and how often it occurs: stable run to run, and no value of the row can be read back from it.
fn row_fingerprints(conn: &duckdb::Connection, result_table: &str) -> Result<BTreeMap<String, u64>> {
    let sql = format!(
        "SELECT substr(sha256(CAST(to_json(t) AS VARCHAR)), 1, 20) AS fp, count(*) FROM {} AS t GROUP BY fp",
        quote_ident(result_table)
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// Whether a check with `failing_rows` (of which `baseline` says how many are new) fails, at what
/// severity, and why not when it has rows that did not fail it.
fn judge(
    check: &CheckInstance,
    failing_rows: u64,
    baseline: Option<&BaselineVerdict>,
    table_rows: Option<u64>,
    strict: bool,
) -> Result<(bool, Severity, Option<String>)> {
    let def = check.def;
    if strict {
        return Ok((failing_rows > 0, Severity::Error, None));
    }
    let counted = baseline.map_or(failing_rows, |b| b.new_rows);
    let known = if baseline.is_some() { " new" } else { "" };
    if def.warn_if.is_none() && def.error_if.is_none() {
        let through =
            (failing_rows > 0 && counted == 0).then(|| format!("all {failing_rows} failing rows are in the baseline"));
        return Ok((counted > 0, def.severity, through));
    }
    let holds = |t: &Option<gate::Threshold>| -> Result<bool> {
        let Some(t) = t else { return Ok(false) };
        if t.percent && table_rows.is_none() {
            return Err(EngineError::sql(
                &def.path,
                format!("check {}: a threshold in % needs the check to be about one table ({{table}}, or its id's last part)", check.id),
            ));
        }
        Ok(t.holds(counted, table_rows.unwrap_or(0)))
    };
    if holds(&def.error_if)? {
        return Ok((true, Severity::Error, None));
    }
    if holds(&def.warn_if)? {
        return Ok((true, Severity::Warn, None));
    }
    let rules: Vec<String> = [("warn_if", &def.warn_if), ("error_if", &def.error_if)]
        .into_iter()
        .filter_map(|(k, t)| t.as_ref().map(|t| format!("{k}: {t}")))
        .collect();
    let through = (failing_rows > 0).then(|| format!("{counted}{known} failing rows, within {}", rules.join(", ")));
    Ok((false, def.severity, through))
}
