//! What each stage kept and dropped: the numbers a reviewer reads to see the consent filter work.
//! A stage's main input is the first table it reads with exactly the stage's columns (a filter
//! stage); its dropped rows are that input minus the output, as a multiset (EXCEPT ALL), so
//! duplicates are counted too. A stage without such an input (a join) has no dropped rows.
use super::catalog::Stage;
use super::error::Result;
use super::load::table_columns;
use super::rows::count_rows;
use super::sql_text::quote_ident;
use super::Engine;

#[derive(Debug, Clone, serde::Serialize)]
pub struct StageFlow {
    pub stage: String,
    pub input: Option<String>,
    pub input_rows: Option<u64>,
    pub kept: u64,
    pub dropped: Option<u64>,
    /// The SELECT of the dropped rows (input EXCEPT ALL output), for previews.
    pub dropped_sql: Option<String>,
    pub reason: Option<String>,
}

impl Engine {
    /// The filter input of a stage, if it has one (see the module comment).
    pub fn stage_input(&self, stage: &Stage) -> Result<Option<String>> {
        let output: Vec<String> = table_columns(self.connection(), &stage.name)?.into_iter().map(|c| c.name).collect();
        for read in &stage.reads {
            let Some(table) = self.tables.iter().find(|t| t.name.eq_ignore_ascii_case(read)) else { continue };
            let cols: Vec<String> =
                table_columns(self.connection(), &table.name)?.into_iter().map(|c| c.name).collect();
            if cols == output {
                return Ok(Some(table.name.clone()));
            }
        }
        Ok(None)
    }

    /// Kept and dropped counts for every stage, in run order (counting what the cache lacks).
    pub fn stage_flows(&self) -> Result<Vec<StageFlow>> {
        let (mut flows, pending) = self.known_stage_flows()?;
        let counted = count_dropped(self.connection(), &pending, self.cache.file.as_deref())?;
        fill_dropped(&mut flows, &counted);
        Ok(flows)
    }

    /// Kept and dropped counts for every stage, with the dropped counts the cache already has;
    /// the others (an EXCEPT ALL over whole tables: seconds at scale) are left `None` and listed,
    /// for [`count_dropped`] to count, e.g. off the UI's path. The cache keys them by the
    /// fingerprints of the stage and its input, so a warm start has them all.
    pub fn known_stage_flows(&self) -> Result<(Vec<StageFlow>, Vec<PendingDropped>)> {
        let built = super::cache::all_built(self.connection())?;
        let mut pending = Vec::new();
        let mut flows = Vec::new();
        for stage in &self.catalog.stages {
            let input = self.stage_input(stage)?;
            let dropped_sql = input.as_ref().map(|input| {
                format!("SELECT * FROM {} EXCEPT ALL SELECT * FROM {}", quote_ident(input), quote_ident(&stage.name))
            });
            let dropped = match &dropped_sql {
                Some(sql) => {
                    let key = format!("flow:{}", stage.name);
                    let fingerprint = self.lineage.of_sql("flow", sql);
                    match built.get(&key) {
                        Some((built, rows, _)) if *built == fingerprint => Some(*rows),
                        _ => {
                            pending.push(PendingDropped {
                                stage: stage.name.clone(),
                                sql: sql.clone(),
                                key,
                                fingerprint,
                            });
                            None
                        }
                    }
                }
                _ => None,
            };
            flows.push(StageFlow {
                stage: stage.name.clone(),
                input_rows: input.as_ref().and_then(|i| self.table(i)).map(|t| t.rows),
                input,
                kept: self.table(&stage.name).map_or(0, |t| t.rows),
                dropped,
                dropped_sql,
                reason: stage.drops.clone(),
            });
        }
        Ok((flows, pending))
    }
}

/// A stage's dropped rows still to be counted (see [`Engine::known_stage_flows`]).
#[derive(Debug, Clone)]
pub struct PendingDropped {
    pub stage: String,
    sql: String,
    key: String,
    fingerprint: String,
}

/// Count the pending dropped rows on `conn` (the engine's connection or a clone of it, so a UI can
/// count on another thread) and keep them in the cache. Returns (stage, dropped rows).
pub fn count_dropped(
    conn: &duckdb::Connection,
    pending: &[PendingDropped],
    cache_file: Option<&std::path::Path>,
) -> Result<Vec<(String, u64)>> {
    let mut counted = Vec::with_capacity(pending.len());
    let mut records = Vec::with_capacity(pending.len());
    for p in pending {
        let rows = count_rows(conn, &p.sql)?;
        counted.push((p.stage.clone(), rows));
        records.push((p.key.clone(), p.fingerprint.clone(), rows, 0.0));
    }
    super::cache::record_all(conn, "flow", &records)?;
    if let Some(file) = cache_file {
        super::cache::restrict_permissions(file);
    }
    Ok(counted)
}

/// Put counted dropped rows into their stages' flows.
pub fn fill_dropped(flows: &mut [StageFlow], counted: &[(String, u64)]) {
    for (stage, rows) in counted {
        if let Some(flow) = flows.iter_mut().find(|f| &f.stage == stage) {
            flow.dropped = Some(*rows);
        }
    }
}
