//! The TUI on a TestBackend, driven by key sequences over the real engine on sample_data/ (csvlens
//! style), plus insta snapshots of every view at 120×40 and 80×24.
mod common;

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use stedi_tui::engine::{CheckOptions, EngineOptions};
use stedi_tui::tui::app::{App, View};
use stedi_tui::tui::views;
use stedi_tui::tui::worker;

fn app_on(data: &std::path::Path) -> App {
    let worker = worker::spawn(EngineOptions::new(data, common::queries_dir()), CheckOptions::default());
    let mut app = App::new(worker, "sample_data".to_string());
    app.wait_idle(Duration::from_secs(60));
    app
}

fn sample_app() -> App {
    app_on(&common::project_root().join("sample_data"))
}

fn key(app: &mut App, code: KeyCode) {
    app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
    app.wait_idle(Duration::from_secs(30));
}

fn keys(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &mut App, width: u16, height: u16) -> String {
    common::tui_screen(app, width, height)
}

/// Times vary run to run; everything else on screen must not.
fn snapshot(name: &str, text: &str) {
    // The last time of the status line may be cut by the 80-column frame ("checks 1.608│").
    let filters = vec![
        (r"\d+\.\d{3}s", "0.000s"),
        (r"\d+\.\ds \(Esc", "0.0s (Esc"),
        (r"checks \d+\.\d{1,3}│", "checks 0.000│"),
        (r"SQL (built-in|folder) [0-9a-f]{1,8}", "SQL $1 ########"),
    ];
    insta::with_settings!({filters => filters}, {
        insta::assert_snapshot!(name, text);
    });
}

fn go_to_table(app: &mut App, name: &str) {
    let i = app.pipeline_tables().iter().position(|(n, _)| n == name).unwrap();
    key(app, KeyCode::Home);
    for _ in 0..i {
        key(app, KeyCode::Down);
    }
}

#[test]
fn every_view_at_both_sizes() {
    let mut app = sample_app();
    for (w, h) in [(120, 40), (80, 24)] {
        let size = format!("{w}x{h}");
        let mut app2 = sample_app();
        snapshot(&format!("pipeline_{size}"), &screen(&mut app2, w, h));
        go_to_table(&mut app2, "customer_trusted");
        key(&mut app2, KeyCode::Enter);
        snapshot(&format!("stage_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char('o'));
        snapshot(&format!("table_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char('p'));
        snapshot(&format!("table_profile_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char('c'));
        snapshot(&format!("checks_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char('?'));
        snapshot(&format!("help_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char('x'));
        key(&mut app2, KeyCode::Char('D'));
        snapshot(&format!("diff_{size}"), &screen(&mut app2, w, h));
        key(&mut app2, KeyCode::Char(':'));
        keys(&mut app2, "SELECT 42 AS answer");
        snapshot(&format!("sql_prompt_{size}"), &screen(&mut app2, w, h));
    }
    // The load error screen.
    let missing = tempfile::tempdir().unwrap();
    let mut broken = app_on(missing.path());
    let text = screen(&mut broken, 80, 24);
    assert!(text.contains("Could not load the pipeline"), "{text}");
    assert!(text.contains("not a STEDI data folder"), "{text}");
    key(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn pipeline_shows_counts_drops_and_reasons() {
    let mut app = sample_app();
    let text = screen(&mut app, 120, 40);
    let snap = app.snapshot.clone().unwrap();
    let landing = snap.tables.iter().find(|t| t.name == "customer_landing").unwrap().rows;
    let trusted = snap.tables.iter().find(|t| t.name == "customer_trusted").unwrap().rows;
    assert!(text.contains(&format!("kept {trusted} · dropped {}: no research consent", landing - trusted)), "{text}");
    assert!(text.contains("⋈ joins step_trainer_trusted × accelerometer_trusted"), "{text}");
    assert!(text.contains("LANDING") && text.contains("TRUSTED") && text.contains("CURATED"));
}

#[test]
fn paging_sorting_and_columns_in_the_ml_table() {
    let mut app = sample_app();
    go_to_table(&mut app, "machine_learning_curated");
    key(&mut app, KeyCode::Enter); // the stage view
    assert!(matches!(app.view, View::Stage(_)));
    key(&mut app, KeyCode::Enter); // its rows
    assert_eq!(app.view, View::Table);
    let _ = screen(&mut app, 100, 30);
    let page = app.page_height as u64;
    let total = app.preview.as_ref().unwrap().total;
    assert!(total > page * 2, "sample ML table has several pages");
    key(&mut app, KeyCode::PageDown);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains(&format!("rows {}–", views::thousands(page + 1))), "{text}");
    assert_eq!(app.preview.as_ref().unwrap().cursor, page);
    key(&mut app, KeyCode::End);
    let text = screen(&mut app, 100, 30);
    assert!(text.contains(&format!("row {}", views::thousands(total))), "{text}");
    // Sort by distanceFromObject (third column) descending: the first row holds the maximum.
    key(&mut app, KeyCode::Home);
    key(&mut app, KeyCode::Right);
    key(&mut app, KeyCode::Right);
    keys(&mut app, "ss");
    let text = screen(&mut app, 100, 30);
    assert!(text.contains("sort distanceFromObject ↓"), "{text}");
    let p = app.preview.as_ref().unwrap();
    let first: i64 = p.page.rows[0][2].as_deref().unwrap().parse().unwrap();
    let max = p.page.rows.iter().map(|r| r[2].as_deref().unwrap().parse::<i64>().unwrap()).max().unwrap();
    assert_eq!(first, max);
    key(&mut app, KeyCode::Char('s'));
    assert_eq!(app.preview.as_ref().unwrap().sort, None, "third press turns sorting off");
}

#[test]
fn filter_search_and_profile() {
    let mut app = sample_app();
    go_to_table(&mut app, "accelerometer_landing");
    key(&mut app, KeyCode::Enter);
    let all = app.preview.as_ref().unwrap().total;
    key(&mut app, KeyCode::Char('f'));
    keys(&mut app, "x > 0.5");
    key(&mut app, KeyCode::Enter);
    let filtered = app.preview.as_ref().unwrap().total;
    assert!(filtered > 0 && filtered < all, "{filtered} of {all}");
    assert!(screen(&mut app, 120, 40).contains("filter x > 0.5"));
    // A broken filter shows DuckDB's error and keeps the last good one.
    key(&mut app, KeyCode::Char('f'));
    key(&mut app, KeyCode::Backspace);
    keys(&mut app, " AND nonsense_column = 1");
    key(&mut app, KeyCode::Enter);
    assert!(app.message.as_deref().unwrap_or("").contains("nonsense_column"), "{:?}", app.message);
    assert_eq!(app.preview.as_ref().unwrap().total, filtered);
    assert_eq!(app.preview.as_ref().unwrap().filter.as_deref(), Some("x > 0.5"));
    // Clear the filter, then search for an orphan reading (sample_data has some).
    key(&mut app, KeyCode::Char('f'));
    for _ in 0..10 {
        key(&mut app, KeyCode::Backspace);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.preview.as_ref().unwrap().total, all);
    key(&mut app, KeyCode::Char('/'));
    keys(&mut app, "nobody.known");
    key(&mut app, KeyCode::Enter);
    let p = app.preview.as_ref().unwrap();
    assert!(p.cursor > 0, "jumped to a match");
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("N*****.K*****"), "the matching row is on screen, masked: {text}");
    key(&mut app, KeyCode::Char('p'));
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("profile: user") && text.contains("distinct"), "{text}");
}

#[test]
fn checks_drill_down_masks_until_toggled() {
    let mut app = sample_app();
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, View::Checks);
    let checks = app.checks_sorted();
    let i = checks.iter().position(|c| c.id == "cross_customer.machine_learning_curated").unwrap();
    let failing = checks[i].failing_rows;
    assert!(failing > 0);
    for _ in 0..i {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Table);
    assert_eq!(app.preview.as_ref().unwrap().total, failing);
    let masked = screen(&mut app, 200, 30);
    assert!(masked.contains("cross_customer.machine_learning_curated"));
    assert!(masked.contains("*@test.com") && !masked.contains("PERSONAL FIELDS SHOWN"), "{masked}");
    key(&mut app, KeyCode::Char('m'));
    let shown = screen(&mut app, 200, 30);
    assert!(shown.contains("PERSONAL FIELDS SHOWN"));
    let unmasked = shown.split_whitespace().any(|w| w.ends_with("@test.com") && !w.contains('*'));
    assert!(unmasked, "{shown}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Checks);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Pipeline);
}

#[test]
fn stage_view_dropped_rows_match_the_flow() {
    let mut app = sample_app();
    go_to_table(&mut app, "customer_trusted");
    key(&mut app, KeyCode::Enter);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("WHERE") && text.contains("shareWithResearchAsOfDate"), "{text}");
    let dropped =
        app.snapshot.as_ref().unwrap().flows.iter().find(|f| f.stage == "customer_trusted").unwrap().dropped.unwrap();
    key(&mut app, KeyCode::Char('d'));
    assert_eq!(app.preview.as_ref().unwrap().total, dropped);
    let text = screen(&mut app, 160, 40);
    assert!(text.contains("dropped: no research consent"), "{text}");
    // Every dropped customer really has no consent: the column is NULL on every visible row.
    let p = app.preview.as_ref().unwrap();
    let col = p.columns.iter().position(|(n, _)| n == "shareWithResearchAsOfDate").unwrap();
    assert!(p.page.rows.iter().all(|r| r[col].is_none()));
}

#[test]
fn sql_prompt_runs_queries_keeps_history_and_shows_errors() {
    let mut app = sample_app();
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELECT count(*) AS n FROM customer_trusted");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Table);
    let expected = app.snapshot.as_ref().unwrap().tables.iter().find(|t| t.name == "customer_trusted").unwrap().rows;
    assert_eq!(app.preview.as_ref().unwrap().page.rows[0][0].as_deref(), Some(expected.to_string().as_str()));
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELEC nonsense");
    key(&mut app, KeyCode::Enter);
    assert!(app.message.as_deref().unwrap_or("").contains("syntax error"), "{:?}", app.message);
    assert_eq!(app.view, View::Table, "a failed query returns to the previous view");
    // One query at a time: a second statement (here one that would empty a table the cache reuses)
    // is refused before anything runs.
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELECT 1; DELETE FROM customer_trusted");
    key(&mut app, KeyCode::Enter);
    assert!(app.message.as_deref().unwrap_or("").contains("one query at a time"), "{:?}", app.message);
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELECT count(*) AS n FROM customer_trusted");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.preview.as_ref().unwrap().page.rows[0][0].as_deref(), Some(expected.to_string().as_str()));
    key(&mut app, KeyCode::Char(':'));
    for _ in 0..4 {
        key(&mut app, KeyCode::Up);
    }
    assert_eq!(app.input.as_ref().unwrap().1, "SELECT count(*) AS n FROM customer_trusted");
    key(&mut app, KeyCode::Esc);
    assert!(app.input.is_none());
}

#[test]
fn export_from_the_tui_writes_the_zones() {
    let mut app = sample_app();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("zones");
    key(&mut app, KeyCode::Char('e'));
    assert_eq!(app.input.as_ref().unwrap().1, "export", "a default folder is offered");
    for _ in 0.."export".len() {
        key(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, out.to_str().unwrap());
    key(&mut app, KeyCode::Enter);
    let message = app.message.clone().unwrap_or_default();
    assert!(message.starts_with("exported 5 tables"), "{message}");
    assert!(out.join("_manifest.json").is_file());
    assert!(out.join("step_trainer/curated").is_dir(), "machine_learning_curated's folder");
}

#[test]
fn esc_cancels_a_running_query_and_the_ui_keeps_working() {
    let mut app = sample_app();
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELECT sum(i) FROM range(100000000000) AS t(i)");
    // Enter without waiting: the query runs on the worker while the UI stays responsive.
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    std::thread::sleep(Duration::from_millis(300));
    app.pump(Duration::from_millis(10));
    assert!(app.busy.is_some(), "still running");
    assert!(screen(&mut app, 80, 24).contains("Esc cancels"));
    app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
    app.wait_idle(Duration::from_secs(10));
    assert!(app.busy.is_none());
    assert!(app.message.as_deref().unwrap_or("").contains("cancel"), "{:?}", app.message);
    assert_eq!(app.view, View::Pipeline, "a cancelled query returns to where it started");
    key(&mut app, KeyCode::Char('c'));
    assert_eq!(app.view, View::Checks);
}

#[test]
fn diff_view_shows_what_strict_mode_drops_by_reason() {
    let mut app = sample_app();
    key(&mut app, KeyCode::Char('D'));
    assert_eq!(app.view, View::Diff);
    let diff = app.diff.clone().expect("both modes ran");
    let ml = diff.tables.iter().find(|t| t.table == "machine_learning_curated").unwrap();
    // sample_data was generated with 3 cross-customer pairs and 3 pre-consent readings.
    assert_eq!(ml.count(stedi_tui::engine::Mode::Rubric, "cross-customer"), 3);
    assert_eq!(ml.count(stedi_tui::engine::Mode::Rubric, "pre-consent"), 3);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("machine_learning_curated") && text.contains("rubric"), "{text}");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.view, View::Pipeline);
}

#[test]
fn control_characters_in_values_show_as_escapes_on_screen() {
    let mut app = sample_app();
    key(&mut app, KeyCode::Char(':'));
    keys(&mut app, "SELECT 'a' || chr(10) || 'PASS' || chr(27) || '[2J' || chr(1) AS v, chr(13) || 'x' AS w");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Table);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains(r"a\nPASS\u{1b}[2J\u{1}"), "{text}");
    assert!(text.contains(r"\rx"), "{text}");
}

/// The checks view shows each check's failing rows over the last `--check` runs the cache
/// recorded, as a sparkline.
#[test]
fn the_checks_view_shows_a_sparkline_of_earlier_check_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    common::copy_tree(&common::project_root().join("sample_data"), &data);
    let cache = dir.path().join("cache");
    let run = |extra: &[&str]| {
        let out = assert_cmd::Command::cargo_bin("stedi-tui")
            .unwrap()
            .args(["--check", "--quiet", "--data"])
            .arg(&data)
            .arg("--cache")
            .arg(&cache)
            .args(extra)
            .env("XDG_CACHE_HOME", dir.path().join("xdg"))
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2));
    };
    run(&[]);
    run(&["--select", "duplicate.*"]);
    run(&[]);
    let mut options = EngineOptions::new(&data, common::queries_dir());
    options.cache = stedi_tui::engine::CacheChoice::Dir(cache);
    let mut app = App::new(worker::spawn(options, CheckOptions::default()), "data".to_string());
    app.wait_idle(Duration::from_secs(60));
    key(&mut app, KeyCode::Char('c'));
    let text = screen(&mut app, 160, 50);
    assert!(text.contains("trend"), "{text}");
    let line = |id: &str| {
        text.lines().find(|l| l.contains(&format!(" {id} "))).unwrap_or_else(|| panic!("{id}: {text}")).to_string()
    };
    // Two runs of the orphan check (the second run selected only duplicates), three of duplicate.
    assert!(line("orphan.accelerometer_landing").contains("██ "), "{}", line("orphan.accelerometer_landing"));
    assert!(line("duplicate.customer_landing").contains("███ "), "{}", line("duplicate.customer_landing"));
    let leak = line("consent_leak.customer_trusted");
    assert!(leak.contains(" ·· ") && !leak.contains("···"), "two runs without failing rows: {leak}");
}

/// Every personal value of the sample data's customer records (6+ characters), lower-cased.
fn sample_personal_values() -> Vec<String> {
    let mut values = Vec::new();
    for entry in std::fs::read_dir(common::project_root().join("sample_data/customer/landing")).unwrap() {
        for line in std::fs::read_to_string(entry.unwrap().path()).unwrap().lines() {
            let Ok(serde_json::Value::Object(record)) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            for field in ["customerName", "email", "phone", "birthDay"] {
                if let Some(v) = record.get(field).and_then(|v| v.as_str()).filter(|v| v.len() >= 6) {
                    values.push(v.to_lowercase());
                }
            }
        }
    }
    values
}

fn assert_no_personal_value(what: &str, screen: &str, values: &[String]) {
    let lower = screen.to_lowercase();
    for v in values {
        assert!(!lower.contains(v.as_str()), "{what} shows a personal value of the input ({} chars)", v.len());
    }
}

/// `t` opens the customer picker (masked; typing filters it), Enter traces the customer, and
/// Enter on a table of the trace opens exactly the rows the trace counted there.
#[test]
fn the_trace_view_picks_a_customer_masked_and_opens_their_rows() {
    let values = sample_personal_values();
    assert!(values.len() > 100);
    let mut app = sample_app();
    key(&mut app, KeyCode::Char('t'));
    assert_eq!(app.view, View::Picker);
    let all = app.picker_entries();
    assert!(all.len() > 10, "{} customers", all.len());
    let picker = screen(&mut app, 120, 40);
    assert_no_personal_value("the picker", &picker, &values);
    // A consenting customer with readings: filter by what the picker shows of their email.
    let consenting = all.iter().find(|e| e.consenting).expect("a consenting customer");
    let (target, id) = (consenting.email.clone(), consenting.customer_id.clone());
    keys(&mut app, &target);
    let shown = app.picker_entries();
    assert!(!shown.is_empty() && shown.len() < all.len() && shown.iter().all(|e| e.email.contains(&target)));
    // Masks can coincide: walk to the customer meant.
    for _ in 0..shown.iter().position(|e| e.customer_id == id).unwrap() {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Trace);
    let trace_screen = screen(&mut app, 120, 40);
    assert_no_personal_value("the trace", &trace_screen, &values);
    assert!(trace_screen.contains("customer_trusted") && trace_screen.contains("rubric"), "{trace_screen}");
    snapshot("trace_120x40", &trace_screen);
    let trace = app.trace.clone().expect("traced");
    assert_eq!(trace.customer_id, id);
    assert!(trace_screen.contains(": consents"), "{trace_screen}");
    // The first table of the trace that holds their rows in this session's (rubric) mode.
    let (index, table) = trace.tables.iter().enumerate().find(|(_, t)| t.rubric.total > 0).expect("rows somewhere");
    for _ in 0..index {
        key(&mut app, KeyCode::Down);
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.view, View::Table);
    assert_eq!(app.preview.as_ref().unwrap().total, table.rubric.total, "{}: the rows the trace counted", table.table);
    assert_no_personal_value("their rows", &screen(&mut app, 160, 40), &values);
}
