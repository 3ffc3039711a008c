//! Measures the TUI's responsiveness on a (large) data set, off-screen on a TestBackend:
//! time from start (engine opened, data loaded or taken from the warm-start cache, as the TUI
//! does) to the first frame, time to open the table, and from a PageDown key to the redrawn page
//! (the worker's DuckDB fetch included). The cache is the CLI's default (DATA/.stedi/), or none
//! with STEDI_TUI_CACHE=off. Used by `scripts/bench_tui.sh`; not a test.
//!
//!     cargo run --release --example tui_latency -- DATA_DIR [TABLE]
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use stedi_tui::engine::{CacheChoice, CheckOptions, EngineOptions};
use stedi_tui::tui::app::App;
use stedi_tui::tui::{views, worker};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let data = args.next().expect("usage: tui_latency DATA_DIR [TABLE]");
    let table = args.next().unwrap_or_else(|| "accelerometer_landing".to_string());
    let started = Instant::now();
    let mut options = EngineOptions::new(&data, "queries");
    options.cache = match std::env::var("STEDI_TUI_CACHE") {
        Ok(v) if v == "off" => CacheChoice::Off,
        _ => CacheChoice::Auto,
    };
    let worker = worker::spawn(options, CheckOptions::default());
    let mut app = App::new(worker, data.clone());
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    while app.snapshot.is_none() {
        app.pump(Duration::from_millis(5));
        assert!(app.load_error.is_none(), "{:?}", app.load_error);
    }
    let loaded = started.elapsed();
    let t = Instant::now();
    terminal.draw(|f| views::draw(f, &mut app)).unwrap();
    let first_frame = t.elapsed();
    let start_to_first_frame = started.elapsed();
    let cache = app.snapshot.as_ref().unwrap().cache.clone();

    let rows = app.snapshot.as_ref().unwrap().tables.iter().find(|t| t.name == table).expect("table").rows;
    let i = app.pipeline_tables().iter().position(|(n, _)| *n == table).unwrap();
    app.on_key(KeyEvent::new(KeyCode::Home, KeyModifiers::NONE));
    for _ in 0..i {
        app.on_key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    if matches!(app.view, stedi_tui::tui::app::View::Stage(_)) {
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    }
    // The table's first page (the dropped-row counts the cache lacks may still be counting on
    // their own connection: that is waited for, and timed, separately).
    let opening = Instant::now();
    while app.preview.as_ref().is_none_or(|p| p.page.rows.is_empty()) && opening.elapsed() < Duration::from_secs(600) {
        app.pump(Duration::from_millis(2));
    }
    terminal.draw(|f| views::draw(f, &mut app)).unwrap();
    let open_table = opening.elapsed();
    app.wait_idle(Duration::from_secs(600));
    let all_counted = started.elapsed();

    // Page down from the top, then from the middle and the end of the table (rowid ranges must not
    // get slower with the offset): each sample is key -> fetched -> drawn.
    let mut samples = Vec::new();
    let mut measure = |app: &mut App, code: KeyCode, samples: &mut Vec<f64>| {
        let t = Instant::now();
        app.on_key(KeyEvent::new(code, KeyModifiers::NONE));
        app.wait_idle(Duration::from_secs(60));
        terminal.draw(|f| views::draw(f, app)).unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    };
    for _ in 0..40 {
        measure(&mut app, KeyCode::PageDown, &mut samples);
    }
    measure(&mut app, KeyCode::End, &mut samples);
    for _ in 0..40 {
        measure(&mut app, KeyCode::PageUp, &mut samples);
    }
    let mut sorted = samples.clone();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{{\"data\": {:?}, \"table\": {:?}, \"rows\": {rows}, \"files_parsed\": {}, \"files_reused\": {}, \"load_s\": {:.3}, \"first_frame_ms\": {:.2}, \"start_to_first_frame_s\": {:.3}, \"open_table_s\": {:.3}, \"dropped_counted_s\": {:.3}, \"page_ms_median\": {:.2}, \"page_ms_p95\": {:.2}, \"page_ms_max\": {:.2}, \"samples\": {}}}",
        data,
        table,
        cache.files_parsed,
        cache.files_reused,
        loaded.as_secs_f64(),
        first_frame.as_secs_f64() * 1000.0,
        start_to_first_frame.as_secs_f64(),
        open_table.as_secs_f64(),
        all_counted.as_secs_f64(),
        percentile(&sorted, 0.5),
        percentile(&sorted, 0.95),
        sorted.last().unwrap(),
        sorted.len()
    );
}
