//! Running the pipeline: landing tables, the reference views the checks share, then every stage
//! materialised as a table in dependency order, each timed and counted. With a cache, a landing
//! table parses only its new or changed files and a stage whose SQL and inputs are unchanged
//! (same fingerprint, see [`super::lineage`]) is reused as it is.
use std::time::Instant;

use super::cache;
use super::error::{EngineError, Result};
use super::load::{load_landing_table, rejected_table};
use super::sql_text::quote_ident;
use super::{Engine, Progress, TableStats, Zone};

impl Engine {
    /// Create or update every landing table, then the reference views over them.
    pub fn load(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let started = Instant::now();
        let mut views = String::new();
        for table in self.catalog.landing.clone() {
            let table_started = Instant::now();
            let hash_contents = self.cache.file.is_some();
            let loaded =
                load_landing_table(&self.conn, &table, &self.options.data_dir, hash_contents, |path, index, total| {
                    progress(Progress::LoadingFile {
                        table: table.name.clone(),
                        path: path.to_path_buf(),
                        index,
                        total,
                    })
                })?;
            views += &loaded.views;
            let sources = loaded.sources;
            // The table is its DDL and its files' contents, whatever their names or order.
            let mut contents: Vec<&str> = sources.iter().map(|s| s.sha256.as_str()).collect();
            contents.sort_unstable();
            let mut parts = vec![table.ddl.as_str(), if table.validate_all { "validate" } else { "" }];
            parts.extend(contents);
            // A file changed while it was loaded: the rows are this run's alone, never to be reused.
            if loaded.changed_while_loading {
                parts.extend(["changed while loading", self.lineage.nonce()]);
            }
            let fp = cache::fingerprint(parts);
            // The rejects also name their files (source_file): a renamed file, or the data folder
            // spelled another way, changes them though no row does.
            let mut named: Vec<String> =
                sources.iter().map(|s| format!("{}\0{}", s.path.display(), s.sha256)).collect();
            named.sort_unstable();
            let rejects = cache::fingerprint(std::iter::once(fp.as_str()).chain(named.iter().map(String::as_str)));
            self.lineage.set(&rejected_table(&table.name), rejects);
            self.lineage.set(&table.name, fp);
            self.cache.files_parsed += sources.iter().filter(|s| !s.reused).count();
            self.cache.files_reused += sources.iter().filter(|s| s.reused).count();
            let rows = sources.iter().map(|s| s.rows).sum();
            self.tables.retain(|t| t.name != table.name);
            self.tables.push(TableStats {
                name: table.name.clone(),
                zone: Zone::Landing,
                rows,
                rejected: sources.iter().map(|s| s.rejected).sum(),
                elapsed: table_started.elapsed(),
                sources,
            });
        }
        // The landing views, the customers `stedi-tui forget` erased, and the reference views over
        // them, in one transaction: on a warm start these statements are most of the work, and
        // each commit to the cache file is a sync to disk.
        self.conn.execute_batch("BEGIN TRANSACTION")?;
        let made = self.make_views(&views);
        self.conn.execute_batch(if made.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
        let (erased, future_consents) = made?;
        self.lineage.set("erased_customers", cache::fingerprint(erased.iter().map(String::as_str)));
        // What `as_of` changes is which consent dates have come: the same landing data with the
        // same number of consents still in the future gives the same views, whatever the clock.
        self.lineage.set(AS_OF, cache::fingerprint(["as_of: consents still in the future", future_consents.as_str()]));
        self.set_reference_fingerprints();
        self.secure_cache();
        self.timings.load = started.elapsed();
        Ok(())
    }

    /// The reference views' fingerprints, from what they read now (again after a stage they read
    /// is built: a view over a stage depends on it, though the stage did not exist at load time).
    fn set_reference_fingerprints(&mut self) {
        let views: Vec<(String, String)> =
            self.catalog.references.iter().map(|v| (v.name.clone(), v.sql.clone())).collect();
        self.lineage.set_views(&views);
    }

    /// Whether a reference view names `relation` (so its fingerprint must follow it).
    fn a_reference_reads(&self, relation: &str) -> bool {
        let relation = relation.to_lowercase();
        self.catalog.references.iter().any(|v| super::sql_text::identifiers(&v.sql).contains(&relation))
    }

    /// The landing views, `erased_customers`, `as_of` and the reference views; returns the erased
    /// emails and how many customer records give a consent dated after this run's time.
    fn make_views(&self, landing_views: &str) -> Result<(Vec<String>, String)> {
        self.conn.execute_batch(landing_views)?;
        let erased = super::erasure::create_erased_table(&self.conn, &self.options.data_dir)?;
        let future_consents = create_as_of(&self.conn)?;
        for view in &self.catalog.references {
            self.conn
                .execute_batch(&format!("CREATE OR REPLACE VIEW {} AS {}", quote_ident(&view.name), view.sql))
                .map_err(|e| EngineError::sql(&view.path, e.to_string()))?;
        }
        Ok((erased, future_consents))
    }

    /// Materialise every stage as a table, in the catalog's dependency order (or reuse the cached
    /// table when it was built from the same SQL and inputs).
    pub fn run_stages(&mut self, progress: &mut dyn FnMut(Progress)) -> Result<()> {
        let started = Instant::now();
        let total = self.catalog.stages.len();
        let tables = cache::main_schema(&self.conn)?.tables;
        let built = cache::all_built(&self.conn)?;
        for (index, stage) in self.catalog.stages.clone().iter().enumerate() {
            progress(Progress::Stage { name: stage.name.clone(), index, total });
            let stage_started = Instant::now();
            let fp = self.lineage.of_sql("stage", &stage.sql);
            let (rows, reused) =
                cache::build_or_reuse(&self.conn, &built, &tables, &stage.name, &stage.name, &fp, &stage.sql, |e| {
                    EngineError::sql_failed(&stage.path, None, e)
                })?;
            if reused {
                self.cache.stages_reused += 1;
            } else {
                let seconds = stage_started.elapsed().as_secs_f64();
                cache::record(&self.conn, &stage.name, "stage", &fp, rows, seconds)?;
                self.cache.stages_built += 1;
            }
            self.lineage.set(&stage.name, fp);
            if self.a_reference_reads(&stage.name) {
                self.set_reference_fingerprints();
            }
            self.tables.retain(|t| t.name != stage.name);
            self.tables.push(TableStats {
                name: stage.name.clone(),
                zone: stage.zone,
                rows,
                rejected: 0,
                elapsed: stage_started.elapsed(),
                sources: Vec::new(),
            });
        }
        // The views the checks read in both engines (see dialect.rs): zone_columns, <table>_with_keys.
        let tables: Vec<String> = self.tables.iter().map(|t| t.name.clone()).collect();
        super::dialect::create_check_views(&self.conn, &tables)?;
        for table in &tables {
            if let Some(fp) = self.lineage.get(table).map(str::to_string) {
                self.lineage.set(&super::dialect::with_keys_view(table), fp);
            }
        }
        let everything = self.lineage.of_everything();
        self.lineage.set(super::dialect::ZONE_COLUMNS, everything);
        self.secure_cache();
        self.timings.stages = started.elapsed();
        Ok(())
    }
}

/// The one-row table of the run's time that consent is judged at (`reference/customer_records.sql`).
pub const AS_OF: &str = "as_of";

/// Create `as_of(epoch_ms)` with the current time; returns what the views' results depend on of
/// it: how many customer records give a consent dated after it (not consent yet), or the time
/// itself where that cannot be counted (a queries folder of its own), which is never reused.
fn create_as_of(conn: &duckdb::Connection) -> Result<String> {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    conn.execute_batch(&format!("CREATE OR REPLACE TABLE {AS_OF} (epoch_ms BIGINT NOT NULL)"))?;
    conn.execute(&format!("INSERT INTO {AS_OF} VALUES (?)"), [now_ms])?;
    let future =
        conn.query_row("SELECT count(*) FROM customer_landing WHERE shareWithResearchAsOfDate > ?", [now_ms], |r| {
            r.get::<_, i64>(0)
        });
    Ok(future.map_or_else(|_| format!("the time {now_ms}"), |n| n.to_string()))
}
