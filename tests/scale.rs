//! Speed and scale: batched landing loads keep per-file counts, DuckDB spills to `--temp-dir` under
//! a memory limit and cleans up, and progress bars never reach a stderr that is not a terminal.
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command as Process;

use assert_cmd::Command;
use stedi_tui::engine::{generate, GenerateOptions};
use stedi_tui::engine::{CheckOptions, Engine, EngineOptions};

fn stedi() -> Command {
    let mut cmd = Command::cargo_bin("stedi-tui").unwrap();
    // Tests share sample_data/ and run in parallel: no cache here (tests/cache.rs tests it).
    cmd.env("STEDI_TUI_CACHE", "off");
    cmd.current_dir(common::project_root());
    cmd
}

/// Records of a newline-delimited file (the generator writes one record per line).
fn lines(path: &Path) -> u64 {
    fs::read_to_string(path).unwrap().lines().filter(|l| !l.trim().is_empty()).count() as u64
}

#[test]
fn batched_loads_count_every_files_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = GenerateOptions::new(dir.path(), 400, 7);
    options.readings = 12;
    generate(&options).unwrap();
    // An empty file among them is counted as 0 rows, not a failed batch.
    fs::write(dir.path().join("accelerometer/landing/accelerometer-0-empty.json"), "").unwrap();
    let (engine, _) = common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions::default());
    for table in ["accelerometer_landing", "step_trainer_landing", "customer_landing"] {
        let stats = engine.table(table).unwrap();
        assert!(stats.sources.len() >= 2, "{table}: several files");
        for source in &stats.sources {
            assert_eq!(source.rows, lines(&source.path), "{}", source.path.display());
        }
        assert_eq!(stats.rows, stats.sources.iter().map(|s| s.rows).sum::<u64>(), "{table}");
        // The file-number column of the batched load is gone again.
        let columns = engine
            .fetch(&format!("SELECT column_name FROM duckdb_columns() WHERE table_name = '{table}'"), 50, 0)
            .unwrap();
        assert!(columns.rows.iter().all(|r| !r[0].as_deref().unwrap().starts_with("stedi_tui")), "{table}");
    }
}

#[test]
fn a_batch_duckdb_refuses_is_loaded_file_by_file_with_rejects_on_the_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = GenerateOptions::new(dir.path(), 300, 5);
    options.readings = 12;
    generate(&options).unwrap();
    let mut files: Vec<_> =
        fs::read_dir(dir.path().join("accelerometer/landing")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3);
    let bad = files[1].clone();
    let mut text = fs::read_to_string(&bad).unwrap();
    text.push_str("{\"user\":\"Ada.Test@test.com\",\"timestamp\":7,\"x\":\"abc\",\"y\":0,\"z\":0}\n");
    fs::write(&bad, text).unwrap();
    let (engine, outcomes) = common::run_pipeline(dir.path(), &common::queries_dir(), &CheckOptions::default());
    let stats = engine.table("accelerometer_landing").unwrap();
    for source in &stats.sources {
        let (rows, rejected) = if source.path == bad { (lines(&bad) - 1, 1) } else { (lines(&source.path), 0) };
        assert_eq!((source.rows, source.rejected), (rows, rejected), "{}", source.path.display());
    }
    assert_eq!(common::failing(&outcomes).get("rejected.accelerometer_landing"), Some(&1));
}

#[test]
fn a_memory_limit_smaller_than_the_data_spills_to_the_temp_dir_which_is_removed() {
    let data = tempfile::tempdir().unwrap();
    let mut generated = GenerateOptions::new(data.path(), 3_000, 11);
    generated.readings = 30;
    generate(&generated).unwrap();
    let spill = tempfile::tempdir().unwrap();
    let mut options = EngineOptions::new(data.path(), common::queries_dir());
    options.memory_limit = Some("64MB".to_string());
    options.threads = Some(1);
    options.temp_dir = Some(spill.path().to_path_buf());
    let mut unlimited = Engine::open(EngineOptions::new(data.path(), common::queries_dir())).unwrap();
    let expected = unlimited.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    drop(unlimited);

    let mut engine = Engine::open(options).unwrap();
    let setting = engine.fetch("SELECT current_setting('temp_directory')", 1, 0).unwrap().rows[0][0].clone().unwrap();
    assert!(setting.starts_with(spill.path().to_str().unwrap()), "{setting}");
    let outcomes = engine.run_all(&CheckOptions::default(), &mut |_| {}).unwrap();
    let spilled = engine.fetch("SELECT count(*) FROM duckdb_temporary_files()", 1, 0).unwrap().rows[0][0].clone();
    assert_ne!(spilled.as_deref(), Some("0"), "the tables outgrow 64MB: some of their blocks live in the temp dir");
    let folders: Vec<_> = fs::read_dir(spill.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(folders.len(), 1, "one stedi-tui-<pid>-<16 hex digits> folder");
    let name = folders[0].file_name().unwrap().to_string_lossy().into_owned();
    let hex = name.strip_prefix(&format!("stedi-tui-{}-", std::process::id())).unwrap();
    assert!(hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
    assert_eq!(fs::metadata(&folders[0]).unwrap().permissions().mode() & 0o777, 0o700, "owner-only");
    let counts =
        |o: &[stedi_tui::engine::CheckOutcome]| o.iter().map(|c| (c.id.clone(), c.failing_rows)).collect::<Vec<_>>();
    assert_eq!(counts(&outcomes), counts(&expected), "same results as without a limit");
    drop(engine);
    assert_eq!(fs::read_dir(spill.path()).unwrap().count(), 0, "the spill folder goes with the engine");
}

/// A pid that was alive a moment ago and is no longer.
fn dead_pid() -> u32 {
    let mut child = Process::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// What a run killed with kill -9 leaves: spill folders (`stedi-tui-<pid>-<16 hex>`, and the
/// `stedi-tui-<pid>-<n>` of older builds) in the temp folder it used, and the scratch files of
/// records that older builds wrote to the system's temp folder. The next run removes those of
/// dead processes, in `--temp-dir` and in TMPDIR (the default temp folder), and keeps those of a live process, those of
/// another user and whatever is behind a link.
#[test]
fn leftovers_of_dead_runs_go_at_the_next_start_but_never_a_live_processs_or_another_users() {
    let root = tempfile::tempdir().unwrap();
    let (tmp, chosen, elsewhere) = (root.path().join("tmp"), root.path().join("chosen"), root.path().join("elsewhere"));
    for dir in [&tmp, &chosen, &elsewhere] {
        fs::create_dir(dir).unwrap();
    }
    let (dead, live) = (dead_pid(), std::process::id());
    let folder = |parent: &Path, name: String| {
        let dir = parent.join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("duckdb_temp_storage-0.tmp"), "customer rows").unwrap();
        dir
    };
    let file = |parent: &Path, name: String| {
        let path = parent.join(name);
        fs::write(&path, "{\"email\": \"Ada.Test@test.com\"}\n").unwrap();
        path
    };
    let gone = [
        folder(&tmp, format!("stedi-tui-{dead}-00ff00ff00ff00ff")),
        folder(&tmp, format!("stedi-tui-{dead}-3")),
        file(&tmp, format!("stedi-tui-{dead}-0.ndjson")),
        folder(&chosen, format!("stedi-tui-{dead}-0123456789abcdef")),
    ];
    let other_user =
        [folder(&tmp, format!("stedi-tui-{dead}-aaaaaaaaaaaaaaaa")), file(&tmp, format!("stedi-tui-{dead}-5.ndjson"))];
    for path in &other_user {
        std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    }
    let target = folder(&elsewhere, "kept".to_string());
    let link = tmp.join(format!("stedi-tui-{dead}-link"));
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let kept = [
        folder(&tmp, format!("stedi-tui-{live}-0123456789abcdef")),
        file(&tmp, format!("stedi-tui-{live}-1.ndjson")),
        // Not a name stedi-tui gives: a scratch file's name in --temp-dir, a folder's name with
        // no pid, a file that is no scratch file.
        file(&chosen, format!("stedi-tui-{dead}-2.ndjson")),
        folder(&tmp, "stedi-tui-cache".to_string()),
        file(&tmp, format!("stedi-tui-{dead}-0.json")),
    ];
    let out =
        stedi().env("TMPDIR", &tmp).args(["--check", "--format", "json", "--temp-dir"]).arg(&chosen).output().unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
    for path in &gone {
        assert!(!path.exists(), "{} is removed", path.display());
    }
    for path in other_user.iter().chain(&kept).chain([&link, &target.join("duckdb_temp_storage-0.tmp")]) {
        assert!(fs::symlink_metadata(path).is_ok(), "{} is kept", path.display());
    }
    let left: Vec<_> = fs::read_dir(&chosen).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left.len(), 1, "the run's own spill folder is gone too: {left:?}");
}

#[test]
fn a_temp_dir_that_is_no_folder_is_a_one_line_error() {
    common::assert_one_line_error(
        stedi().args(["--check", "--temp-dir", "no/such/temp"]),
        "no/such/temp: temp folder not found",
    );
}

#[test]
fn progress_never_reaches_a_piped_stderr() {
    let out = stedi().args(["--check", "--format", "json"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code().is_some_and(|c| c < 2), "{stderr}");
    assert!(!stderr.contains('\r') && !stderr.contains('\u{1b}') && !stderr.contains("check ["), "{stderr:?}");
    serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("stdout is the report only");
}

/// On a terminal (a pty from `script`) the bar is drawn on stderr, and `--quiet` turns it off.
#[test]
fn progress_shows_on_a_terminal_unless_quiet() {
    if Process::new("script").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no `script` to give stedi-tui a terminal");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("stedi-tui");
    let report = tempfile::tempdir().unwrap();
    let run = |extra: &str| {
        let command =
            format!("{} --check --output {} {extra}", bin.display(), report.path().join("report.txt").display());
        let out = Process::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("STEDI_TUI_CACHE", "off")
            .current_dir(common::project_root())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = run("");
    assert!(shown.contains("check [") && shown.contains("load ["), "{shown:?}");
    let quiet = run("--quiet");
    assert!(!quiet.contains("check [") && !quiet.contains("load ["), "{quiet:?}");
}
