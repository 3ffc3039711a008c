//! What an evidence report shows beyond the check results: each stage with a few of the rows it
//! dropped, the trusted readings' time relative to their owner's consent
//! (`queries/report/consent_timing.sql`), and samples in a fixed order, so the same data gives the
//! same report. Rows come back unmasked: the renderers mask them for display.

use super::checks::CheckOutcome;
use super::error::{EngineError, Result};
use super::flow::StageFlow;
use super::rows::{fetch_rows, RowSet};
use super::sql_text::{quote_ident, strip_trailing_semicolons};
use super::Engine;

/// The consent-timing buckets by number (see the SQL file): label, and whether it is before consent.
pub const TIMING_BUCKETS: [(i64, &str); 9] = [
    (-4, "> 30 days before"),
    (-3, "7-30 days before"),
    (-2, "1-7 days before"),
    (-1, "< 1 day before"),
    (1, "< 1 day after"),
    (2, "1-7 days after"),
    (3, "7-30 days after"),
    (4, "> 30 days after"),
    (0, "no consent"),
];

pub const CONSENT_TIMING_FILE: &str = "report/consent_timing.sql";

#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentTiming {
    pub table: String,
    /// Readings per bucket, in [`TIMING_BUCKETS`] order.
    pub buckets: Vec<(i64, u64)>,
}

impl ConsentTiming {
    pub fn before(&self) -> u64 {
        self.buckets.iter().filter(|(b, _)| *b < 0).map(|(_, n)| n).sum()
    }
    pub fn after(&self) -> u64 {
        self.buckets.iter().filter(|(b, _)| *b > 0).map(|(_, n)| n).sum()
    }
    pub fn without_consent(&self) -> u64 {
        self.buckets.iter().filter(|(b, _)| *b == 0).map(|(_, n)| n).sum()
    }
}

/// A stage as a reviewer reads it: its flow and up to `limit` of its dropped rows.
#[derive(Debug, Clone)]
pub struct StageEvidence {
    pub flow: StageFlow,
    pub dropped_sample: Option<RowSet>,
}

impl Engine {
    /// The first `limit` rows of a query in a fixed order (every column ascending).
    pub fn sorted_sample(&self, sql: &str, limit: u64) -> Result<RowSet> {
        fetch_rows(&self.conn, &format!("SELECT * FROM ({sql}) AS s ORDER BY ALL"), limit, 0)
    }

    /// A check's first `limit` failing rows, in a fixed order.
    pub fn check_sample(&self, outcome: &CheckOutcome, limit: u64) -> Result<RowSet> {
        self.sorted_sample(&format!("SELECT * FROM {}", quote_ident(&outcome.result_table)), limit)
    }

    /// Every stage's flow with up to `limit` dropped rows each.
    pub fn stage_evidence(&self, limit: u64) -> Result<Vec<StageEvidence>> {
        let mut out = Vec::new();
        for flow in self.stage_flows()? {
            let dropped_sample = match (&flow.dropped_sql, flow.dropped) {
                (Some(sql), Some(n)) if n > 0 => Some(self.sorted_sample(sql, limit)?),
                _ => None,
            };
            out.push(StageEvidence { flow, dropped_sample });
        }
        Ok(out)
    }

    /// The trusted readings by time relative to their owner's consent, per table; `None` when the
    /// queries folder has no `report/consent_timing.sql`.
    pub fn consent_timing(&self) -> Result<Option<Vec<ConsentTiming>>> {
        let Some((path, text)) = self.catalog.sql.get(CONSENT_TIMING_FILE) else { return Ok(None) };
        let fail = |e: duckdb::Error| EngineError::sql(&path, e.to_string());
        let mut stmt = self.conn.prepare(strip_trailing_semicolons(text)).map_err(fail)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))
            .map_err(fail)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(fail)?;
        let mut tables: Vec<ConsentTiming> = Vec::new();
        for (table, _, _) in &rows {
            if !tables.iter().any(|t| &t.table == table) {
                tables.push(ConsentTiming { table: table.clone(), buckets: Vec::new() });
            }
        }
        for t in &mut tables {
            t.buckets = TIMING_BUCKETS
                .iter()
                .map(|(b, _)| {
                    let n =
                        rows.iter().filter(|(tab, bucket, _)| *tab == t.table && bucket == b).map(|r| r.2).sum::<i64>();
                    (*b, n as u64)
                })
                .collect();
        }
        Ok(Some(tables))
    }
}
