//! One [`Report`] value, built from what the engine produced, rendered as text, JSON or JUnit XML;
//! the evidence reports (HTML, Markdown) add stages, consent timing, the diff and provenance.
//! Renderers only format: every number comes from the engine.
pub mod evidence;
mod history;
mod html;
mod html_svg;
mod junit;
mod markdown;
mod modes;
mod sarif;
mod text;
mod trace;

use std::path::PathBuf;

use crate::engine::{
    serialize_seconds, CacheStats, CheckOutcome, Engine, Mode, Result, RowSet, Severity, Timings, Zone,
};

pub use evidence::Evidence;
pub use history::{render_history, sparkline};
pub use html::render_html;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use modes::{render_diff_text, render_forget_text};
pub use sarif::{github_annotations, render_sarif};
pub use text::render_text;
pub use trace::{epoch_ms, mask_trace, render_trace_json, render_trace_text};

/// How many failing rows the report shows per failed check.
pub const SAMPLE_ROWS: u64 = 5;

#[derive(Debug, Clone, serde::Serialize)]
pub struct TableLine {
    pub name: String,
    pub zone: Zone,
    pub rows: u64,
    /// Records of the table's files that did not load (landing tables).
    pub rejected: u64,
    #[serde(serialize_with = "serialize_seconds")]
    pub seconds: std::time::Duration,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckLine {
    pub id: String,
    pub severity: Severity,
    pub declared_severity: Severity,
    pub status: &'static str,
    pub failing_rows: u64,
    pub description: String,
    pub file: PathBuf,
    /// The line of its `-- id:` in `file`.
    pub line: usize,
    /// The table it is about, when it is about one.
    pub table: Option<String>,
    #[serde(serialize_with = "serialize_seconds")]
    pub seconds: std::time::Duration,
    /// Taken from the cache: the same SQL over the same inputs found these rows before.
    pub reused: bool,
    /// Why failing rows did not fail it: a threshold (`-- warn_if:` / `-- error_if:`) or the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub let_through: Option<String>,
    /// With `--baseline`: the failing rows that are new, those resolved, and whether the check's
    /// SQL changed since the baseline (then every row counts as new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::engine::BaselineVerdict>,
    /// SHA-256 of the check's SQL as run.
    pub sql_sha256: String,
    /// Up to [`SAMPLE_ROWS`] failing rows, personal fields masked unless `--show-pii`.
    /// The check's SQL as run (`{table}` filled in), for the evidence reports.
    #[serde(skip)]
    pub sql: String,
    /// Up to [`SAMPLE_ROWS`] failing rows (every column ascending), personal fields masked unless
    /// `--show-pii`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Sample {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LetThrough {
    pub id: String,
    pub why: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub tables: usize,
    pub checks: usize,
    /// Checks with failing rows that a threshold or the baseline let through, and why.
    pub let_through: Vec<LetThrough>,
    pub passed: usize,
    pub warnings: usize,
    pub errors: usize,
    pub failed_error_checks: Vec<String>,
    pub strict: bool,
    pub pii_shown: bool,
    pub exit_code: i32,
    pub timings: Timings,
    /// What the run took from the warm-start cache, and its notices (also on stderr).
    pub cache: CacheStats,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub tool: &'static str,
    pub version: &'static str,
    /// The stage set that built the zones: rubric or strict.
    pub mode: Mode,
    pub data_dir: PathBuf,
    /// Where the SQL came from (built in, or a folder) and its hash.
    pub sql: crate::engine::SqlProvenance,
    pub tables: Vec<TableLine>,
    pub checks: Vec<CheckLine>,
    pub summary: Summary,
}

impl Report {
    /// Gather tables, check outcomes and samples of the failing rows into one value.
    pub fn build(engine: &Engine, outcomes: &[CheckOutcome], strict: bool, show_pii: bool) -> Result<Report> {
        let tables = engine
            .tables
            .iter()
            .map(|t| TableLine {
                name: t.name.clone(),
                zone: t.zone,
                rows: t.rows,
                rejected: t.rejected,
                seconds: t.elapsed,
            })
            .collect();
        let mut checks = Vec::with_capacity(outcomes.len());
        for o in outcomes {
            let sample = if o.passed() {
                None
            } else {
                let rows: RowSet = engine.check_sample(o, SAMPLE_ROWS)?;
                Some(Sample { rows: rows.display_rows(show_pii), columns: rows.columns })
            };
            checks.push(CheckLine {
                id: o.id.clone(),
                severity: o.severity,
                declared_severity: o.declared_severity,
                status: if o.passed() { "pass" } else { "fail" },
                failing_rows: o.failing_rows,
                description: o.description.clone(),
                file: o.file.clone(),
                line: o.line,
                table: o.table.clone(),
                seconds: o.elapsed,
                reused: o.reused,
                let_through: o.let_through.clone(),
                baseline: o.baseline.clone(),
                sql_sha256: o.sql_sha256.clone(),
                sql: o.sql.clone(),
                sample,
            });
        }
        let failed_error_checks: Vec<String> = outcomes.iter().filter(|o| o.is_error()).map(|o| o.id.clone()).collect();
        let summary = Summary {
            tables: engine.tables.len(),
            checks: outcomes.len(),
            let_through: outcomes
                .iter()
                .filter_map(|o| o.let_through.as_ref().map(|why| LetThrough { id: o.id.clone(), why: why.clone() }))
                .collect(),
            passed: outcomes.iter().filter(|o| o.passed()).count(),
            warnings: outcomes.iter().filter(|o| !o.passed() && o.severity == Severity::Warn).count(),
            errors: failed_error_checks.len(),
            exit_code: if failed_error_checks.is_empty() { 0 } else { 1 },
            failed_error_checks,
            strict,
            pii_shown: show_pii,
            timings: engine.timings,
            cache: engine.cache.clone(),
        };
        Ok(Report {
            tool: "stedi-tui",
            version: env!("CARGO_PKG_VERSION"),
            mode: engine.catalog.mode,
            data_dir: engine.options.data_dir.clone(),
            sql: engine.catalog.sql.provenance(),
            tables,
            checks,
            summary,
        })
    }

    pub fn render_json(&self) -> String {
        crate::engine::to_json_pretty(self) + "\n"
    }
}

/// Group digits by thousands, as the reports and the TUI print counts: 81273 -> 81,273.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl CheckLine {
    /// PASS, WARN (failed, warn severity) or FAIL (failed, error severity).
    pub fn verdict(&self) -> &'static str {
        match (self.status, self.severity) {
            ("pass", _) => "PASS",
            (_, Severity::Warn) => "WARN",
            _ => "FAIL",
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::thousands(81273), "81,273");
        assert_eq!(super::thousands(956), "956");
        assert_eq!(super::thousands(1000000), "1,000,000");
    }
}
