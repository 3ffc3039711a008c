//! `stedi-tui export`: Parquet files read back by independent readers (a fresh DuckDB, pyarrow),
//! the privacy gate, one-line errors, atomic replacement under an injected failure, idempotence
//! and Hive partitioning. Real engine, real DuckDB, real files.
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use stedi_tui::engine::table_columns;
use stedi_tui::engine::Injections;
use stedi_tui::engine::{
    blocking_checks, export, ExportOptions, EXPORT_IN_PROGRESS, EXPORT_MANIFEST as MANIFEST, EXPORT_MANIFEST_FORMAT,
    FAIL_AFTER_ENV,
};
use stedi_tui::engine::{quote_ident, quote_literal};
use stedi_tui::engine::{CheckOptions, Zone};

const FOLDERS: [&str; 5] =
    ["accelerometer/trusted", "customer/curated", "customer/trusted", "step_trainer/curated", "step_trainer/trusted"];

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    // Tests share sample_data/ and run in parallel: no cache here (tests/cache.rs tests it).
    cmd.env("STEDI_TUI_CACHE", "off");
    cmd.current_dir(common::project_root()).env_remove(FAIL_AFTER_ENV);
    cmd
}

fn export_cmd(data: &Path, out: &Path) -> Command {
    let mut cmd = stedi();
    cmd.arg("export").arg("--data").arg(data).arg("--out").arg(out);
    cmd
}

/// Every file under `root` (relative path -> bytes), sorted.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().strip_prefix(root).unwrap().display().to_string(), fs::read(e.path()).unwrap()))
        .collect()
}

fn manifest(out: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(out.join(MANIFEST)).expect("manifest written")).expect("manifest is JSON")
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn sql_path(path: &Path) -> String {
    quote_literal(path.to_str().unwrap())
}

/// DuckDB's logical type of each column of a query, in order.
fn describe(conn: &duckdb::Connection, sql: &str) -> Vec<(String, String)> {
    let mut stmt = conn.prepare(&format!("DESCRIBE {sql}")).unwrap();
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).unwrap();
    rows.map(|r| r.unwrap()).collect()
}

fn count(conn: &duckdb::Connection, sql: &str) -> u64 {
    conn.query_row(&format!("SELECT count(*) FROM ({sql})"), [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// Can this process write into a folder without write permission (root, CAP_DAC_OVERRIDE)?
fn ignores_permissions() -> bool {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
    let writable = fs::write(locked.join("probe"), b"x").is_ok();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    writable
}

#[test]
fn exported_tables_read_back_identically_with_independent_readers() {
    let (data, _) = common::generated(120, 7, Injections::default());
    let (engine, outcomes) = common::run_pipeline(data.path(), &common::queries_dir(), &CheckOptions::default());
    assert!(blocking_checks(&outcomes).is_empty(), "clean data passes the gate");
    // Quotes and spaces in the folder names must reach DuckDB quoted.
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("it's an \"export\"");
    let summary = export(&engine, &outcomes, &ExportOptions::new(&out)).expect("export");
    assert_eq!(summary.tables, 5);
    assert_eq!(entries(parent.path()), vec!["it's an \"export\"".to_string()], "no temporary folder is left");

    let m = manifest(&out);
    assert_eq!(m["forced"], false);
    assert_eq!(m["version"], env!("CARGO_PKG_VERSION"));
    let created = m["created_at"].as_str().unwrap();
    assert!(created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T', "{created}");
    assert_eq!(m["checks"].as_array().unwrap().len(), outcomes.len());
    assert!(m["checks"].as_array().unwrap().iter().all(|c| c["status"] == "pass" || c["severity"] == "warn"));
    let sources = m["sources"].as_array().unwrap();
    let landing_files: usize = engine.tables.iter().map(|t| t.sources.len()).sum();
    assert_eq!(sources.len(), landing_files);
    for s in sources {
        assert_eq!(s["sha256"].as_str().unwrap().len(), 64);
        assert_eq!(
            fs::metadata(data.path().join(s["path"].as_str().unwrap())).unwrap().len(),
            s["bytes"].as_u64().unwrap()
        );
    }

    let mut folders: Vec<String> = Vec::new();
    let fresh = duckdb::Connection::open_in_memory().unwrap();
    let exported = m["tables"].as_array().unwrap();
    for table in engine.tables.iter().filter(|t| t.zone != Zone::Landing) {
        let entry = exported.iter().find(|t| t["name"] == table.name.as_str()).expect("table in manifest");
        let folder = entry["folder"].as_str().unwrap().to_string();
        assert!(table.rows > 0, "{} has rows, so the comparison means something", table.name);
        assert_eq!(entry["rows"].as_u64(), Some(table.rows), "{}", table.name);
        let file = out.join(&folder).join("part-0.parquet");
        assert_eq!(entries(&out.join(&folder)), vec!["part-0.parquet".to_string()]);
        let files = entry["files"].as_array().unwrap();
        assert_eq!(files.len(), 1);
        let bytes = fs::read(&file).unwrap();
        assert_eq!(files[0]["bytes"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(files[0]["path"].as_str().unwrap(), format!("{folder}/part-0.parquet"));
        let sha = sha256_hex(&bytes);
        assert_eq!(files[0]["sha256"].as_str().unwrap(), sha);

        // A fresh DuckDB reads the file: same row count, same columns with the same types.
        let read = format!("SELECT * FROM read_parquet({})", sql_path(&file));
        assert_eq!(count(&fresh, &read), table.rows, "{}", table.name);
        let declared: Vec<(String, String)> = table_columns(engine.connection(), &table.name)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.data_type))
            .collect();
        assert_eq!(describe(&fresh, &read), declared, "{} schema", table.name);
        let schema: Vec<(String, String)> = entry["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c["type"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(schema, declared, "{} manifest schema", table.name);
        // Full contents, duplicates included: EXCEPT ALL both ways is empty.
        let t = quote_ident(&table.name);
        let conn = engine.connection();
        assert_eq!(count(conn, &format!("SELECT * FROM {t} EXCEPT ALL {read}")), 0, "{} rows missing", table.name);
        assert_eq!(count(conn, &format!("{read} EXCEPT ALL SELECT * FROM {t}")), 0, "{} rows extra", table.name);
        pyarrow_agrees(&file, table.rows, &declared);
        folders.push(folder);
    }
    folders.sort();
    assert_eq!(folders, FOLDERS);
    let mut top = entries(&out);
    top.retain(|e| e != MANIFEST);
    assert_eq!(top, vec!["accelerometer", "customer", "step_trainer"]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// pyarrow, a reader that shares no code with DuckDB: row count, column names and Arrow types.
fn pyarrow_agrees(file: &Path, rows: u64, declared: &[(String, String)]) {
    const SCRIPT: &str = "import json, sys, pyarrow.parquet as pq\n\
        t = pq.read_table(sys.argv[1])\n\
        print(json.dumps({'rows': t.num_rows, 'columns': [[f.name, str(f.type)] for f in t.schema]}))";
    let probe = std::process::Command::new("python3").args(["-c", "import pyarrow"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIPPED pyarrow read-back: python3 cannot import pyarrow (.ci/run installs it)");
        return;
    }
    let out = std::process::Command::new("python3").args(["-c", SCRIPT]).arg(file).output().unwrap();
    assert!(out.status.success(), "pyarrow: {}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"].as_u64(), Some(rows), "pyarrow rows of {}", file.display());
    let arrow = |duck: &str| match duck {
        "VARCHAR" => "string",
        "BIGINT" => "int64",
        "INTEGER" => "int32",
        "DOUBLE" => "double",
        "DATE" => "date32[day]",
        "BOOLEAN" => "bool",
        other => panic!("no Arrow type listed for {other}"),
    };
    let columns: Vec<(String, String)> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_str().unwrap().to_string()))
        .collect();
    let expected: Vec<(String, String)> = declared.iter().map(|(n, t)| (n.clone(), arrow(t).to_string())).collect();
    assert_eq!(columns, expected, "pyarrow schema of {}", file.display());
}

#[test]
fn failing_privacy_checks_refuse_the_export_unless_forced() {
    let (data, _) = common::generated(80, 3, Injections::parse("revoked=2", 3).unwrap());
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("export");
    let refused = export_cmd(data.path(), &out).output().unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("consent_leak."), "names the failed checks: {stderr}");
    assert!(refused.stdout.is_empty());
    assert!(!out.exists(), "nothing written");
    assert!(entries(parent.path()).is_empty(), "no temporary folder either");

    let forced = export_cmd(data.path(), &out).arg("--force").output().unwrap();
    assert_eq!(forced.status.code(), Some(0), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(String::from_utf8_lossy(&forced.stdout).trim(), out.join(MANIFEST).display().to_string());
    let m = manifest(&out);
    assert_eq!(m["forced"], true);
    let failed: Vec<&str> = m["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail" && c["severity"] == "error")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(!failed.is_empty() && failed.iter().all(|id| stderr.contains(id)), "{failed:?} named in {stderr}");
}

#[test]
fn unusable_destinations_are_one_line_errors() {
    let (data, _) = common::generated(40, 5, Injections::default());
    let dir = tempfile::tempdir().unwrap();

    // OUT is an existing regular file.
    let file = dir.path().join("taken");
    fs::write(&file, b"not a folder").unwrap();
    common::assert_one_line_error(&mut export_cmd(data.path(), &file), "taken");
    assert_eq!(fs::read(&file).unwrap(), b"not a folder");

    // OUT's parent folder does not exist.
    let missing = dir.path().join("no-such-parent");
    common::assert_one_line_error(&mut export_cmd(data.path(), &missing.join("out")), "no-such-parent");
    assert!(!missing.exists());

    // OUT's parent is a regular file: nothing can be created there, not even by root.
    common::assert_one_line_error(&mut export_cmd(data.path(), &file.join("out")), "taken");

    // A read-only parent. chmod does not stop root (CI runs as root), so there the read-only case
    // is a folder under /proc, where no one can create folders; otherwise a chmod 0555 folder.
    if ignores_permissions() {
        if Path::new("/proc/self").exists() {
            common::assert_one_line_error(
                &mut export_cmd(data.path(), Path::new("/proc/stedi-tui-export")),
                "/proc/stedi-tui-export",
            );
        }
    } else {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("locked");
        fs::create_dir(&locked).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o555)).unwrap();
        common::assert_one_line_error(&mut export_cmd(data.path(), &locked.join("out")), "locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    }

    // A non-empty folder that is not a previous export is never replaced.
    let precious = dir.path().join("precious");
    fs::create_dir(&precious).unwrap();
    fs::write(precious.join("thesis.txt"), b"keep me").unwrap();
    common::assert_one_line_error(&mut export_cmd(data.path(), &precious), "precious");
    assert_eq!(fs::read(precious.join("thesis.txt")).unwrap(), b"keep me");

    // A partition column no exported table has.
    common::assert_one_line_error(
        export_cmd(data.path(), &dir.path().join("p")).args(["--partition-by", "nope"]),
        "nope",
    );
    let mut left = entries(dir.path());
    left.retain(|e| e != "taken" && e != "precious" && e != "locked");
    assert!(left.is_empty(), "nothing else created: {left:?}");
}

#[test]
fn a_failure_mid_export_leaves_the_previous_export_untouched() {
    let (data, _) = common::generated(60, 9, Injections::default());
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("export");
    export_cmd(data.path(), &out).assert().success();
    let before = snapshot(&out);
    assert_eq!(before.len(), 6, "five tables and the manifest: {:?}", before.keys());

    // Different data, so a replaced export would show; the injected failure comes after one table.
    let (other, _) = common::generated(70, 10, Injections::default());
    let mut cmd = export_cmd(other.path(), &out);
    cmd.env(FAIL_AFTER_ENV, "1");
    common::assert_one_line_error(&mut cmd, "injected failure");
    assert_eq!(snapshot(&out), before, "the previous export is byte-identical");
    assert_eq!(entries(parent.path()), vec!["export"], "no temporary folder left beside it");

    // What a killed export leaves (its hidden temp folder, marked as an export's, its pid gone) is
    // cleared by the next one; a folder of the same name without the marker is not an export's: kept.
    let stale = parent.path().join(".export.tmp-999999999");
    fs::create_dir_all(stale.join("customer/trusted")).unwrap();
    fs::write(stale.join("customer/trusted/part-0.parquet"), b"half").unwrap();
    fs::write(stale.join(EXPORT_IN_PROGRESS), b"").unwrap();
    let lookalike = parent.path().join(".export.tmp-999999998");
    fs::create_dir_all(&lookalike).unwrap();
    fs::write(lookalike.join("mine.txt"), b"not an export's").unwrap();
    export_cmd(other.path(), &out).assert().success();
    assert_eq!(entries(parent.path()), vec![".export.tmp-999999998", "export"]);
    assert_eq!(fs::read(lookalike.join("mine.txt")).unwrap(), b"not an export's");
    assert_ne!(snapshot(&out), before, "the successful export did replace it");
    assert!(!out.join(EXPORT_IN_PROGRESS).exists(), "the in-progress marker is not published");
}

#[test]
fn exporting_twice_gives_the_same_files() {
    let (data, _) = common::generated(90, 21, Injections::parse("duplicates=2,cross-customer=2", 3).unwrap());
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("export");
    export_cmd(data.path(), &out).assert().success();
    let first = snapshot(&out);
    let first_manifest = manifest(&out);
    export_cmd(data.path(), &out).assert().success();
    let second = snapshot(&out);
    let second_manifest = manifest(&out);
    assert_eq!(first.keys().collect::<Vec<_>>(), second.keys().collect::<Vec<_>>());
    assert_eq!(first_manifest["tables"], second_manifest["tables"], "same rows, schemas and file hashes");
    for (name, bytes) in &first {
        if name != MANIFEST {
            assert!(bytes == &second[name], "{name} is byte-identical");
        }
    }
    // Never appended: the rows in the files are the rows of the tables.
    let fresh = duckdb::Connection::open_in_memory().unwrap();
    for t in second_manifest["tables"].as_array().unwrap() {
        let file = out.join(t["folder"].as_str().unwrap()).join("part-0.parquet");
        assert_eq!(
            Some(count(&fresh, &format!("SELECT * FROM read_parquet({})", sql_path(&file)))),
            t["rows"].as_u64()
        );
    }
    assert_eq!(entries(parent.path()), vec!["export"]);
}

#[test]
fn partition_by_writes_hive_folders_for_the_tables_that_have_the_column() {
    let (data, _) = common::generated(50, 4, Injections::default());
    let parent = tempfile::tempdir().unwrap();
    let out = parent.path().join("export");
    export_cmd(data.path(), &out).args(["--partition-by", "serialNumber"]).assert().success();
    let m = manifest(&out);
    assert_eq!(m["partition_by"], "serialNumber");
    let fresh = duckdb::Connection::open_in_memory().unwrap();
    let mut partitioned = Vec::new();
    for t in m["tables"].as_array().unwrap() {
        let folder: PathBuf = out.join(t["folder"].as_str().unwrap());
        let rows = t["rows"].as_u64().unwrap();
        let files: Vec<&str> = t["files"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
        if t["partition_by"].is_null() {
            assert_eq!(files, vec![format!("{}/part-0.parquet", t["folder"].as_str().unwrap())]);
            continue;
        }
        partitioned.push(t["name"].as_str().unwrap().to_string());
        assert_eq!(t["partition_by"], "serialNumber");
        let dirs = entries(&folder);
        assert!(dirs.len() > 1 && dirs.iter().all(|d| d.starts_with("serialNumber=")), "{dirs:?}");
        assert!(files.iter().all(|f| f.contains("/serialNumber=") && f.ends_with(".parquet")), "{files:?}");
        let glob = format!("{}/*/*.parquet", folder.to_str().unwrap());
        let read = format!("SELECT * FROM read_parquet({}, hive_partitioning = true)", quote_literal(&glob));
        assert_eq!(count(&fresh, &read), rows, "{}", t["name"]);
        let columns: Vec<String> = describe(&fresh, &read).into_iter().map(|c| c.0).collect();
        assert!(columns.contains(&"serialNumber".to_string()), "{columns:?}");
        assert_eq!(columns.len(), t["schema"].as_array().unwrap().len());
    }
    partitioned.sort();
    assert_eq!(
        partitioned,
        ["customer_curated", "customer_trusted", "machine_learning_curated", "step_trainer_trusted"]
    );

    // A personal column would put its values in folder names and the manifest: only when asked.
    let refusal = refusal(export_cmd(data.path(), &out).args(["--partition-by", "EMAIL"]));
    assert!(refusal.contains("is a personal column") && refusal.contains("--show-pii"), "{refusal}");
    export_cmd(data.path(), &out).args(["--partition-by", "email", "--show-pii"]).assert().success();
    assert!(entries(&out.join("customer/trusted")).iter().all(|d| d.starts_with("email=")));
}

/// Unmounts the small tmpfs of the disk-full test, also when the test fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_is_a_one_line_error_and_leaves_nothing_behind() {
    let (data, _) = common::generated(300, 6, Injections::default());
    let dir = tempfile::tempdir().unwrap();
    let disk = dir.path().join("disk");
    fs::create_dir(&disk).unwrap();
    // A 64 KiB tmpfs fills up during the export. Mounting needs root (CI runs as root); elsewhere skip.
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&disk)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("SKIPPED disk-full test: cannot mount a small tmpfs here (needs root)");
        return;
    }
    let _unmount = Mounted(disk.clone());
    let out = disk.join("export");
    let mut cmd = export_cmd(data.path(), &out);
    common::assert_one_line_error(&mut cmd, &out.display().to_string());
    let stderr = String::from_utf8_lossy(&cmd.output().unwrap().stderr).into_owned();
    assert!(stderr.contains("No space left on device"), "{stderr}");
    assert!(entries(&disk).is_empty(), "no half-written folder: {:?}", entries(&disk));
}

/// `cmd` exits 2 with one line on stderr; returns that line.
fn refusal(cmd: &mut Command) -> String {
    let out = cmd.timeout(std::time::Duration::from_secs(300)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    stderr
}

/// Every file of an export is its manifest or listed in it: what a later export checks before
/// replacing it.
fn assert_manifest_lists_every_file(out: &Path) {
    let m = manifest(out);
    let listed: std::collections::BTreeSet<String> = m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["files"].as_array().unwrap())
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(m["format"], EXPORT_MANIFEST_FORMAT);
    for name in snapshot(out).keys() {
        assert!(name == MANIFEST || listed.contains(name), "{name} is not listed in the manifest");
    }
}

#[test]
fn a_folder_whose_manifest_is_not_a_stedi_tui_manifest_is_never_replaced() {
    let (data, _) = common::generated(40, 12, Injections::default());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    fs::create_dir_all(out.join("notes")).unwrap();
    fs::write(out.join("thesis.txt"), b"keep me").unwrap();
    fs::write(out.join("notes/chapter 1.md"), b"and me").unwrap();
    let not_ours: [(&str, &[u8]); 5] = [
        ("not JSON", b"this is not JSON"),
        ("tool", br#"{"tool": "other", "data_dir": "x", "tables": []}"#),
        ("data_dir", br#"{"tool": "stedi-tui", "tables": []}"#),
        ("files", br#"{"tool": "stedi-tui", "data_dir": "x", "tables": [{"name": "t"}]}"#),
        ("later stedi-tui", br#"{"tool": "stedi-tui", "format": 99, "data_dir": "x", "tables": []}"#),
    ];
    for (why, text) in not_ours {
        fs::write(out.join(MANIFEST), text).unwrap();
        let before = snapshot(&out);
        let stderr = refusal(&mut export_cmd(data.path(), &out));
        assert!(stderr.contains("not a stedi-tui export manifest") && stderr.contains(why), "{why}: {stderr}");
        assert!(stderr.contains("notes/, thesis.txt"), "names the user's paths: {stderr}");
        assert_eq!(snapshot(&out), before, "{why}: nothing touched");
    }
    // Not a regular file: a folder, a FIFO (never opened: reading one would wait for a writer).
    fs::remove_file(out.join(MANIFEST)).unwrap();
    fs::create_dir(out.join(MANIFEST)).unwrap();
    let stderr = refusal(&mut export_cmd(data.path(), &out));
    assert!(stderr.contains("is a folder") && stderr.ends_with("it holds notes/, thesis.txt\n"), "{stderr}");
    fs::remove_dir(out.join(MANIFEST)).unwrap();
    common::mkfifo(&out.join(MANIFEST));
    let stderr = refusal(&mut export_cmd(data.path(), &out));
    assert!(stderr.contains("FIFO") && stderr.contains("thesis.txt"), "{stderr}");
    // No manifest at all: a folder that is not empty is not an export either.
    fs::remove_file(out.join(MANIFEST)).unwrap();
    let stderr = refusal(&mut export_cmd(data.path(), &out));
    assert!(stderr.contains("has no _manifest.json") && stderr.contains("notes/, thesis.txt"), "{stderr}");
    assert_eq!(fs::read(out.join("thesis.txt")).unwrap(), b"keep me");
    assert_eq!(fs::read(out.join("notes/chapter 1.md")).unwrap(), b"and me");
    assert_eq!(entries(dir.path()), vec!["out"], "no temporary folder left");
}

#[test]
fn files_added_to_a_previous_export_are_never_deleted() {
    let (data, _) = common::generated(40, 13, Injections::default());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export");
    export_cmd(data.path(), &out).assert().success();
    assert_manifest_lists_every_file(&out);
    let clean = snapshot(&out);

    // One file beside the Parquet files of a table: refused, named, kept.
    let added = out.join("customer/trusted/my notes.txt");
    fs::write(&added, b"mine").unwrap();
    let stderr = refusal(&mut export_cmd(data.path(), &out));
    assert!(
        stderr.contains(
            "holds 1 path its _manifest.json does not list (not written by stedi-tui export) or that changed since"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("customer/trusted/my notes.txt"), "{stderr}");
    assert_eq!(fs::read(&added).unwrap(), b"mine");
    fs::remove_file(&added).unwrap();

    // More than five: five named, in name order, and how many more; a folder is named once.
    fs::create_dir_all(out.join("extra/deep")).unwrap();
    fs::write(out.join("extra/deep/x.bin"), b"x").unwrap();
    fs::create_dir(out.join("customer/trusted/empty")).unwrap();
    for name in ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"] {
        fs::write(out.join(name), name).unwrap();
    }
    std::os::unix::fs::symlink("/etc", out.join("customer/curated/link")).unwrap();
    let stderr = refusal(&mut export_cmd(data.path(), &out));
    assert!(stderr.contains("holds 8 paths"), "{stderr}");
    assert!(
        stderr.trim_end().ends_with(
            "not replacing it: a.txt, b.txt, c.txt, customer/curated/link, customer/trusted/empty/ and 3 more"
        ),
        "{stderr}"
    );
    let forced = refusal(export_cmd(data.path(), &out).arg("--force"));
    assert!(forced.contains("and 3 more"), "--force does not override it: {forced}");
    assert_eq!(fs::read(out.join("extra/deep/x.bin")).unwrap(), b"x");
    for name in ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "extra", "customer/curated/link"] {
        let path = out.join(name);
        fs::symlink_metadata(&path).unwrap();
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            fs::remove_dir_all(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
    }
    fs::remove_dir(out.join("customer/trusted/empty")).unwrap();
    assert_eq!(snapshot(&out), clean);

    // A listed file replaced by a symlink is not what the export wrote either.
    let parquet = out.join("customer/trusted/part-0.parquet");
    let saved = fs::read(&parquet).unwrap();
    fs::remove_file(&parquet).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", &parquet).unwrap();
    assert!(refusal(&mut export_cmd(data.path(), &out)).contains("customer/trusted/part-0.parquet"));
    fs::remove_file(&parquet).unwrap();

    // So is a listed file a user overwrote with their own: a different size, or the same size and
    // other bytes (its SHA-256 is not the manifest's).
    for mine in [b"my own table".to_vec(), saved.iter().map(|b| b ^ 1).collect::<Vec<u8>>()] {
        fs::write(&parquet, &mine).unwrap();
        let stderr = refusal(&mut export_cmd(data.path(), &out));
        assert!(stderr.contains("customer/trusted/part-0.parquet (changed)"), "{stderr}");
        assert_eq!(fs::read(&parquet).unwrap(), mine);
    }
    fs::write(&parquet, saved).unwrap();

    // A clean previous export is replaced; so is one whose manifest predates the format field.
    let (other, _) = common::generated(45, 14, Injections::default());
    export_cmd(other.path(), &out).assert().success();
    assert_ne!(snapshot(&out), clean, "replaced");
    let mut m = manifest(&out);
    m.as_object_mut().unwrap().remove("format");
    fs::write(out.join(MANIFEST), serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    export_cmd(data.path(), &out).assert().success();
    assert_manifest_lists_every_file(&out);
    assert_eq!(entries(dir.path()), vec!["export"]);
}

#[test]
fn out_given_as_a_symlink_is_refused_and_says_so() {
    let (data, _) = common::generated(40, 15, Injections::default());
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    export_cmd(data.path(), &real).assert().success();
    let before = snapshot(&real);
    let link = dir.path().join("latest");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let stderr = refusal(&mut export_cmd(data.path(), &link));
    assert!(stderr.contains("latest: is a symlink (to ") && stderr.contains("real)"), "{stderr}");
    assert!(stderr.contains("give the folder's own path"), "{stderr}");
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
    assert_eq!(snapshot(&real), before, "its target untouched");
    // A dangling one too.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    assert!(refusal(&mut export_cmd(data.path(), &dangling)).contains("is a symlink"));
    assert!(!dir.path().join("nowhere").exists());
    // The folder's own path works, and so does a path through a symlinked parent.
    std::os::unix::fs::symlink(dir.path(), dir.path().join("parent-link")).unwrap();
    export_cmd(data.path(), &dir.path().join("parent-link/real")).assert().success();
    let mut left = entries(dir.path());
    left.sort();
    assert_eq!(left, vec!["dangling", "latest", "parent-link", "real"]);
}
