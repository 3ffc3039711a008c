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
//! refused, naming where it points. A previous export is removed file by file, only what its
//! manifest lists, then the folders left empty: a file that appears in it after the last check is
//! kept, and named. The hidden folders a killed export left are removed only when they are
//! provably its own: a staging folder holding the marker [`IN_PROGRESS`] (everything in it was
//! written by the export), a previous export being removed (the marker [`REMOVING`]), or a
//! complete export (a replaceable folder); anything else of that name is left alone.
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
mod destination;
mod manifest;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::checks::CheckOutcome;
use super::error::{one_line, EngineError, Result};
use super::load::{table_columns, Column};
use super::sql_text::{quote_ident, quote_literal};
use super::{Engine, TableStats, Zone};
pub use destination::check_destination;
use destination::{path_text, sibling, split_out, sync, Staging};
use manifest::list_files;
pub use manifest::{iso8601_utc, Manifest, ManifestColumn, ManifestFile, ManifestTable};

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
/// The file that marks a folder holding a previous export as being removed (file by file, what its
/// manifest lists), so that a process killed midway leaves it recognisable as an export's.
pub const REMOVING: &str = ".stedi-tui-export-removing";
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
    /// Partition by a personal column (an email, a name, ...) although its values then name
    /// folders and fill the manifest, which are read more widely than the data (`--show-pii`).
    pub personal_partitions: bool,
    /// Test-only: fail after writing this many tables (see the module documentation).
    pub fail_after: Option<usize>,
}

impl ExportOptions {
    /// Options for `out`, with `fail_after` read from `STEDI_EXPORT_FAIL_AFTER`.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        let fail_after = std::env::var(FAIL_AFTER_ENV).ok().and_then(|v| v.trim().parse().ok());
        ExportOptions { out: out.into(), force: false, partition_by: None, personal_partitions: false, fail_after }
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

/// Export every trusted and curated table of a run engine (see the module documentation).
/// `outcomes` are the check results of the same run; they decide the privacy gate and go into the
/// manifest. The steps: the gate, the plan (checked before anything is written), the tables
/// written into a hidden staging folder, the manifest written last, the swap into OUT.
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
    let plan = plan_tables(engine, options, &out)?;

    let mut staging = Staging::create(&parent, &name, &out)?;
    let tables = write_tables(engine, &plan, &staging.path, &out, options.fail_after)?;
    let manifest = Manifest::of_run(engine, outcomes, options, tables, !failed_checks.is_empty())?;
    let text = staging.finish(&manifest)?;

    let old = sibling(&parent, &name, "old");
    let kept = staging.publish(&out, &old)?;
    sync(&parent);
    let mut notices: Vec<String> = kept.into_iter().collect();
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

/// One table to export: where it goes, its columns, and the column it is partitioned by.
struct PlannedTable<'e> {
    table: &'e TableStats,
    folder: String,
    columns: Vec<Column>,
    partition: Option<String>,
}

/// Which tables go where, decided and checked before anything is written: every trusted and
/// curated table, each to a folder of its own; `--partition-by` must name a column of one.
fn plan_tables<'e>(engine: &'e Engine, options: &ExportOptions, out: &Path) -> Result<Vec<PlannedTable<'e>>> {
    let mut plan: Vec<PlannedTable> = Vec::new();
    for table in engine.tables.iter().filter(|t| matches!(t.zone, Zone::Trusted | Zone::Curated)) {
        let folder = table_folder(&table.name, table.zone);
        if folder.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(EngineError::input(out, format!("table {} maps to an unusable folder {folder:?}", table.name)));
        }
        if let Some(other) = plan.iter().find(|p| p.folder == folder) {
            return Err(EngineError::input(
                out,
                format!("tables {} and {} would both be exported to {folder}/", other.table.name, table.name),
            ));
        }
        let columns = table_columns(engine.connection(), &table.name)?;
        plan.push(PlannedTable { table, folder, columns, partition: None });
    }
    if plan.is_empty() {
        return Err(EngineError::input(out, "nothing to export: no trusted or curated table (run the stages first)"));
    }
    if let Some(column) = &options.partition_by {
        if super::mask::is_personal_column(column) && !options.personal_partitions {
            return Err(EngineError::input(
                Path::new("--partition-by"),
                format!(
                    "`{}` is a personal column: its values would name folders and fill {MANIFEST} \
                     (give --show-pii to partition by it all the same)",
                    super::printable::printable(column)
                ),
            ));
        }
        let wanted = column.to_lowercase();
        for planned in &mut plan {
            planned.partition =
                planned.columns.iter().find(|c| c.name.to_lowercase() == wanted).map(|c| c.name.clone());
        }
        if plan.iter().all(|p| p.partition.is_none()) {
            return Err(EngineError::input(
                Path::new("--partition-by"),
                format!("no trusted or curated table has a column {column:?}"),
            ));
        }
    }
    Ok(plan)
}

/// Write each planned table as Parquet under `staging` (`ORDER BY ALL`), and describe what was
/// written. `fail_after`: the test-only fault injection (see the module documentation).
fn write_tables(
    engine: &Engine,
    plan: &[PlannedTable],
    staging: &Path,
    out: &Path,
    fail_after: Option<usize>,
) -> Result<Vec<ManifestTable>> {
    let conn = engine.connection();
    let injected =
        |index: usize| EngineError::input(out, format!("{FAIL_AFTER_ENV}={index}: injected failure (test only)"));
    let mut tables = Vec::with_capacity(plan.len());
    for (index, PlannedTable { table, folder, columns, partition }) in plan.iter().enumerate() {
        if fail_after == Some(index) {
            return Err(injected(index));
        }
        let dir = staging.join(folder);
        let source = format!("SELECT * FROM {} ORDER BY ALL", quote_ident(&table.name));
        let copy = match partition {
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
                out,
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
            partition_by: partition.clone(),
            files: list_files(&dir, staging)?,
        });
    }
    if fail_after == Some(plan.len()) {
        return Err(injected(plan.len()));
    }
    Ok(tables)
}
#[cfg(test)]
mod tests {
    use super::destination::publish;
    use super::*;
    use std::time::UNIX_EPOCH;

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
        let mut guard = Staging { path: new.clone(), keep: false };
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
        let mut guard = Staging { path: new.clone(), keep: false };
        publish(&mut guard, &out, &dir.path().join(".out.old-1")).unwrap();
        guard.keep = true;
        assert!(!out.join("t").exists() && !new.exists());
    }

    /// A previous export at `dir`: a manifest listing two files in nested folders.
    fn previous_export(dir: &Path) -> &'static str {
        let manifest = r#"{"tool":"stedi-tui","format":1,"data_dir":"d","tables":[{"files":[{"path":"a/trusted/part-0.parquet"},{"path":"b/curated/part-0.parquet"}]}]}"#;
        fs::create_dir_all(dir.join("a/trusted")).unwrap();
        fs::create_dir_all(dir.join("b/curated")).unwrap();
        fs::write(dir.join(MANIFEST), manifest).unwrap();
        fs::write(dir.join("a/trusted/part-0.parquet"), b"old").unwrap();
        fs::write(dir.join("b/curated/part-0.parquet"), b"old").unwrap();
        manifest
    }

    #[test]
    fn a_previous_export_is_removed_file_by_file_and_what_it_did_not_list_stays() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".out.tmp-1");
        previous_export(&old);
        assert!(destination::remove_export(&old).is_ok());
        assert!(!old.exists());
        // A file that appeared after the last check (or a folder of the user's) is kept, and named.
        previous_export(&old);
        fs::write(old.join("a/trusted/notes.txt"), b"mine").unwrap();
        let kept = destination::remove_export(&old).unwrap_err();
        assert!(kept.contains("a/trusted/notes.txt") && kept.contains(".out.tmp-1"), "{kept}");
        assert_eq!(fs::read(old.join("a/trusted/notes.txt")).unwrap(), b"mine");
        assert!(!old.join(MANIFEST).exists() && !old.join("b").exists() && !old.join(REMOVING).exists());
    }

    #[test]
    fn a_manifest_listing_a_path_outside_its_folder_is_no_stedi_tui_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(dir.path().join("victim.txt"), b"precious").unwrap();
        for path in ["../victim.txt", "/etc/passwd", "a//b", "./a", ""] {
            let manifest =
                format!(r#"{{"tool":"stedi-tui","data_dir":"d","tables":[{{"files":[{{"path":{path:?}}}]}}]}}"#);
            fs::write(out.join(MANIFEST), manifest).unwrap();
            let err = check_destination(&out).unwrap_err().to_string();
            assert!(err.contains("not a path inside the export"), "{path}: {err}");
            // Even marked as an export being removed, nothing outside it is touched.
            fs::write(out.join(REMOVING), b"").unwrap();
            let _ = destination::remove_export(&out);
            assert_eq!(fs::read(dir.path().join("victim.txt")).unwrap(), b"precious");
            fs::create_dir_all(&out).unwrap();
        }
    }

    #[test]
    fn what_a_killed_export_left_is_removed_only_where_it_is_provably_an_exports() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        // A pid no process has (the kernel's limit is below it).
        let dead = |kind: &str| dir.path().join(format!(".out.{kind}-4194305"));
        // Killed between the manifest and the swap: a complete export, no marker.
        previous_export(&dead("tmp"));
        // Killed while removing the previous export: marked, part of it gone.
        let removing = dir.path().join(".out.old-4194305");
        previous_export(&removing);
        fs::write(removing.join(REMOVING), b"").unwrap();
        fs::remove_file(removing.join("a/trusted/part-0.parquet")).unwrap();
        fs::create_dir_all(&out).unwrap();
        let staging = Staging::create(dir.path(), "out", &out).unwrap();
        assert!(!dead("tmp").exists() && !removing.exists());
        drop(staging);
        // A folder of that name that is not an export's, or that holds a file of the user's, stays.
        previous_export(&dead("tmp"));
        fs::write(dead("tmp").join("mine.txt"), b"mine").unwrap();
        fs::create_dir_all(dead("old").join("x")).unwrap();
        let staging = Staging::create(dir.path(), "out", &out).unwrap();
        assert_eq!(fs::read(dead("tmp").join("mine.txt")).unwrap(), b"mine");
        assert!(dead("tmp").join(MANIFEST).exists() && dead("old").join("x").is_dir());
        drop(staging);
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
