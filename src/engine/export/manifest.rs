//! The export's `_manifest.json`: what it holds (written last, the role of Spark's `_SUCCESS`), and
//! reading a previous export's listing back before it may be replaced.
use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::destination::sync;
use super::{ExportOptions, MANIFEST, MANIFEST_FORMAT, MANIFEST_MAX_BYTES};
use crate::engine::checks::CheckOutcome;
use crate::engine::error::{EngineError, Result};
use crate::engine::printable::{describe_file_type, printable};
use crate::engine::{Engine, Zone};

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
    pub severity: crate::engine::Severity,
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
    pub sql: crate::engine::SqlProvenance,
    /// True when error-severity checks failed and the export was forced past the privacy gate.
    pub forced: bool,
    pub partition_by: Option<String>,
    pub sources: Vec<ManifestSource>,
    pub tables: Vec<ManifestTable>,
    pub checks: Vec<ManifestCheck>,
}

impl Manifest {
    /// The manifest of an export of `engine`'s run: its tool and versions, the landing files it
    /// read (by SHA-256), the SQL, the tables written and the checks' outcomes. `forced`: written
    /// although an error-severity check failed (`--force`).
    pub(super) fn of_run(
        engine: &Engine,
        outcomes: &[CheckOutcome],
        options: &ExportOptions,
        tables: Vec<ManifestTable>,
        forced: bool,
    ) -> Result<Manifest> {
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
        let conn = engine.connection();
        let duckdb_version: String = conn.query_row("SELECT version()", [], |r| r.get(0))?;
        Ok(Manifest {
            tool: "stedi-tui",
            format: MANIFEST_FORMAT,
            version: env!("CARGO_PKG_VERSION"),
            duckdb_version,
            created_at: iso8601_utc(SystemTime::now()),
            data_dir: crate::engine::cache::registry::absolute(&engine.options.data_dir),
            mode: engine.options.mode.as_str(),
            sql: engine.catalog.sql.provenance(),
            forced,
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
        })
    }
}

/// The files a previous export's manifest lists (relative to OUT, `/`-separated, the manifest
/// itself included); `Ok(None)` when there is no manifest, `Err(why)` when it is not a stedi-tui
/// manifest: not a regular file, not JSON, another tool's, a later format, or missing `data_dir`
/// or the tables' `files`. It is opened without following a symlink and without blocking (a FIFO
/// named `_manifest.json` is refused, never read).
pub(super) fn read_manifest_listing(path: &Path) -> std::result::Result<Option<Listing>, String> {
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
    let mut listed = Listing::from([(MANIFEST.to_string(), Listed::default())]);
    for table in tables {
        let files = table.get("files").and_then(|f| f.as_array()).ok_or("a table without a \"files\" list")?;
        for file in files {
            let path = file.get("path").and_then(|p| p.as_str()).ok_or("a file without a \"path\"")?;
            // stedi-tui lists the files it wrote inside OUT, by their paths relative to it.
            if path.split('/').any(|part| matches!(part, "" | "." | "..") || part.contains('\0')) {
                return Err(format!("it lists `{}`, not a path inside the export", printable(path)));
            }
            let listed_as = Listed {
                bytes: file.get("bytes").and_then(|b| b.as_u64()),
                sha256: file.get("sha256").and_then(|h| h.as_str()).map(str::to_string),
            };
            listed.insert(path.to_string(), listed_as);
        }
    }
    Ok(Some(listed))
}

/// The files a manifest lists, by path (relative to OUT), with what it says of each.
pub(super) type Listing = BTreeMap<String, Listed>;

/// What a manifest says of a file it lists: its size and SHA-256 (the manifest itself has none).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Listed {
    pub bytes: Option<u64>,
    pub sha256: Option<String>,
}

pub(super) fn sha256_file(path: &Path) -> Result<(u64, String)> {
    crate::engine::cache::sha256_file(path).map_err(|e| EngineError::input(path, format!("cannot read: {e}")))
}

/// `/`-separated path of `path` relative to `root`.
pub(super) fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/")
}

/// Every file under `dir`, sorted, relative to `root`, with size and SHA-256; each synced to disk.
pub(super) fn list_files(dir: &Path, root: &Path) -> Result<Vec<ManifestFile>> {
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
