//! Every check with its status, severity, failing rows and description; Enter opens the failing rows.
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Cell, Row, Table, TableState};
use ratatui::Frame;

use super::thousands;
use crate::engine::printable;
use crate::engine::Severity;
use crate::report::sparkline;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let checks = app.checks_sorted();
    let history = app.snapshot.as_ref().map(|s| s.history.clone()).unwrap_or_default();
    let rows: Vec<Row> = checks
        .iter()
        .map(|c| {
            let (verdict, style) = match (c.passed(), c.severity) {
                (true, _) => ("PASS", Style::new().fg(Color::Green)),
                (false, Severity::Warn) => ("WARN", Style::new().fg(Color::Yellow).bold()),
                (false, Severity::Error) => ("FAIL", Style::new().fg(Color::Red).bold()),
            };
            Row::new(vec![
                Cell::from(verdict).style(style),
                Cell::from(c.severity.as_str()),
                Cell::from(printable(&c.id).into_owned()),
                Cell::from(format!("{:>9}", thousands(c.failing_rows))),
                // The failing rows of the last --check runs (`stedi-tui history` has them all).
                Cell::from(history.get(&c.id).map(|runs| sparkline(runs)).unwrap_or_default())
                    .style(Style::new().fg(Color::Cyan)),
                Cell::from(printable(&c.description).into_owned()).style(Style::new().fg(Color::Gray)),
            ])
        })
        .collect();
    let passed = checks.iter().filter(|c| c.passed()).count();
    let failed = checks.iter().filter(|c| c.is_error()).count();
    let warned = checks.len() - passed - failed;
    let title = format!(" checks: {} · {passed} pass · {warned} warn · {failed} fail ", checks.len());
    let table = Table::new(
        rows,
        [
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(40),
            Constraint::Length(9),
            Constraint::Length(crate::tui::worker::HISTORY_RUNS as u16),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(vec!["", "sev", "check", "  failing", "trend", "description"]).style(Style::new().bold()))
    .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
    .block(Block::bordered().title(title));
    let mut state = TableState::default().with_selected(Some(app.checks_cursor));
    frame.render_stateful_widget(table, area, &mut state);
    app.main_top = area.y + 1;
}
