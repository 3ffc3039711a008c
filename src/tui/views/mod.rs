//! Drawing: one module per view. Views read the [`App`]; the only state they write back is layout
//! (how many rows fit, where the main area starts) that navigation and mouse clicks need.
mod checks;
mod diff;
mod help;
mod pipeline;
mod stage;
mod table;
mod trace;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::app::{App, InputKind, View};
use super::keymap;
use crate::engine::printable;
pub use crate::report::thousands;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let [title, main, message, keys] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1), Constraint::Length(1)])
            .areas(frame.area());
    app.main_top = main.y;
    draw_title(frame, title, app);
    if app.snapshot.is_none() {
        draw_loading(frame, main, app);
    } else {
        match app.view {
            View::Pipeline => pipeline::draw(frame, main, app),
            View::Stage(i) => stage::draw(frame, main, app, i),
            View::Table => table::draw(frame, main, app),
            View::Checks => checks::draw(frame, main, app),
            View::Diff => diff::draw(frame, main, app),
            View::Picker => trace::draw_picker(frame, main, app),
            View::Trace => trace::draw_trace(frame, main, app),
        }
    }
    draw_message(frame, message, app);
    draw_keys(frame, keys, app);
    if app.show_help {
        help::draw(frame, frame.area());
    }
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App) {
    let view = match app.view {
        View::Pipeline => "pipeline",
        View::Stage(_) => "stage",
        View::Table => "table",
        View::Checks => "checks",
        View::Diff => "rubric vs strict",
        View::Picker => "trace: pick a customer",
        View::Trace => "trace",
    };
    let mut spans = vec![
        Span::styled(" stedi-tui ", Style::new().bg(Color::Blue).fg(Color::White).add_modifier(Modifier::BOLD)),
        Span::raw(format!(" {} · {view}", app.data_label)),
    ];
    if !app.show_pii {
        spans.push(Span::styled(" · personal fields masked", Style::new().fg(Color::DarkGray)));
    } else {
        spans.push(Span::styled(" · PERSONAL FIELDS SHOWN", Style::new().fg(Color::Red)));
    }
    if let Some(snapshot) = &app.snapshot {
        // Which SQL ran, so "the shipped rules" and an edited copy never look alike.
        let sql = &snapshot.catalog.sql;
        spans.push(Span::styled(
            format!(" · SQL {} {}", sql.provenance().origin, &sql.short_hash()[..8]),
            Style::new().fg(Color::DarkGray),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if let Some(busy) = &app.busy {
        let secs = app.busy_since.map_or(0.0, |t| t.elapsed().as_secs_f64());
        const SPIN: [char; 8] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧'];
        let frame_no = (secs * 10.0) as usize % SPIN.len();
        let text = format!("{} {busy}… {secs:.1}s (Esc cancels) ", SPIN[frame_no]);
        frame.render_widget(Paragraph::new(text).right_aligned().fg(Color::Yellow), area);
    }
}

fn draw_loading(frame: &mut Frame, area: Rect, app: &App) {
    let block = Block::bordered().title(" loading ");
    let text = match (&app.load_error, &app.progress) {
        (Some(e), _) => vec![
            Line::styled("Could not load the pipeline:", Style::new().fg(Color::Red).bold()),
            Line::raw(printable(e).into_owned()),
            Line::raw(""),
            Line::raw("Press q to quit."),
        ],
        (None, Some(p)) => vec![Line::raw(format!("⠿ {}…", printable(p)))],
        (None, None) => vec![Line::raw("…")],
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: false }).block(block), area);
}

fn draw_message(frame: &mut Frame, area: Rect, app: &App) {
    if let Some((kind, text)) = &app.input {
        let prompt = match kind {
            InputKind::Export => "export to folder › ",
            InputKind::Filter => "filter WHERE › ",
            InputKind::Search => "search › ",
            InputKind::Sql => "sql › ",
        };
        let line = Line::from(vec![
            Span::styled(prompt, Style::new().fg(Color::Cyan).bold()),
            Span::raw(printable(text).into_owned()),
            Span::styled("▏", Style::new().fg(Color::Cyan)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
    } else if let Some(message) = &app.message {
        frame.render_widget(Paragraph::new(printable(message).into_owned()).fg(Color::Yellow), area);
    }
}

fn draw_keys(frame: &mut Frame, area: Rect, app: &App) {
    let mut spans = Vec::new();
    let context = if app.input.is_some() { None } else { Some(app.context()) };
    let pairs = match context {
        Some(c) => keymap::bar(c),
        None => vec![("Enter", "run"), ("Esc", "cancel"), ("↑↓", "history")],
    };
    for (key, name) in pairs {
        spans.push(Span::styled(format!(" {key} "), Style::new().bg(Color::DarkGray).fg(Color::White)));
        spans.push(Span::raw(format!(" {name} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
