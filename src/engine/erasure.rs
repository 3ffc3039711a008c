//! The right to erasure. `DATA/_erasure_list.json` (a JSON array of emails, written by
//! `stedi-tui forget`) names the customers to erase; the landing files stay untouched. Before the
//! stages run, the list becomes the DuckDB table `erased_customers(email)` (always there, empty
//! without a list), and every stage of both modes drops the rows of those customers
//! (`reference/erased_keys.sql`); the `erased.<table>` checks prove they are gone.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use duckdb::Connection;

use super::catalog::Mode;
use super::error::{EngineError, Result};
use super::sql_text::quote_ident;
use super::Engine;

pub const LIST_FILE: &str = "_erasure_list.json";

pub fn list_path(data_dir: &Path) -> PathBuf {
    data_dir.join(LIST_FILE)
}

/// The erased emails (empty when there is no list). A list that cannot be read is an error, never
/// an empty list: erased customers must not silently come back.
pub fn read_list(data_dir: &Path) -> Result<Vec<String>> {
    let path = list_path(data_dir);
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
pub fn add_to_list(data_dir: &Path, email: &str) -> Result<bool> {
    let mut emails = read_list(data_dir)?;
    // One customer, whatever the spelling (the SQL compares lower(trim(email)) the same way).
    let same_customer = |e: &String| e.trim().to_lowercase() == email.trim().to_lowercase();
    if emails.iter().any(same_customer) {
        return Ok(false);
    }
    emails.push(email.to_string());
    emails.sort();
    let path = list_path(data_dir);
    let tmp = data_dir.join(format!(".{LIST_FILE}.tmp-{}", std::process::id()));
    let fail = |e: std::io::Error| EngineError::input(&path, format!("cannot write the erasure list: {e}"));
    let text = serde_json::to_string_pretty(&emails).expect("strings serialise") + "\n";
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
    let emails = read_list(data_dir)?;
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

impl Engine {
    /// Rows of every table, in both modes, that belong to `email`: its email or user, the serial
    /// number of any of its customer records, or its pseudonym (`queries/erasure/customer_rows.sql`).
    /// Needs an engine made by [`Engine::run_both_modes`].
    pub fn customer_rows(&self, email: &str) -> Result<Vec<CustomerRows>> {
        let path = self.options.queries_dir.join("erasure").join("customer_rows.sql");
        let template = fs::read_to_string(&path).map_err(|e| EngineError::input(&path, format!("cannot read: {e}")))?;
        self.conn.execute_batch("CREATE OR REPLACE TEMP TABLE forget_customers (email VARCHAR NOT NULL)")?;
        self.conn.execute("INSERT INTO forget_customers VALUES (?)", [email])?;
        let mut out = Vec::new();
        for (table, zone) in self.catalog.table_names() {
            let mut counts = [0u64; 2];
            for (i, mode) in [Mode::Rubric, Mode::Strict].into_iter().enumerate() {
                let qualified = match zone {
                    super::Zone::Landing => quote_ident(&table),
                    _ => format!("{}.{}", mode.as_str(), quote_ident(&table)),
                };
                let sql = template.replace("{table}", &qualified);
                let n: i64 = self
                    .conn
                    .query_row(&sql, [], |r| r.get(0))
                    .map_err(|e| EngineError::sql(&path, format!("{table}: {e}")))?;
                counts[i] = n as u64;
            }
            out.push(CustomerRows { table, zone, rubric: counts[0], strict: counts[1] });
        }
        self.conn.execute_batch("DROP TABLE forget_customers")?;
        Ok(out)
    }
}
