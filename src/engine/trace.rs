//! One customer traced through every zone, in both modes (`stedi-tui trace EMAIL`, the TUI's trace
//! view): their customer records in time order and which one decides consent, how many of their
//! rows each table holds (by customer, by device), what each stage dropped of them, their readings
//! relative to their consent, and whether machine_learning_curated paired their device with
//! someone else's phone. The SQL is in `queries/trace/`; this module runs it on an engine made by
//! [`Engine::run_both_modes`]. Values come back unmasked: renderers mask them.

use super::catalog::{Catalog, Mode, Zone};
use super::dialect::key_padding;
use super::error::{EngineError, Result};
use super::load::relation_columns;
use super::sql_text::{quote_ident, quote_literal, strip_trailing_semicolons};
use super::Engine;

/// A customer as the picker lists them (name and email of their latest record).
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerEntry {
    pub customer_id: String,
    pub name: Option<String>,
    pub email: String,
    pub records: u64,
    pub consenting: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TraceRecord {
    pub name: Option<String>,
    pub email: String,
    pub serial_number: String,
    pub registration_date: Option<i64>,
    pub last_update_date: Option<i64>,
    pub share_with_research_as_of_date: Option<i64>,
    /// The consent this record gives (positive, not in the future), or none.
    pub consent_at: Option<i64>,
    /// What the record is in their history: registered, updated, consent given or revoked.
    pub event: String,
    /// This record's consent is the one that counts (their latest record).
    pub decides: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RowCounts {
    /// Rows naming them by email, `user` or customer pseudonym.
    pub by_customer: u64,
    /// Rows naming one of their devices by serial number or device pseudonym.
    pub by_device: u64,
    /// Rows naming them either way (each once).
    pub total: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TraceTable {
    pub table: String,
    pub zone: Zone,
    pub rubric: RowCounts,
    pub strict: RowCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageDrop {
    /// The table whose rows the stage filters.
    pub input: String,
    pub input_rows: u64,
    pub kept: u64,
    pub dropped: u64,
    /// The stage's `-- drops:` line.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TraceStage {
    pub stage: String,
    /// None: a join (nothing of one input is "dropped"), or no such stage in that mode.
    pub rubric: Option<StageDrop>,
    pub strict: Option<StageDrop>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ConsentReadings {
    /// `accelerometer_landing`, `rubric.accelerometer_trusted`, ...
    pub table: String,
    pub before_consent: u64,
    pub after_consent: u64,
    pub without_consent: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CrossPairs {
    /// machine_learning_curated rows pairing their Step Trainer with another customer's phone.
    pub device_with_other_phone: u64,
    /// Rows pairing their phone with a device that is not theirs.
    pub phone_with_other_device: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Trace {
    pub customer_id: String,
    pub consenting: bool,
    /// Their consent time by their latest record.
    pub consent_at: Option<i64>,
    pub devices: Vec<String>,
    pub records: Vec<TraceRecord>,
    pub tables: Vec<TraceTable>,
    pub stages: Vec<TraceStage>,
    pub readings: Vec<ConsentReadings>,
    pub rubric_pairs: CrossPairs,
    pub strict_pairs: CrossPairs,
}

fn sql_error(path: &std::path::Path, e: duckdb::Error) -> EngineError {
    EngineError::sql_failed(path, None, e)
}

/// What happened in each record, from the one before it.
fn events(records: &mut [TraceRecord]) {
    let mut previous: Option<Option<i64>> = None;
    for r in records.iter_mut() {
        let mut event = vec![if previous.is_none() { "registered" } else { "updated" }];
        match (previous.flatten(), r.consent_at) {
            (None, Some(_)) => event.push("consent given"),
            (Some(_), None) => event.push("consent revoked"),
            (Some(a), Some(b)) if a != b => event.push("consent re-dated"),
            _ => {}
        }
        if r.consent_at.is_none() && r.share_with_research_as_of_date.is_some() {
            event.push("consent value not counted (zero, negative or in the future)");
        }
        r.event = event.join(", ");
        previous = Some(r.consent_at);
    }
}

impl super::Catalog {
    /// The query of the traced customer's rows in `table` (`queries/trace/table_rows.sql`), for
    /// the TUI to page: their customer id and their devices' serial numbers filled in as literals.
    pub fn trace_rows_query(&self, table: &str, customer_id: &str, devices: &[String]) -> Result<String> {
        let rel = "trace/table_rows.sql";
        let (_, text) = self
            .sql
            .get(rel)
            .ok_or_else(|| EngineError::input(self.sql.path_of(rel), "not found in the queries folder"))?;
        let devices = if devices.is_empty() {
            "NULL".to_string()
        } else {
            devices.iter().map(|d| quote_literal(d)).collect::<Vec<_>>().join(", ")
        };
        Ok(strip_trailing_semicolons(text)
            .replace("{table}", &quote_ident(&super::dialect::with_keys_view(table)))
            .replace("{customer_id}", &quote_literal(customer_id))
            .replace("{devices}", &devices))
    }
}

impl Engine {
    fn trace_sql(&self, name: &str) -> Result<(std::path::PathBuf, String)> {
        let rel = format!("trace/{name}");
        let (path, text) = self
            .catalog
            .sql
            .get(&rel)
            .ok_or_else(|| EngineError::input(self.catalog.sql.path_of(&rel), "not found in the queries folder"))?;
        Ok((path, strip_trailing_semicolons(text).to_string()))
    }

    /// Every customer, for a picker (`queries/trace/customers.sql`).
    pub fn trace_customers(&self) -> Result<Vec<CustomerEntry>> {
        let (path, sql) = self.trace_sql("customers.sql")?;
        let mut stmt = self.conn.prepare(&sql).map_err(|e| sql_error(&path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(CustomerEntry {
                    customer_id: r.get(0)?,
                    name: r.get(1)?,
                    email: r.get(2)?,
                    records: r.get::<_, i64>(3)? as u64,
                    consenting: r.get(4)?,
                })
            })
            .map_err(|e| sql_error(&path, e))?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| sql_error(&path, e))?;
        Ok(rows)
    }

    /// One count query of `queries/trace/` over the customer's temp tables.
    fn trace_counts<const N: usize>(&self, name: &str) -> Result<[u64; N]> {
        let (path, sql) = self.trace_sql(name)?;
        self.conn
            .query_row(&sql, [], |r| {
                let mut out = [0u64; N];
                for (i, v) in out.iter_mut().enumerate() {
                    *v = r.get::<_, i64>(i)? as u64;
                }
                Ok(out)
            })
            .map_err(|e| sql_error(&path, e))
    }

    /// Make `trace_keyed` the keyed rows of `schema.table` (`queries/trace/keyed.sql`).
    fn key_table(&self, schema: &str, table: &str) -> Result<()> {
        let (path, template) = self.trace_sql("keyed.sql")?;
        let have: Vec<String> = relation_columns(&self.conn, schema, table)?.into_iter().map(|c| c.name).collect();
        let source = format!("(SELECT *{} FROM {}.{})", key_padding(&have), quote_ident(schema), quote_ident(table));
        let view = format!("CREATE OR REPLACE TEMP VIEW trace_keyed AS {}", template.replace("{table}", &source));
        self.conn.execute_batch(&view).map_err(|e| sql_error(&path, e))
    }

    fn their_rows(&self, schema: &str, table: &str) -> Result<RowCounts> {
        self.key_table(schema, table)?;
        let [by_customer, by_device, total] = self.trace_counts::<3>("rows.sql")?;
        Ok(RowCounts { by_customer, by_device, total })
    }

    /// Trace the customer of `email` (any spelling) on an engine made by [`Engine::run_both_modes`];
    /// `None` when no customer record has that address.
    pub fn trace(&self, email: &str) -> Result<Option<Trace>> {
        let customer_id = email.trim().to_lowercase();
        let customer = self.trace_customers()?.into_iter().find(|c| c.customer_id == customer_id);
        let Some(customer) = customer else { return Ok(None) };
        self.conn.execute_batch("CREATE OR REPLACE TEMP TABLE trace_customer (customer_id VARCHAR NOT NULL)")?;
        self.conn.execute("INSERT INTO trace_customer VALUES (?)", [&customer_id])?;
        let (path, devices) = self.trace_sql("devices.sql")?;
        self.conn
            .execute_batch(&format!("CREATE OR REPLACE TEMP TABLE trace_devices AS {devices}"))
            .map_err(|e| sql_error(&path, e))?;
        let devices: Vec<String> = {
            let mut stmt = self.conn.prepare("SELECT serialNumber FROM trace_devices ORDER BY 1")?;
            stmt.query_map([], |r| r.get(0))?.collect::<std::result::Result<_, _>>()?
        };
        let (path, sql) = self.trace_sql("records.sql")?;
        let mut stmt = self.conn.prepare(&sql).map_err(|e| sql_error(&path, e))?;
        let mut records: Vec<TraceRecord> = stmt
            .query_map([], |r| {
                Ok(TraceRecord {
                    name: r.get(0)?,
                    email: r.get(1)?,
                    serial_number: r.get(2)?,
                    registration_date: r.get(3)?,
                    last_update_date: r.get(4)?,
                    share_with_research_as_of_date: r.get(5)?,
                    consent_at: r.get(6)?,
                    event: String::new(),
                    decides: r.get::<_, Option<bool>>(7)?.unwrap_or(false),
                })
            })
            .map_err(|e| sql_error(&path, e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| sql_error(&path, e))?;
        events(&mut records);
        // consent_by_email picks one record: mark the last of the equal candidates (the latest).
        let decisive = records.iter().rposition(|r| r.decides);
        for (i, r) in records.iter_mut().enumerate() {
            r.decides = Some(i) == decisive;
        }
        let consent_at = decisive.and_then(|i| records[i].consent_at);

        let catalogs = [
            Catalog::from_files(self.catalog.sql.clone(), Mode::Rubric)?,
            Catalog::from_files(self.catalog.sql.clone(), Mode::Strict)?,
        ];
        let mut tables = Vec::new();
        for (table, zone) in catalogs[0].table_names() {
            let (rubric, strict) = match zone {
                Zone::Landing => {
                    let rows = self.their_rows("main", &table)?;
                    (rows, rows)
                }
                _ => (self.their_rows("rubric", &table)?, self.their_rows("strict", &table)?),
            };
            tables.push(TraceTable { table, zone, rubric, strict });
        }
        let mut stages = Vec::new();
        for stage in &catalogs[0].stages {
            let mut drops = [None, None];
            for (i, catalog) in catalogs.iter().enumerate() {
                if let Some(s) = catalog.stage(&stage.name) {
                    drops[i] = self.stage_drop(catalog, s, &tables, i == 0)?;
                }
            }
            let [rubric, strict] = drops;
            stages.push(TraceStage { stage: stage.name.clone(), rubric, strict });
        }
        let (path, sql) = self.trace_sql("readings.sql")?;
        let mut stmt = self.conn.prepare(&sql).map_err(|e| sql_error(&path, e))?;
        let mut readings: Vec<ConsentReadings> = stmt
            .query_map([], |r| {
                Ok(ConsentReadings {
                    table: r.get(0)?,
                    before_consent: r.get::<_, i64>(1)? as u64,
                    after_consent: r.get::<_, i64>(2)? as u64,
                    without_consent: r.get::<_, i64>(3)? as u64,
                })
            })
            .map_err(|e| sql_error(&path, e))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| sql_error(&path, e))?;
        let order = [
            "accelerometer_landing",
            "rubric.accelerometer_trusted",
            "strict.accelerometer_trusted",
            "step_trainer_landing",
            "rubric.step_trainer_trusted",
            "strict.step_trainer_trusted",
        ];
        readings.sort_by_key(|r| (order.iter().position(|o| *o == r.table).unwrap_or(order.len()), r.table.clone()));
        let mut pairs = [CrossPairs::default(); 2];
        for (i, mode) in [Mode::Rubric, Mode::Strict].into_iter().enumerate() {
            if catalogs[i].stage("machine_learning_curated").is_some() {
                self.key_table(mode.as_str(), "machine_learning_curated")?;
                let [device_with_other_phone, phone_with_other_device] = self.trace_counts::<2>("cross_pairs.sql")?;
                pairs[i] = CrossPairs { device_with_other_phone, phone_with_other_device };
            }
        }
        self.conn
            .execute_batch("DROP VIEW IF EXISTS trace_keyed; DROP TABLE trace_devices; DROP TABLE trace_customer")?;
        Ok(Some(Trace {
            customer_id,
            consenting: customer.consenting,
            consent_at,
            devices,
            records,
            tables,
            stages,
            readings,
            rubric_pairs: pairs[0],
            strict_pairs: pairs[1],
        }))
    }

    /// What a filter stage of `catalog` dropped of the customer's rows: their rows in its input
    /// minus their rows in its output (a join has none).
    fn stage_drop(
        &self,
        catalog: &Catalog,
        stage: &super::Stage,
        tables: &[TraceTable],
        rubric: bool,
    ) -> Result<Option<StageDrop>> {
        let schema = catalog.mode.as_str();
        let output: Vec<String> =
            relation_columns(&self.conn, schema, &stage.name)?.into_iter().map(|c| c.name).collect();
        let rows_of = |name: &str| {
            tables.iter().find(|t| t.table.eq_ignore_ascii_case(name)).map(|t| {
                if rubric {
                    t.rubric.total
                } else {
                    t.strict.total
                }
            })
        };
        for read in &stage.reads {
            let Some((table, zone)) = catalog.table_names().into_iter().find(|(t, _)| t.eq_ignore_ascii_case(read))
            else {
                continue;
            };
            let read_schema = if zone == Zone::Landing { "main" } else { schema };
            let cols: Vec<String> =
                relation_columns(&self.conn, read_schema, &table)?.into_iter().map(|c| c.name).collect();
            if cols == output {
                let input_rows = rows_of(&table).unwrap_or(0);
                let kept = rows_of(&stage.name).unwrap_or(0);
                return Ok(Some(StageDrop {
                    input: table,
                    input_rows,
                    kept,
                    dropped: input_rows.saturating_sub(kept),
                    reason: stage.drops.clone(),
                }));
            }
        }
        Ok(None)
    }
}
