//! The worker thread owns the engine (a DuckDB connection is not `Sync`) and does every slow thing:
//! loading, stages, checks and each page or profile the UI asks for. The UI thread never waits on
//! DuckDB; it sends a [`Request`] and draws the [`Response`] when it comes. Esc interrupts the
//! running query through DuckDB's interrupt handle, which the worker hands over at start.
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use duckdb::InterruptHandle;

use crate::engine::catalog::Catalog;
use crate::engine::export::{export, ExportError, ExportOptions};
use crate::engine::flow::StageFlow;
use crate::engine::load::table_columns;
use crate::engine::rows::count_rows;
use crate::engine::sql_text::{quote_ident, quote_literal};
use crate::engine::{CheckOptions, CheckOutcome, Engine, EngineOptions, Progress, RowSet, TableStats, Timings};

/// Everything the UI shows about a finished run.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub catalog: Catalog,
    pub tables: Vec<TableStats>,
    pub flows: Vec<StageFlow>,
    pub checks: Vec<CheckOutcome>,
    pub timings: Timings,
    /// What the run took from the warm-start cache, and its notices.
    pub cache: crate::engine::CacheStats,
    /// Some stages' dropped rows are being counted on another thread ([`Response::Dropped`]).
    pub counting_dropped: bool,
    /// Each check's failing rows in the last `--check` runs the cache recorded, oldest first.
    pub history: std::collections::BTreeMap<String, Vec<u64>>,
}

#[derive(Debug, Clone)]
pub enum Request {
    /// Materialise `sql` so it can be paged by rowid (or use `table` directly when given).
    Prepare {
        id: u64,
        sql: String,
        direct_table: Option<String>,
    },
    Page {
        id: u64,
        table: String,
        offset: u64,
        limit: u64,
    },
    Profile {
        id: u64,
        table: String,
        column: String,
    },
    /// The first row at or after `from` (in rowid order) where any column contains `text`.
    Search {
        id: u64,
        table: String,
        from: u64,
        text: String,
        columns: Vec<String>,
    },
    /// Run both modes over the same landing data and compare them (`stedi-tui diff`).
    Diff {
        id: u64,
    },
    /// Every customer, for the trace's picker.
    Customers {
        id: u64,
    },
    /// Trace one customer through both modes (`stedi-tui trace`).
    Trace {
        id: u64,
        customer_id: String,
    },
    /// Export the zones to `out`, gated by the run's checks as `stedi-tui export` is.
    Export {
        id: u64,
        out: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    pub column: String,
    pub data_type: String,
    pub rows: u64,
    pub nulls: u64,
    pub distinct: u64,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Counts in equal-width buckets from min to max (numbers only).
    pub histogram: Vec<u64>,
}

pub enum Response {
    Ready(Arc<InterruptHandle>),
    Progress(Progress),
    Loaded(Box<Snapshot>),
    LoadFailed(String),
    Prepared {
        id: u64,
        table: String,
        total: u64,
        columns: Vec<(String, String)>,
    },
    Page {
        id: u64,
        offset: u64,
        rows: RowSet,
    },
    Profile {
        id: u64,
        profile: ColumnProfile,
    },
    Found {
        id: u64,
        row: Option<u64>,
    },
    Exported {
        id: u64,
        message: String,
    },
    Diffed {
        id: u64,
        diff: Box<crate::engine::diff::Diff>,
    },
    Customers {
        id: u64,
        customers: Vec<crate::engine::trace::CustomerEntry>,
    },
    Traced {
        id: u64,
        trace: Option<Box<crate::engine::trace::Trace>>,
    },
    Failed {
        id: u64,
        message: String,
    },
    /// Stages' dropped rows, counted after the first frame: (stage, rows), or why not.
    Dropped(Result<Vec<(String, u64)>, String>),
}

pub struct Worker {
    pub requests: Sender<Request>,
    pub responses: Receiver<Response>,
    pub handle: JoinHandle<()>,
}

/// Start the worker: it opens the engine, runs the whole pipeline (reporting progress), then serves
/// requests until the UI drops its sender.
pub fn spawn(options: EngineOptions, checks: CheckOptions) -> Worker {
    let (req_tx, req_rx) = std::sync::mpsc::channel::<Request>();
    let (resp_tx, resp_rx) = std::sync::mpsc::channel::<Response>();
    let handle = std::thread::spawn(move || serve(options, checks, req_rx, resp_tx));
    Worker { requests: req_tx, responses: resp_rx, handle }
}

/// What the SQL prompt and the filter run must be one query: DuckDB parses it (without running it)
/// and anything else, e.g. `SELECT 1; DELETE FROM customer_trusted`, is refused: it could change
/// tables the cache reuses. (duckdb-rs runs every statement but the last while preparing.)
fn one_query(conn: &duckdb::Connection, sql: &str) -> crate::engine::Result<()> {
    let parsed: String = conn.query_row("SELECT json_serialize_sql(?::VARCHAR)", [sql], |r| r.get(0))?;
    let parsed: serde_json::Value = serde_json::from_str(&parsed).unwrap_or_default();
    let refused = || crate::engine::EngineError::Duck("one query at a time, and only a query (SELECT)".to_string());
    if parsed["error"] == serde_json::Value::Bool(true) {
        let why = parsed["error_message"].as_str().unwrap_or("not a query");
        // DuckDB serialises only SELECTs: anything else is refused as such, a typo as DuckDB says.
        return Err(if why.starts_with("Only SELECT") {
            refused()
        } else {
            crate::engine::EngineError::Duck(why.to_string())
        });
    }
    match parsed["statements"].as_array().map(Vec::len) {
        Some(1) => Ok(()),
        _ => Err(refused()),
    }
}

/// What the worker remembers between requests: how many previews it materialised, and which
/// relations are tables (rowid paging) rather than views (LIMIT/OFFSET), asked once per name
/// rather than on every page.
#[derive(Default)]
struct WorkerState {
    prepared: u64,
    base_tables: std::collections::HashMap<String, bool>,
}

impl WorkerState {
    fn is_base_table(&mut self, conn: &duckdb::Connection, name: &str) -> crate::engine::Result<bool> {
        if let Some(known) = self.base_tables.get(name) {
            return Ok(*known);
        }
        let known = is_base_table(conn, name)?;
        self.base_tables.insert(name.to_string(), known);
        Ok(known)
    }
}

/// Whether `name` is a table (temporary or of the main schema), which pages by rowid, rather than
/// a view (a landing table), which pages by LIMIT/OFFSET.
fn is_base_table(conn: &duckdb::Connection, name: &str) -> crate::engine::Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
        [name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// The last [`HISTORY_RUNS`] recorded failing-row counts of each check (none without a cache).
fn recent_history(engine: &Engine) -> std::collections::BTreeMap<String, Vec<u64>> {
    let mut history: std::collections::BTreeMap<String, Vec<u64>> = std::collections::BTreeMap::new();
    for entry in crate::engine::cache::history::read(engine.connection(), None).unwrap_or_default() {
        history.entry(entry.check_id).or_default().push(entry.failing_rows);
    }
    for runs in history.values_mut() {
        let skip = runs.len().saturating_sub(HISTORY_RUNS);
        runs.drain(..skip);
    }
    history
}

/// How many runs the checks view's sparklines show.
pub const HISTORY_RUNS: usize = 10;

fn serve(options: EngineOptions, checks: CheckOptions, requests: Receiver<Request>, out: Sender<Response>) {
    let diff_options = options.clone();
    let mut engine = match Engine::open(options) {
        Ok(engine) => engine,
        Err(e) => {
            let _ = out.send(Response::LoadFailed(e.to_string()));
            return;
        }
    };
    let _ = out.send(Response::Ready(engine.connection().interrupt_handle()));
    let progress_out = out.clone();
    let outcomes = match engine.run_all(&checks, &mut |p| {
        let _ = progress_out.send(Response::Progress(p));
    }) {
        Ok(outcomes) => outcomes,
        Err(e) => {
            let _ = out.send(Response::LoadFailed(e.to_string()));
            return;
        }
    };
    // The dropped-row counts the cache lacks (an EXCEPT ALL over whole tables each) are counted
    // on a second connection after the first frame, so the pipeline shows at once and the worker
    // keeps serving pages meanwhile.
    let known = engine.known_stage_flows().and_then(|(flows, pending)| {
        let conn = if pending.is_empty() { None } else { Some(engine.second_connection()?) };
        Ok((flows, pending, conn))
    });
    let (flows, pending, counting_conn) = match known {
        Ok(known) => known,
        Err(e) => {
            let _ = out.send(Response::LoadFailed(e.to_string()));
            return;
        }
    };
    let snapshot = Snapshot {
        catalog: engine.catalog.clone(),
        tables: engine.tables.clone(),
        flows,
        checks: outcomes.clone(),
        timings: engine.timings,
        cache: engine.cache.clone(),
        counting_dropped: counting_conn.is_some(),
        history: recent_history(&engine),
    };
    let _ = out.send(Response::Loaded(Box::new(snapshot)));
    if let Some(conn) = counting_conn {
        let out = out.clone();
        let cache_file = engine.cache.file.clone();
        std::thread::spawn(move || {
            let counted = crate::engine::flow::count_dropped(&conn, &pending, cache_file.as_deref());
            let _ = out.send(Response::Dropped(counted.map_err(|e| e.to_string())));
        });
    }
    let mut state = WorkerState::default();
    while let Ok(request) = requests.recv() {
        let id = request_id(&request);
        let response = match request {
            // A second engine, both modes in one DuckDB: the app's own engine stays as it is.
            Request::Diff { id } => Engine::run_both_modes(diff_options.clone())
                .and_then(|both| both.diff())
                .map(|diff| Response::Diffed { id, diff: Box::new(diff) }),
            Request::Trace { id, customer_id } => Engine::run_both_modes(diff_options.clone())
                .and_then(|both| both.trace(&customer_id))
                .map(|trace| Response::Traced { id, trace: trace.map(Box::new) }),
            other => handle(&engine, &outcomes, other, &mut state),
        };
        let response = response.unwrap_or_else(|e| Response::Failed { id, message: e.message().into_owned() });
        if out.send(response).is_err() {
            break;
        }
    }
}

fn request_id(r: &Request) -> u64 {
    match r {
        Request::Prepare { id, .. }
        | Request::Page { id, .. }
        | Request::Profile { id, .. }
        | Request::Search { id, .. }
        | Request::Export { id, .. }
        | Request::Customers { id }
        | Request::Trace { id, .. }
        | Request::Diff { id } => *id,
    }
}

fn handle(
    engine: &Engine,
    outcomes: &[CheckOutcome],
    request: Request,
    state: &mut WorkerState,
) -> crate::engine::Result<Response> {
    let prepared = &mut state.prepared;
    let conn = engine.connection();
    match request {
        Request::Prepare { id, sql, direct_table } => {
            // A base table pages by rowid as it is, a landing table (a view of the cache, no rowid)
            // by LIMIT/OFFSET, which DuckDB serves from the right row group (~10 ms at 8 million
            // rows); anything else (filter, sort, ad-hoc query) is materialised once so every
            // later page is a cheap rowid range, not a re-run.
            let table = match direct_table {
                Some(t) => t,
                None => {
                    *prepared += 1;
                    let name = format!("preview_{}", *prepared);
                    one_query(conn, &sql)?;
                    conn.execute(&format!("CREATE OR REPLACE TEMP TABLE {} AS {sql}", quote_ident(&name)), [])?;
                    if *prepared > 1 {
                        let old = format!("preview_{}", *prepared - 1);
                        conn.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote_ident(&old)))?;
                    }
                    name
                }
            };
            let total = count_rows(conn, &format!("SELECT * FROM {}", quote_ident(&table)))?;
            let columns = table_columns(conn, &table)?.into_iter().map(|c| (c.name, c.data_type)).collect();
            Ok(Response::Prepared { id, table, total, columns })
        }
        Request::Page { id, table, offset, limit } => {
            let sql = if state.is_base_table(conn, &table)? {
                format!("SELECT * FROM {} WHERE rowid >= {offset} AND rowid < {}", quote_ident(&table), offset + limit)
            } else {
                format!("SELECT * FROM {} LIMIT {limit} OFFSET {offset}", quote_ident(&table))
            };
            let rows = crate::engine::rows::fetch_rows(conn, &sql, limit, 0)?;
            Ok(Response::Page { id, offset, rows })
        }
        Request::Diff { .. } | Request::Trace { .. } => unreachable!("served by serve()"),
        Request::Customers { id } => Ok(Response::Customers { id, customers: engine.trace_customers()? }),
        Request::Export { id, out } => {
            let message = match export(engine, outcomes, &ExportOptions::new(&out)) {
                Ok(s) => std::iter::once(s.describe()).chain(s.notices.iter().cloned()).collect::<Vec<_>>().join("; "),
                Err(ExportError::Engine(e)) => return Err(e),
                Err(refused) => refused.to_string(),
            };
            Ok(Response::Exported { id, message })
        }
        Request::Profile { id, table, column } => {
            Ok(Response::Profile { id, profile: profile(engine, &table, &column)? })
        }
        Request::Search { id, table, from, text, columns } => {
            let pattern = format!("%{}%", text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            let any: Vec<String> = columns
                .iter()
                .map(|c| format!("CAST({} AS VARCHAR) ILIKE {} ESCAPE '\\'", quote_ident(c), quote_literal(&pattern)))
                .collect();
            // A view has no rowid: its rows are numbered in scan order, as LIMIT/OFFSET pages them.
            let source = if state.is_base_table(conn, &table)? {
                quote_ident(&table)
            } else {
                format!("(SELECT *, row_number() OVER () - 1 AS rowid FROM {})", quote_ident(&table))
            };
            let sql = format!("SELECT min(rowid) FROM {source} WHERE rowid >= {from} AND ({})", any.join(" OR "));
            let row: Option<i64> = conn.query_row(&sql, [], |r| r.get(0))?;
            Ok(Response::Found { id, row: row.map(|r| r as u64) })
        }
    }
}

const BUCKETS: usize = 24;

fn profile(engine: &Engine, table: &str, column: &str) -> crate::engine::Result<ColumnProfile> {
    let conn = engine.connection();
    let (t, c) = (quote_ident(table), quote_ident(column));
    let data_type = table_columns(conn, table)?
        .into_iter()
        .find(|col| col.name == column)
        .map(|col| col.data_type)
        .unwrap_or_default();
    let (rows, nulls, distinct, min, max): (i64, i64, i64, Option<String>, Option<String>) = conn.query_row(
        &format!(
            "SELECT count(*), count(*) - count({c}), approx_count_distinct({c}), min({c})::VARCHAR, max({c})::VARCHAR FROM {t}"
        ),
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
    )?;
    let numeric = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "UBIGINT", "UINTEGER"]
        .iter()
        .any(|n| data_type.starts_with(n))
        || data_type.starts_with("DECIMAL");
    let mut histogram = vec![0u64; BUCKETS];
    if numeric && rows > nulls {
        let sql = format!(
            "WITH b AS (SELECT min({c})::DOUBLE AS lo, max({c})::DOUBLE AS hi FROM {t}) \
             SELECT least({n} - 1, CASE WHEN hi = lo THEN 0 ELSE floor(({c}::DOUBLE - lo) / (hi - lo) * {n}) END)::BIGINT AS bucket, count(*) \
             FROM {t}, b WHERE {c} IS NOT NULL GROUP BY bucket",
            n = BUCKETS
        );
        let mut stmt = conn.prepare(&sql)?;
        let buckets = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        for b in buckets {
            let (bucket, n) = b?;
            histogram[bucket.clamp(0, BUCKETS as i64 - 1) as usize] = n as u64;
        }
    } else {
        histogram.clear();
    }
    Ok(ColumnProfile {
        column: column.to_string(),
        data_type,
        rows: rows as u64,
        nulls: nulls as u64,
        distinct: distinct as u64,
        min,
        max,
        histogram,
    })
}
