//! The engine: landing files -> landing tables -> stages -> checks, all in one embedded DuckDB.
//! It knows nothing of terminals: the CLI, the report renderers and the TUI drive it through
//! [`Engine`] and read the [`TableStats`] and [`CheckOutcome`]s it produced.
pub(crate) mod browse;
pub(crate) mod cache;
pub(crate) mod catalog;
pub(crate) mod checks;
pub(crate) mod dialect;
pub(crate) mod diff;
pub(crate) mod emit;
pub(crate) mod erasure;
pub(crate) mod error;
pub(crate) mod evidence;
pub(crate) mod export;
pub(crate) mod flow;
pub(crate) mod gate;
pub(crate) mod generate;
pub(crate) mod landing_files;
pub(crate) mod lineage;
pub(crate) mod load;
pub(crate) mod mask;
pub(crate) mod pipeline;
pub(crate) mod printable;
pub(crate) mod provenance;
pub(crate) mod pseudonym;
pub(crate) mod rows;
pub(crate) mod spill;
pub(crate) mod sql_source;
pub(crate) mod sql_text;
pub(crate) mod sql_tokens;
pub(crate) mod trace;
pub(crate) mod validate;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use duckdb::Connection;

// The engine's surface: what the CLI, the TUI, the report renderers, the tests and other programs
// use. The submodules are the engine's own (`pub(crate)`); code outside `engine/` reaches their
// items only through these names (tests/architecture.rs holds the CLI, TUI and renderers to that).
pub use browse::{profile_column, Browser, ColumnProfile};
pub use cache::registry::absolute as absolute_path;
pub use cache::{
    clear_unless_held as clear_cache, contents as cache_contents, existing as existing_cache, history, CacheChoice,
    CacheStats, Contents as CacheContents, LandingContents as CacheLandingContents, CACHE_ENV,
};
pub use catalog::{Catalog, CheckDef, Mode, Severity, Stage, Zone};
pub use checks::{CheckOptions, CheckOutcome};
pub use diff::{Diff, DiffCount, TableDiff, REASONS as DROP_REASONS};
pub use emit::{check_dialect, emit_glue, EmitOptions, Emitted, RUN_ALL_FILE};
pub use erasure::{
    add_to_erasure_list, erasure_list_path, forget, read_erasure_list, CustomerRows, Erasure, ExportCopy, ExportState,
};
pub use error::{EngineError, Result};
pub use evidence::{ConsentTiming, StageEvidence, TIMING_BUCKETS};
pub use export::{
    blocking_checks, check_destination, export, iso8601_utc, table_folder, ExportError, ExportOptions, ExportSummary,
    Manifest, FAIL_AFTER_ENV, IN_PROGRESS as EXPORT_IN_PROGRESS, MANIFEST as EXPORT_MANIFEST,
    MANIFEST_FORMAT as EXPORT_MANIFEST_FORMAT,
};
pub use flow::{count_dropped, fill_dropped, PendingDropped, StageFlow};
pub use gate::{Baseline, BaselineVerdict, Selection};
pub use generate::{generate, GenerateOptions, GenerateSummary, Injections, DEFAULT_READINGS};
pub use load::{table_columns, Column, SourceFile};
pub use mask::{display_value, is_personal_column, mask_value};
pub use printable::{is_unprintable, printable, printable_path, to_json_pretty};
pub use provenance::Provenance;
pub use pseudonym::{PseudonymKey, KEY_ENV as PSEUDONYM_KEY_ENV};
pub use rows::RowSet;
pub use sql_source::{QuerySource, SqlProvenance, BUILT_IN as BUILT_IN_QUERIES};
pub use sql_text::{quote_ident, quote_literal};
pub use sql_tokens::{tokenize_line, TokenKind};
pub use trace::{CustomerEntry, RowCounts, StageDrop, Trace};

/// How to run DuckDB and where to find things.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub data_dir: PathBuf,
    /// Where the SQL comes from: built in, or a folder (`--queries`, `STEDI_TUI_QUERIES`).
    pub queries: QuerySource,
    pub threads: Option<usize>,
    pub memory_limit: Option<String>,
    /// Which stage set builds the zones (`--mode`).
    pub mode: Mode,
    /// The key of the strict ML table's pseudonyms (`--salt` / STEDI_PSEUDONYM_KEY); strict mode needs one.
    pub pseudonym_key: Option<PseudonymKey>,
    /// Where DuckDB spills what does not fit in `memory_limit` (`--temp-dir`, default the system's
    /// temp folder): a private folder of the engine's own inside it, see [`spill`].
    pub temp_dir: Option<PathBuf>,
    /// Where the warm-start cache lives (`--cache DIR`, `--no-cache`; see [`cache`]). The CLI
    /// and the TUI default to [`CacheChoice::Auto`]; a library caller gets none unless it asks.
    pub cache: CacheChoice,
}

impl EngineOptions {
    pub fn new(data_dir: impl Into<PathBuf>, queries: impl Into<QuerySource>) -> Self {
        EngineOptions {
            data_dir: data_dir.into(),
            queries: queries.into(),
            threads: None,
            memory_limit: None,
            mode: Mode::Rubric,
            pseudonym_key: None,
            temp_dir: None,
            cache: CacheChoice::Off,
        }
    }

    /// Strict mode refuses to run without a pseudonym key rather than use a default one.
    pub fn check_key(&self) -> Result<()> {
        if self.mode == Mode::Strict && self.pseudonym_key.is_none() {
            return Err(EngineError::input(Path::new("--salt"), pseudonym::MISSING_KEY));
        }
        Ok(())
    }
}

/// A data folder must hold one `<dataset>/landing/` folder per landing table; a newcomer pointing
/// at the wrong folder is told what was expected and what is there.
fn check_landing_folders(data_dir: &Path, catalog: &Catalog) -> Result<()> {
    let expected: Vec<String> = catalog.landing.iter().map(|t| format!("{}/landing/", t.dataset)).collect();
    let missing: Vec<&String> = expected.iter().filter(|f| !data_dir.join(f).is_dir()).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut found: Vec<String> = std::fs::read_dir(data_dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
                .map(|e| format!("{}/", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    let found = if found.is_empty() { "no folders".to_string() } else { found.join(", ") };
    let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    Err(EngineError::input(
        data_dir,
        format!(
            "not a STEDI data folder: expected {}; missing {}; found {found} (point --data at the folder that holds them)",
            expected.join(", "),
            missing.join(", ")
        ),
    ))
}

/// One table the pipeline holds, with how it got there.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableStats {
    pub name: String,
    pub zone: Zone,
    pub rows: u64,
    /// Landing tables: records of their files that did not load (see `<table>_rejected`).
    pub rejected: u64,
    /// Time to load (landing) or to materialise (stages).
    #[serde(serialize_with = "serialize_seconds")]
    pub elapsed: Duration,
    /// Landing tables: the files they came from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceFile>,
}

pub fn serialize_seconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e6)
}

/// What the engine reports while it works, for progress bars and the TUI's loading screen.
#[derive(Debug, Clone)]
pub enum Progress {
    LoadingFile { table: String, path: PathBuf, index: usize, total: usize },
    Stage { name: String, index: usize, total: usize },
    Check { id: String, index: usize, total: usize },
}

/// Where the time went, phase by phase.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    #[serde(serialize_with = "serialize_seconds")]
    pub load: Duration,
    #[serde(serialize_with = "serialize_seconds")]
    pub stages: Duration,
    #[serde(serialize_with = "serialize_seconds")]
    pub checks: Duration,
}

pub struct Engine {
    conn: Connection,
    pub options: EngineOptions,
    pub catalog: Catalog,
    pub tables: Vec<TableStats>,
    pub timings: Timings,
    /// What this run took from the cache (and any notice about it).
    pub cache: CacheStats,
    /// What every relation so far was computed from (see [`lineage`]).
    lineage: lineage::Lineage,
    /// The folder DuckDB spills to, removed when the last connection to the database is closed:
    /// declared after `conn`, so it is dropped after it (and shared with [`Engine::second_connection`]).
    spill: Option<Arc<spill::SpillDir>>,
}

/// Another connection to an engine's database (for work on another thread), which keeps the
/// engine's spill folder while it is open.
pub struct SharedConnection {
    conn: Connection,
    _spill: Option<Arc<spill::SpillDir>>,
}

impl std::ops::Deref for SharedConnection {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Engine {
    /// Validate the folders, read the catalog and open the cache (or an in-memory DuckDB). Nothing
    /// is loaded yet.
    pub fn open(options: EngineOptions) -> Result<Engine> {
        if !options.data_dir.is_dir() {
            return Err(EngineError::input(&options.data_dir, "data folder not found"));
        }
        options.check_key()?;
        let catalog = Catalog::load_mode(&options.queries, options.mode)?;
        check_landing_folders(&options.data_dir, &catalog)?;
        // Made before the connection, so that it outlives it on every early return too.
        let spill = spill::SpillDir::create(options.temp_dir.as_deref())?.map(Arc::new);
        let (conn, cache) = cache::open(&options.data_dir, &options.cache)?;
        dialect::install(&conn)?;
        // Which SQL the cached tables were last built with (`cache info`); each table's
        // fingerprint holds its own SQL, so reuse never depends on this line.
        cache::set_meta(&conn, "sql", &catalog.sql.describe())?;
        if let Some(key) = &options.pseudonym_key {
            key.set_on(&conn)?;
        }
        if let Some(threads) = options.threads {
            conn.execute_batch(&format!("SET threads = {threads}"))?;
        }
        if let Some(limit) = &options.memory_limit {
            conn.execute_batch(&format!("SET memory_limit = {}", sql_text::quote_literal(limit)))
                .map_err(|e| EngineError::input(Path::new("--memory-limit"), e.to_string()))?;
        }
        if let Some(spill) = &spill {
            let folder = sql_text::quote_literal(&spill.path().to_string_lossy());
            conn.execute_batch(&format!("SET temp_directory = {folder}"))?;
        }
        // What every fingerprint depends on besides the SQL and the data: the mode and the key.
        let key = options.pseudonym_key.as_ref().map(PseudonymKey::fingerprint).unwrap_or_default();
        let global = cache::fingerprint(["stedi-tui lineage", options.mode.as_str(), key.as_str()]);
        Ok(Engine {
            conn,
            options,
            catalog,
            tables: Vec::new(),
            timings: Timings::default(),
            cache,
            lineage: lineage::Lineage::new(global),
            spill,
        })
    }

    /// Owner-only permissions on the cache's files again, after a phase that wrote to it: DuckDB
    /// creates its write-ahead log anew (0644) when it starts writing after a checkpoint. The cache
    /// folder (0700 when stedi-tui made it) is what keeps others out meanwhile.
    fn secure_cache(&self) {
        if let Some(file) = &self.cache.file {
            cache::restrict_permissions(file);
        }
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// A second connection to the same database, e.g. for a thread of its own; the spill folder
    /// stays until it is closed as well.
    pub fn second_connection(&self) -> Result<SharedConnection> {
        Ok(SharedConnection { conn: self.conn.try_clone()?, _spill: self.spill.clone() })
    }

    pub fn table(&self, name: &str) -> Option<&TableStats> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Load, run the stages and the checks: what `--check` does.
    pub fn run_all(&mut self, checks: &CheckOptions, progress: &mut dyn FnMut(Progress)) -> Result<Vec<CheckOutcome>> {
        self.load(progress)?;
        self.run_stages(progress)?;
        self.run_checks(checks, progress)
    }

    /// A window of any SELECT's rows, as text.
    pub fn fetch(&self, sql: &str, limit: u64, offset: u64) -> Result<RowSet> {
        rows::fetch_rows(&self.conn, sql, limit, offset)
    }

    /// Row counts named by table, e.g. for `--expect` files and tests.
    pub fn row_counts(&self) -> BTreeMap<String, u64> {
        self.tables.iter().map(|t| (t.name.clone(), t.rows)).collect()
    }
}
