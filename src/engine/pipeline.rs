//! Running the pipeline: landing tables, the reference views the checks share, then every stage
//! materialised as a table in dependency order, each timed and counted.
use std::time::Instant;

use super::error::{EngineError, Result};
use super::load::load_landing_table;
use super::sql_text::quote_ident;
use super::{Engine, Progress, TableStats, Zone};

impl Engine {
    /// Create and fill every landing table, then the reference views over them.
    pub fn load(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let started = Instant::now();
        for table in self.catalog.landing.clone() {
            let table_started = Instant::now();
            let (_, sources) = load_landing_table(&self.conn, &table, &self.options.data_dir, |path, index, total| {
                progress(Progress::LoadingFile { table: table.name.clone(), path: path.to_path_buf(), index, total })
            })?;
            let rows = sources.iter().map(|s| s.rows).sum();
            self.tables.push(TableStats {
                name: table.name.clone(),
                zone: Zone::Landing,
                rows,
                rejected: sources.iter().map(|s| s.rejected).sum(),
                elapsed: table_started.elapsed(),
                sources,
            });
        }
        // The customers `stedi-tui forget` erased, before the views and stages that filter on them.
        super::erasure::create_erased_table(&self.conn, &self.options.data_dir)?;
        for view in &self.catalog.references {
            self.conn
                .execute_batch(&format!("CREATE OR REPLACE VIEW {} AS {}", quote_ident(&view.name), view.sql))
                .map_err(|e| EngineError::sql(&view.path, e.to_string()))?;
        }
        self.timings.load = started.elapsed();
        Ok(())
    }

    /// Materialise every stage as a table, in the catalog's dependency order.
    pub fn run_stages(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let started = Instant::now();
        let total = self.catalog.stages.len();
        for (index, stage) in self.catalog.stages.clone().iter().enumerate() {
            progress(Progress::Stage { name: stage.name.clone(), index, total });
            let stage_started = Instant::now();
            let create = format!("CREATE OR REPLACE TABLE {} AS {}", quote_ident(&stage.name), stage.sql);
            self.conn.execute_batch(&create).map_err(|e| match EngineError::from(e) {
                EngineError::Cancelled => EngineError::Cancelled,
                other => EngineError::sql(&stage.path, other.to_string().trim_start_matches("duckdb: ")),
            })?;
            let rows: i64 =
                self.conn.query_row(&format!("SELECT count(*) FROM {}", quote_ident(&stage.name)), [], |r| r.get(0))?;
            self.tables.retain(|t| t.name != stage.name);
            self.tables.push(TableStats {
                name: stage.name.clone(),
                zone: stage.zone,
                rows: rows as u64,
                rejected: 0,
                elapsed: stage_started.elapsed(),
                sources: Vec::new(),
            });
        }
        // The views the checks read in both engines (see dialect.rs): zone_columns, <table>_with_keys.
        let tables: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        super::dialect::create_check_views(&self.conn, &tables)?;
        self.timings.stages = started.elapsed();
        Ok(())
    }
}
