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
//! Export never deletes what it did not write. An existing OUT is replaced only when it is empty,
//! or when it holds a valid stedi-tui manifest and nothing that manifest does not list (see
//! [`check_destination`]); it is checked before the pipeline runs and again, on the folder swapped
//! out, before that is deleted (a file added meanwhile swaps it back). OUT given as a symlink is
//! refused, naming where it points. The hidden folders a killed export left are removed only when
//! they are provably its own: `.tmp` ones hold the marker [`IN_PROGRESS`], `.old` ones are a
//! replaceable export.
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
use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::checks::CheckOutcome;
use super::error::{one_line, EngineError, Result};
use super::load::table_columns;
use super::printable::{describe_file_type, printable, printable_path};
use super::spill::process_alive;
use super::sql_text::{quote_ident, quote_literal};
use super::{Engine, Zone};

/// The manifest's file name, inside OUT.
pub const MANIFEST: &str = "_manifest.json";
/// The layout of the manifest, its `format` field. A manifest without the field was written before
/// it existed, in the same layout, and is read as format 1; a later format is refused.
pub const MANIFEST_FORMAT: u64 = 1;
/// A manifest larger than this is not one stedi-tui wrote (a real one is kilobytes).
const MANIFEST_MAX_BYTES: u64 = 64 << 20;
/// How many unexpected paths a refusal to replace OUT names.
pub const NAMED_PATHS: usize = 5;
/// The file that marks a hidden `.OUT.tmp-<pid>` folder as an export in progress, so that only a
/// folder an export made is ever removed as a stale one. Removed just before the folder becomes OUT.
pub const IN_PROGRESS: &str = ".stedi-tui-export-in-progress";
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
    /// [`MANIFEST_FORMAT`]: what a later stedi-tui checks before it replaces this export.
    pub format: u64,
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
            super::printable::printable_path(&self.out)
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
/// is absent or [replaceable](replaceable), so that a typo such as `--out ~` never replaces a
/// folder that is not an export.
pub fn check_destination(out: &Path) -> Result<()> {
    let (parent, _, out) = split_out(out)?;
    match fs::metadata(&parent) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(EngineError::input(&parent, "the export folder's parent is not a folder")),
        Err(e) => return Err(EngineError::input(&parent, format!("the export folder's parent cannot be used: {e}"))),
    }
    replaceable(&out, &out)
}

/// Whether the folder at `dir` (shown to the user as `out`) may be deleted to make way for a new
/// export: it does not exist, or is a real folder (not a symlink) that is empty, or holds a valid
/// stedi-tui manifest and nothing that manifest does not list (nested files and folders count).
/// Otherwise the error names up to [`NAMED_PATHS`] of the paths that would be lost and how many
/// more there are.
pub fn replaceable(dir: &Path, out: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(EngineError::input(out, format!("cannot read: {e}"))),
        Ok(m) => m,
    };
    if meta.file_type().is_symlink() {
        let target = fs::read_link(dir).map(|t| printable_path(&t)).unwrap_or_else(|_| "?".to_string());
        return Err(EngineError::input(
            out,
            format!(
                "is a symlink (to {target}), not a folder; export replaces a whole folder and does not \
                 follow symlinks: give the folder's own path"
            ),
        ));
    }
    if !meta.is_dir() {
        return Err(EngineError::input(out, "exists and is not a folder"));
    }
    let manifest = read_manifest_listing(&dir.join(MANIFEST));
    let absent = matches!(manifest, Ok(None));
    let (listed, problem) = match manifest {
        Ok(Some(listed)) => (listed, None),
        Ok(None) => (BTreeSet::new(), Some(format!("it has no {MANIFEST}, so it is not a stedi-tui export"))),
        Err(why) => (BTreeSet::new(), Some(format!("its {MANIFEST} is not a stedi-tui export manifest ({why})"))),
    };
    let (named, total) = unexpected_paths(dir, &listed, problem.is_some())
        .map_err(|e| EngineError::input(out, format!("cannot read: {e}")))?;
    let paths = || {
        let more = if total > named.len() { format!(" and {} more", total - named.len()) } else { String::new() };
        format!("{}{more}", named.join(", "))
    };
    match (problem, total) {
        // A previous export, or an empty folder.
        (None, 0) => Ok(()),
        (Some(_), 0) if absent => Ok(()),
        (Some(problem), 0) => Err(EngineError::input(out, format!("{problem}; not replacing it"))),
        (Some(problem), _) => {
            Err(EngineError::input(out, format!("{problem}; not replacing it, it holds {}", paths())))
        }
        (None, _) => Err(EngineError::input(
            out,
            format!(
                "holds {total} path{} its {MANIFEST} does not list (not written by stedi-tui export); \
                 not replacing it: {}",
                if total == 1 { "" } else { "s" },
                paths()
            ),
        )),
    }
}

/// The files a previous export's manifest lists (relative to OUT, `/`-separated, the manifest
/// itself included); `Ok(None)` when there is no manifest, `Err(why)` when it is not a stedi-tui
/// manifest: not a regular file, not JSON, another tool's, a later format, or missing `data_dir`
/// or the tables' `files`. It is opened without following a symlink and without blocking (a FIFO
/// named `_manifest.json` is refused, never read).
fn read_manifest_listing(path: &Path) -> std::result::Result<Option<BTreeSet<String>>, String> {
    let mut options = fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
        Ok(m) if !m.is_file() => return Err(format!("it is {}", describe_file_type(&m.file_type()))),
        Ok(_) => options.open(path).map_err(|e| format!("cannot read it: {e}"))?,
    };
    match file.metadata() {
        Ok(m) if m.is_file() => {}
        Ok(m) => return Err(format!("it is {}", describe_file_type(&m.file_type()))),
        Err(e) => return Err(format!("cannot read it: {e}")),
    }
    let mut bytes = Vec::new();
    file.take(MANIFEST_MAX_BYTES + 1).read_to_end(&mut bytes).map_err(|e| format!("cannot read it: {e}"))?;
    if bytes.len() as u64 > MANIFEST_MAX_BYTES {
        return Err(format!("larger than {} MB", MANIFEST_MAX_BYTES >> 20));
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("tool").and_then(|t| t.as_str()) != Some("stedi-tui") {
        return Err("no \"tool\": \"stedi-tui\"".to_string());
    }
    match value.get("format") {
        None => {}
        Some(f) => match f.as_u64() {
            Some(n) if (1..=MANIFEST_FORMAT).contains(&n) => {}
            Some(n) if n > MANIFEST_FORMAT => {
                return Err(format!("format {n}, written by a later stedi-tui; this one reads up to {MANIFEST_FORMAT}"))
            }
            _ => return Err(format!("its \"format\" is {f}, not one stedi-tui writes")),
        },
    }
    if !value.get("data_dir").is_some_and(|d| d.is_string()) {
        return Err("no \"data_dir\"".to_string());
    }
    let tables = value.get("tables").and_then(|t| t.as_array()).ok_or("no \"tables\" list")?;
    let mut listed = BTreeSet::from([MANIFEST.to_string()]);
    for table in tables {
        let files = table.get("files").and_then(|f| f.as_array()).ok_or("a table without a \"files\" list")?;
        for file in files {
            let path = file.get("path").and_then(|p| p.as_str()).ok_or("a file without a \"path\"")?;
            listed.insert(path.to_string());
        }
    }
    Ok(Some(listed))
}

/// The paths under `dir` that `listed` does not account for, in name order: a file not listed (or
/// listed but no longer a regular file), a folder no listed file is in (named once, with a
/// trailing `/`, its contents not walked). Returns the first [`NAMED_PATHS`] (printable) and the
/// count of all. `skip_manifest`: the manifest is not counted (it was found unusable, and is named
/// as such).
fn unexpected_paths(
    dir: &Path,
    listed: &BTreeSet<String>,
    skip_manifest: bool,
) -> walkdir::Result<(Vec<String>, usize)> {
    let folders: BTreeSet<&str> = listed.iter().flat_map(|p| p.match_indices('/').map(move |(i, _)| &p[..i])).collect();
    let (mut named, mut total) = (Vec::new(), 0);
    let mut walk = walkdir::WalkDir::new(dir).min_depth(1).follow_links(false).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry?;
        let rel = relative(entry.path(), dir);
        let kind = entry.file_type();
        if skip_manifest && rel == MANIFEST {
            if kind.is_dir() {
                walk.skip_current_dir();
            }
            continue;
        }
        if kind.is_dir() && folders.contains(rel.as_str()) || kind.is_file() && listed.contains(&rel) {
            continue;
        }
        if kind.is_dir() {
            walk.skip_current_dir();
        }
        total += 1;
        if named.len() < NAMED_PATHS {
            named.push(format!("{}{}", printable(&rel), if kind.is_dir() { "/" } else { "" }));
        }
    }
    Ok((named, total))
}

/// The hidden sibling folders of an export in progress: `.OUT.tmp-<pid>` and `.OUT.old-<pid>`.
fn sibling(parent: &Path, name: &str, kind: &str) -> PathBuf {
    parent.join(format!(".{name}.{kind}-{}", std::process::id()))
}

/// Remove what an export killed mid-way left beside OUT: `.OUT.tmp-<pid>` / `.OUT.old-<pid>` of a
/// process that is no longer running. An `.old` folder with no OUT (killed between the two renames
/// of the non-Linux path) is the previous export: it is put back. Only what is provably an
/// export's is removed: a `.tmp` folder with the [`IN_PROGRESS`] marker, an `.old` folder that is
/// [replaceable]; anything else of that name is left alone.
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
        if ours(&path, kind) {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// Whether a hidden `.tmp`/`.old` sibling of OUT is an export's own, safe to delete.
fn ours(path: &Path, kind: &str) -> bool {
    let real_folder = fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
    match kind {
        "tmp" => real_folder && fs::symlink_metadata(path.join(IN_PROGRESS)).is_ok_and(|m| m.is_file()),
        _ => real_folder && replaceable(path, path).is_ok(),
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
/// What was at `out` is deleted only if it is still [replaceable] once swapped out (a file added
/// to it since [`check_destination`] would otherwise be lost): if not, it is swapped back and the
/// error names what it holds.
fn publish(guard: &mut TempFolder, out: &Path, old: &Path) -> Result<()> {
    let new = guard.path.clone();
    let new = new.as_path();
    let failed = |e: std::io::Error| EngineError::input(out, format!("cannot replace: {e}"));
    // The previous OUT could not be put back: say where it is, and never delete it.
    let stranded = |at: &Path, e: std::io::Error| {
        EngineError::input(out, format!("cannot put it back ({e}); its contents are in {}", printable_path(at)))
    };
    if fs::symlink_metadata(out).is_err() {
        return fs::rename(new, out).map_err(failed);
    }
    #[cfg(target_os = "linux")]
    {
        match exchange(new, out) {
            // `new` now holds the previous OUT.
            Ok(()) => {
                if let Err(e) = replaceable(new, out) {
                    if let Err(again) = exchange(new, out) {
                        guard.keep = true;
                        return Err(stranded(new, again));
                    }
                    return Err(e);
                }
                let _ = fs::remove_dir_all(new);
                return Ok(());
            }
            // EINVAL/ENOSYS: this file system or kernel cannot exchange; use two renames.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) => {}
            Err(e) => return Err(failed(e)),
        }
    }
    fs::rename(out, old).map_err(failed)?;
    if let Err(e) = replaceable(old, out) {
        return Err(fs::rename(old, out).map_or_else(|again| stranded(old, again), |()| e));
    }
    if let Err(e) = fs::rename(new, out) {
        let _ = fs::rename(old, out);
        return Err(failed(e));
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
    // Left by a killed process that had this pid: removed only if it is an export's.
    if fs::symlink_metadata(&tmp).is_ok() && ours(&tmp, "tmp") {
        let _ = fs::remove_dir_all(&tmp);
    }
    let beside = |e: std::io::Error| {
        EngineError::input(&out, format!("cannot create the export folder beside it ({}): {e}", printable_path(&tmp)))
    };
    fs::create_dir(&tmp).map_err(beside)?;
    let mut guard = TempFolder { path: tmp.clone(), keep: false };
    let marker = tmp.join(IN_PROGRESS);
    fs::write(&marker, b"").map_err(beside)?;

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
        format: MANIFEST_FORMAT,
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
    fs::remove_file(&marker).map_err(|e| EngineError::input(&marker, format!("cannot remove: {e}")))?;
    for entry in walkdir::WalkDir::new(&tmp).into_iter().flatten().filter(|e| e.file_type().is_dir()) {
        sync(entry.path());
    }

    let old = sibling(&parent, &name, "old");
    publish(&mut guard, &out, &old)?;
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
    fn a_folder_changed_since_it_was_checked_is_swapped_back_not_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir_all(out.join("t/trusted")).unwrap();
        let manifest = r#"{"tool":"stedi-tui","format":1,"data_dir":"d","tables":[{"files":[{"path":"t/trusted/part-0.parquet"}]}]}"#;
        fs::write(out.join(MANIFEST), manifest).unwrap();
        fs::write(out.join("t/trusted/part-0.parquet"), b"old").unwrap();
        assert!(check_destination(&out).is_ok(), "a previous export");
        // A file added after the check, while the export ran.
        fs::write(out.join("t/trusted/late.txt"), b"mine").unwrap();
        let new = dir.path().join(".out.tmp-1");
        fs::create_dir(&new).unwrap();
        fs::write(new.join(MANIFEST), manifest).unwrap();
        let mut guard = TempFolder { path: new.clone(), keep: false };
        let err = publish(&mut guard, &out, &dir.path().join(".out.old-1")).unwrap_err().to_string();
        assert!(err.contains("t/trusted/late.txt"), "{err}");
        assert_eq!(fs::read(out.join("t/trusted/late.txt")).unwrap(), b"mine");
        assert_eq!(fs::read(out.join("t/trusted/part-0.parquet")).unwrap(), b"old");
        assert!(new.join(MANIFEST).is_file() && !new.join("t").exists(), "the new export is back in the temp folder");
        drop(guard);
        assert!(!new.exists());
        // Without the late file it is replaced.
        fs::remove_file(out.join("t/trusted/late.txt")).unwrap();
        fs::create_dir(&new).unwrap();
        fs::write(new.join(MANIFEST), manifest).unwrap();
        let mut guard = TempFolder { path: new.clone(), keep: false };
        publish(&mut guard, &out, &dir.path().join(".out.old-1")).unwrap();
        guard.keep = true;
        assert!(!out.join("t").exists() && !new.exists());
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
