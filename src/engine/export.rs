//! Export: the trusted and curated zones as Parquet, in the layout of the original S3 bucket
//! (`OUT/customer/trusted/`, `OUT/step_trainer/curated/`, ...), with a `_manifest.json` written last
//! (the role of Spark's `_SUCCESS`).
//!
//! The export is atomic and idempotent: everything is written into a hidden sibling folder
//! `.OUT.tmp-<pid>` and only when every table and the manifest are on disk does it take OUT's
//! place (on Linux by one `renameat2(RENAME_EXCHANGE)`, elsewhere by renaming the old OUT aside and
//! the new one in). A failure removes the temporary folder and leaves the previous export as it was.
//! A process killed mid-export cannot clean up after itself; it leaves only the hidden temporary
//! folder beside an untouched OUT, and the next export to the same OUT removes it.
//!
//! Privacy gate: while an error-severity check fails, [`export`] refuses unless
//! [`ExportOptions::force`] is set, which the manifest records.
//!
//! Rows are written `ORDER BY ALL`, so the same data gives the same files whatever order the
//! (parallel) stages produced their rows in.
//!
//! Test-only fault injection: the environment variable `STEDI_EXPORT_FAIL_AFTER=N` (read by
//! [`ExportOptions::new`]) makes the export fail after writing N tables, to prove that a failure
//! leaves the previous export intact. It has no other use.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::checks::CheckOutcome;
use super::error::{one_line, EngineError, Result};
use super::load::table_columns;
use super::spill::process_alive;
use super::sql_text::{quote_ident, quote_literal};
use super::{Engine, Zone};

/// The manifest's file name, inside OUT.
pub const MANIFEST: &str = "_manifest.json";
/// The name of the first (and, unpartitioned, only) Parquet file of a table.
pub const FILE_NAME: &str = "part-0.parquet";
/// The test-only fault-injection variable (see the module documentation).
pub const FAIL_AFTER_ENV: &str = "STEDI_EXPORT_FAIL_AFTER";

/// Tables whose folder is not `<prefix>/<zone>` (prefix = the name before `_trusted`/`_curated`):
/// the original bucket kept the machine-learning table under `step_trainer/curated/`.
/// `(table, dataset folder, zone folder)`.
pub const FOLDER_EXCEPTIONS: &[(&str, &str, &str)] = &[("machine_learning_curated", "step_trainer", "curated")];

/// The folder (relative to OUT) a zone table is exported to, e.g. `customer/trusted`.
/// A stage whose name lacks the zone suffix goes to `<name>/<zone>`.
pub fn table_folder(name: &str, zone: Zone) -> String {
    if let Some((_, dataset, zone)) = FOLDER_EXCEPTIONS.iter().find(|(table, _, _)| *table == name) {
        return format!("{dataset}/{zone}");
    }
    let zone = zone.as_str();
    let dataset = name.strip_suffix(&format!("_{zone}")).unwrap_or(name);
    format!("{dataset}/{zone}")
}

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The export folder; replaced as a whole.
    pub out: PathBuf,
    /// Export although error-severity checks fail (recorded in the manifest).
    pub force: bool,
    /// Hive-style partitions (`COLUMN=value/`) for the tables that have this column.
    pub partition_by: Option<String>,
    /// Test-only: fail after writing this many tables (see the module documentation).
    pub fail_after: Option<usize>,
}

impl ExportOptions {
    /// Options for `out`, with `fail_after` read from `STEDI_EXPORT_FAIL_AFTER`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        let fail_after = std::env::var(FAIL_AFTER_ENV).ok().and_then(|v| v.trim().parse().ok());
        ExportOptions { out: out.into(), force: false, partition_by: None, fail_after }
    }
}

#[derive(Debug)]
pub enum ExportError {
    /// The privacy gate: these error-severity checks failed and `force` was not set.
    Refused { failed_checks: Vec<String> },
    /// The checks have not run (an empty outcome list while the catalog defines checks).
    ChecksNotRun,
    /// Anything else: a path that cannot be written, DuckDB failing to write, ...
    Engine(EngineError),
}

impl std::fmt::Display for ExportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportError::Refused { failed_checks } => write!(
                f,
                "export refused: error-severity checks failed: {} (--force exports anyway)",
                failed_checks.join(", ")
            ),
            ExportError::ChecksNotRun => write!(f, "export refused: the privacy checks have not run"),
            ExportError::Engine(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExportError {}

impl From<EngineError> for ExportError {
    fn from(e: EngineError) -> Self {
        ExportError::Engine(e)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestSource {
    pub table: String,
    /// Relative to the data folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestColumn {
    pub name: String,
    /// The DuckDB type, e.g. `VARCHAR`, `BIGINT`, `DATE`.
    #[serde(rename = "type")]
    pub data_type: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestFile {
    /// Relative to OUT, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestTable {
    pub name: String,
    pub zone: Zone,
    /// Relative to OUT, e.g. `customer/trusted`.
    pub folder: String,
    pub rows: u64,
    pub schema: Vec<ManifestColumn>,
    /// The Hive partition column, when this table was partitioned.
    pub partition_by: Option<String>,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ManifestCheck {
    pub id: String,
    pub severity: super::Severity,
    pub status: &'static str,
    pub failing_rows: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Manifest {
    pub tool: &'static str,
    pub version: &'static str,
    pub duckdb_version: String,
    /// UTC, ISO-8601, e.g. `2026-11-28T06:13:00Z`.
    pub created_at: String,
    /// Absolute, so `forget` can tell which data folder an export was made from.
    pub data_dir: PathBuf,
    /// The stage set that built the tables: `rubric` or `strict`.
    pub mode: &'static str,
    /// Where the SQL came from (built in, or a folder) and its hash.
    pub sql: super::SqlProvenance,
    /// True when error-severity checks failed and the export was forced past the privacy gate.
    pub forced: bool,
    pub partition_by: Option<String>,
    pub sources: Vec<ManifestSource>,
    pub tables: Vec<ManifestTable>,
    pub checks: Vec<ManifestCheck>,
}

#[derive(Debug, Clone)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub manifest_path: PathBuf,
    pub tables: usize,
    pub rows: u64,
    /// Every file written, the manifest included.
    pub files: usize,
    pub bytes: u64,
    pub elapsed: Duration,
    pub manifest: Manifest,
    /// What the user should know (the export could not be recorded for `forget`, say).
    pub notices: Vec<String>,
}

impl ExportSummary {
    /// The one line the CLI and the TUI show.
    pub fn describe(&self) -> String {
        let forced = if self.manifest.forced { " (forced past failed checks)" } else { "" };
        format!(
            "exported {} tables, {} rows, {} files, {} bytes in {:.2}s to {}{forced}",
            self.tables,
            self.rows,
            self.files,
            self.bytes,
            self.elapsed.as_secs_f64(),
            self.out.display()
        )
    }
}

/// The error-severity checks that failed: while this is not empty, the export is refused.
pub fn blocking_checks(outcomes: &[CheckOutcome]) -> Vec<String> {
    outcomes.iter().filter(|o| o.is_error()).map(|o| o.id.clone()).collect()
}

/// OUT's parent folder, OUT's own name, and OUT normalised (`foo/.` is `foo`).
fn split_out(out: &Path) -> Result<(PathBuf, String, PathBuf)> {
    let out: PathBuf = out.components().collect();
    let name = out
        .file_name()
        .ok_or_else(|| EngineError::input(&out, "the export folder needs a name (not `..` or `/`)"))?
        .to_str()
        .ok_or_else(|| EngineError::input(&out, "the export folder's name is not valid UTF-8"))?
        .to_string();
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name, out))
}

/// Check, before any work, that OUT can be (re)placed: its parent is an existing folder, and OUT
/// is absent, or a folder that is empty or holds a previous export (a `_manifest.json`), so that
/// a typo such as `--out ~` never replaces a folder that is not an export.
pub fn check_destination(out: &Path) -> Result<()> {
    let (parent, _, out) = split_out(out)?;
    match fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(EngineError::input(&parent, "the export folder's parent is not a folder")),
        Err(e) => return Err(EngineError::input(&parent, format!("the export folder's parent cannot be used: {e}"))),
    }
    match fs::symlink_metadata(&out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(EngineError::input(&out, format!("cannot read: {e}"))),
        Ok(m) if !m.is_dir() => Err(EngineError::input(&out, "exists and is not a folder")),
        Ok(_) => {
            let mut entries = fs::read_dir(&out).map_err(|e| EngineError::input(&out, format!("cannot read: {e}")))?;
            if entries.next().is_none() || out.join(MANIFEST).is_file() {
                Ok(())
            } else {
                Err(EngineError::input(
                    &out,
                    format!("exists and is not a stedi-tui export (no {MANIFEST}); not replacing it"),
                ))
            }
        }
    }
}

/// The hidden sibling folders of an export in progress: `.OUT.tmp-<pid>` and `.OUT.old-<pid>`.
fn sibling(parent: &Path, name: &str, kind: &str) -> PathBuf {
    parent.join(format!(".{name}.{kind}-{}", std::process::id()))
}

/// Remove what an export killed mid-way left beside OUT: `.OUT.tmp-<pid>` / `.OUT.old-<pid>` of a
/// process that is no longer running. An `.old` folder with no OUT (killed between the two renames
/// of the non-Linux path) is the previous export: it is put back.
fn clean_stale_siblings(parent: &Path, name: &str, out: &Path) {
    let Ok(entries) = fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&format!(".{name}.")) else { continue };
        let Some((kind, pid)) = rest.split_once('-') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        if !(kind == "tmp" || kind == "old") || process_alive(pid) {
            continue;
        }
        let path = entry.path();
        if kind == "old" && !out.exists() && fs::rename(&path, out).is_ok() {
            continue;
        }
        let _ = fs::remove_dir_all(&path);
    }
}

/// Removes the temporary folder unless the export completed.
struct TempFolder {
    path: PathBuf,
    keep: bool,
}

impl Drop for TempFolder {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn sha256_file(path: &Path) -> Result<(u64, String)> {
    super::cache::sha256_file(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))
}

/// A path as DuckDB should see it: UTF-8, or an error naming it.
fn path_text(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| EngineError::input(path, "path is not valid UTF-8"))
}

/// `/`-separated path of `path` relative to `root`.
fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// Every file under `dir`, sorted, relative to `root`, with size and SHA-256; each synced to disk.
fn list_files(dir: &Path, root: &Path) -> Result<Vec<ManifestFile>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| EngineError::input(dir, format!("cannot read: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.path();
        let (bytes, sha256) = sha256_file(path)?;
        sync(path);
        files.push(ManifestFile { path: relative(path, root), bytes, sha256 });
    }
    Ok(files)
}

/// Best effort: flush a file or folder to disk so the rename publishes complete data.
fn sync(path: &Path) {
    if let Ok(f) = fs::File::open(path) {
        let _ = f.sync_all();
    }
}

/// UTC ISO-8601 (seconds) of a point in time.
pub fn iso8601_utc(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days -> civil date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Put `new` in place of `out`: one atomic exchange on Linux when `out` exists, else renames.
fn publish(new: &Path, out: &Path, old: &Path) -> std::io::Result<()> {
    if !out.exists() {
        return fs::rename(new, out);
    }
    #[cfg(target_os = "linux")]
    {
        match exchange(new, out) {
            // `new` now holds the previous export.
            Ok(()) => {
                let _ = fs::remove_dir_all(new);
                return Ok(());
            }
            // EINVAL/ENOSYS: this file system or kernel cannot exchange; use two renames.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
            Err(e) => return Err(e),
        }
    }
    fs::rename(out, old)?;
    if let Err(e) = fs::rename(new, out) {
        let _ = fs::rename(old, out);
        return Err(e);
    }
    let _ = fs::remove_dir_all(old);
    Ok(())
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: swap two paths atomically.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let a = CString::new(a.as_os_str().as_bytes())?;
    let b = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths that outlive the call; the syscall only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Export every trusted and curated table of a run engine (see the module documentation).
/// `outcomes` are the check results of the same run; they decide the privacy gate and go into the
/// manifest.
pub fn export(
    engine: &Engine,
    outcomes: &[CheckOutcome],
    options: &ExportOptions,
) -> Result<ExportSummary, ExportError> {
    let started = Instant::now();
    if outcomes.is_empty() && !engine.catalog.checks.is_empty() {
        return Err(ExportError::ChecksNotRun);
    }
    let failed_checks = blocking_checks(outcomes);
    if !failed_checks.is_empty() && !options.force {
        return Err(ExportError::Refused { failed_checks });
    }
    check_destination(&options.out)?;
    let (parent, name, out) = split_out(&options.out)?;
    let conn = engine.connection();

    // Which tables go where, decided (and checked) before anything is written.
    let mut plan: Vec<(&super::TableStats, String)> = Vec::new();
    for table in engine.tables.iter().filter(|t| matches!(t.zone, Zone::Trusted | Zone::Curated)) {
        let folder = table_folder(&table.name, table.zone);
        if folder.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(EngineError::input(
                &out,
                format!("table {} maps to an unusable folder {folder:?}", table.name),
            )
            .into());
        }
        if let Some((other, _)) = plan.iter().find(|(_, f)| *f == folder) {
            return Err(EngineError::input(
                &out,
                format!("tables {} and {} would both be exported to {folder}/", other.name, table.name),
            )
            .into());
        }
        plan.push((table, folder));
    }
    if plan.is_empty() {
        return Err(
            EngineError::input(&out, "nothing to export: no trusted or curated table (run the stages first)").into()
        );
    }
    let mut schemas = Vec::with_capacity(plan.len());
    for (table, _) in &plan {
        schemas.push(table_columns(conn, &table.name)?);
    }
    let partition_by = match &options.partition_by {
        None => None,
        Some(column) => {
            let wanted = column.to_lowercase();
            if !schemas.iter().flatten().any(|c| c.name.to_lowercase() == wanted) {
                return Err(EngineError::input(
                    Path::new("--partition-by"),
                    format!("no trusted or curated table has a column {column:?}"),
                )
                .into());
            }
            Some(wanted)
        }
    };

    clean_stale_siblings(&parent, &name, &out);
    let tmp = sibling(&parent, &name, "tmp");
    if tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    fs::create_dir(&tmp)
        .map_err(|e| EngineError::input(&out, format!("cannot create the export folder beside it: {e}")))?;
    let mut guard = TempFolder { path: tmp.clone(), keep: false };

    let mut tables = Vec::with_capacity(plan.len());
    for (index, ((table, folder), columns)) in plan.iter().zip(&schemas).enumerate() {
        if options.fail_after == Some(index) {
            return Err(
                EngineError::input(&out, format!("{FAIL_AFTER_ENV}={index}: injected failure (test only)")).into()
            );
        }
        let dir = tmp.join(folder);
        let partition = partition_by
            .as_ref()
            .and_then(|p| columns.iter().find(|c| c.name.to_lowercase() == *p))
            .map(|c| c.name.clone());
        let source = format!("SELECT * FROM {} ORDER BY ALL", quote_ident(&table.name));
        let copy = match &partition {
            None => {
                fs::create_dir_all(&dir).map_err(|e| EngineError::input(&dir, format!("cannot create: {e}")))?;
                let file = dir.join(FILE_NAME);
                format!("COPY ({source}) TO {} (FORMAT parquet, COMPRESSION zstd)", quote_literal(path_text(&file)?))
            }
            Some(column) => {
                // DuckDB creates the partition folders itself, below a folder that must not exist yet.
                if let Some(up) = dir.parent() {
                    fs::create_dir_all(up).map_err(|e| EngineError::input(up, format!("cannot create: {e}")))?;
                }
                format!(
                    "COPY ({source}) TO {} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY ({}), FILENAME_PATTERN 'part-{{i}}')",
                    quote_literal(path_text(&dir)?),
                    quote_ident(column)
                )
            }
        };
        conn.execute_batch(&copy).map_err(|e| match EngineError::from(e) {
            EngineError::Cancelled => EngineError::Cancelled,
            other => EngineError::input(
                &out,
                format!("writing {} to {folder}/: {}", table.name, one_line(&other.to_string())),
            ),
        })?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {}", quote_ident(&table.name)), [], |r| r.get(0))
            .map_err(EngineError::from)?;
        tables.push(ManifestTable {
            name: table.name.clone(),
            zone: table.zone,
            folder: folder.clone(),
            rows: rows as u64,
            schema: columns
                .iter()
                .map(|c| ManifestColumn { name: c.name.clone(), data_type: c.data_type.clone() })
                .collect(),
            partition_by: partition,
            files: list_files(&dir, &tmp)?,
        });
    }
    if options.fail_after == Some(plan.len()) {
        return Err(
            EngineError::input(&out, format!("{FAIL_AFTER_ENV}={}: injected failure (test only)", plan.len())).into()
        );
    }

    let mut sources = Vec::new();
    for table in engine.tables.iter().filter(|t| t.zone == Zone::Landing) {
        for file in &table.sources {
            let (bytes, sha256) = sha256_file(&file.path)?;
            sources.push(ManifestSource {
                table: table.name.clone(),
                path: relative(&file.path, &engine.options.data_dir),
                bytes,
                sha256,
            });
        }
    }
    let duckdb_version: String = conn.query_row("SELECT version()", [], |r| r.get(0)).map_err(EngineError::from)?;
    let manifest = Manifest {
        tool: "stedi-tui",
        version: env!("CARGO_PKG_VERSION"),
        duckdb_version,
        created_at: iso8601_utc(SystemTime::now()),
        data_dir: super::cache::registry::absolute(&engine.options.data_dir),
        mode: engine.options.mode.as_str(),
        sql: engine.catalog.sql.provenance(),
        forced: !failed_checks.is_empty(),
        partition_by: options.partition_by.clone(),
        sources,
        tables,
        checks: outcomes
            .iter()
            .map(|o| ManifestCheck {
                id: o.id.clone(),
                severity: o.severity,
                status: if o.passed() { "pass" } else { "fail" },
                failing_rows: o.failing_rows,
            })
            .collect(),
    };
    let manifest_tmp = tmp.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serialises") + "\n";
    let write = |path: &Path| -> std::io::Result<()> {
        let mut f = fs::File::create(path)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()
    };
    write(&manifest_tmp).map_err(|e| EngineError::input(&manifest_tmp, format!("cannot write: {e}")))?;
    for entry in walkdir::WalkDir::new(&tmp).into_iter().flatten().filter(|e| e.file_type().is_dir()) {
        sync(entry.path());
    }

    let old = sibling(&parent, &name, "old");
    publish(&tmp, &out, &old).map_err(|e| EngineError::input(&out, format!("cannot replace: {e}")))?;
    guard.keep = true;
    sync(&parent);
    let mut notices = Vec::new();
    if let Err(why) = super::cache::registry::record_export(&engine.options.data_dir, &out) {
        notices.push(format!("{why}; `stedi-tui forget` will not know of this export"));
    }

    let files: Vec<&ManifestFile> = manifest.tables.iter().flat_map(|t| &t.files).collect();
    Ok(ExportSummary {
        manifest_path: out.join(MANIFEST),
        out,
        tables: manifest.tables.len(),
        rows: manifest.tables.iter().map(|t| t.rows).sum(),
        files: files.len() + 1,
        bytes: files.iter().map(|f| f.bytes).sum::<u64>() + text.len() as u64,
        elapsed: started.elapsed(),
        manifest,
        notices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_follow_the_bucket_layout() {
        assert_eq!(table_folder("customer_trusted", Zone::Trusted), "customer/trusted");
        assert_eq!(table_folder("accelerometer_trusted", Zone::Trusted), "accelerometer/trusted");
        assert_eq!(table_folder("step_trainer_trusted", Zone::Trusted), "step_trainer/trusted");
        assert_eq!(table_folder("customer_curated", Zone::Curated), "customer/curated");
        assert_eq!(table_folder("machine_learning_curated", Zone::Curated), "step_trainer/curated");
        assert_eq!(table_folder("extra", Zone::Curated), "extra/curated");
    }

    #[test]
    fn utc_timestamps() {
        assert_eq!(iso8601_utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601_utc(UNIX_EPOCH + Duration::from_secs(951_782_400)), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601_utc(UNIX_EPOCH + Duration::from_secs(1_704_067_199)), "2023-12-31T23:59:59Z");
        assert_eq!(iso8601_utc(UNIX_EPOCH + Duration::from_secs(4_107_542_400)), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn out_is_split_into_parent_and_name() {
        let (parent, name, out) = split_out(Path::new("export")).unwrap();
        assert_eq!((parent, name.as_str(), out), (PathBuf::from("."), "export", PathBuf::from("export")));
        let (parent, name, _) = split_out(Path::new("/tmp/a b/it's/.")).unwrap();
        assert_eq!((parent, name.as_str()), (PathBuf::from("/tmp/a b"), "it's"));
        assert!(split_out(Path::new("/")).is_err());
        assert!(split_out(Path::new("a/..")).is_err());
    }
}
