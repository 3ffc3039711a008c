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

    /// Kept and dropped counts for every stage, in run order.
    /// The dropped counts (an EXCEPT ALL over whole tables: seconds at scale) are kept in the
    /// cache, keyed by the fingerprints of the stage and its input, so a warm start skips them.
    pub fn stage_flows(&self) -> Result<Vec<StageFlow>> {
        let built = super::cache::all_built(self.connection())?;
        let mut records = Vec::new();
        let mut flows = Vec::new();
        for stage in &self.catalog.stages {
            let input = self.stage_input(stage)?;
            let dropped_sql = input.as_ref().map(|input| {
                format!("SELECT * FROM {} EXCEPT ALL SELECT * FROM {}", quote_ident(input), quote_ident(&stage.name))
            });
            let dropped = match &dropped_sql {
                Some(sql) => {
                    let key = format!("flow:{}", stage.name);
                    let fp = self.lineage.of_sql("flow", sql);
                    match built.get(&key) {
                        Some((built, rows, _)) if *built == fp => Some(*rows),
                        _ => {
                            let rows = count_rows(self.connection(), sql)?;
                            records.push((key, fp, rows, 0.0));
                            Some(rows)
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
        super::cache::record_all(self.connection(), "flow", &records)?;
        self.secure_cache();
        Ok(flows)
    }
}
