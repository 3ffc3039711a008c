//! Both modes side by side, for the reviewer (`stedi-tui diff`) and for erasure (`stedi-tui forget`).
//! One engine loads the landing data once, runs the rubric stages, copies their tables into the
//! schema `rubric`, runs the strict stages and copies theirs into `strict`. Then each
//! `queries/diff/<table>.sql` compares `rubric.<table>` with `strict.<table>` and says, in SQL, why
//! each row one mode keeps is missing from the other, as counts by (kept_by, reason).
use std::path::PathBuf;

use super::catalog::{Catalog, Mode};
use super::error::{EngineError, Result};
use super::pseudonym::PseudonymKey;
use super::sql_text::quote_ident;
use super::{Engine, EngineOptions};

/// The reasons the diff SQL gives, in the order reports list them.
pub const REASONS: [&str; 4] = ["revoked consent", "cross-customer", "pre-consent", "other"];

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DiffCount {
    /// The mode that keeps these rows (the other does not).
    pub kept_by: Mode,
    pub reason: String,
    pub rows: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableDiff {
    pub table: String,
    pub rubric_rows: u64,
    pub strict_rows: u64,
    pub differences: Vec<DiffCount>,
    /// The SQL file that computed the differences.
    pub file: PathBuf,
}

impl TableDiff {
    /// Rows kept only by `mode`, over all reasons.
    pub fn only_in(&self, mode: Mode) -> u64 {
        self.differences.iter().filter(|d| d.kept_by == mode).map(|d| d.rows).sum()
    }
    /// Rows kept only by `mode` for `reason` (0 when none).
    pub fn count(&self, mode: Mode, reason: &str) -> u64 {
        self.differences.iter().filter(|d| d.kept_by == mode && d.reason == reason).map(|d| d.rows).sum()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Diff {
    pub data_dir: PathBuf,
    pub sql: super::SqlProvenance,
    pub erased_customers: u64,
    pub tables: Vec<TableDiff>,
}

fn duck_error(path: &std::path::Path, e: duckdb::Error) -> EngineError {
    EngineError::sql_failed(path, None, e)
}

impl Engine {
    /// Load the landing data once and run both modes' stages, leaving each mode's zone tables in
    /// the schema named after it (`rubric.customer_trusted`, `strict.customer_trusted`, ...). The
    /// strict stages need a pseudonym key: the options' one, or else a random key for this run
    /// only (nothing this engine is used for writes a pseudonym out).
    pub fn run_both_modes(mut options: EngineOptions) -> Result<Engine> {
        options.mode = Mode::Rubric;
        // Both modes' stages share table names, and a second engine may run beside one holding
        // the cache (the TUI's diff): this one works in memory.
        options.cache = super::CacheChoice::Off;
        if options.pseudonym_key.is_none() {
            options.pseudonym_key = Some(PseudonymKey::ephemeral());
        }
        let mut engine = Engine::open(options)?;
        // Fail before any work when either mode's stage folder is missing.
        let strict = Catalog::from_files(engine.catalog.sql.clone(), Mode::Strict)?;
        engine.load(&mut |_| {})?;
        for catalog in [engine.catalog.clone(), strict] {
            let mode = catalog.mode;
            engine.catalog = catalog;
            engine.options.mode = mode;
            engine.run_stages(&mut |_| {})?;
            let schema = quote_ident(mode.as_str());
            engine.conn.execute_batch(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))?;
            for stage in &engine.catalog.stages {
                let name = quote_ident(&stage.name);
                engine.conn.execute_batch(&format!("CREATE OR REPLACE TABLE {schema}.{name} AS FROM main.{name}"))?;
            }
        }
        Ok(engine)
    }

    /// Every `queries/diff/<table>.sql` run over an engine made by [`Engine::run_both_modes`].
    pub fn diff(&self) -> Result<Diff> {
        if self.catalog.diffs.is_empty() {
            let dir = self.catalog.sql.path_of("diff");
            return Err(EngineError::input(dir, "no diff queries (diff/<table>.sql) in the queries folder"));
        }
        let mut tables = Vec::new();
        for file in &self.catalog.diffs {
            let (table, path, sql) = (file.name.clone(), file.path.clone(), file.sql.as_str());
            let mut counts = [0u64; 2];
            for (i, mode) in [Mode::Rubric, Mode::Strict].into_iter().enumerate() {
                let qualified = format!("{}.{}", quote_ident(mode.as_str()), quote_ident(&table));
                let n: i64 = self
                    .conn
                    .query_row(&format!("SELECT count(*) FROM {qualified}"), [], |r| r.get(0))
                    .map_err(|e| duck_error(&path, e))?;
                counts[i] = n as u64;
            }
            let mut stmt = self.conn.prepare(sql).map_err(|e| duck_error(&path, e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))
                .map_err(|e| duck_error(&path, e))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| duck_error(&path, e))?;
            let mut differences = Vec::new();
            for (kept_by, reason, n) in rows {
                let kept_by = match kept_by.as_str() {
                    "rubric" => Mode::Rubric,
                    "strict" => Mode::Strict,
                    other => {
                        return Err(EngineError::sql(&path, format!("kept_by must be rubric or strict, not {other:?}")))
                    }
                };
                differences.push(DiffCount { kept_by, reason, rows: n as u64 });
            }
            let rank = |r: &str| REASONS.iter().position(|x| *x == r).unwrap_or(REASONS.len());
            differences.sort_by(|a, b| {
                (a.kept_by != Mode::Rubric, rank(&a.reason), &a.reason).cmp(&(
                    b.kept_by != Mode::Rubric,
                    rank(&b.reason),
                    &b.reason,
                ))
            });
            tables.push(TableDiff { table, rubric_rows: counts[0], strict_rows: counts[1], differences, file: path });
        }
        // The diff's order follows the pipeline's (trusted before curated), not the file names'.
        let order: Vec<String> = self.catalog.stages.iter().map(|s| s.name.clone()).collect();
        tables.sort_by_key(|t| order.iter().position(|n| *n == t.table).unwrap_or(order.len()));
        let erased: i64 = self.conn.query_row("SELECT count(*) FROM erased_customers", [], |r| r.get(0))?;
        Ok(Diff {
            data_dir: self.options.data_dir.clone(),
            sql: self.catalog.sql.provenance(),
            erased_customers: erased as u64,
            tables,
        })
    }
}
