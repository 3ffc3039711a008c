//! `stedi-tui history`'s text and the sparkline of a check's failing rows over the runs the
//! cache's history recorded (the CLI's table and the TUI's checks view).
use super::thousands;
use crate::engine::history::Entry;

/// `▁▂▃▄▅▆▇█` of `values`, scaled to their largest; `·` for a run without failing rows.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0);
    values.iter().map(|&v| if v == 0 { '·' } else { BARS[((v * 7) / max.max(1)).min(7) as usize] }).collect()
}

/// `stedi-tui history`'s text: per check its trend over the last `last` runs; with one check,
/// one line per run.
pub fn render_history(entries: &[Entry], one_check: bool, last: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    if one_check {
        let mut previous: Option<&str> = None;
        for e in entries.iter().rev().take(last).collect::<Vec<_>>().into_iter().rev() {
            let changed = if previous.is_some_and(|p| p != e.sql_sha256) { "  (SQL changed)" } else { "" };
            let _ = writeln!(
                out,
                "{}  {:<6} {:<4} {:>10}  sql {}{changed}",
                e.run_at,
                e.mode,
                e.status,
                thousands(e.failing_rows),
                &e.sql_sha256[..12.min(e.sql_sha256.len())]
            );
            previous = Some(&e.sql_sha256);
        }
        return out;
    }
    let mut ids: Vec<&str> = entries.iter().map(|e| e.check_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    let width = ids.iter().map(|i| i.len()).max().unwrap_or(5);
    let runs = entries.iter().map(|e| e.run_ns).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(out, "{runs} runs recorded; failing rows over the last {last} (oldest first), then the latest:");
    for id in ids {
        let mine: Vec<&Entry> = entries.iter().filter(|e| e.check_id == id).collect();
        let tail: Vec<&Entry> = mine.iter().rev().take(last).rev().copied().collect();
        let values: Vec<u64> = tail.iter().map(|e| e.failing_rows).collect();
        let latest = tail.last().expect("each id has an entry");
        let _ = writeln!(
            out,
            "{id:<width$}  {:<width2$}  {:<4} {:>10}",
            sparkline(&values),
            latest.status,
            thousands(latest.failing_rows),
            width2 = last
        );
    }
    out
}
