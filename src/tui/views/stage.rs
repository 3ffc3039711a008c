//! A stage: its SQL file (highlighted), what it reads and writes, and what it kept and dropped.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::thousands;
use crate::tui::app::App;
use crate::tui::highlight::highlight_sql;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App, index: usize) {
    let snapshot = app.snapshot.as_ref().expect("drawn after load");
    let stage = &snapshot.catalog.stages[index];
    let flow = snapshot.flows.iter().find(|f| f.stage == stage.name);
    let table = snapshot.tables.iter().find(|t| t.name == stage.name);
    let label = Style::new().fg(Color::DarkGray);
    let reads: Vec<String> = stage
        .reads
        .iter()
        .filter(|r| snapshot.tables.iter().any(|t| t.name.eq_ignore_ascii_case(r)))
        .cloned()
        .collect();
    let mut info = vec![
        Line::from(vec![Span::styled("file    ", label), Span::raw(relative(&stage.path))]),
        Line::from(vec![
            Span::styled("reads   ", label),
            Span::raw(reads.join(", ")),
            Span::styled("  →  writes ", label),
            Span::raw(stage.name.clone()).bold(),
            Span::styled(format!(" ({})", stage.zone.as_str()), label),
        ]),
    ];
    if let Some(flow) = flow {
        let time = table.map_or(0.0, |t| t.elapsed.as_secs_f64());
        let mut spans = vec![Span::styled("kept    ", label), Span::raw(thousands(flow.kept)).bold()];
        match (flow.input_rows, flow.dropped) {
            (Some(input_rows), Some(dropped)) => {
                spans.push(Span::raw(format!(" of {} · ", thousands(input_rows))));
                spans.push(Span::styled(
                    format!("dropped {}", thousands(dropped)),
                    Style::new().fg(Color::Magenta).bold(),
                ));
                if let Some(reason) = &flow.reason {
                    spans.push(Span::raw(format!(": {reason}")));
                }
            }
            (Some(input_rows), None) if flow.input.is_some() => {
                spans.push(Span::raw(format!(" of {} · dropped: counting…", thousands(input_rows))));
            }
            _ => spans.push(Span::raw(" rows (a join: no single input to drop from)")),
        }
        spans.push(Span::styled(format!(" · {time:.3}s"), label));
        info.push(Line::from(spans));
    }
    let [info_area, sql_area] =
        Layout::vertical([Constraint::Length(info.len() as u16 + 2), Constraint::Min(3)]).areas(area);
    let title = format!(" stage {} · {} ", stage.name, stage.zone.as_str());
    frame.render_widget(Paragraph::new(info).block(Block::bordered().title(title)), info_area);
    let sql =
        Paragraph::new(highlight_sql(&stage.sql)).scroll((app.stage_scroll, 0)).block(Block::bordered().title(" SQL "));
    frame.render_widget(sql, sql_area);
}

/// A path as the user typed it relative to where they are, when it is under the current folder.
fn relative(path: &std::path::Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    crate::engine::printable_path(path.strip_prefix(&cwd).unwrap_or(path))
}
