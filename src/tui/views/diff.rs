//! The reviewer's view: for each zone table, the rows of the rubric and strict modes, and the rows
//! one keeps and the other does not, by the reason `queries/diff/<table>.sql` gives.
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::thousands;
use crate::engine::Mode;
use crate::engine::DROP_REASONS;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let block = Block::bordered().title(" rubric vs strict: rows kept by one mode only, by reason ");
    let Some(diff) = &app.diff else {
        let text = if app.busy.is_some() { "running both modes…" } else { "no comparison yet" };
        frame.render_widget(Paragraph::new(text).block(block), area);
        return;
    };
    // Narrow terminals drop the "only in" column: the second line of a table, if any, is strict's.
    let wide = area.width >= 110;
    let mut header = vec!["table", "rubric", "strict"];
    if wide {
        header.push("only in");
    }
    header.extend(if wide {
        ["revoked", "cross-cust.", "pre-consent", "other"]
    } else {
        ["revoked", "cross", "pre", "other"]
    });
    let w = if wide { 11 } else { 8 };
    let mut rows = Vec::new();
    for t in &diff.tables {
        for (i, mode) in [Mode::Rubric, Mode::Strict].into_iter().enumerate() {
            let only = t.only_in(mode);
            if i == 1 && only == 0 {
                continue;
            }
            let (name, rubric, strict) = if i == 0 {
                (t.table.clone(), thousands(t.rubric_rows), thousands(t.strict_rows))
            } else {
                ("  kept only by strict".to_string(), String::new(), String::new())
            };
            let mut cells =
                vec![Cell::from(name), Cell::from(format!("{rubric:>8}")), Cell::from(format!("{strict:>8}"))];
            if wide {
                let label = if only > 0 { format!("{} {:>7}", mode.as_str(), thousands(only)) } else { "—".into() };
                cells.push(Cell::from(label));
            }
            for reason in DROP_REASONS {
                let n = t.count(mode, reason);
                let style = if n > 0 { Style::new().fg(Color::Magenta) } else { Style::new().fg(Color::DarkGray) };
                cells.push(Cell::from(format!("{:>w$}", if n > 0 { thousands(n) } else { "·".into() })).style(style));
            }
            rows.push(Row::new(cells));
        }
    }
    let mut widths = vec![Constraint::Length(24), Constraint::Length(8), Constraint::Length(8)];
    if wide {
        widths.push(Constraint::Length(14));
    }
    widths.extend([Constraint::Length(w as u16); 4]);
    let total = |mode| diff.tables.iter().map(|t| t.only_in(mode)).sum::<u64>();
    let footer = Line::styled(
        format!(
            "{} rows only in rubric, {} only in strict (strict: latest-record consent, no pre-consent readings, owner join, no personal column)",
            thousands(total(Mode::Rubric)),
            thousands(total(Mode::Strict))
        ),
        Style::new().fg(Color::DarkGray),
    );
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(block.title_bottom(footer));
    frame.render_widget(table, area);
}
