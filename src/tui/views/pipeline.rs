//! Home: landing → trusted → curated as a flow, each table with its rows, check mark and time,
//! each stage with what it kept and dropped and why, and a bar chart of the counts.
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Block, Paragraph};
use ratatui::Frame;

use super::thousands;
use crate::engine::printable;
use crate::engine::{Severity, Zone};
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let wide = area.width >= 110;
    let [list_area, chart_area] = if wide {
        Layout::horizontal([Constraint::Min(70), Constraint::Length(38)]).areas(area)
    } else {
        [area, Rect::default()]
    };
    let snapshot = app.snapshot.as_ref().expect("drawn after load");
    let max_rows = snapshot.tables.iter().map(|t| t.rows).max().unwrap_or(1).max(1);
    let mut lines = Vec::new();
    let mut zone = None;
    for (i, (name, z)) in app.pipeline_tables().iter().enumerate() {
        if zone != Some(*z) {
            zone = Some(*z);
            lines.push(Line::styled(
                z.as_str().to_uppercase(),
                Style::new().add_modifier(Modifier::BOLD).fg(Color::Blue),
            ));
        }
        let table = snapshot.tables.iter().find(|t| &t.name == name).expect("listed tables exist");
        let (mark, mark_style) = match app.table_status(name) {
            Some(Severity::Error) => ("✗", Style::new().fg(Color::Red).bold()),
            Some(Severity::Warn) => ("!", Style::new().fg(Color::Yellow).bold()),
            None => ("✓", Style::new().fg(Color::Green)),
        };
        let bar_len = if wide { 0 } else { ((table.rows as f64 / max_rows as f64) * 12.0).ceil() as usize };
        let selected = i == app.pipeline_cursor;
        let base = if selected { Style::new().add_modifier(Modifier::REVERSED) } else { Style::new() };
        lines.push(Line::from(vec![
            Span::styled(if selected { "▸ " } else { "  " }, base),
            Span::styled(mark, mark_style),
            Span::styled(format!(" {:<25}{:>11} ", printable(name), thousands(table.rows)), base),
            Span::styled(format!("{:<12}", "█".repeat(bar_len)), Style::new().fg(Color::Blue)),
            Span::styled(format!("{:>8.3}s", table.elapsed.as_secs_f64()), Style::new().fg(Color::DarkGray)),
            Span::styled(
                if table.rejected > 0 { format!("  {} rejected", thousands(table.rejected)) } else { String::new() },
                Style::new().fg(Color::Red).bold(),
            ),
        ]));
        if *z != Zone::Landing {
            lines.push(flow_line(app, name));
        }
    }
    let passed = snapshot.checks.iter().filter(|c| c.passed()).count();
    let warned = snapshot.checks.iter().filter(|c| !c.passed() && c.severity == Severity::Warn).count();
    let failed = snapshot.checks.iter().filter(|c| c.is_error()).count();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::raw("checks "),
        Span::styled(format!("{passed} pass"), Style::new().fg(Color::Green)),
        Span::raw(" · "),
        Span::styled(format!("{warned} warn"), Style::new().fg(Color::Yellow)),
        Span::raw(" · "),
        Span::styled(
            format!("{failed} fail"),
            if failed > 0 { Style::new().fg(Color::Red).bold() } else { Style::new() },
        ),
        Span::styled(
            format!(
                "   load {:.3}s · stages {:.3}s · checks {:.3}s",
                snapshot.timings.load.as_secs_f64(),
                snapshot.timings.stages.as_secs_f64(),
                snapshot.timings.checks.as_secs_f64()
            ),
            Style::new().fg(Color::DarkGray),
        ),
        Span::styled(cache_note(&snapshot.cache), Style::new().fg(Color::DarkGray)),
    ]));
    let block = Block::bordered().title(" pipeline: landing → trusted → curated ");
    frame.render_widget(Paragraph::new(lines).block(block), list_area);
    app.main_top = list_area.y + 1;
    if wide {
        let bars: Vec<Bar> = app
            .pipeline_tables()
            .iter()
            .filter_map(|(name, _)| snapshot.tables.iter().find(|t| &t.name == name))
            .map(|t| {
                let label =
                    t.name.trim_end_matches("_landing").trim_end_matches("_trusted").trim_end_matches("_curated");
                let short = format!("{}.{}", &label[..label.len().min(12)], &t.zone.as_str()[..1]);
                Bar::with_label(short, t.rows).text_value(thousands(t.rows))
            })
            .collect();
        let chart = BarChart::horizontal(bars)
            .bar_width(1)
            .bar_gap(1)
            .bar_style(Style::new().fg(Color::Blue))
            .value_style(Style::new().fg(Color::White).bg(Color::Blue))
            .block(Block::bordered().title(" rows "));
        frame.render_widget(chart, chart_area);
    }
}

/// `← customer_landing: kept 131 · dropped 119: no research consent`
fn flow_line(app: &App, name: &str) -> Line<'static> {
    let snapshot = app.snapshot.as_ref().expect("drawn after load");
    let Some(flow) = snapshot.flows.iter().find(|f| f.stage == name) else { return Line::raw("") };
    let stage = snapshot.catalog.stage(name);
    let dim = Style::new().fg(Color::DarkGray);
    match (&flow.input, flow.dropped) {
        (Some(input), Some(dropped)) => Line::from(vec![
            Span::styled(format!("      ← {input}: kept {} · ", thousands(flow.kept)), dim),
            Span::styled(
                format!("dropped {}", thousands(dropped)),
                if dropped > 0 { Style::new().fg(Color::Magenta) } else { dim },
            ),
            Span::styled(flow.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default(), dim),
        ]),
        (Some(input), None) if snapshot.counting_dropped => Line::from(vec![Span::styled(
            format!("      ← {input}: kept {} · dropped: counting…", thousands(flow.kept)),
            dim,
        )]),
        _ => {
            let reads: Vec<String> = stage
                .map(|s| {
                    s.reads
                        .iter()
                        .filter(|r| snapshot.tables.iter().any(|t| t.name.eq_ignore_ascii_case(r)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            Line::styled(format!("      ⋈ joins {}", reads.join(" × ")), dim)
        }
    }
}

/// How much of the run came from the warm-start cache (nothing without one).
fn cache_note(cache: &crate::engine::CacheStats) -> String {
    if cache.file.is_none() {
        return String::new();
    }
    let files = cache.files_parsed + cache.files_reused;
    format!(
        " · cache: {}/{files} files, {}/{} checks reused",
        cache.files_reused,
        cache.checks_reused,
        cache.checks_reused + cache.checks_run
    )
}
