//! The worker thread owns the engine (a DuckDB connection is not `Sync`) and does every slow thing:
//! loading, stages, checks and each page or profile the UI asks for. The UI thread never waits on
//! DuckDB; it sends a [`Request`] and draws the [`Response`] when it comes. Esc interrupts the
//! running query through DuckDB's interrupt handle, which the worker hands over at start.
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use duckdb::InterruptHandle;

use crate::engine::Catalog;
pub use crate::engine::ColumnProfile;
use crate::engine::StageFlow;
use crate::engine::{export, ExportError, ExportOptions};
use crate::engine::{profile_column, Browser};
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
        diff: Box<crate::engine::Diff>,
    },
    Customers {
        id: u64,
        customers: Vec<crate::engine::CustomerEntry>,
    },
    Traced {
        id: u64,
        trace: Option<Box<crate::engine::Trace>>,
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

/// The last [`HISTORY_RUNS`] recorded failing-row counts of each check (none without a cache).
fn recent_history(engine: &Engine) -> std::collections::BTreeMap<String, Vec<u64>> {
    let mut history: std::collections::BTreeMap<String, Vec<u64>> = std::collections::BTreeMap::new();
    for entry in crate::engine::history::read(engine.connection(), None).unwrap_or_default() {
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
            let counted = crate::engine::count_dropped(&conn, &pending, cache_file.as_deref());
            let _ = out.send(Response::Dropped(counted.map_err(|e| e.to_string())));
        });
    }
    let mut browser = Browser::default();
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
            other => handle(&engine, &outcomes, other, &mut browser),
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
    browser: &mut Browser,
) -> crate::engine::Result<Response> {
    let conn = engine.connection();
    match request {
        Request::Prepare { id, sql, direct_table } => {
            let (table, total, columns) = browser.prepare(conn, &sql, direct_table)?;
            Ok(Response::Prepared { id, table, total, columns })
        }
        Request::Page { id, table, offset, limit } => {
            Ok(Response::Page { id, offset, rows: browser.page(conn, &table, offset, limit)? })
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
            Ok(Response::Profile { id, profile: profile_column(conn, &table, &column)? })
        }
        Request::Search { id, table, from, text, columns } => {
            Ok(Response::Found { id, row: browser.search(conn, &table, from, &text, &columns)? })
        }
    }
}
