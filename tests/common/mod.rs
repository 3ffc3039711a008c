//! Shared helpers for the integration tests: generated data sets in temp folders and a full engine
//! run over them. Everything runs the real engine on a real DuckDB.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stedi_tui::engine::{generate, GenerateOptions, GenerateSummary, Injections};
use stedi_tui::engine::{CheckOptions, CheckOutcome, Engine, EngineOptions};

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn queries_dir() -> PathBuf {
    project_root().join("queries")
}

/// Generate a data set into a new temp folder.
pub fn generated(customers: usize, seed: u64, inject: Injections) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut options = GenerateOptions::new(dir.path(), customers, seed);
    options.readings = 8;
    options.inject = inject;
    let summary = generate(&options).expect("generate");
    (dir, summary)
}

/// Load, run the stages and the checks; return the engine (for row counts) and the outcomes.
pub fn run_pipeline(data: &Path, queries: &Path, options: &CheckOptions) -> (Engine, Vec<CheckOutcome>) {
    let mut engine = Engine::open(EngineOptions::new(data, queries)).expect("open");
    let outcomes = engine.run_all(options, &mut |_| {}).expect("pipeline runs");
    (engine, outcomes)
}

pub fn failing(outcomes: &[CheckOutcome]) -> BTreeMap<String, u64> {
    outcomes.iter().filter(|o| !o.passed()).map(|o| (o.id.clone(), o.failing_rows)).collect()
}

/// Copy a folder tree (for editing a copy of queries/ in a test).
/// Copy a data folder, without the cache a run may have left in it (DATA/.stedi/).
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).into_iter().filter_entry(|e| e.file_name() != ".stedi") {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The real Udacity data, read in place from $STEDI_REAL_DATA (never copied); None, with a
/// SKIPPED line, when the variable is unset.
pub fn real_data() -> Option<PathBuf> {
    match std::env::var_os("STEDI_REAL_DATA") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("SKIPPED: STEDI_REAL_DATA is not set (CI sets it when ../shared/udacity-stedi exists)");
            None
        }
    }
}

/// Exit 2 with exactly one line on stderr that names `needle`, and no backtrace.
pub fn assert_one_line_error(cmd: &mut assert_cmd::Command, needle: &str) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

/// The TUI's screen as text, drawn twice: the first draw tells the app how many rows fit, which
/// may ask the worker for another page.
pub fn tui_screen(app: &mut stedi_tui::tui::app::App, width: u16, height: u16) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| stedi_tui::tui::views::draw(f, app)).unwrap();
    app.wait_idle(std::time::Duration::from_secs(30));
    terminal.draw(|f| stedi_tui::tui::views::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            out.push_str(buffer[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Make a FIFO (named pipe) at `path`.
pub fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only reads it.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo {}", path.display());
}
