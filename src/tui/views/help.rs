//! The help popup: every binding, grouped by where it applies, from the same list as the key bar.
//! On short terminals it uses two columns so that every binding stays visible at 80×24.
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::keymap::{Context, BINDINGS};

fn key_name(code: &crossterm::event::KeyCode) -> String {
    use crossterm::event::KeyCode::*;
    match code {
        Char(' ') => "Space".to_string(),
        Char(c) => c.to_string(),
        Up => "↑".into(),
        Down => "↓".into(),
        Left => "←".into(),
        Right => "→".into(),
        PageUp => "PgUp".into(),
        PageDown => "PgDn".into(),
        other => format!("{other:?}"),
    }
}

fn section(context: Context) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(context.title(), Style::new().fg(Color::Blue).bold())];
    for b in BINDINGS.iter().filter(|b| b.context == context) {
        let keys: Vec<String> = b.keys.iter().map(key_name).collect();
        lines.push(Line::from(vec![
            Span::styled(format!("  {:<11}", keys.join(" ")), Style::new().bold()),
            Span::raw(b.help),
        ]));
    }
    lines
}

pub fn draw(frame: &mut Frame, area: Rect) {
    let first = section(Context::Global);
    let mut second = Vec::new();
    for c in [Context::Lists, Context::Stage, Context::Table] {
        second.extend(section(c));
    }
    second.push(Line::styled("mouse: wheel scrolls, click selects", Style::new().fg(Color::DarkGray)));
    second.push(Line::styled("any key closes this help", Style::new().fg(Color::DarkGray)));
    let one_column = first.len() + second.len() + 2 <= area.height as usize;
    let (columns, height, width) = if one_column {
        let mut all = first;
        all.extend(second);
        let h = all.len() as u16 + 2;
        (vec![all], h, 64)
    } else {
        let h = first.len().max(second.len()) as u16 + 2;
        (vec![first, second], h, 120)
    };
    let [popup] = Layout::vertical([Constraint::Length(height.min(area.height))]).flex(Flex::Center).areas(area);
    let [popup] = Layout::horizontal([Constraint::Length(width.min(area.width))]).flex(Flex::Center).areas(popup);
    frame.render_widget(Clear, popup);
    let block = Block::bordered().title(" keys (?) ");
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let n = columns.len() as u32;
    let areas = Layout::horizontal((0..n).map(|_| Constraint::Ratio(1, n))).split(inner);
    for (lines, col) in columns.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(lines), *col);
    }
}
