//! The right to erasure. `DATA/_erasure_list.json` (a JSON array of emails, written by
//! `stedi-tui forget`) names the customers to erase; the landing files stay untouched. Before the
//! stages run, the list becomes the DuckDB table `erased_customers(email)` (always there, empty
//! without a list), and every stage of both modes drops the rows of those customers
//! (`reference/erased_keys.sql`); the `erased.<table>` checks prove they are gone.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::cache::{self, registry, CacheChoice};
use super::catalog::Mode;
use super::error::{EngineError, Result};
use super::sql_text::quote_ident;
use super::Engine;

pub const LIST_FILE: &str = "_erasure_list.json";

pub fn erasure_list_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LIST_FILE)
}

/// The erased emails (empty when there is no list). A list that cannot be read is an error, never
/// an empty list: erased customers must not silently come back.
pub fn read_erasure_list(data_dir: &Path) -> Result<Vec<String>> {
    let path = erasure_list_path(data_dir);
    // A FIFO (or another non-file) of that name is never opened: reading it would wait forever.
    if let Ok(meta) = fs::metadata(&path).or_else(|_| fs::symlink_metadata(&path)) {
        if !meta.is_file() {
            let kind = super::printable::describe_file_type(&meta.file_type());
            return Err(EngineError::input(&path, format!("the erasure list is {kind}, not a regular file")));
        }
    }
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(EngineError::input(&path, format!("cannot read the erasure list: {e}"))),
    };
    let emails: Vec<String> = serde_json::from_str(&text)
        .map_err(|e| EngineError::input(&path, format!("the erasure list must be a JSON array of emails: {e}")))?;
    if emails.iter().any(|e| e.trim().is_empty()) {
        return Err(EngineError::input(&path, "the erasure list holds an empty email"));
    }
    Ok(emails)
}

/// Add `email` to the list (sorted, each once), written atomically: a temp file beside it, synced,
/// then renamed over it. Returns whether it was new.
pub fn add_to_erasure_list(data_dir: &Path, email: &str) -> Result<bool> {
    let mut emails = read_erasure_list(data_dir)?;
    // One customer, whatever the spelling (the SQL compares lower(trim(email)) the same way).
    let same_customer = |e: &String| e.trim().to_lowercase() == email.trim().to_lowercase();
    if emails.iter().any(same_customer) {
        return Ok(false);
    }
    emails.push(email.to_string());
    emails.sort();
    let path = erasure_list_path(data_dir);
    let tmp = data_dir.join(format!(".{LIST_FILE}.tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| EngineError::input(&path, format!("cannot write the erasure list: {e}"));
    let text = super::printable::to_json_pretty(&emails) + "\n";
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|_| fs::rename(&tmp, &path)) {
        let _ = fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(true)
}

/// Create `erased_customers(email)` from the list in `data_dir` (empty without one); returns the list.
pub fn create_erased_table(conn: &Connection, data_dir: &Path) -> Result<Vec<String>> {
    let emails = read_erasure_list(data_dir)?;
    conn.execute_batch("CREATE OR REPLACE TABLE erased_customers (email VARCHAR NOT NULL)")?;
    let mut insert = conn.prepare("INSERT INTO erased_customers VALUES (?)")?;
    for email in &emails {
        insert.execute([email])?;
    }
    Ok(emails)
}

/// How many rows of one table belong to the customer being forgotten, in each mode.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CustomerRows {
    pub table: String,
    pub zone: super::Zone,
    pub rubric: u64,
    pub strict: u64,
}

/// One export folder the registry recorded for the data folder, and whether it still holds the
/// customer's rows (exports are the user's files: `forget` reports them, it does not rewrite them).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportCopy {
    pub out: PathBuf,
    pub state: ExportState,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ExportState {
    /// Made from this data folder; `rows` of the customer's rows, per exported table.
    Holds {
        mode: String,
        partition_by: Option<String>,
        /// It was exported past failed checks (`--force`).
        forced: bool,
        tables: Vec<(String, u64)>,
        /// A strict export's pseudonymised rows could not be counted: no pseudonym key was given.
        pseudonyms_uncounted: bool,
    },
    /// The folder is gone, or holds no manifest any more.
    Gone,
    /// Its manifest says it was made from another data folder now.
    OtherData { data_dir: PathBuf },
    /// It could not be read (why).
    Unreadable { why: String },
}

impl ExportState {
    pub fn rows(&self) -> u64 {
        match self {
            ExportState::Holds { tables, .. } => tables.iter().map(|(_, n)| n).sum(),
            _ => 0,
        }
    }
}

/// What `forget` found and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Erasure {
    /// The customer's rows in every table of both modes, before erasure.
    pub rows: Vec<CustomerRows>,
    /// Whether the email was new to the erasure list, and how many the list holds now.
    pub added: bool,
    pub listed: usize,
    /// The cache database files removed.
    pub caches_removed: Vec<PathBuf>,
    /// The export folders recorded for this data folder.
    pub exports: Vec<ExportCopy>,
    /// Why the registry of cache and export folders could not be read: other copies may exist.
    pub registry_unreadable: Option<String>,
}

/// The part of an export's `_manifest.json` that erasure reads.
#[derive(serde::Deserialize)]
struct ExportedManifest {
    tool: String,
    data_dir: PathBuf,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    partition_by: Option<String>,
    #[serde(default)]
    forced: bool,
    tables: Vec<ExportedTable>,
}

#[derive(serde::Deserialize)]
struct ExportedTable {
    name: String,
    files: Vec<ExportedFile>,
}

#[derive(serde::Deserialize)]
struct ExportedFile {
    path: String,
}

/// Erase `email`: count their rows everywhere (the pipeline's tables in both modes, and every
/// export recorded for this data folder), add them to the erasure list, then remove every cache
/// this data folder is known to have used: the default folders, the one chosen now (`choice`)
/// and every one the registry recorded.
pub fn forget(options: super::EngineOptions, email: &str, choice: &CacheChoice) -> Result<Erasure> {
    let data_dir = options.data_dir.clone();
    let keyed = options.pseudonym_key.is_some();
    let (recorded, registry_unreadable) = match registry::uses(&data_dir) {
        Ok(uses) => (uses, None),
        Err(why) => (registry::Uses::default(), Some(why)),
    };
    let engine = Engine::run_both_modes(options)?;
    let (rows, exports) = engine.for_customer(email, |engine| {
        let exports = recorded
            .exports
            .iter()
            .map(|out| ExportCopy { out: out.clone(), state: engine.export_state(out, &data_dir, keyed) })
            .collect::<Vec<_>>();
        Ok((engine.rows_in_tables()?, exports))
    })?;
    drop(engine);
    let added = add_to_erasure_list(&data_dir, email)?;
    let listed = read_erasure_list(&data_dir)?.len();

    // The cache holds the customer's landing rows too: it goes (the next run rebuilds it).
    let mut caches_removed = cache::clear(&data_dir, &CacheChoice::Auto)?;
    let mut dirs: Vec<PathBuf> = recorded.caches.iter().cloned().collect();
    if let CacheChoice::Dir(dir) = choice {
        dirs.push(dir.clone());
    }
    for dir in &dirs {
        caches_removed.extend(cache::clear(&data_dir, &CacheChoice::Dir(dir.clone()))?);
    }
    if registry_unreadable.is_none() {
        // Folders emptied or gone, and exports that are no longer this data's, leave the record.
        let gone: Vec<PathBuf> = recorded.caches.iter().cloned().collect();
        let not_ours: Vec<PathBuf> = exports
            .iter()
            .filter(|e| matches!(e.state, ExportState::Gone | ExportState::OtherData { .. }))
            .map(|e| e.out.clone())
            .collect();
        let _ = registry::drop_uses(&data_dir, &gone, &not_ours);
    }
    Ok(Erasure { rows, added, listed, caches_removed, exports, registry_unreadable })
}

impl Engine {
    /// Rows of every table, in both modes, that belong to `email`: its email or user, the serial
    /// number of any of its customer records, or its pseudonym (`queries/erasure/customer_rows.sql`).
    /// Needs an engine made by [`Engine::run_both_modes`].
    pub fn customer_rows(&self, email: &str) -> Result<Vec<CustomerRows>> {
        self.for_customer(email, Engine::rows_in_tables)
    }

    /// Run `work` with `forget_customers(email)` holding `email`, the table customer_rows.sql reads.
    fn for_customer<T>(&self, email: &str, work: impl FnOnce(&Engine) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("CREATE OR REPLACE TEMP TABLE forget_customers (email VARCHAR NOT NULL)")?;
        self.conn.execute("INSERT INTO forget_customers VALUES (?)", [email])?;
        let done = work(self);
        self.conn.execute_batch("DROP TABLE forget_customers")?;
        done
    }

    /// [`Engine::customer_rows`] for the customer already in `forget_customers`.
    fn rows_in_tables(&self) -> Result<Vec<CustomerRows>> {
        let mut out = Vec::new();
        for (table, zone) in self.catalog.table_names() {
            let mut counts = [0u64; 2];
            for (i, mode) in [Mode::Rubric, Mode::Strict].into_iter().enumerate() {
                let qualified = match zone {
                    super::Zone::Landing => quote_ident(&table),
                    _ => format!("{}.{}", mode.as_str(), quote_ident(&table)),
                };
                counts[i] = self.count_customer_rows(&qualified, &table)?;
            }
            out.push(CustomerRows { table, zone, rubric: counts[0], strict: counts[1] });
        }
        Ok(out)
    }

    /// How many rows of `relation` (a table, or a `read_parquet(...)`) belong to the customer in
    /// `forget_customers`.
    fn count_customer_rows(&self, relation: &str, label: &str) -> Result<u64> {
        let query = self.catalog.erasure_query("customer_rows")?;
        let counted = self
            .conn
            .query_row(&query.sql.replace("{table}", relation), [], |r| r.get::<_, i64>(0))
            .map_err(|e| EngineError::sql(&query.path, format!("{label}: {e}")))?;
        Ok(counted as u64)
    }

    /// Whether the export in `out` still holds `email`'s rows, read from its Parquet files.
    fn export_state(&self, out: &Path, data_dir: &Path, keyed: bool) -> ExportState {
        let manifest_path = out.join(super::export::MANIFEST);
        let text = match fs::read_to_string(&manifest_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return ExportState::Gone,
            Err(e) => return ExportState::Unreadable { why: format!("{}: {e}", manifest_path.display()) },
        };
        // A manifest that is not this tool's may sit beside this tool's Parquet: not checked, not forgotten.
        let manifest = match serde_json::from_str::<ExportedManifest>(&text) {
            Ok(m) if m.tool == "stedi-tui" => m,
            Ok(_) => {
                return ExportState::Unreadable {
                    why: format!("{}: not a stedi-tui manifest", manifest_path.display()),
                }
            }
            Err(e) => {
                return ExportState::Unreadable {
                    why: format!("{}: not a stedi-tui manifest ({e})", manifest_path.display()),
                }
            }
        };
        if registry::absolute(&manifest.data_dir) != registry::absolute(data_dir) {
            return ExportState::OtherData { data_dir: manifest.data_dir };
        }
        let mode = manifest.mode.unwrap_or_else(|| Mode::Rubric.as_str().to_string());
        let mut tables = Vec::new();
        for table in &manifest.tables {
            if table.files.is_empty() {
                tables.push((table.name.clone(), 0));
                continue;
            }
            let files: Vec<String> = table
                .files
                .iter()
                .map(|f| super::sql_text::quote_literal(&out.join(&f.path).to_string_lossy()))
                .collect();
            let hive = manifest.partition_by.is_some();
            let relation = format!("read_parquet([{}], hive_partitioning = {hive})", files.join(", "));
            match self.count_customer_rows(&relation, &table.name) {
                Ok(n) => tables.push((table.name.clone(), n)),
                Err(e) => return ExportState::Unreadable { why: super::error::one_line(&e.to_string()) },
            }
        }
        let pseudonyms_uncounted = mode == Mode::Strict.as_str() && !keyed;
        ExportState::Holds {
            mode,
            partition_by: manifest.partition_by,
            forced: manifest.forced,
            tables,
            pseudonyms_uncounted,
        }
    }
}
