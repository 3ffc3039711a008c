//! The evidence report's content, gathered once for the HTML and the Markdown renderers: the
//! [`Report`] (tables, checks, summary), each stage with what it read, kept and dropped, the consent
//! timing, the rubric-vs-strict diff when it can be computed, `--expect` beside the actual counts,
//! and provenance. Every row shown is masked here (unless `--show-pii`), so a renderer cannot forget.
use std::collections::BTreeMap;

use super::{Report, Sample};
use crate::engine::ConsentTiming;
use crate::engine::Diff;
use crate::engine::Provenance;
use crate::engine::{CheckOptions, CheckOutcome, Engine, Result, RowSet, Zone};

/// Dropped rows shown per stage.
pub const STAGE_SAMPLE_ROWS: u64 = 3;

#[derive(Debug, Clone)]
pub struct StageSection {
    pub name: String,
    pub zone: Zone,
    pub about: String,
    pub sql: String,
    /// Tables it reads (landing, reference or stages), as its SQL names them.
    pub reads: Vec<String>,
    /// The input whose rows it filters; none for a join.
    pub input: Option<String>,
    pub input_rows: Option<u64>,
    pub kept: u64,
    pub dropped: Option<u64>,
    pub reason: Option<String>,
    pub dropped_sample: Option<Sample>,
}

impl StageSection {
    /// A stage without a filter input combines its inputs (machine_learning_curated's join).
    pub fn is_join(&self) -> bool {
        self.input.is_none()
    }
}

#[derive(Debug, Clone)]
pub struct Evidence {
    pub report: Report,
    pub stages: Vec<StageSection>,
    pub consent: Option<Vec<ConsentTiming>>,
    /// Rubric vs strict, or why it could not be computed.
    pub diff: std::result::Result<Diff, String>,
    pub expect: Option<BTreeMap<String, u64>>,
    pub provenance: Provenance,
    /// UTC ISO-8601: the one thing that differs between two reports of the same data.
    pub created_at: String,
    pub elapsed_seconds: f64,
}

fn masked(rows: RowSet, show_pii: bool) -> Sample {
    Sample { rows: rows.display_rows(show_pii), columns: rows.columns }
}

impl Evidence {
    /// Gather it all from an engine that ran the pipeline and the checks. The diff runs both modes
    /// in another (in-memory) engine.
    pub fn gather(
        engine: &Engine,
        outcomes: &[CheckOutcome],
        options: &CheckOptions,
        show_pii: bool,
    ) -> Result<Evidence> {
        let report = Report::build(engine, outcomes, options.is_strict(engine.catalog.mode), show_pii)?;
        let mut stages = Vec::new();
        for ev in engine.stage_evidence(STAGE_SAMPLE_ROWS)? {
            let stage = engine.catalog.stage(&ev.flow.stage).expect("a flow per stage");
            stages.push(StageSection {
                name: stage.name.clone(),
                zone: stage.zone,
                about: stage.about.clone(),
                sql: stage.sql.clone(),
                reads: stage.reads.iter().filter(|r| is_relation(engine, r)).cloned().collect(),
                input: ev.flow.input,
                input_rows: ev.flow.input_rows,
                kept: ev.flow.kept,
                dropped: ev.flow.dropped,
                reason: ev.flow.reason,
                dropped_sample: ev.dropped_sample.map(|r| masked(r, show_pii)),
            });
        }
        let diff =
            Engine::run_both_modes(engine.options.clone()).and_then(|both| both.diff()).map_err(|e| e.to_string());
        let total = engine.timings.load + engine.timings.stages + engine.timings.checks;
        Ok(Evidence {
            report,
            stages,
            consent: engine.consent_timing()?,
            diff,
            expect: options.expect.as_ref().map(|(_, e)| e.clone()),
            provenance: engine.provenance()?,
            created_at: crate::engine::iso8601_utc(std::time::SystemTime::now()),
            elapsed_seconds: total.as_secs_f64(),
        })
    }

    /// Checks in the order a reviewer reads them: failed errors, failed warnings, then passes.
    pub fn checks_failed_first(&self) -> Vec<&super::CheckLine> {
        let mut checks: Vec<&super::CheckLine> = self.report.checks.iter().collect();
        checks.sort_by_key(|c| match c.verdict() {
            "FAIL" => 0,
            "WARN" => 1,
            _ => 2,
        });
        checks
    }

    /// The row count of a table, as the pipeline made it.
    pub fn rows_of(&self, table: &str) -> Option<u64> {
        self.report.tables.iter().find(|t| t.name == table).map(|t| t.rows)
    }
}

/// Whether a name a stage's SQL mentions is a relation of the pipeline (not a column or alias).
fn is_relation(engine: &Engine, name: &str) -> bool {
    let c = &engine.catalog;
    c.landing.iter().any(|t| t.name.eq_ignore_ascii_case(name))
        || c.references.iter().any(|r| r.name.eq_ignore_ascii_case(name))
        || c.stages.iter().any(|s| s.name.eq_ignore_ascii_case(name))
}
