//! The trace views: the customer picker (masked names and emails, type to filter) and one
//! customer's trace (records, their rows in every table of both modes, readings before and after
//! consent, cross-customer pairs), each from the engine's [`crate::engine::Trace`].
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::thousands;
use crate::engine::display_value;
use crate::report::epoch_ms;
use crate::tui::app::App;

pub fn draw_picker(frame: &mut Frame, area: Rect, app: &mut App) {
    let entries = app.picker_entries();
    let title = format!(" trace: pick a customer · filter: {}▏ · {} shown ", app.picker_filter, entries.len());
    let block = Block::bordered().title(title);
    if app.customers.is_none() {
        frame.render_widget(Paragraph::new("listing customers…").block(block), area);
        return;
    }
    let rows: Vec<Row> = entries
        .iter()
        .map(|e| {
            let consent = if e.consenting { Cell::from("consents").green() } else { Cell::from("no consent").red() };
            Row::new(vec![
                Cell::from(e.name.clone()),
                Cell::from(e.email.clone()),
                Cell::from(format!("{:>3}", e.records)),
                consent,
            ])
        })
        .collect();
    let table =
        Table::new(rows, [Constraint::Length(28), Constraint::Length(40), Constraint::Length(7), Constraint::Min(10)])
            .header(Row::new(vec!["name", "email", "records", "consent (latest record)"]).style(Style::new().bold()))
            .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
            .block(block);
    let mut state = TableState::default().with_selected(Some(app.picker_cursor));
    frame.render_stateful_widget(table, area, &mut state);
    app.main_top = area.y + 1;
}

pub fn draw_trace(frame: &mut Frame, area: Rect, app: &mut App) {
    let Some(trace) = &app.trace else {
        let text = if app.busy.is_some() { "tracing in both modes…" } else { "no trace" };
        frame.render_widget(Paragraph::new(text).block(Block::bordered().title(" trace ")), area);
        return;
    };
    let who = display_value("email", &trace.customer_id, app.show_pii);
    let consent = match trace.consent_at {
        Some(at) if trace.consenting => format!("consents since {}", epoch_ms(Some(at))),
        _ => "does NOT consent".to_string(),
    };
    let records_height = trace.records.len() as u16 + 3;
    let [top, middle, bottom] = Layout::vertical([
        Constraint::Length(records_height.min(area.height / 3)),
        Constraint::Min(6),
        Constraint::Length(trace.readings.len() as u16 + 4),
    ])
    .areas(area);
    let records: Vec<Row> = trace
        .records
        .iter()
        .map(|r| {
            let style = if r.decides { Style::new().bold() } else { Style::new() };
            Row::new(vec![
                epoch_ms(r.last_update_date),
                epoch_ms(r.consent_at),
                r.serial_number.clone(),
                format!("{}{}", r.event, if r.decides { " ← decides" } else { "" }),
            ])
            .style(style)
        })
        .collect();
    let records = Table::new(
        records,
        [Constraint::Length(21), Constraint::Length(21), Constraint::Length(37), Constraint::Min(10)],
    )
    .header(Row::new(vec!["last update", "consent", "serial number", "event"]).style(Style::new().bold()))
    .block(Block::bordered().title(format!(" {who}: {consent} (latest record decides) ")));
    frame.render_widget(records, top);
    let tables: Vec<Row> = trace
        .tables
        .iter()
        .map(|t| {
            let c = |n: u64| format!("{:>8}", thousands(n));
            let stage = trace.stages.iter().find(|s| s.stage == t.table);
            let dropped = |d: Option<&crate::engine::StageDrop>| d.map_or("·".to_string(), |d| thousands(d.dropped));
            Row::new(vec![
                t.zone.as_str().to_string(),
                t.table.clone(),
                c(t.rubric.by_customer),
                c(t.rubric.by_device),
                c(t.rubric.total),
                format!("{:>7}", stage.map_or(String::new(), |s| dropped(s.rubric.as_ref()))),
                c(t.strict.by_customer),
                c(t.strict.by_device),
                c(t.strict.total),
                format!("{:>7}", stage.map_or(String::new(), |s| dropped(s.strict.as_ref()))),
            ])
        })
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Length(25),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(7),
    ];
    let header = Row::new(vec![
        "zone", "table", "r:cust", "r:device", "r:all", "r:drop", "s:cust", "s:device", "s:all", "s:drop",
    ]);
    let tables = Table::new(tables, widths)
        .header(header.style(Style::new().bold()))
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(Block::bordered().title(" their rows, rubric (r:) and strict (s:) · Enter opens their rows "));
    let mut state = TableState::default().with_selected(Some(app.trace_cursor));
    frame.render_stateful_widget(tables, middle, &mut state);
    let mut lines: Vec<Line> = trace
        .readings
        .iter()
        .map(|r| {
            Line::raw(format!(
                "{:<30} {:>8} before consent {:>8} after {:>8} without consent",
                r.table,
                thousands(r.before_consent),
                thousands(r.after_consent),
                thousands(r.without_consent)
            ))
        })
        .collect();
    lines.push(
        Line::raw(format!(
            "machine_learning_curated: their Step Trainer with another's phone: rubric {}, strict {}",
            thousands(trace.rubric_pairs.device_with_other_phone),
            thousands(trace.strict_pairs.device_with_other_phone)
        ))
        .fg(if trace.rubric_pairs.device_with_other_phone > 0 { Color::Magenta } else { Color::Reset }),
    );
    frame.render_widget(Paragraph::new(lines).block(Block::bordered().title(" readings relative to consent ")), bottom);
}
