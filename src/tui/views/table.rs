//! The table preview: the visible page of rows, the selected cell, sort/filter/search state and an
//! optional column profile (type, nulls, distinct, min/max and a histogram sparkline).
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

use super::thousands;
use crate::engine::printable;
use crate::engine::{display_value, is_personal_column};
use crate::tui::app::App;

/// Wide enough for a UUID serial number; longer values are cut.
const MAX_WIDTH: usize = 36;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let show_pii = app.show_pii;
    let Some(p) = app.preview.as_mut() else { return };
    let profile_height = if p.show_profile { 5 } else { 0 };
    let [head, body, profile_area] =
        Layout::vertical([Constraint::Length(2), Constraint::Min(2), Constraint::Length(profile_height)]).areas(area);

    // Header: title and position, then the note (filter, sort, search, what the rows are).
    let end = (p.top + body.height.saturating_sub(1) as u64).min(p.total);
    let position = if p.table.is_none() {
        "…".to_string()
    } else if p.total == 0 {
        "no rows".to_string()
    } else {
        format!(
            "rows {}–{} of {} · row {}",
            thousands(p.top + 1),
            thousands(end),
            thousands(p.total),
            thousands(p.cursor + 1)
        )
    };
    let mut state = Vec::new();
    if let Some((col, desc)) = p.sort {
        if let Some((name, _)) = p.columns.get(col) {
            state.push(format!("sort {name} {}", if desc { "↓" } else { "↑" }));
        }
    }
    if let Some(f) = &p.filter {
        state.push(format!("filter {f}"));
    }
    if let Some(s) = &p.search {
        state.push(format!("search {s:?}"));
    }
    if let Some(n) = &p.note {
        state.push(n.clone());
    }
    let title = Line::from(vec![
        Span::styled(printable(&p.title).into_owned(), Style::new().bold()),
        Span::raw(format!("  {position}")),
    ]);
    let note = Line::styled(printable(&state.join(" · ")).into_owned(), Style::new().fg(Color::DarkGray));
    frame.render_widget(Paragraph::new(vec![title, note]), head);

    // Body: as many rows as fit under the header row.
    let height = body.height.saturating_sub(1) as usize;
    app.page_height = height.max(1);
    let p = app.preview.as_mut().expect("checked above");
    p.scroll_to_cursor(height.max(1));
    // Owned copies of the few visible rows, so the view state can be adjusted below.
    let visible: Vec<(u64, Vec<Option<String>>)> =
        p.visible_rows(height).into_iter().map(|(n, r)| (n, r.clone())).collect();
    let width_of = |i: usize| -> usize {
        let name = &p.columns[i].0;
        visible
            .iter()
            .map(|(_, r)| r.get(i).and_then(|v| v.as_deref()).map_or(4, |v| printable(v).chars().count()))
            .chain([printable(name).chars().count()])
            .max()
            .unwrap_or(4)
            .clamp(3, MAX_WIDTH)
    };
    // Keep the selected column on screen: move the first shown column right until it fits.
    let row_no_width = thousands(p.total.max(1)).len().max(3);
    let fits = |first: usize, upto: usize| -> bool {
        (first..=upto).map(|i| width_of(i) + 1).sum::<usize>() + row_no_width < body.width as usize
    };
    if p.column < p.first_column {
        p.first_column = p.column;
    }
    while p.first_column < p.column && !fits(p.first_column, p.column) {
        p.first_column += 1;
    }
    let mut shown = Vec::new();
    let mut used = row_no_width + 1;
    for i in p.first_column..p.columns.len() {
        let w = width_of(i);
        if used + w + 1 > body.width as usize && !shown.is_empty() {
            break;
        }
        used += w + 1;
        shown.push((i, w));
    }
    let header = Row::new(std::iter::once(Cell::from("#")).chain(shown.iter().map(|(i, _)| {
        let (name, _) = &p.columns[*i];
        let mut style = Style::new().bold().fg(Color::Cyan);
        if *i == p.column {
            style = style.add_modifier(Modifier::UNDERLINED);
        }
        let arrow = match p.sort {
            Some((c, false)) if c == *i => "↑",
            Some((c, true)) if c == *i => "↓",
            _ => "",
        };
        let lock = if is_personal_column(name) && !show_pii { "*" } else { "" };
        Cell::from(format!("{}{lock}{arrow}", printable(name))).style(style)
    })));
    let rows: Vec<Row> = visible
        .iter()
        .map(|(row_no, values)| {
            let selected = *row_no == p.cursor;
            let cells = std::iter::once(
                Cell::from(format!("{:>w$}", row_no + 1, w = row_no_width)).fg(Color::DarkGray),
            )
            .chain(shown.iter().map(|(i, _)| {
                let name = &p.columns[*i].0;
                let text = match values.get(*i).and_then(|v| v.as_deref()) {
                    Some(v) => printable(&display_value(name, v, show_pii)).into_owned(),
                    None => "NULL".to_string(),
                };
                let mut style = Style::new();
                if values.get(*i).is_some_and(|v| v.is_none()) {
                    style = style.fg(Color::DarkGray);
                }
                if selected && *i == p.column {
                    style = style.add_modifier(Modifier::REVERSED | Modifier::BOLD);
                }
                Cell::from(text).style(style)
            }));
            let row = Row::new(cells);
            if selected {
                row.style(Style::new().bg(Color::Rgb(40, 40, 60)))
            } else {
                row
            }
        })
        .collect();
    let widths: Vec<Constraint> = std::iter::once(Constraint::Length(row_no_width as u16))
        .chain(shown.iter().map(|(_, w)| Constraint::Length(*w as u16)))
        .collect();
    let loading = p.table.is_some() && !p.page_covers(height) && p.total > 0;
    let table = Table::new(rows, widths).header(header).column_spacing(1);
    frame.render_widget(table, body);
    if loading && visible.is_empty() {
        frame.render_widget(
            Paragraph::new("fetching rows…").fg(Color::DarkGray),
            Rect { y: body.y + 1, height: 1, ..body },
        );
    }
    if p.show_profile {
        draw_profile(frame, profile_area, app);
    }
}

fn draw_profile(frame: &mut Frame, area: Rect, app: &App) {
    let Some(p) = &app.preview else { return };
    let block = Block::bordered().title(format!(" profile: {} ", p.column_name().unwrap_or("")));
    let Some(profile) = p.profile.as_ref().filter(|pr| Some(pr.column.as_str()) == p.column_name()) else {
        frame.render_widget(Paragraph::new("profiling…").block(block), area);
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [text_area, spark_area] = Layout::horizontal([Constraint::Min(30), Constraint::Length(26)]).areas(inner);
    let shown = |v: &Option<String>| match v {
        Some(v) => printable(&display_value(&profile.column, v, app.show_pii)).into_owned(),
        None => "NULL".to_string(),
    };
    let lines = vec![
        Line::raw(format!(
            "{} · {} rows · {} null · ~{} distinct",
            profile.data_type,
            thousands(profile.rows),
            thousands(profile.nulls),
            thousands(profile.distinct)
        )),
        Line::raw(format!("min {} · max {}", shown(&profile.min), shown(&profile.max))),
        Line::styled(
            if profile.histogram.is_empty() { "no histogram: not a number" } else { "histogram min → max ▸" },
            Style::new().fg(Color::DarkGray),
        ),
    ];
    frame.render_widget(Paragraph::new(lines), text_area);
    if !profile.histogram.is_empty() {
        frame.render_widget(
            Sparkline::default().data(&profile.histogram).style(Style::new().fg(Color::Cyan)),
            spark_area,
        );
    }
}
