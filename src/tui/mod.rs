//! The terminal UI: a full-screen ratatui app over the engine. The engine runs on a worker thread
//! (`worker`), the app state changes only through actions and responses (`app`), and the views draw
//! it (`views`). The terminal is restored on quit, on error and on panic.
pub mod action;
pub mod app;
pub mod highlight;
pub mod keymap;
pub mod preview;
pub mod views;
pub mod worker;

use std::io::stdout;
use std::time::Duration;

use crossterm::event::{self, DisableMouseCapture, EnableMouseCapture, Event, KeyEventKind};
use crossterm::execute;

use crate::engine::{CheckOptions, EngineOptions};
use app::App;

/// Run the app until the user quits. Returns the process exit code.
pub fn run(options: EngineOptions, checks: CheckOptions, show_pii: bool) -> std::io::Result<i32> {
    let label = crate::engine::printable_path(&options.data_dir);
    let worker = worker::spawn(options, checks);
    let mut app = App::new(worker, label);
    app.show_pii = show_pii;

    // ratatui::init installs a panic hook that restores the terminal; mouse capture is ours to undo.
    let mut terminal = ratatui::init();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableMouseCapture);
        previous(info);
    }));
    let _ = execute!(stdout(), EnableMouseCapture);
    let result = event_loop(&mut terminal, &mut app);
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
    result?;
    Ok(0)
}

fn event_loop(terminal: &mut ratatui::DefaultTerminal, app: &mut App) -> std::io::Result<()> {
    let mut dirty = true;
    while !app.quit {
        if dirty {
            terminal.draw(|frame| views::draw(frame, app))?;
            dirty = false;
        }
        // Input first, so a key is never queued behind a stream of worker responses.
        if event::poll(Duration::from_millis(if app.busy.is_some() || app.snapshot.is_none() { 50 } else { 100 }))? {
            match event::read()? {
                Event::Key(key) if key.kind == KeyEventKind::Press => app.on_key(key),
                Event::Mouse(mouse) => app.on_mouse(mouse),
                Event::Resize(_, _) => {}
                _ => continue,
            }
            dirty = true;
        }
        if app.pump(Duration::ZERO) {
            dirty = true;
        }
        // The spinner and the loading line move while the worker is busy.
        if app.busy.is_some() || app.snapshot.is_none() {
            dirty = true;
        }
    }
    Ok(())
}
